//! A cancelled quote needs no approval and a cancelled order is not due for delivery,
//! when the cancellation was made by someone who may: a manager or admin, or the file's
//! owner for a record of their own with no approval. Anyone else's is reported
//! (DATA-AUTHORITY) and does not count.

use fieldcrm_model::{DeviceKey, Document, Note, Order, Quote};
use fieldcrm_policy::RuleId as R;

use crate::support::*;

fn quote() -> Quote {
    // 15% off: beyond the rep's 10%.
    Quote {
        product: "P1".into(),
        quantity: 10,
        list_price: 100_000,
        price: 85_000,
        created_at: NOW - DAY,
        by: "rep1".into(),
        approval: None,
        cancelled: None,
    }
}

fn late_order() -> Order {
    Order {
        product: "P1".into(),
        quantity: 2,
        list_price: 100_000,
        price: 95_000,
        channel: None,
        ordered_at: NOW - 20 * DAY,
        promised_at: NOW - DAY,
        delivered_at: None,
        by: "rep1".into(),
        approval: None,
        cancelled: None,
    }
}

/// The owner rep's file with a quote waiting for approval and a late order.
fn file() -> Document {
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote());
    c.orders.insert("r1".into(), late_order());
    customer_doc(id(1), &REP, &c)
}

fn cancel(d: &mut Document, dev: &DeviceKey, collection: &str, entity: &str) {
    edit_as(d, dev, |d| {
        d.put_new_object(
            &[collection, entity, "cancelled"],
            &Note {
                text: "客户取消".into(),
                at: NOW - 1000,
                by: "whoever".into(),
            },
        )
        .unwrap()
    });
}

#[test]
fn a_cancelled_quote_or_order_produces_no_finding() {
    let mut d = file();
    assert_rules(&run(&[&mut d]), &[R::PriceDiscount, R::OrderDelivery]);
    // The owner cancels their own quote and order (no approval on either): nothing.
    cancel(&mut d, &REP, "quotes", "q1");
    assert_rules(&run(&[&mut d]), &[R::OrderDelivery]);
    cancel(&mut d, &REP, "orders", "r1");
    assert_rules(&run(&[&mut d]), &[]);
    // A manager's cancellation counts as well.
    let mut d = file();
    cancel(&mut d, &MGR, "quotes", "q1");
    cancel(&mut d, &ADMIN, "orders", "r1");
    assert_rules(&run(&[&mut d]), &[]);
}

#[test]
fn a_cancellation_without_the_authority_is_reported_and_does_not_count() {
    // Another rep, and an unenrolled device: reported, and the findings stay.
    for dev in [&REP2, &STRANGER] {
        let mut d = file();
        cancel(&mut d, dev, "quotes", "q1");
        cancel(&mut d, dev, "orders", "r1");
        let f = run(&[&mut d]);
        assert_rules(
            &f,
            &[
                R::PriceDiscount,
                R::OrderDelivery,
                R::DataAuthority,
                R::DataAuthority,
            ],
        );
    }
    // The owner may not cancel a quote a manager approved.
    let mut d = file();
    edit_as(&mut d, &MGR, |d| {
        d.put_new_object(
            &["quotes", "q1", "approval"],
            &sign_off(
                d,
                &["quotes", "q1", "approval"],
                approval("mgr1", NOW - DAY),
            ),
        )
        .unwrap()
    });
    assert_rules(&run(&[&mut d]), &[R::OrderDelivery]);
    cancel(&mut d, &REP, "quotes", "q1");
    let f = run(&[&mut d]);
    assert_rules(&f, &[R::OrderDelivery, R::DataAuthority]);
    assert_eq!(
        of(&f, R::DataAuthority)[0].entity.as_deref(),
        Some("quotes/q1/cancelled")
    );
}
