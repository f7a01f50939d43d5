//! Removing a record made by mistake from a customer file, and restoring it.
//!
//! A removal is a marker (`removed/<collection>/<id>`: who, when, why), never a deletion:
//! the record stays in the document, so an edit another device made to it offline is
//! kept, the history shows it, and a manager can restore it. Lists, pages and rules leave
//! removed records out ([`fieldcrm_model::Customer::without_removed`]). Complaints,
//! contracts, orders and gifts are watched by the rules: removing one takes
//! [`Authority::RemoveRecord`] (the policy reports a removal made without it); any other
//! record may be removed by whoever may change the file.
//!
//! Channel records work the same way for their territories, communications, trainings,
//! assessments and price reports: removing or restoring any of them takes
//! [`Authority::Archive`] (channel managers, managers and admins), and the policy reports
//! a removal made without it.
//!
//! The Sales document's targets and reports work the same way: a target is removed or
//! restored by a holder of [`Authority::Targets`]; a report by the user who submitted it
//! within [`REPORT_GRACE`] of submitting, or by a holder of [`Authority::ReportRemoval`],
//! who alone restores one. Progress, `fieldcrm report targets` and the rules leave removed
//! ones out ([`fieldcrm_model::Sales::without_removed`]).

use fieldcrm_model::customer::GUARDED_COLLECTIONS;
use fieldcrm_model::*;

use super::opt_text;
use crate::{Error, Result, Workspace};

/// A kind of record in a customer file, as the CLI and the app name it.
pub fn record_collection(kind: &str) -> Result<&'static str> {
    let k = kind.trim().to_lowercase();
    Ok(match k.as_str() {
        "contact" | "contacts" | "联系人" => "contacts",
        "interaction" | "interactions" | "visit" | "互动" | "拜访" | "跟进" => "interactions",
        "complaint" | "complaints" | "投诉" => "complaints",
        "survey" | "surveys" | "满意度调查" | "调查" => "surveys",
        "opportunity" | "opportunities" | "商机" | "销售机会" => "opportunities",
        "quote" | "quotes" | "报价" => "quotes",
        "contract" | "contracts" | "合同" => "contracts",
        "order" | "orders" | "订单" => "orders",
        "gift" | "gifts" | "礼品" | "招待" => "gifts",
        _ => {
            return Err(Error::bad(
                "kind",
                format!(
                    "不认识的记录类型“{kind}”：可用 联系人、互动、投诉、满意度调查、商机、报价、合同、订单、礼品"
                ),
                format!(
                    "unknown record kind `{kind}`: use contact, interaction, complaint, survey, opportunity, quote, contract, order or gift"
                ),
            ));
        }
    })
}

/// The keys of one collection of a customer file.
/// The IDs of a collection map.
fn k<V>(m: &std::collections::BTreeMap<String, V>) -> Vec<String> {
    m.keys().cloned().collect()
}

fn keys(c: &Customer, collection: &str) -> Vec<String> {
    match collection {
        "contacts" => k(&c.contacts),
        "interactions" => k(&c.interactions),
        "complaints" => k(&c.complaints),
        "surveys" => k(&c.surveys),
        "opportunities" => k(&c.opportunities),
        "quotes" => k(&c.quotes),
        "contracts" => k(&c.contracts),
        "orders" => k(&c.orders),
        "gifts" => k(&c.gifts),
        _ => Vec::new(),
    }
}

/// A kind of record in a channel record, as the CLI and the app name it.
pub fn channel_record_collection(kind: &str) -> Result<&'static str> {
    let k = kind.trim().to_lowercase().replace(['-', '_'], " ");
    Ok(match k.as_str() {
        "territory" | "territories" | "区域" | "独家区域" => "territories",
        "communication" | "communications" | "沟通" | "座谈" => "communications",
        "training" | "trainings" | "培训" => "trainings",
        "assessment" | "assessments" | "评估" | "考核" => "assessments",
        "price report" | "price reports" | "price" | "价格报告" | "价格" => "price_reports",
        _ => {
            return Err(Error::bad(
                "kind",
                format!("不认识的渠道记录类型“{kind}”：可用 区域、沟通、培训、评估、价格报告"),
                format!(
                    "unknown channel record kind `{kind}`: use territory, communication, training, assessment or price report"
                ),
            ));
        }
    })
}

/// The keys of one collection of a channel record.
fn channel_keys(c: &Channel, collection: &str) -> Vec<String> {
    match collection {
        "territories" => k(&c.territories),
        "communications" => k(&c.communications),
        "trainings" => k(&c.trainings),
        "assessments" => k(&c.assessments),
        "price_reports" => k(&c.price_reports),
        _ => Vec::new(),
    }
}

/// Write the removal marker `removed/<collection>/<eid>`, creating the `removed` map in
/// a document made before removals existed.
fn mark_removed(
    doc: &mut Document,
    collection: &str,
    eid: &str,
    reason: Option<String>,
    now: Millis,
    me: &crate::Me,
) -> Result<()> {
    if doc.map_at(&["removed"]).is_none() {
        doc.put_new_object(
            &["removed"],
            &std::collections::BTreeMap::<String, Note>::new(),
        )?;
    }
    doc.put(
        &["removed", &format!("{collection}/{eid}")],
        &Note {
            text: opt_text(reason).unwrap_or_default(),
            at: now,
            by: me.user_id.clone(),
        },
    )?;
    Ok(())
}

/// The full ID of `entity` (an ID prefix) among the records of `collection` that are
/// removed (`want_removed`) or still live.
fn pick(
    all: Vec<String>,
    is_removed: impl Fn(&str) -> bool,
    want_removed: bool,
    collection: &str,
    entity: &str,
) -> Result<String> {
    let keys = all
        .into_iter()
        .filter(|k| is_removed(k) == want_removed)
        .collect();
    crate::resolve::resolve_key(collection, keys, entity)
}

impl Workspace {
    /// Remove a record made by mistake from a customer file (`kind` as
    /// [`record_collection`] reads it, `entity` an ID prefix); returns its full ID.
    pub fn remove_record(
        &self,
        id: &DocId,
        kind: &str,
        entity: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let collection = record_collection(kind)?;
        let message = format!("删除记录 remove {collection}");
        self.edit_customer(id, now, &message, |doc, c, me| {
            if GUARDED_COLLECTIONS.contains(&collection) {
                me.require(Authority::RemoveRecord)?;
            }
            let eid = pick(
                keys(c, collection),
                |k| c.is_removed(collection, k),
                false,
                collection,
                entity,
            )?;
            mark_removed(doc, collection, &eid, reason, now, me)?;
            Ok(eid)
        })
    }

    /// Put a removed record back (managers and admins); returns its full ID.
    pub fn restore_removed(
        &self,
        id: &DocId,
        kind: &str,
        entity: &str,
        now: Millis,
    ) -> Result<String> {
        let collection = record_collection(kind)?;
        let message = format!("恢复记录 restore {collection}");
        self.edit_customer(id, now, &message, |doc, c, me| {
            me.require(Authority::RemoveRecord)?;
            let eid = pick(
                keys(c, collection),
                |k| c.is_removed(collection, k),
                true,
                collection,
                entity,
            )?;
            doc.delete(&["removed", &format!("{collection}/{eid}")])?;
            Ok(eid)
        })
    }

    /// Remove a record made by mistake from a channel record (`kind` as
    /// [`channel_record_collection`] reads it, `entity` an ID prefix): channel managers,
    /// managers and admins. Returns its full ID.
    pub fn remove_channel_record(
        &self,
        id: &DocId,
        kind: &str,
        entity: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let collection = channel_record_collection(kind)?;
        let message = format!("删除渠道记录 remove {collection}");
        self.edit_channel(id, now, &message, |doc, c, me| {
            me.require(Authority::Archive)?;
            let eid = pick(
                channel_keys(c, collection),
                |k| c.is_removed(collection, k),
                false,
                collection,
                entity,
            )?;
            mark_removed(doc, collection, &eid, reason, now, me)?;
            Ok(eid)
        })
    }

    /// Put a record removed from a channel record back (channel managers, managers and
    /// admins); returns its full ID.
    pub fn restore_channel_record(
        &self,
        id: &DocId,
        kind: &str,
        entity: &str,
        now: Millis,
    ) -> Result<String> {
        let collection = channel_record_collection(kind)?;
        let message = format!("恢复渠道记录 restore {collection}");
        self.edit_channel(id, now, &message, |doc, c, me| {
            me.require(Authority::Archive)?;
            let eid = pick(
                channel_keys(c, collection),
                |k| c.is_removed(collection, k),
                true,
                collection,
                entity,
            )?;
            doc.delete(&["removed", &format!("{collection}/{eid}")])?;
            Ok(eid)
        })
    }

    /// Remove a sales target or report made by mistake (`kind` as
    /// [`sales_record_collection`] reads it, `entity` an ID prefix); returns its full ID.
    pub fn remove_sales_record(
        &self,
        kind: &str,
        entity: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let collection = sales_record_collection(kind)?;
        let message = format!("删除{} remove {collection}", sales_zh(collection));
        // Targets are a manager's alone; a report may be its author's.
        let first = (collection == "targets").then_some(Authority::Targets);
        self.edit_singleton(DocKind::Sales, now, &message, first, |doc, me| {
            let s: Sales = doc.hydrate()?;
            let eid = sales_pick(&s, collection, entity, false)?;
            let own_recent = s.reports.get(&eid).is_some_and(|r| {
                collection == "reports"
                    && r.user == me.user_id
                    && now.saturating_sub(r.submitted_at) <= REPORT_GRACE
            });
            if !own_recent {
                me.require(sales_authority(collection))?;
            }
            mark_removed(doc, collection, &eid, reason, now, me)?;
            Ok(eid)
        })
    }

    /// Put a removed sales target or report back (managers, admins); returns its full ID.
    pub fn restore_sales_record(&self, kind: &str, entity: &str, now: Millis) -> Result<String> {
        let collection = sales_record_collection(kind)?;
        let message = format!("恢复{} restore {collection}", sales_zh(collection));
        let authority = sales_authority(collection);
        self.edit_singleton(DocKind::Sales, now, &message, Some(authority), |doc, _| {
            let eid = sales_pick(&doc.hydrate()?, collection, entity, true)?;
            doc.delete(&["removed", &format!("{collection}/{eid}")])?;
            Ok(eid)
        })
    }
}

/// How long after submitting a report its author may still remove it alone.
pub const REPORT_GRACE: Millis = 7 * DAY_MS;

/// A kind of record of the Sales document, as the CLI and the app name it.
pub fn sales_record_collection(kind: &str) -> Result<&'static str> {
    let k = kind.trim().to_lowercase();
    Ok(match k.as_str() {
        "target" | "targets" | "目标" | "销售目标" => "targets",
        "report" | "reports" | "报告" | "销售报告" => "reports",
        _ => {
            return Err(Error::bad(
                "kind",
                format!("不认识的记录类型“{kind}”：可用 销售目标、销售报告"),
                format!("unknown record kind `{kind}`: use target or report"),
            ));
        }
    })
}

/// The full ID of `entity` among the targets or reports that are removed
/// (`want_removed`) or still live.
fn sales_pick(s: &Sales, collection: &str, entity: &str, want_removed: bool) -> Result<String> {
    let keys = match collection {
        "targets" => k(&s.targets),
        _ => k(&s.reports),
    };
    pick(
        keys,
        |key| s.is_removed(collection, key),
        want_removed,
        collection,
        entity,
    )
}

fn sales_zh(collection: &str) -> &'static str {
    if collection == "targets" {
        "销售目标"
    } else {
        "销售报告"
    }
}

fn sales_authority(collection: &str) -> Authority {
    if collection == "targets" {
        Authority::Targets
    } else {
        Authority::ReportRemoval
    }
}
