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
            report(&e);
            std::process::exit(2);
        }
    }
}

/// Print an error for a person: the application layer's refusals in Chinese, then in
/// English (with the option at fault); anything else with its context chain.
fn report(e: &anyhow::Error) {
    match e.downcast_ref::<fieldcrm_workspace::Error>() {
        Some(w) => {
            let opt = w.field().map(|f| format!("--{}: ", f.replace('_', "-")));
            let opt = opt.as_deref().unwrap_or("");
            let zh = w.message(fieldcrm_model::Lang::Zh);
            let en = w.message(fieldcrm_model::Lang::En);
            let top = e.to_string();
            if top != en {
                // Context added by the command ("could not create a workspace in …").
                eprintln!("error: {top}");
            }
            eprintln!("错误：{opt}{zh}");
            if en != zh {
                eprintln!("error: {opt}{en}");
            }
        }
        None => eprintln!("error: {e:#}"),
    }
}
