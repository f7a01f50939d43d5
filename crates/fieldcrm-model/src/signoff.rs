//! What a sign-off approves: the values it covers, bound at signing.
//!
//! A discount approval covers the quote's product, quantity, list price and price; a
//! legal review covers the contract's title and amount; and so on ([`covered_fields`],
//! the one table). The application layer writes the covered values into the sign-off
//! (`covers`, canonical JSON text per field) when it is made; the policy engine compares
//! them with the merged values. A later change to any covered value voids the sign-off,
//! and so does a sign-off that does not record what it approved (one made before this
//! binding existed, or whose record was removed): it needs approving again.

use std::collections::BTreeMap;

use crate::Authority;

/// The fields of the signed entity that a sign-off of `authority` covers (field names
/// of the entity the sign-off sits on: a quote, an order, a gift, a contract, the
/// customer file for a class exception, the channel for a qualification review). Empty
/// for authorities that are not sign-offs.
pub fn covered_fields(authority: Authority) -> &'static [&'static str] {
    match authority {
        Authority::DiscountApproval | Authority::OrderApproval => {
            &["product", "quantity", "list_price", "price"]
        }
        Authority::GiftApproval => &["kind", "direction", "description", "value"],
        Authority::LegalReview => &["title", "amount"],
        Authority::ClassException => &["class"],
        Authority::ChannelQualification => &["name", "channel_kind"],
        _ => &[],
    }
}

/// The covered values of an entity as canonical JSON text, read through `field` (the
/// JSON value of one field of the entity; `Null` when absent).
pub fn covered_values(
    authority: Authority,
    field: impl Fn(&str) -> serde_json::Value,
) -> BTreeMap<String, String> {
    covered_fields(authority)
        .iter()
        .map(|f| ((*f).to_string(), field(f).to_string()))
        .collect()
}

/// A covered value that differs from what the sign-off approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Field name on the entity (`price`).
    pub field: &'static str,
    /// What was approved, as canonical JSON text; `None` when the sign-off does not
    /// record it.
    pub approved: Option<String>,
    /// The value now, as canonical JSON text.
    pub now: String,
}

/// The covered values that changed since the sign-off recorded `covers`.
pub fn changed_since(
    authority: Authority,
    covers: &BTreeMap<String, String>,
    field: impl Fn(&str) -> serde_json::Value,
) -> Vec<Changed> {
    covered_fields(authority)
        .iter()
        .filter_map(|f| {
            let now = field(f).to_string();
            let approved = covers.get(*f);
            (approved != Some(&now)).then(|| Changed {
                field: f,
                approved: approved.cloned(),
                now,
            })
        })
        .collect()
}

/// A field of a serialisable entity as JSON (`Null` when absent), for [`covered_values`]
/// and [`changed_since`] on a typed entity. The entity is serialised once, at the first
/// field asked for: a rule that never asks (no sign-off to check) pays nothing.
pub fn entity_field<T: serde::Serialize>(entity: &T) -> impl Fn(&str) -> serde_json::Value + '_ {
    let json = std::cell::OnceCell::new();
    move |f: &str| {
        json.get_or_init(|| serde_json::to_value(entity).unwrap_or(serde_json::Value::Null))
            .get(f)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Whether a sign-off of `authority` recording `covers` no longer covers `entity` (a
/// typed quote, order, gift, contract or channel): what the CLI and the app show as void.
pub fn is_void<T: serde::Serialize>(
    authority: Authority,
    covers: &BTreeMap<String, String>,
    entity: &T,
) -> bool {
    !changed_since(authority, covers, entity_field(entity)).is_empty()
}

impl crate::Quote {
    /// Whether the quote carries an approval that still covers its values.
    pub fn has_current_approval(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(|a| !is_void(Authority::DiscountApproval, &a.covers, self))
    }
}

impl crate::Order {
    /// Whether the order carries an approval that still covers its values.
    pub fn has_current_approval(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(|a| !is_void(Authority::OrderApproval, &a.covers, self))
    }
}

impl crate::Gift {
    /// Whether the gift carries an approval that still covers its values.
    pub fn has_current_approval(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(|a| !is_void(Authority::GiftApproval, &a.covers, self))
    }
}

/// The covered values of the entity at `entity` (map keys from the root; empty for the
/// document itself) in `doc`, read from its current (winning) values: what a sign-off
/// made now records.
pub fn covered_in(
    doc: &crate::Document,
    authority: Authority,
    entity: &[&str],
) -> BTreeMap<String, String> {
    let json = doc
        .map_at(entity)
        .map(|obj| crate::fields::object_json(doc.automerge(), &obj))
        .unwrap_or(serde_json::Value::Null);
    covered_values(authority, |f| {
        json.get(f).cloned().unwrap_or(serde_json::Value::Null)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Quote;

    #[test]
    fn a_changed_price_is_named_and_an_unrecorded_sign_off_changes_everything() {
        let q = Quote {
            product: "P-100".into(),
            quantity: 20,
            list_price: 100_000,
            price: 85_000,
            ..Default::default()
        };
        let covers = covered_values(Authority::DiscountApproval, entity_field(&q));
        assert_eq!(covers.get("price").map(String::as_str), Some("85000"));
        assert_eq!(covers.get("product").map(String::as_str), Some("\"P-100\""));
        assert!(changed_since(Authority::DiscountApproval, &covers, entity_field(&q)).is_empty());
        let lower = Quote {
            price: 76_000,
            ..q.clone()
        };
        let changed = changed_since(Authority::DiscountApproval, &covers, entity_field(&lower));
        assert_eq!(
            changed,
            vec![Changed {
                field: "price",
                approved: Some("85000".into()),
                now: "76000".into()
            }]
        );
        let none = changed_since(
            Authority::DiscountApproval,
            &BTreeMap::new(),
            entity_field(&q),
        );
        assert_eq!(none.len(), 4);
        assert!(covered_fields(Authority::Catalog).is_empty());
    }
}
