//! `fieldcrm doc`, `conflicts`, `resolve`, `customer merge`, `channel merge` and carry-over
//! on two devices that exchange bundles.

use crate::bundle::Pair;
use crate::support::Rep;

const T10: &str = "--now=2026-11-29T10:00:00+08:00";
const T11: &str = "--now=2026-11-29T11:00:00+08:00";
const T12: &str = "--now=2026-11-29T12:00:00+08:00";
const T13: &str = "--now=2026-11-29T13:00:00+08:00";

#[test]
fn concurrent_class_shows_as_conflict_and_resolution_converges() {
    let p = Pair::new();
    p.admin
        .ok(&["customer", "edit", "甲公司", "--class", "key", T10]);
    p.rep
        .ok(&["customer", "edit", "甲公司", "--class", "potential", T11]);
    p.to_admin();
    p.to_rep();

    for side in [&p.admin, &p.rep] {
        let c = side.run(&["conflicts", "--json"]).json();
        let c = c.as_array().unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0]["name"], "甲公司");
        assert_eq!(c[0]["path"], "class");
        let mut who: Vec<(String, String, String)> = c[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["value"].as_str().unwrap().to_string(),
                    v["author"]["user"].as_str().unwrap().to_string(),
                    v["author"]["role"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        who.sort();
        assert_eq!(
            who,
            vec![
                ("key".into(), "王经理".into(), "admin".into()),
                ("potential".into(), "小张".into(), "rep".into())
            ]
        );
        let times: Vec<i64> = c[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["time"].as_i64().unwrap())
            .collect();
        assert!(
            times.contains(&1_795_917_600_000),
            "10:00 Shanghai: {times:?}"
        );
    }
    let table = p.admin.ok(&["conflicts"]);
    assert!(
        table.contains("王经理 (admin)") && table.contains("小张 (rep)"),
        "{table}"
    );

    // Bad input.
    p.admin
        .run(&["resolve", "不存在公司", "class", "--pick", "key"])
        .fails_with("不存在公司");
    p.admin
        .run(&["resolve", "甲公司", "clas", "--pick", "key"])
        .fails_with("has no field `clas`");
    p.admin
        .run(&["resolve", "甲公司", "class", "--pick", "general"])
        .fails_with("its values are: ");
    p.admin
        .run(&["resolve", "甲公司", "quotes/nope/approval", "--pick", "x"])
        .fails_with("has no field `quotes/nope/approval`");
    p.admin
        .run(&["resolve", "甲公司", "name", "--pick", "甲公司"])
        .fails_with("single value");

    // The manager keeps the rep's value (typed in Chinese).
    let out = p
        .admin
        .ok(&["resolve", "甲公司", "class", "--pick", "潜在", T12]);
    assert!(
        out.contains("kept `potential` (set by 小张 (rep))"),
        "{out}"
    );
    assert_eq!(
        p.admin.run(&["conflicts", "--json"]).json(),
        serde_json::json!([])
    );
    p.to_rep();
    for side in [&p.admin, &p.rep] {
        assert_eq!(
            side.run(&["conflicts", "--json"]).json(),
            serde_json::json!([])
        );
        let c = side.run(&["customer", "show", "甲公司", "--json"]).json();
        assert_eq!(c["class"], "potential");
    }
    // History names who did what; the resolution is a change of its own.
    let h = p.rep.run(&["doc", "history", "甲公司", "--json"]).json();
    let h = h.as_array().unwrap();
    let last = h.iter().max_by_key(|e| e["time"].as_i64()).unwrap();
    assert!(
        last["message"].as_str().unwrap().contains("resolve class"),
        "{last}"
    );
    assert_eq!(last["author"]["user"], "王经理");
    assert!(
        p.rep
            .ok(&["doc", "history", "甲公司"])
            .contains("小张 (rep)")
    );
}

#[test]
fn history_diff_and_show_by_date_and_heads() {
    let rep = Rep::new();
    rep.ok(&["init", "--user", "王经理", "--role", "manager"]);
    rep.ok(&[
        "customer",
        "add",
        "华东精密机械有限公司",
        "--class",
        "general",
    ]);
    rep.ok(&[
        "customer",
        "edit",
        "华东精密机械有限公司",
        "--class",
        "key",
        "--industry",
        "制造业",
        T10,
    ]);
    rep.ok(&["contact", "add", "华东精密机械有限公司", "张伟", T11]);

    let h = rep
        .run(&["doc", "history", "华东精密机械有限公司", "--json"])
        .json();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[0]["author"]["user"], "王经理");
    assert!(h[2]["message"].as_str().unwrap().contains("张伟"));

    let d = rep
        .run(&[
            "doc",
            "diff",
            "华东精密机械有限公司",
            "--from",
            "2026-11-29T09:30",
            "--to",
            "2026-11-29T10:30",
            "--json",
        ])
        .json();
    let changes = d["changes"].as_array().unwrap();
    let paths: Vec<&str> = changes
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["class", "industry"]);
    assert_eq!(changes[0]["old"], "general");
    assert_eq!(changes[0]["new"], "key");
    assert!(changes[1]["old"].is_null());

    // Heads: from the first change to now shows the contact too.
    let first = h[0]["hash"].as_str().unwrap();
    let out = rep.ok(&[
        "doc",
        "diff",
        "华东精密机械有限公司",
        "--from",
        &first[..10],
    ]);
    assert!(out.contains("class") && out.contains("contacts/"), "{out}");
    assert!(out.contains("general") && out.contains("→ key"), "{out}");

    let before = rep
        .run(&[
            "doc",
            "show",
            "华东精密机械有限公司",
            "--at",
            "2026-11-29T09:30",
            "--json",
        ])
        .json();
    assert_eq!(before["doc"]["class"], "general");
    let list = rep.run(&["doc", "list", "--json"]).json();
    assert_eq!(
        list.as_array().unwrap().len(),
        5,
        "4 workspace documents + 1 customer"
    );
    assert!(
        rep.ok(&["doc", "history", "roster"])
            .contains("create roster")
    );

    rep.run(&["doc", "history", "nosuchdoc"])
        .fails_with("nosuchdoc");
    rep.run(&[
        "doc",
        "diff",
        "华东精密机械有限公司",
        "--from",
        "yesterday-ish",
    ])
    .fails_with("neither a date");
    rep.run(&["doc", "diff", "华东精密机械有限公司", "--from", "abcdef99"])
        .fails_with("has no change `abcdef99`");
    rep.run(&["doc", "list", "--kind", "spaceship"])
        .fails_with("spaceship");
}

#[test]
fn duplicate_customer_merge_with_carry_over_of_offline_edits() {
    let p = Pair::new();
    p.admin.ok(&[
        "customer",
        "add",
        "甲公司(重复)",
        "--owner",
        "小张",
        "--industry",
        "制造业",
        "--region",
        "华南",
        "--class",
        "key",
    ]);
    p.admin.ok(&[
        "contact",
        "add",
        "甲公司(重复)",
        "王五",
        "--phone",
        "13900000000",
    ]);
    p.to_rep();

    // Bad input first.
    p.admin
        .run(&["customer", "merge", "甲公司", "甲公司"])
        .fails_with("into itself");
    p.admin
        .run(&[
            "customer",
            "merge",
            "甲公司",
            "甲公司(重复)",
            "--take",
            "color=duplicate",
        ])
        .fails_with("`color` is not a field");
    p.rep
        .run(&["customer", "merge", "甲公司", "甲公司(重复)"])
        .fails_with("may not merge customer files");

    let plan = p
        .admin
        .run(&[
            "customer",
            "merge",
            "甲公司",
            "甲公司(重复)",
            "--dry-run",
            "--json",
        ])
        .json();
    assert_eq!(plan["entities"].as_array().unwrap().len(), 1);
    assert_eq!(plan["filled"], serde_json::json!(["industry", "region"]));
    let fields: Vec<&str> = plan["differing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["name", "class"]);
    assert_eq!(
        p.admin
            .run(&["customer", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        3,
        "a dry run writes nothing"
    );

    let out = p.admin.ok(&[
        "customer",
        "merge",
        "甲公司",
        "甲公司(重复)",
        "--take",
        "class=duplicate",
        T12,
    ]);
    assert!(out.contains("tombstone"), "{out}");
    let kept = p
        .admin
        .run(&["customer", "show", "甲公司", "--json"])
        .json();
    assert_eq!(kept["class"], "key");
    assert_eq!(kept["name"], "甲公司");
    assert_eq!(kept["industry"], "制造业");
    assert_eq!(kept["contacts"].as_object().unwrap().len(), 1);
    let all = p.admin.run(&["customer", "list", "--all", "--json"]).json();
    let tomb = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "甲公司(重复)")
        .unwrap();
    assert_eq!(tomb["merged_into"], kept["id"]);
    p.admin
        .run(&["contact", "add", "甲公司(重复)", "赵六"])
        .fails_with("was merged into");
    p.admin
        .run(&["customer", "merge", "甲公司", "甲公司(重复)"])
        .fails_with("was already merged into");

    // Meanwhile the rep, who has not seen the merge, keeps working on the old file.
    p.rep.ok(&[
        "contact",
        "add",
        "甲公司(重复)",
        "赵六",
        "--phone",
        "13700000000",
        T13,
    ]);
    p.rep.ok(&[
        "complaint",
        "open",
        "甲公司(重复)",
        "--severity",
        "major",
        "--summary",
        "交货延迟",
        T13,
    ]);
    let out = p.to_admin();
    assert!(out.contains("carried over 2 change(s)"), "{out}");
    let kept = p
        .admin
        .run(&["customer", "show", "甲公司", "--json"])
        .json();
    let contacts: Vec<&str> = kept["contacts"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert!(contacts.contains(&"赵六"));
    assert_eq!(kept["complaints"].as_object().unwrap().len(), 1);
    assert!(
        p.admin
            .ok(&["merge-forward"])
            .contains("nothing to carry over")
    );

    // The rep gets the merge and the carried-over edits; nothing more to carry, no conflicts.
    let out = p.to_rep();
    assert!(!out.contains("carried over"), "{out}");
    let a = p
        .admin
        .run(&["customer", "show", "甲公司", "--json"])
        .json();
    let r = p.rep.run(&["customer", "show", "甲公司", "--json"]).json();
    assert_eq!(a, r);
    assert_eq!(
        p.rep.run(&["conflicts", "--json"]).json(),
        serde_json::json!([])
    );
    p.rep
        .run(&["complaint", "open", "甲公司(重复)", "--summary", "x"])
        .fails_with("was merged into");
}

#[test]
fn duplicate_channel_merge() {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "李渠道",
        "--role",
        "channel-manager",
        "--region",
        "华东",
    ]);
    rep.ok(&[
        "channel",
        "add",
        "苏州华信分销有限公司",
        "--kind",
        "分销商",
        "--lines",
        "sensors",
    ]);
    rep.ok(&[
        "channel",
        "add",
        "苏州华信",
        "--kind",
        "代理商",
        "--region",
        "华东",
        "--lines",
        "valves",
    ]);
    rep.ok(&[
        "channel",
        "communicate",
        "苏州华信",
        "--summary",
        "季度座谈",
    ]);
    let out = rep.ok(&["channel", "merge", "苏州华信分销有限公司", "苏州华信"]);
    assert!(
        out.contains("communications ×1") && out.contains("product_lines ×1"),
        "{out}"
    );
    let c = rep
        .run(&["channel", "show", "苏州华信分销有限公司", "--json"])
        .json();
    assert_eq!(c["channel_kind"], "distributor");
    assert_eq!(c["region"], "华东");
    assert_eq!(c["product_lines"].as_object().unwrap().len(), 2);
    assert_eq!(c["communications"].as_object().unwrap().len(), 1);
    assert_eq!(
        rep.run(&["channel", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    rep.run(&["channel", "communicate", "苏州华信", "--summary", "x"])
        .fails_with("was merged into");
    rep.run(&["channel", "merge", "苏州华信分销有限公司", "不存在"])
        .fails_with("不存在");
}
