//! `fieldcrm-e2e`: the end-to-end benchmark of issue 16. It generates customer files,
//! drives the real `fieldcrm` binary and a real `fieldcrm-relay` on loopback, and prints
//! every row of the goal table with time, bytes, messages and peak RSS (median of
//! `--runs`). `bash bench/e2e.sh` builds the release binaries and runs it; CI runs it at
//! a small size as a smoke test of its numbers (`tests/smoke.rs`), not of timings.
//!
//! Options: `--customers N` (100000: import, first sync, reconnect, list, check, relay
//! findings, edit), `--small N` (10000: 1% changed on each side, reconnect at the small
//! size, edit with a large roster), `--users N` (1000: roster size for the edit row),
//! `--runs N` (3), `--bin DIR` (directory holding `fieldcrm` and `fieldcrm-relay`;
//! default: next to this program), `--dir DIR` (work directory, kept; default: a
//! temporary one), `--json FILE` (the rows as JSON as well).

mod proc;
mod scenario;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// Command-line options.
pub struct Opts {
    pub customers: usize,
    pub small: usize,
    pub users: usize,
    pub runs: usize,
    pub bin: PathBuf,
    pub dir: Option<PathBuf>,
    pub json: Option<PathBuf>,
}

fn opts() -> Result<Opts> {
    let here = std::env::current_exe()?
        .parent()
        .context("no directory for this program")?
        .to_path_buf();
    let mut o = Opts {
        customers: 100_000,
        small: 10_000,
        users: 1_000,
        runs: 3,
        bin: here,
        dir: None,
        json: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--customers" => o.customers = val()?.parse()?,
            "--small" => o.small = val()?.parse()?,
            "--users" => o.users = val()?.parse()?,
            "--runs" => o.runs = val()?.parse::<usize>()?.max(1),
            "--bin" => o.bin = val()?.into(),
            "--dir" => o.dir = Some(val()?.into()),
            "--json" => o.json = Some(val()?.into()),
            "-h" | "--help" => {
                println!(
                    "fieldcrm-e2e [--customers N] [--small N] [--users N] [--runs N] [--bin DIR] [--dir DIR] [--json FILE]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown option {other} (try --help)"),
        }
    }
    for b in ["fieldcrm", "fieldcrm-relay"] {
        if !o.bin.join(b).exists() {
            bail!(
                "{} not found: build with `cargo build --release --workspace` or pass --bin DIR",
                o.bin.join(b).display()
            );
        }
    }
    Ok(o)
}

fn main() -> Result<()> {
    // `fieldcrm-e2e --measure FILE -- PROGRAM ARGS...`: how every measured command runs
    // (see proc.rs).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "--measure") {
        std::process::exit(proc::measure(&args[2..])?);
    }
    let o = opts()?;
    let tmp;
    let dir = match &o.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let rows = scenario::run_all(&o, &dir)?;
    println!();
    println!("{}", scenario::markdown(&o, &rows));
    if let Some(f) = &o.json {
        let v: Vec<_> = rows.iter().map(scenario::Row::json).collect();
        std::fs::write(f, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}
