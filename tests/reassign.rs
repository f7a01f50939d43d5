//! Nothing typed is lost on reassignment: a rep logs a visit offline on their customer;
//! meanwhile the manager hands the customer to another rep. When the old owner syncs
//! through the real relay, the visit reaches the office (it was made while the rep owned
//! the file, judged against the document as the rep saw it), the file then leaves the
//! old owner's device with a message, and the new owner and the manager see the visit.

use crate::browser_kit::Office;

#[test]
fn an_old_owners_offline_visit_survives_the_reassignment_and_reaches_the_new_owner() {
    let office = Office::new();
    let mgr = office.device("王经理", "manager", "华东一组");
    let old = office.device("小张", "rep", "华东一组");
    let new = office.device("小李", "rep", "华东一组");
    old.ok(&["customer", "add", "华东机电有限公司", "--class", "key"]);
    old.ok(&["sync"]);
    mgr.ok(&["sync"]);

    // Offline, on the old owner's device.
    old.ok(&[
        "interaction",
        "log",
        "华东机电有限公司",
        "--kind",
        "visit",
        "--summary",
        "现场确认二期需求（离线记录）",
    ]);
    // Meanwhile the manager reassigns the customer.
    mgr.ok(&["customer", "edit", "华东机电有限公司", "--owner", "小李"]);
    mgr.ok(&["sync"]);

    // The old owner comes back online: the visit goes out, then the file leaves.
    let out = old.ok(&["sync"]);
    assert!(out.contains("华东机电有限公司"), "{out}");
    // The file left the old owner's device.
    old.run(&["customer", "show", "华东机电有限公司"])
        .fails_with("not found");

    for dev in [&new, &mgr] {
        dev.ok(&["sync"]);
        let shown = dev.ok(&["customer", "show", "华东机电有限公司", "--json"]);
        assert!(
            shown.contains("现场确认二期需求（离线记录）"),
            "the old owner's visit is missing:\n{shown}"
        );
    }
}
