//! Issue #5 through the CLI: `fieldcrm check` on workspaces built by the CLI, in both
//! languages, and findings that appear only after two devices' offline work merges.

use crate::cli_p2p::{sync_with, workspace_id};
use crate::support::{Rep, admin_with_team, device_key};

/// An admin workspace with a manager, a rep on a second device, and a product.
pub(crate) fn office() -> (Rep, Rep) {
    let admin = admin_with_team();
    admin.ok(&[
        "catalog",
        "add",
        "P-1",
        "--name",
        "工业传感器",
        "--line",
        "sensors",
        "--list-price",
        "1000",
        "--floor-price",
        "800",
    ]);
    let rep = Rep::at(&admin.home.with_file_name("rep"));
    rep.ok(&["join", "--workspace", &workspace_id(&admin)]);
    admin.ok(&["device", "add", &device_key(&rep), "--user", "小张"]);
    sync_with(&rep, &admin);
    (admin, rep)
}

fn rules(rep: &Rep, extra: &[&str]) -> (i32, Vec<String>) {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let run = rep.run(&args);
    let code = run.code;
    let v: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    ids.dedup();
    (code, ids)
}

#[test]
fn check_reports_in_both_languages_and_exit_codes_follow_severity() {
    let admin = Rep::new();
    admin.ok(&["init", "--user", "管理员", "--role", "admin"]);
    admin.ok(&[
        "catalog",
        "add",
        "P-1",
        "--name",
        "传感器",
        "--line",
        "s",
        "--list-price",
        "1000",
    ]);
    let c = admin.saved_id(&[
        "customer",
        "add",
        "甲公司",
        "--class",
        "general",
        "--industry",
        "制造业",
        "--region",
        "华东",
    ]);
    admin.ok(&["contact", "add", &c, "张三", "--phone", "13800000000"]);
    admin.ok(&[
        "interaction",
        "log",
        &c,
        "--kind",
        "call",
        "--summary",
        "电话回访",
    ]);
    let (code, ids) = rules(&admin, &[]);
    assert_eq!(
        (code, ids.clone()),
        (0, vec![]),
        "a complete general customer is clean: {ids:?}"
    );

    // A 25% discount with no approval is a violation: exit 1.
    admin.ok(&["quote", "add", &c, "--product", "P-1", "--price", "750"]);
    let (code, ids) = rules(&admin, &[]);
    assert_eq!((code, ids), (1, vec!["PRICE-DISCOUNT".to_string()]));
    let zh = admin.run(&["--lang", "zh", "check"]);
    assert_eq!(zh.code, 1);
    assert!(
        zh.stdout.contains("未经经理或管理员审批") && zh.stdout.contains("违规"),
        "{}",
        zh.stdout
    );
    let en = admin.run(&["check", "--lang", "en"]);
    assert!(
        en.stdout.contains("no manager or admin approved it"),
        "{}",
        en.stdout
    );
    // Without --lang, the locale's language (the tests run in the C locale: English).
    let default = admin.run(&["check"]);
    assert!(
        default.stdout.contains("no manager or admin approved it")
            && !default.stdout.contains("违规"),
        "{}",
        default.stdout
    );
    let zh = admin.run_with(&["check"], &[("LANG", "zh_CN.UTF-8")], None);
    assert!(zh.stdout.contains("未经经理或管理员审批"), "{}", zh.stdout);

    // Warnings pass unless --strict.
    admin.ok(&["customer", "edit", &c, "--class", "key"]);
    let quote = admin.run(&["customer", "show", &c, "--json"]).json()["quotes"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    admin.ok(&["quote", "approve", &c, &quote]);
    let (code, ids) = rules(&admin, &[]);
    assert_eq!(code, 0, "{ids:?}");
    assert!(
        ids.contains(&"CUST-CLASS-CRITERIA".to_string())
            && ids.contains(&"CUST-KEY-PLAN".to_string()),
        "{ids:?}"
    );
    assert_eq!(admin.run(&["check", "--strict"]).code, 1);
    let (_, only) = rules(&admin, &["--rule", "CUST-KEY-PLAN"]);
    assert_eq!(only, vec!["CUST-KEY-PLAN".to_string()]);
    admin
        .run(&["check", "--rule", "NO-SUCH-RULE"])
        .fails_with("NO-SUCH-RULE");

    // Overriding a rule's severity is a synced policy change.
    admin.ok(&["policy", "set", "CUST-KEY-PLAN", "--severity", "off"]);
    let (_, ids) = rules(&admin, &[]);
    assert!(!ids.contains(&"CUST-KEY-PLAN".to_string()), "{ids:?}");
    admin
        .run(&["policy", "set", "CUST-KEY-PLAN", "--param", "nonsense=1"])
        .fails_with("nonsense");
}

#[test]
fn findings_that_appear_only_after_devices_merge() {
    let (admin, rep) = office();
    // The same new customer, created on both devices while offline.
    rep.ok(&[
        "customer",
        "add",
        "华东精密机械有限公司",
        "--credit-code",
        "91310000MA1FL8XQ3K",
        "--class",
        "potential",
    ]);
    admin.ok(&[
        "customer",
        "add",
        "华东精密机械（有限公司）",
        "--credit-code",
        "91310000MA1FL8XQ3K",
        "--owner",
        "小张",
    ]);
    // One customer whose class each side sets differently.
    admin.ok(&[
        "customer",
        "add",
        "乙公司",
        "--owner",
        "小张",
        "--class",
        "general",
    ]);
    for side in [&rep, &admin] {
        let (_, ids) = rules(side, &["--rule", "CUST-DUPLICATE"]);
        assert!(ids.is_empty(), "duplicate seen before the devices merged");
        // Each check leaves the rules' state for the next one, which starts from it
        // (every check below, after each sync and edit).
        let stats: serde_json::Value =
            serde_json::from_str(&side.ok(&["doc", "stats", "--json"])).unwrap();
        assert!(stats["engine_state_bytes"].as_u64().unwrap() > 0, "{stats}");
    }
    sync_with(&rep, &admin);
    for side in [&rep, &admin] {
        let (code, ids) = rules(side, &["--rule", "CUST-DUPLICATE"]);
        assert_eq!((code, ids), (1, vec!["CUST-DUPLICATE".to_string()]));
    }
    rep.ok(&["customer", "edit", "乙公司", "--class", "key"]);
    admin.ok(&["customer", "edit", "乙公司", "--class", "potential"]);
    let (_, before) = rules(&rep, &["--rule", "CUST-CONCURRENT-EDIT"]);
    assert!(before.is_empty());
    sync_with(&rep, &admin);
    let findings = |side: &Rep| -> serde_json::Value {
        let run = side.run(&["check", "--json", "--rule", "CUST-CONCURRENT-EDIT"]);
        assert_eq!(run.code, 1, "a concurrent edit is a violation");
        serde_json::from_str(&run.stdout).unwrap()
    };
    let (a, r) = (findings(&admin), findings(&rep));
    assert_eq!(a.as_array().unwrap().len(), 1, "{a}");
    let msg = a[0]["message_zh"].as_str().unwrap();
    assert!(
        msg.contains("小张") && msg.contains("管理员"),
        "names who set each value: {msg}"
    );
    // Same verdict on both devices.
    assert_eq!(a, r);
}

#[test]
fn today_and_inbox_show_what_the_app_shows() {
    let admin = Rep::new();
    admin.ok(&[
        "init",
        "--user",
        "管理员",
        "--role",
        "admin",
        "--company",
        "示例",
    ]);
    admin.ok(&[
        "catalog",
        "add",
        "P-1",
        "--name",
        "传感器",
        "--line",
        "s",
        "--list-price",
        "1000",
    ]);
    admin.ok(&["customer", "add", "甲公司", "--class", "key"]);
    let q = admin.saved_id(&[
        "quote",
        "add",
        "甲公司",
        "--product",
        "P-1",
        "--price",
        "750",
    ]);
    // A 25% quote waits for a sign-off: in my day (with its finding) and in the inbox,
    // which an admin may approve.
    let today = admin.run(&["today", "--json"]).json();
    assert_eq!(today["waiting"].as_array().unwrap().len(), 1, "{today}");
    assert!(
        today["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "PRICE-DISCOUNT"),
        "{today}"
    );
    let inbox = admin.run(&["inbox", "--json"]).json();
    let items = inbox.as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(items[0]["discount_bp"], 2500);
    assert_eq!(items[0]["can_approve"], true);
    let text = admin.ok(&["today"]);
    assert!(text.contains("waiting for approval (1)"), "{text}");
    let text = admin.ok(&["--lang", "zh", "today"]);
    assert!(text.contains("待审批 (1)"), "{text}");
    admin.ok(&["quote", "approve", "甲公司", &q]);
    let inbox = admin.run(&["inbox", "--json"]).json();
    assert!(inbox.as_array().unwrap().is_empty(), "{inbox}");
    assert!(admin.ok(&["inbox"]).contains("(0)"));

    // Reports: the app's figures in the CLI.
    admin.ok(&[
        "opportunity",
        "add",
        "甲公司",
        "年度采购",
        "--amount",
        "200000",
        "--stage",
        "proposal",
    ]);
    admin.ok(&[
        "target",
        "set",
        "--team",
        "华东一组",
        "--period",
        "２０２６-Q4",
        "--amount",
        "1000000",
    ]);
    let pipeline = admin.run(&["report", "pipeline", "--json"]).json();
    let proposal = pipeline
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[0] == "proposal")
        .unwrap_or_else(|| panic!("{pipeline}"));
    assert_eq!(proposal[1], 1);
    assert_eq!(proposal[2], 20_000_000);
    let targets = admin.run(&["report", "targets", "--json"]).json();
    assert_eq!(targets[0]["period"], "2026-Q4", "{targets}");
    assert!(admin.ok(&["report", "complaints"]).contains("open 0"));
    admin.ok(&["report", "activity"]);
}
