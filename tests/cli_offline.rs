//! Issue #2's "done when": a new user records a day's work offline through the CLI.

use crate::support::Rep;

fn setup_admin() -> Rep {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "王经理",
        "--role",
        "admin",
        "--team",
        "华东一组",
        "--company",
        "示例科技",
    ]);
    rep.ok(&[
        "user",
        "add",
        "李渠道",
        "--role",
        "channel-manager",
        "--region",
        "华东",
    ]);
    crate::support::add_sensor_product(&rep);
    rep
}

#[test]
fn a_day_of_offline_work() {
    let rep = setup_admin();
    let who = rep.run(&["whoami", "--json"]).json();
    assert_eq!(who["user"], "王经理");
    assert_eq!(who["role"], "admin");
    assert_eq!(who["device"].as_str().unwrap().len(), 64);

    let cust = rep.saved_id(&[
        "customer",
        "add",
        "华东精密机械有限公司",
        "--class",
        "重要",
        "--industry",
        "制造业",
        "--region",
        "华东",
        "--address",
        "上海市浦东新区张江路 88 号",
        "--annual-value",
        "2,000,000",
    ]);
    assert_eq!(cust.len(), 8);
    let c1 = rep.saved_id(&[
        "contact",
        "add",
        "华东精密机械有限公司",
        "张伟",
        "--phone",
        "138 0000 0001",
        "--title",
        "采购经理",
    ]);
    rep.ok(&[
        "contact",
        "add",
        &cust,
        "李娜",
        "--email",
        "lina@example.cn",
    ]);
    rep.ok(&[
        "interaction",
        "log",
        &cust,
        "--kind",
        "拜访",
        "--summary",
        "介绍新款传感器",
        "--at",
        "2026-11-28T15:00",
        "--contact",
        &c1,
    ]);
    let comp = rep.saved_id(&[
        "complaint",
        "open",
        &cust,
        "--summary",
        "交货延迟",
        "--severity",
        "major",
        "--at",
        "2026-11-28T10:00",
    ]);
    rep.ok(&[
        "complaint",
        "respond",
        &cust,
        &comp,
        "--text",
        "已致电客户致歉",
        "--at",
        "2026-11-28T12:00",
    ]);
    rep.ok(&[
        "complaint",
        "resolve",
        &cust,
        &comp,
        "--text",
        "补发货物并赔偿运费",
    ]);

    let shown = rep.run(&["customer", "show", &cust, "--json"]).json();
    assert_eq!(shown["name"], "华东精密机械有限公司");
    assert_eq!(shown["class"], "key");
    assert_eq!(shown["annual_value"], 200_000_000);
    assert_eq!(shown["contacts"].as_object().unwrap().len(), 2);
    let complaint = shown["complaints"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(complaint["severity"], "major");
    assert!(complaint["closed_at"].is_i64());
    assert_eq!(complaint["resolution"]["text"], "补发货物并赔偿运费");
    let interaction = shown["interactions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(interaction["kind"], "visit");
    // 2026-11-28T15:00 in Asia/Shanghai is 07:00 UTC.
    assert_eq!(interaction["occurred_at"], 1_795_849_200_000i64);

    let table = rep.ok(&["customer", "show", &cust]);
    assert!(
        table.contains("张伟") && table.contains("介绍新款传感器"),
        "{table}"
    );

    // A distributor with its qualification review and agreement.
    let ch = rep.saved_id(&[
        "channel",
        "add",
        "苏州华信分销有限公司",
        "--kind",
        "分销商",
        "--region",
        "华东",
        "--lines",
        "sensors",
    ]);
    rep.ok(&[
        "channel",
        "review",
        &ch,
        "--result",
        "通过",
        "--note",
        "营业执照与财务报表齐全",
    ]);
    rep.ok(&["channel", "assess-risk", &ch, "--level", "low"]);
    rep.ok(&[
        "channel",
        "agreement",
        &ch,
        "--rights",
        "华东区域销售传感器",
        "--responsibilities",
        "季度销量不低于 500 台",
        "--plan",
        "2027 年联合推广",
        "--from",
        "2026-12-01",
        "--to",
        "2027-11-30",
        "--signed",
    ]);
    rep.ok(&["channel", "activate", &ch]);
    let chj = rep.run(&["channel", "show", &ch, "--json"]).json();
    assert_eq!(chj["status"], "active");
    assert_eq!(chj["qualification"]["result"], "passed");
    assert_eq!(chj["agreement"]["rights"], "华东区域销售传感器");

    let list = rep.run(&["customer", "list", "--json"]).json();
    let arr = list.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["name"], "华东精密机械有限公司");
    assert_eq!(arr[0]["class"], "key");
    assert_eq!(arr[0]["owner_name"], "王经理");
    let channels = rep.run(&["channel", "list", "--json"]).json();
    assert_eq!(channels[0]["status"], "active");
    assert_eq!(channels[0]["name"], "苏州华信分销有限公司");
    let table = rep.ok(&["customer", "list"]);
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(
        table.contains("华东精密机械有限公司")
            && table.contains(" key ")
            && !table.contains("重要"),
        "{table}"
    );
    let table = rep.ok(&["--lang", "zh", "customer", "list"]);
    assert!(
        table.contains(" 重要 ") && !table.contains("key"),
        "{table}"
    );
    assert!(rep.ok(&["channel", "list"]).contains(" active "));
    assert!(
        rep.ok(&["--lang", "zh", "channel", "list"])
            .contains(" 合作中 ")
    );
    assert!(
        rep.ok(&["customer", "list", "--class", "general", "--json"])
            .trim()
            == "[]"
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let rep = setup_admin();
    rep.ok(&["customer", "add", "重名公司"]);
    rep.ok(&["customer", "add", "重名公司"]);
    rep.ok(&["customer", "add", "唯一公司"]);
    let before = rep.ok(&["customer", "list", "--json"]);

    rep.run(&["contact", "add", "不存在公司", "张三"])
        .fails_with("不存在公司");
    rep.run(&["contact", "add", "重名公司", "张三"])
        .fails_with("ambiguous");
    rep.run(&[
        "interaction",
        "log",
        "唯一公司",
        "--kind",
        "visit",
        "--summary",
        "x",
        "--at",
        "2026-02-30",
    ])
    .fails_with("2026-02-30");
    rep.run(&[
        "interaction",
        "log",
        "唯一公司",
        "--kind",
        "teleport",
        "--summary",
        "x",
    ])
    .fails_with("teleport");
    rep.run(&["customer", "add", "新公司", "--class", "vip"])
        .fails_with("key, general, potential");
    rep.run(&["customer", "add", "新公司", "--annual-value=-5"])
        .fails_with("--annual-value");
    rep.run(&["customer", "add", "新公司", "--annual-value", "lots"])
        .fails_with("lots");
    rep.run(&["customer", "add", "   "])
        .fails_with("must not be empty");
    // Free text is `--text` on every command (README "Command-line conventions").
    rep.run(&["complaint", "open", "唯一公司"])
        .fails_with("--text");
    rep.run(&["survey", "record", "唯一公司", "--score", "9"])
        .fails_with("1 to 5");
    rep.run(&[
        "contact",
        "add",
        "唯一公司",
        "张三",
        "--email",
        "not-an-email",
    ])
    .fails_with("not-an-email");

    assert_eq!(
        rep.ok(&["customer", "list", "--json"]),
        before,
        "a refused command changed the workspace"
    );
    let shown = rep.run(&["customer", "show", "唯一公司", "--json"]).json();
    assert!(shown["contacts"].as_object().unwrap().is_empty());
}

#[test]
fn a_rep_cannot_approve_what_needs_a_manager() {
    let rep = Rep::new();
    rep.ok(&["init", "--user", "小张", "--role", "rep", "--team", "华南"]);
    rep.run(&[
        "catalog",
        "add",
        "P-1",
        "--name",
        "x",
        "--line",
        "l",
        "--list-price",
        "100",
    ])
    .fails_with("needs role manager");
    rep.run(&["user", "add", "某人", "--role", "rep"])
        .fails_with("permission denied");
    let cust = rep.saved_id(&["customer", "add", "广州某公司"]);
    let ct = rep.saved_id(&[
        "contract",
        "add",
        &cust,
        "年度供货合同",
        "--amount",
        "50000",
    ]);
    rep.run(&["contract", "review", &cust, &ct, "--result", "passed"])
        .fails_with("needs role legal");
    rep.run(&["customer", "class-exception", &cust])
        .fails_with("needs role manager");
}

#[test]
fn commands_without_a_workspace_say_so() {
    let rep = Rep::new();
    rep.run(&["customer", "list"])
        .fails_with("no fieldcrm workspace");
    rep.ok(&["init", "--user", "a", "--role", "admin"]);
    rep.run(&["init", "--user", "a", "--role", "admin"])
        .fails_with("already exists");
    rep.run(&["init", "--user", "b", "--role", "boss"])
        .fails_with("--role");
}

#[test]
fn a_quote_edited_after_approval_shows_the_approval_as_void() {
    let admin = setup_admin();
    let cust = admin.saved_id(&["customer", "add", "华东精密机械有限公司"]);
    let q = admin.saved_id(&[
        "quote",
        "add",
        &cust,
        "--product",
        "P-100",
        "--price",
        "850",
        "--quantity",
        "2",
    ]);
    admin.ok(&["quote", "approve", &cust, &q]);
    let (code, _) = {
        let r = admin.run(&["check", "--rule", "PRICE-DISCOUNT"]);
        (r.code, r.stdout)
    };
    assert_eq!(code, 0);

    let out = admin.ok(&["quote", "edit", &cust, &q, "--price", "７６０"]);
    assert!(out.contains("needs approving again"), "{out}");
    let show = admin.ok(&["customer", "show", &cust]);
    assert!(show.contains(" void"), "{show}");
    let show = admin.ok(&["--lang", "zh", "customer", "show", &cust]);
    assert!(show.contains("（已失效）"), "{show}");
    let r = admin.run(&["--lang", "zh", "check", "--rule", "PRICE-DISCOUNT"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("已失效"), "{}", r.stdout);
    assert!(r.stdout.contains("760.00"), "{}", r.stdout);
    admin
        .run(&["quote", "edit", &cust, &q])
        .fails_with("nothing to change");
    admin
        .run(&["quote", "edit", &cust, &q, "--quantity", "0"])
        .fails_with("quantity");

    // Approved again for the new price: the rule is satisfied.
    admin.ok(&["quote", "approve", &cust, &q]);
    assert_eq!(admin.run(&["check", "--rule", "PRICE-DISCOUNT"]).code, 0);
    let show = admin.ok(&["customer", "show", &cust]);
    assert!(!show.contains("void"), "{show}");
}
