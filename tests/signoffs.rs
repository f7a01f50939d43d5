//! Issue #10 (rules that cannot be gamed) through the real binaries: an approval voided by
//! a later price change gives the same verdict on the rep's device, the manager's device
//! and the relay.

use crate::relay::Office;
use crate::support::{Rep, add_sensor_product};

fn price_findings(dev: &Rep, relay: bool) -> Vec<(String, String)> {
    let mut args = vec!["check", "--json", "--rule", "PRICE-DISCOUNT"];
    if relay {
        args.push("--relay");
    }
    let run = dev.run(&args);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let all: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    all.iter()
        .map(|f| {
            (
                f["message_zh"].as_str().unwrap_or_default().to_string(),
                f["message_en"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_price_lowered_after_approval_is_void_on_every_device_and_the_relay() {
    let office = Office::new("");
    add_sensor_product(&office.admin);
    office.admin.ok(&["sync"]);
    let mgr = office.device("王经理", "manager", "华东");
    let rep = office.device("小张", "rep", "华东");
    let cust = rep.saved_id(&["customer", "add", "华东精密机械有限公司"]);
    // 15 % off, approved by the manager.
    let q = rep.saved_id(&[
        "quote",
        "add",
        &cust,
        "--product",
        "P-100",
        "--price",
        "850",
    ]);
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    mgr.ok(&["quote", "approve", &cust, &q]);
    mgr.ok(&["sync"]);
    rep.ok(&["sync"]);
    assert!(price_findings(&rep, false).is_empty());
    assert!(price_findings(&mgr, true).is_empty());

    // Afterwards the rep lowers the price to 24 % off.
    let out = rep.ok(&["quote", "edit", &cust, &q, "--price", "760"]);
    assert!(out.contains("needs approving again"), "{out}");
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    let on_rep = price_findings(&rep, false);
    assert_eq!(on_rep.len(), 1, "{on_rep:?}");
    assert!(on_rep[0].0.contains("已失效"), "{}", on_rep[0].0);
    assert!(on_rep[0].0.contains("小张"), "{}", on_rep[0].0);
    assert_eq!(price_findings(&mgr, false), on_rep);
    assert_eq!(price_findings(&mgr, true), on_rep, "the relay agrees");
    assert_eq!(
        price_findings(&rep, true),
        on_rep,
        "and shows it to the rep"
    );
}
