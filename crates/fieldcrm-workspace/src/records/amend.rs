//! Correcting and cancelling records of a customer file: edit a contact or an
//! interaction (only the fields given change, read and limited as when adding), cancel a
//! quote or an order (who, when, why kept on the record).
//!
//! Who may edit: whoever may change the file (its owner rep, managers and admins, as for
//! adding). Who may cancel: a holder of [`Authority::CancelRecord`] (managers, admins), or
//! the file's owner for a quote or order of their own that carries no approval
//! ([`Customer::own_unapproved`], the same test DATA-AUTHORITY makes). A delivered order
//! cannot be cancelled by anyone. A removed record is neither edited nor cancelled: it
//! must be restored first.

use fieldcrm_model::*;

use super::*;
use crate::{Error, Result, Workspace};

/// Changes to a contact; `None` leaves a field as it is, an empty text clears an optional
/// one.
#[derive(Debug, Clone, Default)]
pub struct ContactEdit {
    /// New name.
    pub name: Option<String>,
    /// New job title.
    pub title: Option<String>,
    /// New phone number.
    pub phone: Option<String>,
    /// New email address.
    pub email: Option<String>,
}

impl ContactEdit {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.title.is_none() && self.phone.is_none() && self.email.is_none()
    }
}

/// Changes to an interaction; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct InteractionEdit {
    /// New kind.
    pub kind: Option<InteractionKind>,
    /// New time it happened.
    pub occurred_at: Option<Millis>,
    /// New summary.
    pub summary: Option<String>,
    /// New contact (ID prefix); an empty text clears it.
    pub contact: Option<String>,
}

impl InteractionEdit {
    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.occurred_at.is_none()
            && self.summary.is_none()
            && self.contact.is_none()
    }
}

/// "Nothing to change" for `field` (the first field the form or command offers).
fn nothing_to_change(field: &str) -> Error {
    Error::bad(
        field,
        "没有要修改的内容：请至少给出一项新值",
        "nothing to change: give at least one new value",
    )
}

/// An email address as a contact takes it (trimmed; empty is none).
pub(super) fn contact_email(email: Option<String>) -> Result<Option<String>> {
    let email = opt_text(email);
    if let Some(e) = &email
        && !e.contains('@')
    {
        return Err(Error::bad(
            "email",
            format!("“{e}”不是电子邮箱地址"),
            format!("`{e}` is not an email address"),
        ));
    }
    Ok(email)
}

/// A phone number as a contact takes it: at least 5 digits, only digits, `+-() ` and
/// spaces (full-width accepted); empty is none.
pub(super) fn contact_phone(phone: Option<String>) -> Result<Option<String>> {
    let phone = opt_text(phone);
    if let Some(p) = &phone {
        let ascii = || p.chars().map(money::fullwidth_to_ascii);
        let digits = ascii().filter(|c| c.is_ascii_digit()).count();
        if digits < 5 || ascii().any(|c| !(c.is_ascii_digit() || "+-() ".contains(c))) {
            return Err(Error::bad(
                "phone",
                format!("“{p}”不是电话号码"),
                format!("`{p}` is not a phone number"),
            ));
        }
    }
    Ok(phone)
}

/// The full ID of the live record `entity` (an ID prefix) in `collection`; a removed
/// record is refused with a message saying so.
fn live_key<V>(
    c: &Customer,
    collection: &str,
    (what, zh): (&str, &str),
    map: &std::collections::BTreeMap<String, V>,
    entity: &str,
) -> Result<String> {
    let key = crate::resolve::resolve_entity(what, map, entity)?;
    if c.is_removed(collection, &key) {
        return Err(Error::Invalid(crate::Msg::new(
            format!(
                "{zh} {} 已删除；请经理先恢复（restore）再修改",
                short_id(&key)
            ),
            format!(
                "{what} {} was removed; a manager must restore it before it is changed",
                short_id(&key)
            ),
        )));
    }
    Ok(key)
}

/// A quote or order as cancelling sees it.
struct Cancellable {
    approved: bool,
    delivered: bool,
    cancelled: bool,
}

impl Workspace {
    /// Change fields of a contact (`contact` an ID prefix); returns its full ID.
    pub fn edit_contact(
        &self,
        id: &DocId,
        contact: &str,
        e: ContactEdit,
        now: Millis,
    ) -> Result<String> {
        if e.is_empty() {
            return Err(nothing_to_change("name"));
        }
        let name = e.name.map(|n| required("contact name", &n)).transpose()?;
        let phone = e.phone.map(|p| contact_phone(Some(p))).transpose()?;
        let email = e.email.map(|m| contact_email(Some(m))).transpose()?;
        let title = e.title.map(|t| opt_text(Some(t)));
        self.edit_customer(id, now, "修改联系人 edit contact", |doc, c, _| {
            let cid = live_key(c, "contacts", ("contact", "联系人"), &c.contacts, contact)?;
            if let Some(v) = name {
                doc.put(&["contacts", &cid, "name"], &v)?;
            }
            for (key, v) in [("title", title), ("phone", phone), ("email", email)] {
                if let Some(v) = v {
                    doc.put(&["contacts", &cid, key], &v)?;
                }
            }
            Ok(cid)
        })
    }

    /// Change fields of an interaction (`interaction` an ID prefix); returns its full ID.
    pub fn edit_interaction(
        &self,
        id: &DocId,
        interaction: &str,
        e: InteractionEdit,
        now: Millis,
    ) -> Result<String> {
        if e.is_empty() {
            return Err(nothing_to_change("summary"));
        }
        if let Some(at) = e.occurred_at {
            not_future("the interaction time", at, now)?;
        }
        let summary = e.summary.map(|s| required("summary", &s)).transpose()?;
        self.edit_customer(
            id,
            now,
            "修改互动记录 edit interaction",
            |doc, c, _| {
                let iid = live_key(
                    c,
                    "interactions",
                    ("interaction", "互动记录"),
                    &c.interactions,
                    interaction,
                )?;
                if let Some(text) = e.contact {
                    let contact = match opt_text(Some(text)) {
                        None => None,
                        Some(t) => Some(
                            live_key(c, "contacts", ("contact", "联系人"), &c.contacts, &t)
                                .map_err(|e| e.on("contact"))?,
                        ),
                    };
                    doc.put(&["interactions", &iid, "contact"], &contact)?;
                }
                if let Some(k) = e.kind {
                    doc.put(&["interactions", &iid, "kind"], &k)?;
                }
                if let Some(at) = e.occurred_at {
                    doc.put(&["interactions", &iid, "occurred_at"], &at)?;
                }
                if let Some(s) = summary {
                    doc.put(&["interactions", &iid, "summary"], &s)?;
                }
                Ok(iid)
            },
        )
    }

    /// Cancel a quote (`quote` an ID prefix) with a reason; returns its full ID. See the
    /// module documentation for who may.
    pub fn cancel_quote(
        &self,
        id: &DocId,
        quote: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.cancel(id, ("quotes", "quote", "报价"), quote, reason, now)
    }

    /// Cancel an order that is not delivered (`order` an ID prefix) with a reason;
    /// returns its full ID. See the module documentation for who may.
    pub fn cancel_order(
        &self,
        id: &DocId,
        order: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.cancel(id, ("orders", "order", "订单"), order, reason, now)
    }

    fn cancel(
        &self,
        id: &DocId,
        (collection, what, zh): (&str, &str, &str),
        entity: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let message = format!("取消{zh} cancel {what}");
        self.edit_customer(id, now, &message, |doc, c, me| {
            let (eid, state) = match collection {
                "quotes" => {
                    let eid = live_key(c, collection, (what, zh), &c.quotes, entity)?;
                    let q = crate::resolve::entry(what, &c.quotes, &eid)?;
                    let state = Cancellable {
                        approved: q.approval.is_some(),
                        delivered: false,
                        cancelled: q.is_cancelled(),
                    };
                    (eid, state)
                }
                _ => {
                    let eid = live_key(c, collection, (what, zh), &c.orders, entity)?;
                    let o = crate::resolve::entry(what, &c.orders, &eid)?;
                    let state = Cancellable {
                        approved: o.approval.is_some(),
                        delivered: o.delivered_at.is_some(),
                        cancelled: o.is_cancelled(),
                    };
                    (eid, state)
                }
            };
            let short = short_id(&eid);
            if state.cancelled {
                return Err(Error::Invalid(crate::Msg::new(
                    format!("{zh} {short} 已取消"),
                    format!("{what} {short} is already cancelled"),
                )));
            }
            if state.delivered {
                return Err(Error::Invalid(crate::Msg::new(
                    format!("订单 {short} 已交付，不能取消"),
                    format!("order {short} is delivered; a delivered order cannot be cancelled"),
                )));
            }
            if !c.own_unapproved(collection, &eid, &me.user_id)
                && let Err(e) = me.require(Authority::CancelRecord)
            {
                if state.approved {
                    return Err(Error::denied(crate::Msg::new(
                        format!(
                            "{zh} {short} 已经审批；只有{}可以取消",
                            Authority::CancelRecord.needs_zh()
                        ),
                        format!(
                            "{what} {short} is approved; only a {} may cancel it",
                            Authority::CancelRecord.needs_en()
                        ),
                    )));
                }
                return Err(e);
            }
            doc.put_new_object(
                &[collection, &eid, "cancelled"],
                &Note {
                    text: opt_text(reason).unwrap_or_default(),
                    at: now,
                    by: me.user_id.clone(),
                },
            )?;
            Ok(eid)
        })
    }
}
