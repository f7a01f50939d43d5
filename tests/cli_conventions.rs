//! The command line's conventions (README "Command-line conventions"): one vocabulary
//! with the old flag names kept, `--json` on writes, help, messages and errors in one
//! language (by `--lang` or the locale), progress and `--verbose`.

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

/// A write addressed by an ID prefix or a name prints, with `--json`, the full ID of what
/// it wrote, not the text typed.
#[test]
fn writes_addressed_by_prefix_or_name_print_full_ids_as_json() {
    let rep = manager();
    crate::support::add_sensor_product(&rep);
    let write = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        rep.run(&all).json()
    };
    let full = |v: &serde_json::Value| -> String {
        let id = v["id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 32, "not a full ID: {v}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
        assert_eq!(v["short"].as_str(), Some(&id[..8]), "{v}");
        id
    };
    // Each record is made, then written to again by the first six characters of its ID
    // and the customer by part of its name: both print the record's full ID.
    let again = |made: &[&str], then: &[&str], rest: &[&str]| {
        let id = full(&write(made));
        let mut args = then.to_vec();
        args.extend_from_slice(&["华南物流", &id[..6]]);
        args.extend_from_slice(rest);
        let v = write(&args);
        assert_eq!(full(&v), id, "{args:?}");
    };
    again(
        &[
            "opportunity",
            "add",
            "华南物流",
            "框架采购",
            "--amount",
            "500000",
        ],
        &["opportunity", "update"],
        &["--stage", "proposal"],
    );
    again(
        &["complaint", "open", "华南物流", "--text", "延迟交货"],
        &["complaint", "respond"],
        &["--text", "已联系"],
    );
    again(
        &[
            "contract",
            "add",
            "华南物流",
            "年度合同",
            "--amount",
            "10000",
        ],
        &["contract", "sign"],
        &[],
    );
    again(
        &[
            "quote",
            "add",
            "华南物流",
            "--product",
            "P-100",
            "--price",
            "900",
        ],
        &["quote", "approve"],
        &[],
    );
    again(
        &[
            "order",
            "add",
            "华南物流",
            "--product",
            "P-100",
            "--quantity",
            "2",
            "--promised",
            "2026-12-31",
        ],
        &["order", "deliver"],
        &[],
    );
    again(
        &[
            "gift",
            "record",
            "华南物流",
            "--text",
            "茶叶",
            "--amount",
            "300",
        ],
        &["gift", "approve"],
        &[],
    );
    again(
        &[
            "contact",
            "add",
            "华南物流",
            "李雷",
            "--phone",
            "13800000009",
        ],
        &["contact", "remove"],
        &[],
    );
    // A whole record by name: its full document ID.
    let id = full(&write(&[
        "customer",
        "archive",
        "华南物流",
        "--text",
        "测试",
    ]));
    let shown = rep.run(&["customer", "show", &id, "--json"]).json();
    assert_eq!(shown["name"], "华南物流有限公司");
    // A user by name: the user's full ID.
    let admin = crate::support::admin_with_team();
    let users = admin.run(&["user", "list", "--json"]).json();
    let (uid, _) = users
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, u)| u["name"] == "小张")
        .unwrap();
    let v = admin
        .run(&["--json", "user", "set", "小张", "--region", "华东"])
        .json();
    assert_eq!(v["kind"], "user");
    assert_eq!(v["id"].as_str(), Some(uid.as_str()), "{v}");
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
    // What clap prints for a command line it does not run comes from the Chinese
    // commands too (the line is parsed first as defined): `help` and `-V` work, and a
    // command without its subcommand or with a bad flag is refused, naming what to type.
    let zh_env = [("LANG", "zh_CN.UTF-8")];
    let r = rep.run_with(&["customer"], &zh_env, None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("add, list, show, edit"), "{}", r.stderr);
    let help = rep.run_with(&["help", "customer"], &zh_env, None).ok();
    assert!(
        help.contains("用法：") && help.contains("新建客户档案。"),
        "{help}"
    );
    let version = rep.run_with(&["-V"], &zh_env, None).ok();
    assert!(version.starts_with("fieldcrm "), "{version}");
    let r = rep.run_with(&["customer", "add", "--bogus"], &zh_env, None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
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
    assert!(run.stderr.contains("exporting: "), "{}", run.stderr);
    let run = rep.run(&["--verbose", "check"]);
    assert!(run.stderr.contains("checking: "), "{}", run.stderr);
    let run = rep.run(&["--lang", "zh", "--verbose", "check"]);
    assert!(run.stderr.contains("检查中："), "{}", run.stderr);
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

/// Whether `text` has a Chinese character or full-width punctuation.
fn has_han(text: &str) -> bool {
    text.chars().any(|c| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff00}'..='\u{ffef}').contains(&c)
    })
}

#[test]
fn human_output_and_errors_are_in_one_language() {
    let rep = Rep::new();
    rep.ok(&["init", "--user", "Wang", "--role", "manager"]);
    let zh_env = [("LANG", "zh_CN.UTF-8")];

    // Chinese: the save line is Chinese, with no English word of the message (only the ID).
    let out = rep.ok(&["--lang", "zh", "customer", "add", "Acme Trading"]);
    let line = out.lines().next().unwrap();
    let (words, id) = line.rsplit_once(' ').unwrap();
    assert_eq!(words, "已保存客户", "{out}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{out}");
    assert!(!words.chars().any(|c| c.is_ascii_alphabetic()), "{out}");
    // A zh_* locale without the flag: Chinese too.
    let out = rep
        .run_with(&["customer", "add", "Beta Ltd"], &zh_env, None)
        .ok();
    assert!(
        out.starts_with("已保存客户 ") && !out.contains("saved"),
        "{out}"
    );

    // English (the flag outranks the locale): no Chinese anywhere in what a person reads.
    let en = |args: &[&str]| {
        let mut all = vec!["--lang", "en"];
        all.extend_from_slice(args);
        rep.run_with(&all, &zh_env, None)
    };
    let out = en(&[
        "customer", "add", "Gamma Co", "--class", "key", "--region", "East",
    ])
    .ok();
    assert!(
        out.starts_with("saved customer ") && !has_han(&out),
        "{out}"
    );
    en(&[
        "contact",
        "add",
        "Gamma Co",
        "Li Na",
        "--phone",
        "13800000001",
    ])
    .ok();
    en(&[
        "interaction",
        "log",
        "Gamma Co",
        "--kind",
        "visit",
        "--text",
        "demo",
    ])
    .ok();
    en(&[
        "plan",
        "set",
        "Gamma Co",
        "--text",
        "grow",
        "--review",
        "2027-03-31",
    ])
    .ok();
    let show = en(&["customer", "show", "Gamma Co"]).ok();
    assert!(
        show.contains("  class:        key\n") && show.contains("\ncontacts\n"),
        "{show}"
    );
    assert!(!has_han(&show), "{show}");
    let list = en(&["customer", "list"]).ok();
    assert!(list.contains("3 customer(s)") && !has_han(&list), "{list}");

    // Chinese `customer show`: Chinese labels, lined up by display width.
    let show = rep.ok(&["--lang", "zh", "customer", "show", "Gamma Co"]);
    assert!(show.contains("  分类：    重要\n"), "{show}");
    assert!(show.contains("  年度价值：-\n"), "{show}");
    assert!(
        show.contains("\n联系人\n") && !show.contains("contacts"),
        "{show}"
    );

    // An application-layer error names the flag at fault, in one language.
    let bad = [
        "interaction",
        "log",
        "Gamma Co",
        "--kind",
        "visit",
        "--text",
        "x",
    ];
    let mut args = bad.to_vec();
    args.extend(["--at", "2026-13-01"]);
    let r = en(&args);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: --at: "), "{}", r.stderr);
    assert!(!has_han(&r.stderr), "{}", r.stderr);
    let mut zh_args = vec!["--lang", "zh"];
    zh_args.extend_from_slice(&args);
    let r = rep.run(&zh_args);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("错误：--at: "), "{}", r.stderr);
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    let r = rep.run_with(&args, &zh_env, None);
    assert!(r.stderr.starts_with("错误："), "{}", r.stderr);
    // Other errors too: `错误：` or `error: `, once.
    let r = rep.run(&[
        "--lang", "zh", "customer", "merge", "Acme", "Beta", "--take", "x",
    ]);
    assert!(r.stderr.starts_with("错误：--take："), "{}", r.stderr);
    let r = rep.run(&["customer", "merge", "Acme", "Beta", "--take", "x"]);
    assert!(r.stderr.starts_with("error: --take: "), "{}", r.stderr);
    assert!(!has_han(&r.stderr), "{}", r.stderr);

    // Help: clap's own headings in Chinese too; English help keeps them.
    for args in [
        vec!["--lang", "zh", "--help"],
        vec!["--lang", "zh", "customer", "add", "--help"],
        vec!["--lang", "zh", "customer", "-h"],
    ] {
        let help = rep.ok(&args);
        assert!(help.contains("用法："), "{help}");
        assert!(help.contains("显示帮助"), "{help}");
        for english in [
            "Usage:",
            "Options:",
            "Commands:",
            "Arguments:",
            "Print help",
        ] {
            assert!(!help.contains(english), "{english} in {help}");
        }
    }
    let help = rep.run_with(&["--help"], &zh_env, None).ok();
    assert!(help.contains("用法：") && help.contains("命令:") && help.contains("显示版本"));
    assert!(
        !help.contains("Usage:") && !help.contains("Print version"),
        "{help}"
    );
    let help = rep.ok(&["customer", "add", "--help"]);
    assert!(
        help.contains("Usage: fieldcrm customer add")
            && help.contains("Arguments:")
            && help.contains("Options:")
            && help.contains("Print help"),
        "{help}"
    );
    assert!(!help.contains("用法"), "{help}");
}
