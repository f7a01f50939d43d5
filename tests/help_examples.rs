//! Every example in the help texts (`$ fieldcrm …` lines under "Examples 示例") runs
//! against a prepared workspace and exits 0, or the code its `# exit N` comment names.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{Rep, manager};

/// The subcommands listed in a help text's "Commands:" section.
fn subcommands(help: &str) -> Vec<String> {
    let Some(section) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect()
}

/// Split a command line on spaces, keeping "double-quoted" words together.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every example line of every help text, with the exit codes it may end with.
fn examples(rep: &Rep) -> BTreeSet<(String, Vec<i32>)> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        seen += 1;
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = rep.ok(&args);
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        for line in help.lines() {
            let Some(cmd) = line.trim().strip_prefix("$ fieldcrm ") else {
                continue;
            };
            let (cmd, comment) = match cmd.split_once("  #") {
                Some((c, note)) => (c.trim(), note),
                None => (cmd.trim(), ""),
            };
            let codes = match comment
                .split("exit ")
                .nth(1)
                .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            {
                Some(n) => vec![0, n],
                None => vec![0],
            };
            out.insert((cmd.to_string(), codes));
        }
    }
    assert!(seen > 100, "walked only {seen} help texts");
    out
}

/// A workspace for one example: a manager of team 华东一组, customer 华南物流有限公司,
/// and examples/customers.csv in the working directory.
fn prepared() -> Rep {
    let rep = manager();
    rep.ok(&[
        "customer",
        "add",
        "华南物流有限公司",
        "--class",
        "key",
        "--region",
        "华南",
    ]);
    rep.team_target("50000");
    let dir = rep.home.parent().unwrap();
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customers.csv"),
        dir.join("examples/customers.csv"),
    )
    .unwrap();
    // The Excel file `customer import customers.xlsx` reads: one customer not yet there.
    let other = manager();
    other.ok(&["customer", "add", "东北机床有限公司"]);
    other.ok(&[
        "export",
        "customers",
        "-o",
        dir.join("customers.xlsx").to_str().unwrap(),
    ]);
    rep
}

#[test]
fn every_help_example_runs() {
    let list = examples(&Rep::new());
    assert!(list.len() >= 15, "{list:?}");
    let mut failed = Vec::new();
    for (cmd, codes) in &list {
        let rep = prepared();
        let dir = rep.home.parent().unwrap().to_path_buf();
        let args = words(cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = rep.run_with(&args, &[("LANG", "C")], Some(&dir));
        if !codes.contains(&run.code) {
            failed.push(format!(
                "fieldcrm {cmd}: exit {} (expected {codes:?})\n{}{}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
