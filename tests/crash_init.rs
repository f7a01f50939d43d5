//! `init` and `join` are all or nothing: a process killed at any moment leaves either no
//! workspace (and `init` runs again) or a whole one that opens.

use std::process::Command;
use std::time::Duration;

use crate::support::Rep;

/// Start `fieldcrm ARGS` in `rep`'s home and SIGKILL it after `delay`.
fn kill_after(rep: &Rep, args: &[&str], delay: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
        .args(args)
        .env("FIELDCRM_HOME", &rep.home)
        .env("FIELDCRM_NOW", "2026-11-29T09:00:00+08:00")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// After a kill: the workspace opens, or there is none and it can be made again.
fn opens_or_inits_again(rep: &Rep, init: &[&str]) {
    let who = rep.run(&["whoami", "--json"]);
    if who.code == 0 {
        assert!(who.stdout.contains("workspace_id"), "{}", who.stdout);
        return;
    }
    assert!(
        who.stderr.contains("no fieldcrm workspace"),
        "a killed init left a broken workspace: {}",
        who.stderr
    );
    rep.ok(init);
    rep.ok(&["whoami"]);
}

#[test]
fn a_killed_init_or_join_leaves_a_workspace_that_opens_or_can_be_made_again() {
    let init = [
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--company",
        "示例",
    ];
    let join = ["join", "--workspace", "0123456789abcdef0123456789abcdef"];
    // Delays from "before the store exists" to "long done", in 2 ms steps.
    for step in 0..24u64 {
        let delay = Duration::from_millis(step * 2);
        let rep = Rep::new();
        kill_after(&rep, &init, delay);
        opens_or_inits_again(&rep, &init);
        let rep = Rep::new();
        kill_after(&rep, &join, delay);
        opens_or_inits_again(&rep, &join);
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_listing_quietly() {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--company",
        "示例",
    ]);
    let csv: String = std::iter::once("名称,分类\n".to_string())
        .chain((0..3000).map(|i| format!("客户{i}有限公司,一般\n")))
        .collect();
    let file = rep.home.parent().unwrap().join("c.csv");
    std::fs::write(&file, csv).unwrap();
    rep.ok(&["customer", "import", file.to_str().unwrap()]);
    // `fieldcrm customer list | head -c 10`: the pipe closes after 10 bytes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
        .args(["customer", "list"])
        .env("FIELDCRM_HOME", &rep.home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(done.status.code(), Some(0), "{stderr}");
}

#[test]
fn completions_and_the_man_page_generate() {
    let rep = Rep::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = rep.ok(&["completions", shell]);
        assert!(
            out.contains("fieldcrm") && out.contains("customer"),
            "{shell}: {out}"
        );
    }
    rep.run(&["completions", "tcsh"]).fails_with("tcsh");
    let man = rep.ok(&["man"]);
    assert!(man.contains(".TH fieldcrm"), "{man}");
}

#[test]
fn quiet_saves_print_just_the_id_for_scripts() {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--company",
        "示例",
    ]);
    let id = rep.ok(&["-q", "customer", "add", "甲公司"]);
    let id = id.trim();
    assert_eq!(id.len(), 32, "{id}");
    let shown = rep.run(&["customer", "show", id, "--json"]).json();
    assert_eq!(shown["name"], "甲公司");
    let loud = rep.ok(&["customer", "add", "乙公司"]);
    assert!(loud.starts_with("saved customer"), "{loud}");
}
