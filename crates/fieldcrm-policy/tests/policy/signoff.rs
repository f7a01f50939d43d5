//! Sign-offs bound to what they approved: which covered values void them is a rule
//! setting (`approval_covers`, `review_covers`, `exception_covers`).

use fieldcrm_model::{Document, Quote};
use fieldcrm_policy::{Config, ConfigError, Finding, RuleId as R, check};

use crate::support::*;

/// A 15 % quote approved by the manager, then its quantity raised by the rep.
fn approved_then_quantity_changed() -> Document {
    let mut c = clean_customer("甲公司");
    c.quotes.insert(
        "q1".into(),
        Quote {
            product: "P1".into(),
            quantity: 10,
            list_price: 100_000,
            price: 85_000,
            created_at: NOW - DAY,
            by: "rep1".into(),
            approval: None,
            cancelled: None,
        },
    );
    let mut d = customer_doc(id(1), &REP, &c);
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
    edit_as(&mut d, &REP, |d| {
        d.put(&["quotes", "q1", "quantity"], &5_i64).unwrap()
    });
    d
}

fn run_with(d: &mut Document, cfg: &Config) -> Vec<Finding> {
    let mut snaps = workspace();
    snaps.push(d.snapshot().unwrap());
    check(&snaps, cfg, NOW)
}

#[test]
fn which_changes_void_an_approval_is_a_rule_setting() {
    let mut d = approved_then_quantity_changed();
    let f = run_with(&mut d, &Config::default());
    assert_rules(&f, &[R::PriceDiscount]);
    assert_eq!(f[0].facts["approval_void"][0]["field"], "quantity");
    assert!(
        f[0].message_zh.contains("数量由10改为5"),
        "{}",
        f[0].message_zh
    );

    // A company whose discount approvals are per unit price only.
    let price_only =
        Config::from_toml("[rules.PRICE-DISCOUNT]\napproval_covers = \"price\"\n").unwrap();
    assert_rules(&run_with(&mut d, &price_only), &[]);
    assert_eq!(
        price_only.rule(R::PriceDiscount).params["approval_covers"].to_string(),
        "price"
    );
    // Chinese names and separators are read too.
    let zh =
        Config::from_toml("[rules.PRICE-DISCOUNT]\napproval_covers = \"单价、数量\"\n").unwrap();
    assert_rules(&run_with(&mut d, &zh), &[R::PriceDiscount]);
    assert_eq!(
        zh.rule(R::PriceDiscount).params["approval_covers"].to_string(),
        "quantity,price"
    );
    let none = Config::from_toml("[rules.PRICE-DISCOUNT]\napproval_covers = \"none\"\n").unwrap();
    assert_rules(&run_with(&mut d, &none), &[]);
    // A field the sign-off does not cover is refused, naming the choices.
    let e =
        Config::from_toml("[rules.PRICE-DISCOUNT]\napproval_covers = \"colour\"\n").unwrap_err();
    match e {
        ConfigError::BadValue {
            param, expected, ..
        } => {
            assert_eq!(param, "approval_covers");
            assert!(expected.contains("list_price"), "{expected}");
        }
        other => panic!("{other:?}"),
    }
}
