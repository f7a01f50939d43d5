//! Rules on one customer file: class, profile, contact cadence, complaints, sales
//! process, discounts, gifts, and the role-reserved fields of the file.
//!
//! This module holds the extract for the cross-document rules, class, profile and the
//! DATA-AUTHORITY check of reserved fields; [`cadence`], [`complaints`] and [`sales`]
//! hold the other topics.

mod cadence;
mod complaints;
mod sales;

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::{Authority, Customer, CustomerClass, DocKind, Millis};
use serde_json::json;

use super::Eval;
use super::common::authority as authority_finding;
use crate::ctx::Auth;
use crate::normalize;
use crate::rule::RuleId as R;

/// A key identifying the company behind a customer file (normalised).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum DupKey {
    /// 统一社会信用代码.
    CreditCode(String),
    /// Normalised company name.
    Name(String),
    /// Contact phone (digits).
    Phone(String),
    /// Contact email.
    Email(String),
}

impl DupKey {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            DupKey::CreditCode(_) => "credit_code",
            DupKey::Name(_) => "name",
            DupKey::Phone(_) => "phone",
            DupKey::Email(_) => "email",
        }
    }

    pub(crate) fn kind_zh(&self) -> &'static str {
        match self {
            DupKey::CreditCode(_) => "统一社会信用代码",
            DupKey::Name(_) => "公司名称",
            DupKey::Phone(_) => "联系电话",
            DupKey::Email(_) => "电子邮箱",
        }
    }

    pub(crate) fn value(&self) -> &str {
        match self {
            DupKey::CreditCode(s) | DupKey::Name(s) | DupKey::Phone(s) | DupKey::Email(s) => s,
        }
    }
}

/// An order sold through a channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OrderRef {
    pub id: String,
    pub channel: String,
    pub product: String,
    pub ordered_at: Millis,
}

/// What the cross-document rules need from a customer file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CustomerExtract {
    pub name: String,
    /// Sorted, deduplicated.
    pub keys: Vec<DupKey>,
    pub orders: Vec<OrderRef>,
}

fn name_of(c: &Customer) -> &str {
    if c.name.trim().is_empty() {
        "（未命名）"
    } else {
        &c.name
    }
}

pub(super) fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Run every per-document customer rule; returns the cross-document extract.
pub(crate) fn check(e: &mut Eval<'_>, c: &Customer) -> CustomerExtract {
    let n = name_of(c).to_string();
    class_rules(e, c, &n);
    profile(e, c, &n);
    cadence::cadence(e, c, &n);
    complaints::complaints(e, c, &n);
    sales::sales(e, c, &n);
    sales::discounts(e, c, &n);
    sales::gifts(e, c, &n);
    reserved_fields(e, c);
    extract(c)
}

fn extract(c: &Customer) -> CustomerExtract {
    let mut keys = Vec::new();
    if let Some(k) = c.credit_code.as_deref().and_then(normalize::credit_code) {
        keys.push(DupKey::CreditCode(k));
    }
    if let Some(k) = normalize::company_name(&c.name) {
        keys.push(DupKey::Name(k));
    }
    for ct in c.contacts.values() {
        if let Some(p) = ct.phone.as_deref().and_then(normalize::phone) {
            keys.push(DupKey::Phone(p));
        }
        if let Some(m) = ct.email.as_deref().and_then(normalize::email) {
            keys.push(DupKey::Email(m));
        }
    }
    keys.sort();
    keys.dedup();
    let orders = c
        .orders
        .iter()
        .filter_map(|(id, o)| {
            let ch = o.channel.as_deref()?.trim();
            (!ch.is_empty()).then(|| OrderRef {
                id: id.clone(),
                channel: ch.to_string(),
                product: o.product.clone(),
                ordered_at: o.ordered_at,
            })
        })
        .collect();
    CustomerExtract {
        name: c.name.clone(),
        keys,
        orders,
    }
}

pub(super) fn class_zh(c: &CustomerClass) -> &str {
    match c {
        CustomerClass::Key => "重要客户",
        CustomerClass::General => "一般客户",
        CustomerClass::Potential => "潜在客户",
        CustomerClass::Unknown(s) => s,
    }
}

fn class_rules(e: &mut Eval<'_>, c: &Customer, n: &str) {
    let Some(class) = &c.class else {
        e.emit(
            R::CustClassMissing,
            Some("class".into()),
            format!("客户「{n}」尚未分类（重要客户、一般客户或潜在客户）。"),
            format!("Customer {n} has no class (key, general or potential)."),
            json!({ "class": null }),
        );
        return;
    };
    if e.sev(R::CustClassCriteria).is_none() {
        return;
    }
    let threshold = e.ctx.cfg.params.key_min_annual_value;
    let value = c.annual_value;
    let v = value.unwrap_or(0);
    let (zh, en) = match class {
        CustomerClass::Key if v < threshold => (
            format!(
                "客户「{n}」被列为重要客户，但年度业务额{}低于重要客户标准{}元",
                value.map_or("未填写".into(), |v| format!("{}元", format_yuan(v))),
                format_yuan(threshold)
            ),
            format!(
                "Customer {n} is classed as key, but its annual value {} is below the key threshold {} yuan",
                value.map_or("(not recorded)".into(), |v| format!(
                    "{} yuan",
                    format_yuan(v)
                )),
                format_yuan(threshold)
            ),
        ),
        CustomerClass::General | CustomerClass::Potential if v >= threshold => (
            format!(
                "客户「{n}」年度业务额{}元已达到重要客户标准{}元，但被列为{}",
                format_yuan(v),
                format_yuan(threshold),
                class_zh(class)
            ),
            format!(
                "Customer {n} has an annual value of {} yuan, at least the key threshold {} yuan, but is classed as {class}",
                format_yuan(v),
                format_yuan(threshold)
            ),
        ),
        _ => return,
    };
    let exception = match &c.class_exception {
        Some(a) => e.ctx.bound(
            e.snap,
            e.ctx
                .check_present(e.snap, "class_exception", Authority::ClassException),
            (Authority::ClassException, ""),
            &a.covers,
            |f| match f {
                "class" => serde_json::to_value(&c.class).unwrap_or_default(),
                _ => serde_json::Value::Null,
            },
        ),
        None => Auth::Absent,
    };
    if exception.ok() {
        return;
    }
    let (zh_tail, en_tail) = match &exception {
        Auth::Void(a, changed) => {
            let (z, e) = crate::signoff::void_text(a, changed);
            (format!("；例外{z}。"), format!("; the exception: {e}."))
        }
        Auth::Denied(a) => (
            format!("；例外审批由{}设置，不予采信。", a.label_zh()),
            format!(
                "; the exception approval was set by {} and does not count.",
                a.label_en()
            ),
        ),
        _ => (
            format!(
                "，且没有{}批准的例外。",
                Authority::ClassException.needs_zh()
            ),
            format!(
                ", and no {} approved an exception.",
                Authority::ClassException.needs_en()
            ),
        ),
    };
    e.emit(
        R::CustClassCriteria,
        Some("class".into()),
        format!("{zh}{zh_tail}"),
        format!("{en}{en_tail}"),
        json!({
            "class": class.as_str(),
            "annual_value": value,
            "key_min_annual_value": threshold,
            "exception_set_by": exception.json(),
            "exception_void": crate::signoff::void_json(&exception),
        }),
    );
}

fn profile(e: &mut Eval<'_>, c: &Customer, n: &str) {
    if e.sev(R::CustProfileComplete).is_none() {
        return;
    }
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if c.name.trim().is_empty() {
        missing.push(("name", "名称"));
    }
    if blank(&c.industry) {
        missing.push(("industry", "行业"));
    }
    if blank(&c.region) {
        missing.push(("region", "区域"));
    }
    if blank(&c.owner) {
        missing.push(("owner", "负责人"));
    }
    let reachable = c
        .contacts
        .values()
        .any(|ct| !blank(&ct.phone) || !blank(&ct.email));
    if !reachable {
        missing.push(("contact", "有电话或邮箱的联系人"));
    }
    if c.class == Some(CustomerClass::Key) && blank(&c.address) {
        missing.push(("address", "地址（重要客户必填）"));
    }
    if missing.is_empty() {
        return;
    }
    let zh: Vec<&str> = missing.iter().map(|m| m.1).collect();
    let en: Vec<&str> = missing.iter().map(|m| m.0).collect();
    e.emit(
        R::CustProfileComplete,
        None,
        format!("客户「{n}」档案不完整，缺少：{}。", zh.join("、")),
        format!(
            "Customer {n}'s profile is incomplete; missing: {}.",
            en.join(", ")
        ),
        json!({ "missing": en }),
    );
}

/// DATA-AUTHORITY for the role-reserved fields of a customer file: every field the
/// authority table reserves that holds a value.
fn reserved_fields(e: &mut Eval<'_>, c: &Customer) {
    if e.sev(R::DataAuthority).is_none() {
        return;
    }
    let snap = e.snap;
    for (path, state) in &snap.fields {
        let Some(authority) = Authority::for_field(&DocKind::Customer, path) else {
            continue;
        };
        // A cleared sign-off (null) is nobody's act.
        if state.values.first().is_none_or(|v| v.value.is_null()) {
            continue;
        }
        let auth = match path.split('/').collect::<Vec<_>>().as_slice() {
            [collection @ ("quotes" | "orders"), id, "cancelled"] => {
                sales::cancel_auth(e, c, collection, id)
            }
            _ => e.ctx.check(snap, path, authority),
        };
        authority_finding(e, path, &auth, authority);
    }
}
