//! The command line's conventions (README "Command-line conventions"): one vocabulary
//! with the old flag names kept, `--json` on writes, Chinese help by locale, progress and
//! `--verbose`.

use crate::support::Rep;

/// A manager's workspace with the key customer 华南物流有限公司.
fn manager() -> Rep {
    let rep = crate::support::manager();
    rep.ok(&["customer", "add", "华南物流有限公司", "--class", "key"]);
    rep
}

fn customer(rep: &Rep) -> serde_json::Value {
    rep.run(&["customer", "show", "华南物流有限公司", "--json"])
        .json()
}

fn values<'a>(c: &'a serde_json::Value, map: &str) -> Vec<&'a serde_json::Value> {
    c[map].as_object().unwrap().values().collect()
}

#[test]
fn old_and_new_flag_names_both_work() {
    let rep = manager();
    // Free text: --text, and the old --summary / --comment / --description / --note.
    rep.ok(&[
        "interaction",
        "log",
        "华南物流",
        "--kind",
        "visit",
        "--text",
        "新名字",
    ]);
    rep.ok(&[
        "interaction",
        "log",
        "华南物流",
        "--kind",
        "call",
        "--summary",
        "旧名字",
    ]);
    rep.ok(&[
        "survey",
        "record",
        "华南物流",
        "--score",
        "5",
        "--text",
        "很满意",
    ]);
    rep.ok(&[
        "survey",
        "record",
        "华南物流",
        "--score",
        "4",
        "--comment",
        "满意",
    ]);
    // Amounts: --amount, and the old --value.
    rep.ok(&[
        "gift",
        "record",
        "华南物流",
        "--description",
        "茶叶",
        "--amount",
        "300",
    ]);
    rep.ok(&[
        "gift",
        "record",
        "华南物流",
        "--text",
        "月饼",
        "--value",
        "200",
    ]);
    let c = customer(&rep);
    let mut summaries: Vec<&str> = values(&c, "interactions")
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    summaries.sort();
    assert_eq!(summaries, ["新名字", "旧名字"]);
    let mut comments: Vec<&str> = values(&c, "surveys")
        .iter()
        .map(|s| s["comment"].as_str().unwrap())
        .collect();
    comments.sort();
    assert_eq!(comments, ["很满意", "满意"]);
    let mut gifts: Vec<(String, i64)> = values(&c, "gifts")
        .iter()
        .map(|g| {
            (
                g["description"].as_str().unwrap().to_string(),
                g["value"].as_i64().unwrap(),
            )
        })
        .collect();
    gifts.sort();
    assert_eq!(gifts, [("月饼".into(), 20_000), ("茶叶".into(), 30_000)]);
    // The help lists the new names only.
    let help = rep.ok(&["interaction", "log", "--help"]);
    assert!(help.contains("--text <TEXT>"), "{help}");
    assert!(!help.contains("--summary"), "{help}");
    let help = rep.ok(&["gift", "record", "--help"]);
    assert!(help.contains("--amount <AMOUNT>"), "{help}");
    assert!(!help.contains("--value"), "{help}");
    // A refusal names the new flag.
    rep.run(&[
        "gift",
        "record",
        "华南物流",
        "--text",
        "茶叶",
        "--amount",
        "很多",
    ])
    .fails_with("--amount");
}

#[test]
fn writes_print_their_result_as_json() {
    let rep = manager();
    let check = |args: &[&str], kind: &str| -> String {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let v = rep.run(&all).json();
        assert_eq!(v["kind"], kind, "{args:?}: {v}");
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id.len() >= 8, "{v}");
        assert!(id.starts_with(v["short"].as_str().unwrap()), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 3, "one shape: {v}");
        id
    };
    let id = check(&["customer", "add", "西南化工有限公司"], "customer");
    assert_eq!(id.len(), 32);
    // The ID it printed finds the customer.
    let shown = rep.run(&["customer", "show", &id, "--json"]).json();
    assert_eq!(shown["name"], "西南化工有限公司");
    check(
        &[
            "contact",
            "add",
            "西南化工",
            "李雷",
            "--phone",
            "13800000009",
        ],
        "contact",
    );
    check(
        &[
            "interaction",
            "log",
            "西南化工",
            "--kind",
            "visit",
            "--text",
            "拜访",
        ],
        "interaction",
    );
    check(
        &[
            "opportunity",
            "add",
            "西南化工",
            "框架采购",
            "--amount",
            "500000",
        ],
        "opportunity",
    );
    check(
        &["customer", "archive", "西南化工", "--text", "测试"],
        "customer",
    );
    check(&["config", "timezone", "Asia/Shanghai"], "timezone");
    check(
        &[
            "policy",
            "set",
            "CUST-PROFILE-COMPLETE",
            "--severity",
            "off",
        ],
        "rule",
    );
    // The flag may also come after the command.
    let v = rep
        .run(&[
            "target",
            "set",
            "--team",
            "华东一组",
            "--period",
            "2026-11",
            "--amount",
            "1000",
            "--json",
        ])
        .json();
    assert_eq!(v["kind"], "target");
}

#[test]
fn help_is_in_chinese_for_a_chinese_locale_and_english_otherwise() {
    let rep = Rep::new();
    let zh = rep
        .run_with(&["--help"], &[("LANG", "zh_CN.UTF-8")], None)
        .ok();
    assert!(zh.contains("新建工作区，你是第一位用户。"), "{zh}");
    assert!(zh.contains("客户档案。"), "{zh}");
    assert!(zh.contains("帮助与消息的语言"), "{zh}");
    let en = rep
        .run_with(&["--help"], &[("LANG", "en_US.UTF-8")], None)
        .ok();
    assert!(
        en.contains("Create a new workspace with you as its first user"),
        "{en}"
    );
    assert!(!en.contains("新建工作区"), "{en}");
    // LC_ALL outranks LANG; --lang outranks both.
    let zh = rep
        .run_with(
            &["customer", "--help"],
            &[("LANG", "en_US.UTF-8"), ("LC_ALL", "zh_TW.UTF-8")],
            None,
        )
        .ok();
    assert!(zh.contains("新建客户档案。"), "{zh}");
    let en = rep
        .run_with(
            &["--lang", "en", "customer", "--help"],
            &[("LANG", "zh_CN.UTF-8")],
            None,
        )
        .ok();
    assert!(en.contains("Create a customer file"), "{en}");
    // A leaf command: the Chinese line first, the English one kept below it.
    let zh = rep
        .run_with(&["--lang=zh", "export", "--help"], &[], None)
        .ok();
    assert!(
        zh.contains("将客户或渠道导出为 CSV、JSON 或 Excel（.xlsx）。"),
        "{zh}"
    );
    assert!(zh.contains("Export customers or channels"), "{zh}");
}

#[test]
fn no_progress_when_piped_and_timings_with_verbose() {
    let rep = manager();
    let out = rep.home.with_file_name("c.csv");
    let run = rep.run(&["export", "customers", "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains('\r') && !run.stderr.contains('\x1b'),
        "{:?}",
        run.stderr
    );
    assert!(!run.stderr.contains("exporting:"), "{}", run.stderr);
    let run = rep.run(&["-v", "export", "customers", "-o", out.to_str().unwrap()]);
    assert!(run.stderr.contains("导出中 exporting: "), "{}", run.stderr);
    let run = rep.run(&["--verbose", "check"]);
    assert!(run.stderr.contains("检查中 checking: "), "{}", run.stderr);
    let run = rep.run(&["-v", "customer", "import", out.to_str().unwrap()]);
    // Its own customers again: refused, but the step was timed.
    assert_ne!(run.code, 0);
    let run = rep.run(&["-q", "-v", "check"]);
    assert_eq!(
        run.code, 2,
        "--quiet and --verbose do not go together: {}",
        run.stderr
    );
}
