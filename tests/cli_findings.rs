//! Findings have a life through the CLI: `check` shows each open finding's key and state,
//! `finding ack` keeps it open (exit 1), a rep may not `finding waive`, a manager's
//! waiver (synced) takes it out of the exit code, `check --all` lists the waived and
//! resolved ones with who acted.

use crate::cli_check::office;
use crate::cli_p2p::sync_with;
use crate::support::Rep;

/// `check --json --rule CUST-CLASS-MISSING [--all]`: exit code and rows.
fn class_missing(dev: &Rep, all: bool) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["check", "--json", "--rule", "CUST-CLASS-MISSING"];
    if all {
        args.push("--all");
    }
    let run = dev.run(&args);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, rows)
}

#[test]
fn acknowledge_waive_and_resolve_a_finding() {
    let (admin, rep) = office();
    rep.ok(&["customer", "add", "甲公司"]);
    let (code, rows) = class_missing(&rep, false);
    assert_eq!((code, rows.len()), (1, 1), "{rows:?}");
    assert_eq!(rows[0]["status"], "open");
    let key = rows[0]["key"].as_str().unwrap().to_string();
    assert!(
        key.starts_with("CUST-CLASS-MISSING:") && key.ends_with(":class"),
        "{key}"
    );

    // Acknowledged by a unique start of the key: still open, still exit 1.
    let prefix: String = key.chars().take(25).collect();
    let out = rep.ok(&["finding", "ack", &prefix, "--note", "下周拜访时确认分类"]);
    assert!(out.contains("acknowledged") && out.contains(&key), "{out}");
    let (code, rows) = class_missing(&rep, false);
    assert_eq!(code, 1);
    assert_eq!(rows[0]["status"], "acknowledged");
    assert_eq!(rows[0]["state"]["by"]["name"], "小张");
    let text = rep.run(&["--lang", "zh", "check", "--rule", "CUST-CLASS-MISSING"]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("[违规|已确认]")
            && text.stdout.contains(&key)
            && text.stdout.contains("下周拜访时确认分类"),
        "{}",
        text.stdout
    );

    // A rep may not waive; a key that matches nothing is named.
    let no = rep.run(&[
        "finding",
        "waive",
        &key,
        "--reason",
        "客户重组",
        "--until",
        "2026-12-31",
    ]);
    assert_ne!(no.code, 0);
    assert!(no.stderr.contains("waive"), "{}", no.stderr);
    let none = rep.run(&["finding", "ack", "NO-SUCH-KEY", "--note", "x"]);
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("NO-SUCH-KEY"), "{}", none.stderr);

    // The admin waives it after a sync: out of the exit code, on both devices.
    sync_with(&rep, &admin);
    let too_long = admin.run(&[
        "finding",
        "waive",
        &key,
        "--reason",
        "客户重组",
        "--until",
        "2027-12-31",
    ]);
    assert_ne!(too_long.code, 0);
    assert!(too_long.stderr.contains("180"), "{}", too_long.stderr);
    admin.ok(&[
        "finding",
        "waive",
        &key,
        "--reason",
        "客户重组中",
        "--until",
        "2026-12-31",
    ]);
    sync_with(&rep, &admin);
    for dev in [&rep, &admin] {
        let (code, rows) = class_missing(dev, false);
        assert_eq!((code, rows.len()), (0, 0), "{rows:?}");
        let (code, all) = class_missing(dev, true);
        assert_eq!(code, 0);
        assert_eq!(all[0]["status"], "waived");
        assert_eq!(all[0]["state"]["by"]["name"], "管理员");
        assert_eq!(all[0]["state"]["reason"], "客户重组中");
    }
    let text = rep.run(&["check", "--all", "--lang", "en"]);
    assert!(
        text.stdout.contains("waived by 管理员 (admin)")
            && text.stdout.contains("until 2026-12-31"),
        "{}",
        text.stdout
    );

    // Fixed: resolved under --all, with who acted.
    rep.ok(&["customer", "edit", "甲公司", "--class", "general"]);
    let (code, all) = class_missing(&rep, true);
    assert_eq!(code, 0);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["status"], "resolved");
    assert_eq!(all[0]["key"], key.as_str());
}
