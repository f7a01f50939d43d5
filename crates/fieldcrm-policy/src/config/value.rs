//! Parameter values: their kinds, the typed [`ParamValue`] and the parsing of the text
//! forms (`30d`, `48h`, `10%`, `500` yuan, `+08:00`, `weekly`).

use std::fmt;

use fieldcrm_model::signoff::covered_fields;
use fieldcrm_model::{Authority, DAY_MS, Fen, HOUR_MS, Millis};

use super::Level;
use crate::Severity;
use crate::time::PeriodKind;

/// What kind of value a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Duration,
    OptDuration,
    Money,
    Percent,
    Int,
    Period,
    Severity,
    Offset,
    /// `violation`, `warning` or `off`.
    OptSeverity,
    /// `on` or `off`.
    Switch,
    /// Which of a sign-off's covered fields void it when changed
    /// ([`fieldcrm_model::signoff::covered_fields`]): a list, `all` or `none`.
    Covers(Authority),
}

impl Kind {
    pub(super) fn expected(self) -> &'static str {
        match self {
            Kind::Duration => "a duration such as `30d` or `48h` (天/小时 also accepted)",
            Kind::OptDuration => "a duration such as `30d` or `48h`, or `none`",
            Kind::Money => "an amount in yuan such as `500` or `1,000,000`",
            Kind::Percent => "a percentage such as `10%`",
            Kind::Int => "a whole number",
            Kind::Period => "`weekly`, `monthly`, `quarterly` or `yearly`",
            Kind::Severity => "`violation` or `warning`",
            Kind::Offset => "a UTC offset such as `+08:00`",
            Kind::OptSeverity => "`violation`, `warning` or `off`",
            Kind::Switch => "`on` or `off`",
            Kind::Covers(a) => match a {
                Authority::GiftApproval => {
                    "`all`, `none` or some of `kind,direction,description,value`"
                }
                Authority::LegalReview => "`all`, `none` or some of `title,amount`",
                Authority::ClassException => "`all`, `none` or `class`",
                Authority::ChannelQualification => "`all`, `none` or some of `name,channel_kind`",
                _ => "`all`, `none` or some of `product,quantity,list_price,price`",
            },
        }
    }
}

/// A parsed parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamValue {
    /// A duration in ms.
    Duration(Millis),
    /// A duration in ms, or none (no limit).
    OptDuration(Option<Millis>),
    /// Money in fen.
    Money(Fen),
    /// A percentage in basis points (1000 = 10%).
    Percent(i64),
    /// A whole number.
    Int(i64),
    /// A reporting period.
    Period(PeriodKind),
    /// A finding severity.
    Severity(Severity),
    /// A UTC offset in ms.
    Offset(Millis),
    /// A finding severity, or off.
    OptSeverity(Option<Severity>),
    /// On or off.
    Switch(bool),
    /// The covered fields of a sign-off that void it when changed: bit `i` is
    /// `covered_fields(authority)[i]`.
    Covers(Authority, u16),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dur = |f: &mut fmt::Formatter<'_>, ms: Millis| {
            if ms % DAY_MS == 0 {
                write!(f, "{}d", ms / DAY_MS)
            } else {
                write!(f, "{}h", ms / HOUR_MS)
            }
        };
        match *self {
            ParamValue::Duration(ms) | ParamValue::OptDuration(Some(ms)) => dur(f, ms),
            ParamValue::OptDuration(None) => f.write_str("none"),
            ParamValue::Money(fen) => f.write_str(&fieldcrm_model::money::format_yuan(fen)),
            ParamValue::Percent(bp) => write!(f, "{}%", fmt_bp(bp)),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Period(p) => f.write_str(p.as_str()),
            ParamValue::Severity(s) | ParamValue::OptSeverity(Some(s)) => f.write_str(s.as_str()),
            ParamValue::OptSeverity(None) | ParamValue::Switch(false) => f.write_str("off"),
            ParamValue::Switch(true) => f.write_str("on"),
            ParamValue::Covers(a, mask) => {
                let fields = covered_fields(a);
                if mask == 0 {
                    f.write_str("none")
                } else {
                    let names: Vec<&str> = fields
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, n)| *n)
                        .collect();
                    f.write_str(&names.join(","))
                }
            }
            ParamValue::Offset(ms) => {
                let sign = if ms < 0 { '-' } else { '+' };
                let m = ms.abs() / 60_000;
                write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }
}

/// Basis points as a percentage text: 1000 → `10`, 1250 → `12.5`.
pub(crate) fn fmt_bp(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}", bp / 100)
    } else {
        let s = format!("{}.{:02}", bp / 100, (bp % 100).abs());
        s.trim_end_matches('0').to_string()
    }
}

pub(super) fn known(specs: &[(&str, Kind, &str)]) -> String {
    if specs.is_empty() {
        "none".into()
    } else {
        specs
            .iter()
            .map(|(n, _, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(super) fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn parse_value(kind: Kind, text: &str) -> Option<ParamValue> {
    let t: String = text
        .trim()
        .chars()
        .map(fieldcrm_model::money::fullwidth_to_ascii)
        .collect();
    let t = t.trim();
    match kind {
        Kind::Duration => parse_duration(t).map(ParamValue::Duration),
        Kind::OptDuration => {
            if matches!(
                t.to_ascii_lowercase().as_str(),
                "none" | "off" | "无" | "不限" | "never"
            ) {
                Some(ParamValue::OptDuration(None))
            } else {
                parse_duration(t).map(|d| ParamValue::OptDuration(Some(d)))
            }
        }
        Kind::Money => fieldcrm_model::money::parse_yuan(t)
            .ok()
            .map(ParamValue::Money),
        Kind::Percent => parse_percent(t).map(ParamValue::Percent),
        Kind::Int => t
            .parse()
            .ok()
            .filter(|i: &i64| *i >= 0)
            .map(ParamValue::Int),
        Kind::Period => PeriodKind::parse(t).map(ParamValue::Period),
        Kind::Severity => match Level::parse(t)? {
            Level::Violation => Some(ParamValue::Severity(Severity::Violation)),
            Level::Warning => Some(ParamValue::Severity(Severity::Warning)),
            _ => None,
        },
        Kind::Offset => parse_offset(t).map(ParamValue::Offset),
        Kind::OptSeverity => match Level::parse(t)? {
            Level::Violation => Some(ParamValue::OptSeverity(Some(Severity::Violation))),
            Level::Warning => Some(ParamValue::OptSeverity(Some(Severity::Warning))),
            Level::Off => Some(ParamValue::OptSeverity(None)),
            Level::Report => None,
        },
        Kind::Covers(a) => parse_covers(a, t).map(|m| ParamValue::Covers(a, m)),
        Kind::Switch => match t.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "开" | "是" => Some(ParamValue::Switch(true)),
            "off" | "false" | "no" | "关" | "关闭" | "否" => Some(ParamValue::Switch(false)),
            _ => None,
        },
    }
}

/// A list of covered field names (English or Chinese, separated by `,`, `，`, `、` or
/// spaces), `all` / `全部` or `none` / `无`, as a bit mask over the authority's covered
/// fields.
fn parse_covers(a: Authority, t: &str) -> Option<u16> {
    let fields = covered_fields(a);
    let all = (1u16 << fields.len()) - 1;
    match t.to_lowercase().as_str() {
        "all" | "全部" => return Some(all),
        "none" | "无" | "不限" => return Some(0),
        _ => {}
    }
    let mut mask = 0u16;
    for name in t
        .split([',', '，', '、', ' '])
        .filter(|n| !n.trim().is_empty())
    {
        let name = name.trim();
        let i = fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name) || crate::signoff::field_zh(f) == name)?;
        mask |= 1 << i;
    }
    Some(mask)
}

pub(super) fn parse_duration(t: &str) -> Option<Millis> {
    let split = t
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, _)| i)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit.trim().to_ascii_lowercase().as_str() {
        "d" | "day" | "days" | "天" | "日" => DAY_MS,
        "h" | "hour" | "hours" | "小时" | "时" => HOUR_MS,
        "w" | "week" | "weeks" | "周" => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

pub(super) fn parse_percent(t: &str) -> Option<i64> {
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let bp = w.checked_mul(100)?.checked_add(f)?;
    (bp <= 10_000).then_some(bp)
}

pub(super) fn parse_offset(t: &str) -> Option<Millis> {
    let t = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("utc"))
        .unwrap_or(t);
    if t.is_empty() {
        return None;
    }
    let (sign, rest) = if let Some(r) = t.strip_prefix('+') {
        (1, r)
    } else if let Some(r) = t.strip_prefix('-') {
        (-1, r)
    } else {
        (1, t)
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i64 = h.parse().ok().filter(|h| *h <= 14)?;
    let m: i64 = m.parse().ok().filter(|m| *m < 60)?;
    Some(sign * (h * HOUR_MS + m * 60_000))
}
