//! Record-keeping operations: one method per thing a rep or admin records, grouped by
//! record family: the customer file (`customer`), the sales process (`sales`), channel
//! partners (`channel`) and the workspace documents (`admin`).
//!
//! Each validates its input, checks the acting user's authority against
//! [`fieldcrm_model::Authority`] (the one table of who may sign or set what; the
//! merged-state checks are the policy crate's job), writes the smallest change, and saves
//! durably in one transaction, or writes nothing.

mod admin;
mod amend;
mod channel;
mod customer;
mod findings;
mod removal;
mod sales;

use autosurgeon::Reconcile;
use fieldcrm_model::access::can_write;
use fieldcrm_model::*;

use crate::{Error, Me, Result, Workspace};

pub use admin::parse_period;
pub use amend::{ContactEdit, InteractionEdit};
pub use removal::{
    REPORT_GRACE, channel_record_collection, record_collection, sales_record_collection,
};
pub use sales::PricedEdit;

/// Fields of a new customer file.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Company name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Class.
    pub class: Option<CustomerClass>,
    /// Annual value, fen.
    pub annual_value: Option<Fen>,
    /// Owner (user name or ID prefix); default: the acting user.
    pub owner: Option<String>,
    /// Team; default: the owner's team.
    pub team: Option<String>,
}

/// Changes to a customer file; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerEdit {
    /// New name.
    pub name: Option<String>,
    /// New credit code.
    pub credit_code: Option<String>,
    /// New industry.
    pub industry: Option<String>,
    /// New region.
    pub region: Option<String>,
    /// New address.
    pub address: Option<String>,
    /// New class.
    pub class: Option<CustomerClass>,
    /// New annual value.
    pub annual_value: Option<Fen>,
    /// New owner (reassignment: managers and admins only).
    pub owner: Option<String>,
    /// New team.
    pub team: Option<String>,
}

/// A new channel partner.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Region.
    pub region: Option<String>,
    /// Product lines.
    pub product_lines: Vec<String>,
    /// Owning channel manager (name or ID); default the acting user.
    pub owner: Option<String>,
}

/// A cooperation agreement.
#[derive(Debug, Clone)]
pub struct AgreementInput {
    /// Rights.
    pub rights: String,
    /// Responsibilities.
    pub responsibilities: String,
    /// Cooperation plan.
    pub plan: String,
    /// Term start.
    pub term_start: Millis,
    /// Term end.
    pub term_end: Millis,
    /// Authorised products/lines (empty = all the channel's lines).
    pub products: Vec<String>,
    /// Signed now.
    pub signed: bool,
}

/// A customer file or channel record: something that can be merged away.
trait Record: autosurgeon::Hydrate + 'static {
    /// What it is called in messages.
    const WHAT: &'static str;
    /// Its name.
    fn name(&self) -> &str;
    /// The survivor's ID if it was merged away.
    fn merged_into(&self) -> Option<&str>;
    /// Whether it is archived.
    fn is_archived(&self) -> bool;
}

impl Record for Customer {
    const WHAT: &'static str = "customer";
    fn name(&self) -> &str {
        &self.name
    }
    fn merged_into(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }
    fn is_archived(&self) -> bool {
        self.archived.is_some()
    }
}

impl Record for Channel {
    const WHAT: &'static str = "channel";
    fn name(&self) -> &str {
        &self.name
    }
    fn merged_into(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }
    fn is_archived(&self) -> bool {
        self.archived.is_some()
    }
}

/// Discount of `price` below `list` in basis points (0 if not below).
pub fn discount_bp(list: Fen, price: Fen) -> i64 {
    if list <= 0 || price >= list {
        0
    } else {
        ((list - price) as i128 * 10_000 / list as i128) as i64
    }
}

fn opt_text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A required text input: trimmed, not empty, at most [`crate::input::MAX_NAME_CHARS`]
/// characters. `what` is `(field, 中文名, English name)`.
fn required(what: &str, s: &str) -> Result<String> {
    let t = s.trim();
    let (field, zh, en) = crate::input::field_names(what);
    if t.is_empty() {
        Err(Error::bad(
            field,
            format!("{zh}不能为空"),
            format!("{en} must not be empty"),
        ))
    } else {
        Ok(t.to_string())
    }
}

fn not_future(what: &str, at: Millis, now: Millis) -> Result<()> {
    let (field, zh, en) = crate::input::field_names(what);
    if at > now + 5 * 60_000 {
        Err(Error::bad(
            field,
            format!("{zh}不能在将来"),
            format!("{en} is in the future"),
        ))
    } else {
        Ok(())
    }
}

fn not_negative(what: &str, v: i64) -> Result<()> {
    let (field, zh, en) = crate::input::field_names(what);
    if v < 0 {
        Err(Error::bad(
            field,
            format!("{zh}不能为负数（收到 {v}）"),
            format!("{en} must not be negative (got {v})"),
        ))
    } else {
        Ok(())
    }
}

fn positive(what: &str, v: i64) -> Result<()> {
    let (field, zh, en) = crate::input::field_names(what);
    if v <= 0 {
        Err(Error::bad(
            field,
            format!("{zh}必须大于零（收到 {v}）"),
            format!("{en} must be greater than zero (got {v})"),
        ))
    } else {
        Ok(())
    }
}

impl Workspace {
    fn check_write(&self, me: &Me, id: &DocId) -> Result<Summary> {
        let summary = self
            .summary(id)?
            .ok_or_else(|| Error::not_found(format!("document {id}")))?;
        if !can_write(&me.roster, &me.user_id, &summary) {
            return Err(Error::denied(format!(
                "{} may not change {} `{}`",
                me.user.name, summary.kind, summary.name
            )));
        }
        Ok(summary)
    }

    /// Edit a customer file or channel record after checking write scope; `f` sees the
    /// current content. A merged-away record (a tombstone) is refused.
    fn edit_record<T: Record, R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &T, &Me) -> Result<R>,
    ) -> Result<R> {
        let me = self.me()?;
        self.check_write(&me, id)?;
        self.edit(id, now, message, |doc| {
            let c: T = doc.hydrate()?;
            if let Some(s) = c.merged_into() {
                return Err(Error::invalid(format!(
                    "{} `{}` was merged into {s}; edit that one instead",
                    T::WHAT,
                    c.name()
                )));
            }
            if c.is_archived() {
                return Err(Error::Invalid(crate::Msg::new(
                    format!("“{}”已归档；请经理先恢复（restore）再修改", c.name()),
                    format!(
                        "{} `{}` is archived; a manager must restore it before it is changed",
                        T::WHAT,
                        c.name()
                    ),
                )));
            }
            f(doc, &c, &me)
        })
    }

    fn edit_customer<R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &Customer, &Me) -> Result<R>,
    ) -> Result<R> {
        self.edit_record(id, now, message, f)
    }

    fn edit_channel<R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &Channel, &Me) -> Result<R>,
    ) -> Result<R> {
        self.edit_record(id, now, message, f)
    }

    /// Archive a customer file or channel record (made by mistake, a customer gone): out
    /// of lists and rules, kept with its history, restorable. Managers (channel managers
    /// for channels) and admins; the reason is kept.
    pub fn archive_record(&self, id: &DocId, reason: Option<String>, now: Millis) -> Result<()> {
        let me = self.me()?;
        me.require(Authority::Archive)?;
        self.check_write(&me, id)?;
        self.edit(id, now, "归档 archive", |doc| {
            let body = doc.body()?;
            let Some((name, archived, merged)) = archivable(&body) else {
                return Err(Error::bad(
                    "record",
                    "只能归档客户档案或渠道档案",
                    "only customer files and channel records can be archived",
                ));
            };
            if archived || merged {
                return Err(Error::Invalid(crate::Msg::new(
                    format!("“{name}”已归档或已合并"),
                    format!("`{name}` is already archived or merged"),
                )));
            }
            doc.put_new_object(
                &["archived"],
                &Note {
                    text: reason.map(|r| r.trim().to_string()).unwrap_or_default(),
                    at: now,
                    by: me.user_id.clone(),
                },
            )?;
            Ok(())
        })
    }

    /// Restore an archived customer file or channel record (same authority as archiving).
    pub fn restore_record(&self, id: &DocId, now: Millis) -> Result<()> {
        let me = self.me()?;
        me.require(Authority::Archive)?;
        self.check_write(&me, id)?;
        self.edit(id, now, "恢复 restore", |doc| {
            if !archivable(&doc.body()?).is_some_and(|(_, archived, _)| archived) {
                return Err(Error::bad(
                    "record",
                    "该档案未归档",
                    "this record is not archived",
                ));
            }
            doc.put(&["archived"], &Option::<Note>::None)?;
            Ok(())
        })
    }

    fn add_to_customer<T: Reconcile>(
        &self,
        id: &DocId,
        collection: &str,
        value: &T,
        now: Millis,
        message: &str,
    ) -> Result<String> {
        let eid = new_entity_id();
        self.edit_customer(id, now, message, |doc, _, _| {
            doc.put(&[collection, &eid], value)?;
            Ok(())
        })?;
        Ok(eid)
    }

    fn add_to_channel<T: Reconcile>(
        &self,
        id: &DocId,
        collection: &str,
        value: &T,
        now: Millis,
        message: &str,
    ) -> Result<String> {
        let eid = new_entity_id();
        self.edit_channel(id, now, message, |doc, _, _| {
            doc.put(&[collection, &eid], value)?;
            Ok(())
        })?;
        Ok(eid)
    }
}

pub(crate) const DAY: Millis = DAY_MS;

fn resolve_user_in(me: &Me, text: &str) -> Result<String> {
    crate::resolve::resolve_user(&me.roster, text)
}

/// A customer file's or channel record's name, whether it is archived, whether it was
/// merged away; `None` for other documents, which cannot be archived.
fn archivable(body: &Body) -> Option<(&str, bool, bool)> {
    match body {
        Body::Customer(c) => Some((&c.name, c.archived.is_some(), c.merged_into.is_some())),
        Body::Channel(c) => Some((&c.name, c.archived.is_some(), c.merged_into.is_some())),
        _ => None,
    }
}
