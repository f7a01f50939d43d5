//! `fieldcrm`: the command-line client. Parsing and printing only; the work is done by
//! the `fieldcrm-workspace` crate. The wall clock is read here, once, and passed in.

mod bundle;
mod cli;
mod cmd;
mod demo;
mod import;
mod inspect;
mod merge;
mod peer;
mod remote;
mod render;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
