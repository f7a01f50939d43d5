//! README's "A short tour" is run as written (its placeholders filled from what the
//! commands print), and the rules report nothing the tour did not mean to show.

use crate::support::Rep;

/// The commands of the first `sh` block under `## A short tour`, continuation lines joined.
fn tour_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("## A short tour").nth(1).unwrap();
    let block = section.split("```sh").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = line.split("  #").next().unwrap_or(line).trim();
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                let cmd = std::mem::take(&mut pending);
                if let Some(rest) = cmd.trim().strip_prefix("fieldcrm ") {
                    out.push(rest.to_string());
                }
            }
        }
    }
    out
}

/// Split like a shell: whitespace separates, double quotes group.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in cmd.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

#[test]
fn the_readme_tour_runs_as_written_and_ends_with_no_findings() {
    let rep = Rep::new();
    let cmds = tour_commands();
    assert!(cmds.len() > 15, "README tour not found: {cmds:?}");
    let mut complaint = String::new();
    let mut quote = String::new();
    for cmd in &cmds {
        let cmd = cmd
            .replace("<complaint-id>", &complaint)
            .replace("<quote-id>", &quote);
        let args = words(&cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rep.ok(&args);
        let id = out
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_default()
            .to_string();
        if cmd.starts_with("complaint open") {
            complaint = id;
        } else if cmd.starts_with("quote add") {
            quote = id;
        }
    }
    let check = rep.run(&["check", "--strict", "--json"]);
    assert_eq!(check.code, 0, "the tour left findings: {}", check.stdout);
    assert_eq!(check.stdout.trim(), "[]", "{}", check.stdout);
}
