//! Rule configuration: each rule's severity and parameters.
//!
//! The defaults live in `schema/policy-default.toml` (embedded with `include_str!`). A
//! company's TOML file overrides them ([`Config::from_toml`]), and a workspace overrides
//! again through the synced [`PolicySettings`] document ([`Config::with_overrides`]).
//! Parameter values are text with units (`30d`, `48h`, `10%`, `500` yuan), parsed here
//! into typed values once, so rules never parse anything.

use std::collections::BTreeMap;
use std::fmt;

use fieldcrm_model::{DAY_MS, Fen, HOUR_MS, Millis, PolicySettings};

use crate::Severity;
use crate::rule::RuleId;
use crate::time::PeriodKind;

/// The default configuration file, as shipped.
pub const DEFAULT_TOML: &str = include_str!("../../../schema/policy-default.toml");

/// The pseudo-rule name under which global settings live (`[general]` in TOML,
/// `rules["general"]` in the policy-settings document).
pub const GENERAL: &str = "general";

/// How a rule is switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Findings are violations.
    Violation,
    /// Findings are warnings.
    Warning,
    /// The rule does not run.
    Off,
    /// The rule produces a report, not findings (TARGET-PROGRESS only).
    Report,
}

impl Level {
    /// The severity of findings, or `None` if the rule does not produce findings.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Violation => Some(Severity::Violation),
            Level::Warning => Some(Severity::Warning),
            Level::Off | Level::Report => None,
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "violation" | "违规" | "error" => Some(Level::Violation),
            "warning" | "警告" | "warn" => Some(Level::Warning),
            "off" | "关闭" | "disabled" => Some(Level::Off),
            "report" | "报告" => Some(Level::Report),
            _ => None,
        }
    }

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Violation => "violation",
            Level::Warning => "warning",
            Level::Off => "off",
            Level::Report => "report",
        }
    }
}

/// What kind of value a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Duration,
    OptDuration,
    Money,
    Percent,
    Int,
    Period,
    Severity,
    Offset,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Duration => "a duration such as `30d` or `48h` (天/小时 also accepted)",
            Kind::OptDuration => "a duration such as `30d` or `48h`, or `none`",
            Kind::Money => "an amount in yuan such as `500` or `1,000,000`",
            Kind::Percent => "a percentage such as `10%`",
            Kind::Int => "a whole number",
            Kind::Period => "`weekly`, `monthly`, `quarterly` or `yearly`",
            Kind::Severity => "`violation` or `warning`",
            Kind::Offset => "a UTC offset such as `+08:00`",
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
            ParamValue::Severity(s) => f.write_str(s.as_str()),
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

/// Parameters of each rule, with built-in defaults (the same as the shipped TOML file).
fn specs(rule: RuleId) -> &'static [(&'static str, Kind, &'static str)] {
    use Kind::*;
    use RuleId as R;
    match rule {
        R::CustClassCriteria => &[("key_min_annual_value", Money, "1000000")],
        R::CustContactCadence => &[
            ("key_interval", OptDuration, "30d"),
            ("general_interval", OptDuration, "90d"),
            ("potential_interval", OptDuration, "none"),
            ("key_severity", Severity, "violation"),
        ],
        R::CustKeyVisit => &[("interval", Duration, "90d")],
        R::CustSatisfaction => &[
            ("interval", Duration, "180d"),
            ("low_score", Int, "2"),
            ("followup", Duration, "14d"),
        ],
        R::CustRecordTimely => &[("window", Duration, "48h")],
        R::ComplaintResponse => &[("window", Duration, "24h")],
        R::ComplaintEscalation => &[("window", Duration, "48h")],
        R::ComplaintMajorInvestigation => &[("window", Duration, "72h")],
        R::ComplaintResolution => &[
            ("normal_window", Duration, "7d"),
            ("major_window", Duration, "3d"),
        ],
        R::OppFollowup => &[("window", Duration, "30d")],
        R::ContractArchived => &[("window", Duration, "7d")],
        R::PriceDiscount => &[
            ("rep_allowance", Percent, "10%"),
            ("manager_allowance", Percent, "25%"),
        ],
        R::GiftDeclaration => &[("limit", Money, "500")],
        R::SalesReport => &[("period", Period, "weekly"), ("lookback", Int, "4")],
        R::ChannelAgreement => &[("warn_before", Duration, "30d")],
        R::ChannelCommunication => &[("window", Duration, "90d")],
        R::ChannelAssessment => &[("period", Period, "quarterly"), ("lookback", Int, "4")],
        R::ChannelTraining => &[("window", Duration, "60d")],
        _ => &[],
    }
}

const GENERAL_SPECS: &[(&str, Kind, &str)] = &[("utc_offset", Kind::Offset, "+08:00")];

fn default_level(rule: RuleId) -> Level {
    use RuleId as R;
    match rule {
        R::CustClassCriteria
        | R::CustProfileComplete
        | R::CustContactCadence
        | R::CustKeyPlan
        | R::CustSatisfaction
        | R::CustRecordTimely
        | R::OppFollowup
        | R::ContractArchived
        | R::SalesReport
        | R::ChannelCommunication
        | R::ChannelAssessment
        | R::ChannelTraining => Level::Warning,
        R::TargetProgress => Level::Report,
        _ => Level::Violation,
    }
}

/// A configuration error, naming the rule and parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML.
    #[error("policy configuration is not valid TOML: {0}")]
    Toml(String),
    /// A top-level key or section that is not `general` or `rules`.
    #[error("policy configuration: unknown section `{0}` (expected `general` or `rules`)")]
    UnknownSection(String),
    /// A rule ID that does not exist.
    #[error("policy configuration: unknown rule `{0}`")]
    UnknownRule(String),
    /// A parameter the rule does not have.
    #[error("rule {rule}: unknown parameter `{param}` (known: {known})")]
    UnknownParam {
        /// Rule ID (or `general`).
        rule: String,
        /// The parameter name.
        param: String,
        /// The rule's parameters, comma separated.
        known: String,
    },
    /// A value that does not parse.
    #[error("rule {rule}: `{param}` = `{value}` is not valid: expected {expected}")]
    BadValue {
        /// Rule ID (or `general`).
        rule: String,
        /// The parameter name (`severity` for the severity).
        param: String,
        /// The text found.
        value: String,
        /// What is accepted.
        expected: String,
    },
}

/// One rule's effective settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleConfig {
    /// Severity, or off.
    pub level: Level,
    /// Parameters by name.
    pub params: BTreeMap<&'static str, ParamValue>,
}

/// The typed parameters the rules read (derived from the rule map).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Params {
    pub utc_offset: Millis,
    pub key_min_annual_value: Fen,
    pub cadence_key: Option<Millis>,
    pub cadence_general: Option<Millis>,
    pub cadence_potential: Option<Millis>,
    pub cadence_key_severity: Option<Severity>,
    pub key_visit: Millis,
    pub survey_interval: Millis,
    pub low_score: i64,
    pub followup: Millis,
    pub record_window: Millis,
    pub response_window: Millis,
    pub escalation_window: Millis,
    pub investigation_window: Millis,
    pub resolution_normal: Millis,
    pub resolution_major: Millis,
    pub opp_window: Millis,
    pub archive_window: Millis,
    pub rep_allowance_bp: i64,
    pub manager_allowance_bp: i64,
    pub gift_limit: Fen,
    pub report_period: Option<PeriodKind>,
    pub report_lookback: i64,
    pub agreement_warn_before: Millis,
    pub communication_window: Millis,
    pub assessment_period: Option<PeriodKind>,
    pub assessment_lookback: i64,
    pub training_window: Millis,
}

/// The policy configuration: every rule's severity and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    rules: BTreeMap<RuleId, RuleConfig>,
    general: BTreeMap<&'static str, ParamValue>,
    pub(crate) params: Params,
}

impl Default for Config {
    /// The built-in defaults (identical to `schema/policy-default.toml`; a test checks it).
    fn default() -> Self {
        let mut rules = BTreeMap::new();
        for &rule in RuleId::ALL {
            let params = specs(rule)
                .iter()
                .map(|(name, kind, text)| {
                    let v = parse_value(*kind, text).unwrap_or(ParamValue::Int(0));
                    (*name, v)
                })
                .collect();
            rules.insert(
                rule,
                RuleConfig {
                    level: default_level(rule),
                    params,
                },
            );
        }
        let general = GENERAL_SPECS
            .iter()
            .map(|(n, k, t)| (*n, parse_value(*k, t).unwrap_or(ParamValue::Offset(0))))
            .collect();
        let mut c = Config {
            rules,
            general,
            params: Params::default(),
        };
        c.derive();
        c
    }
}

impl Config {
    /// Read a TOML configuration. Rules and parameters it does not mention keep their
    /// defaults; unknown rules, parameters or bad values are errors naming them.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::Toml(e.to_string().trim().replace('\n', " "))
        })?;
        let mut c = Config::default();
        for (key, value) in &table {
            match key.as_str() {
                GENERAL => {
                    let t = value.as_table().ok_or_else(|| ConfigError::BadValue {
                        rule: GENERAL.into(),
                        param: GENERAL.into(),
                        value: value.to_string(),
                        expected: "a table".into(),
                    })?;
                    for (p, v) in t {
                        c.set_general(p, &toml_text(v))?;
                    }
                }
                "rules" => {
                    let t = value
                        .as_table()
                        .ok_or_else(|| ConfigError::UnknownSection("rules".into()))?;
                    for (rule, body) in t {
                        let id: RuleId = rule
                            .parse()
                            .map_err(|_| ConfigError::UnknownRule(rule.clone()))?;
                        let body = body.as_table().ok_or_else(|| ConfigError::BadValue {
                            rule: rule.clone(),
                            param: "(section)".into(),
                            value: body.to_string(),
                            expected: "a table of `severity` and parameters".into(),
                        })?;
                        for (p, v) in body {
                            if p == "severity" {
                                c.set_level(id, &toml_text(v))?;
                            } else {
                                c.set_param(id, p, &toml_text(v))?;
                            }
                        }
                    }
                }
                other => return Err(ConfigError::UnknownSection(other.to_string())),
            }
        }
        c.derive();
        Ok(c)
    }

    /// Apply a workspace's overrides; the first bad value is an error naming rule and
    /// parameter.
    pub fn with_overrides(&self, settings: &PolicySettings) -> Result<Config, ConfigError> {
        let (c, errors) = self.with_overrides_lenient(settings);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(c),
        }
    }

    /// Apply a workspace's overrides, skipping (and returning) the bad ones. The engine
    /// uses this: one bad value typed on one device must not switch every rule off.
    pub fn with_overrides_lenient(&self, settings: &PolicySettings) -> (Config, Vec<ConfigError>) {
        self.apply_settings(settings.rules.iter())
    }

    pub(crate) fn apply_settings<'a>(
        &self,
        rules: impl Iterator<Item = (&'a String, &'a fieldcrm_model::RuleSetting)>,
    ) -> (Config, Vec<ConfigError>) {
        let mut c = self.clone();
        let mut errors = Vec::new();
        for (rule, setting) in rules {
            if rule.trim() == GENERAL {
                for (p, v) in &setting.params {
                    if let Err(e) = c.set_general(p, v) {
                        errors.push(e);
                    }
                }
                continue;
            }
            let id: RuleId = match rule.parse() {
                Ok(id) => id,
                Err(_) => {
                    errors.push(ConfigError::UnknownRule(rule.clone()));
                    continue;
                }
            };
            if let Some(level) = &setting.severity
                && let Err(e) = c.set_level(id, level)
            {
                errors.push(e);
            }
            for (p, v) in &setting.params {
                if let Err(e) = c.set_param(id, p, v) {
                    errors.push(e);
                }
            }
        }
        c.derive();
        (c, errors)
    }

    /// A rule's settings.
    pub fn rule(&self, rule: RuleId) -> &RuleConfig {
        // Every rule is present (`Default` inserts all of them and nothing removes any);
        // the fallback only keeps this total.
        static OFF: RuleConfig = RuleConfig {
            level: Level::Off,
            params: BTreeMap::new(),
        };
        self.rules.get(&rule).unwrap_or(&OFF)
    }

    /// The severity findings of a rule get, or `None` if the rule is off.
    pub fn severity(&self, rule: RuleId) -> Option<Severity> {
        self.rule(rule).level.severity()
    }

    /// Whether a rule runs.
    pub fn enabled(&self, rule: RuleId) -> bool {
        self.rule(rule).level != Level::Off
    }

    /// The company's UTC offset in ms (for dates and periods).
    pub fn utc_offset(&self) -> Millis {
        self.params.utc_offset
    }

    /// The configuration as TOML text (every rule and parameter).
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[general]\n");
        for (k, v) in &self.general {
            out.push_str(&format!("{k} = \"{v}\"\n"));
        }
        for (id, rc) in &self.rules {
            out.push_str(&format!(
                "\n[rules.{id}]\nseverity = \"{}\"\n",
                rc.level.as_str()
            ));
            for (k, v) in &rc.params {
                out.push_str(&format!("{k} = \"{v}\"\n"));
            }
        }
        out
    }

    fn set_level(&mut self, rule: RuleId, text: &str) -> Result<(), ConfigError> {
        let level = Level::parse(text)
            .filter(|l| {
                (*l == Level::Report) == (rule == RuleId::TargetProgress) || *l == Level::Off
            })
            .ok_or_else(|| ConfigError::BadValue {
                rule: rule.to_string(),
                param: "severity".into(),
                value: text.to_string(),
                expected: if rule == RuleId::TargetProgress {
                    "`report` or `off`".into()
                } else {
                    "`violation`, `warning` or `off`".into()
                },
            })?;
        if let Some(rc) = self.rules.get_mut(&rule) {
            rc.level = level;
        }
        Ok(())
    }

    fn set_param(&mut self, rule: RuleId, param: &str, text: &str) -> Result<(), ConfigError> {
        let specs = specs(rule);
        let Some((name, kind, _)) = specs.iter().find(|(n, _, _)| *n == param.trim()) else {
            return Err(ConfigError::UnknownParam {
                rule: rule.to_string(),
                param: param.to_string(),
                known: known(specs),
            });
        };
        let v = parse_value(*kind, text).ok_or_else(|| ConfigError::BadValue {
            rule: rule.to_string(),
            param: param.to_string(),
            value: text.to_string(),
            expected: kind.expected().into(),
        })?;
        if let Some(rc) = self.rules.get_mut(&rule) {
            rc.params.insert(name, v);
        }
        Ok(())
    }

    fn set_general(&mut self, param: &str, text: &str) -> Result<(), ConfigError> {
        let Some((name, kind, _)) = GENERAL_SPECS.iter().find(|(n, _, _)| *n == param.trim())
        else {
            return Err(ConfigError::UnknownParam {
                rule: GENERAL.into(),
                param: param.to_string(),
                known: known(GENERAL_SPECS),
            });
        };
        let v = parse_value(*kind, text).ok_or_else(|| ConfigError::BadValue {
            rule: GENERAL.into(),
            param: param.to_string(),
            value: text.to_string(),
            expected: kind.expected().into(),
        })?;
        self.general.insert(name, v);
        Ok(())
    }

    fn p(&self, rule: RuleId, name: &str) -> ParamValue {
        self.rules
            .get(&rule)
            .and_then(|rc| rc.params.get(name))
            .copied()
            .unwrap_or(ParamValue::Int(0))
    }

    fn derive(&mut self) {
        use RuleId as R;
        let dur = |v: ParamValue| match v {
            ParamValue::Duration(d) => d,
            ParamValue::OptDuration(d) => d.unwrap_or(Millis::MAX / 4),
            _ => 0,
        };
        let opt = |v: ParamValue| match v {
            ParamValue::OptDuration(d) => d,
            ParamValue::Duration(d) => Some(d),
            _ => None,
        };
        let int = |v: ParamValue| match v {
            ParamValue::Int(i) | ParamValue::Money(i) | ParamValue::Percent(i) => i,
            _ => 0,
        };
        let period = |v: ParamValue| match v {
            ParamValue::Period(p) => Some(p),
            _ => None,
        };
        let severity = |v: ParamValue| match v {
            ParamValue::Severity(s) => Some(s),
            _ => None,
        };
        self.params = Params {
            utc_offset: match self.general.get("utc_offset") {
                Some(ParamValue::Offset(o)) => *o,
                _ => 8 * HOUR_MS,
            },
            key_min_annual_value: int(self.p(R::CustClassCriteria, "key_min_annual_value")),
            cadence_key: opt(self.p(R::CustContactCadence, "key_interval")),
            cadence_general: opt(self.p(R::CustContactCadence, "general_interval")),
            cadence_potential: opt(self.p(R::CustContactCadence, "potential_interval")),
            cadence_key_severity: severity(self.p(R::CustContactCadence, "key_severity")),
            key_visit: dur(self.p(R::CustKeyVisit, "interval")),
            survey_interval: dur(self.p(R::CustSatisfaction, "interval")),
            low_score: int(self.p(R::CustSatisfaction, "low_score")),
            followup: dur(self.p(R::CustSatisfaction, "followup")),
            record_window: dur(self.p(R::CustRecordTimely, "window")),
            response_window: dur(self.p(R::ComplaintResponse, "window")),
            escalation_window: dur(self.p(R::ComplaintEscalation, "window")),
            investigation_window: dur(self.p(R::ComplaintMajorInvestigation, "window")),
            resolution_normal: dur(self.p(R::ComplaintResolution, "normal_window")),
            resolution_major: dur(self.p(R::ComplaintResolution, "major_window")),
            opp_window: dur(self.p(R::OppFollowup, "window")),
            archive_window: dur(self.p(R::ContractArchived, "window")),
            rep_allowance_bp: int(self.p(R::PriceDiscount, "rep_allowance")),
            manager_allowance_bp: int(self.p(R::PriceDiscount, "manager_allowance")),
            gift_limit: int(self.p(R::GiftDeclaration, "limit")),
            report_period: period(self.p(R::SalesReport, "period")),
            report_lookback: int(self.p(R::SalesReport, "lookback")).clamp(0, 520),
            agreement_warn_before: dur(self.p(R::ChannelAgreement, "warn_before")),
            communication_window: dur(self.p(R::ChannelCommunication, "window")),
            assessment_period: period(self.p(R::ChannelAssessment, "period")),
            assessment_lookback: int(self.p(R::ChannelAssessment, "lookback")).clamp(0, 520),
            training_window: dur(self.p(R::ChannelTraining, "window")),
        };
    }
}

fn known(specs: &[(&str, Kind, &str)]) -> String {
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

fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_value(kind: Kind, text: &str) -> Option<ParamValue> {
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
    }
}

fn parse_duration(t: &str) -> Option<Millis> {
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

fn parse_percent(t: &str) -> Option<i64> {
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

fn parse_offset(t: &str) -> Option<Millis> {
    let t = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("utc"))
        .unwrap_or(t);
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => (1, t),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i64 = h.parse().ok().filter(|h| *h <= 14)?;
    let m: i64 = m.parse().ok().filter(|m| *m < 60)?;
    Some(sign * (h * HOUR_MS + m * 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::RuleSetting;

    #[test]
    fn shipped_file_equals_built_in_defaults_and_lists_everything() {
        let c = Config::from_toml(DEFAULT_TOML).unwrap();
        assert_eq!(c, Config::default());
        let table: toml::Table = DEFAULT_TOML.parse().unwrap();
        let rules = table["rules"].as_table().unwrap();
        for &r in RuleId::ALL {
            let t = rules
                .get(r.as_str())
                .and_then(|t| t.as_table())
                .unwrap_or_else(|| panic!("{r} missing from policy-default.toml"));
            assert!(t.contains_key("severity"), "{r} has no severity");
            for (p, _, _) in specs(r) {
                assert!(t.contains_key(*p), "{r}.{p} missing from the file");
            }
        }
        // The printed form reads back to the same configuration.
        assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn defaults_match_rules_md() {
        let c = Config::default();
        let p = &c.params;
        assert_eq!(p.key_min_annual_value, 100_000_000);
        assert_eq!(p.cadence_key, Some(30 * DAY_MS));
        assert_eq!(p.cadence_potential, None);
        assert_eq!(p.response_window, 24 * HOUR_MS);
        assert_eq!(p.rep_allowance_bp, 1000);
        assert_eq!(p.manager_allowance_bp, 2500);
        assert_eq!(p.gift_limit, 50_000);
        assert_eq!(p.utc_offset, 8 * HOUR_MS);
        assert_eq!(c.severity(RuleId::CustDuplicate), Some(Severity::Violation));
        assert_eq!(c.severity(RuleId::OppFollowup), Some(Severity::Warning));
        assert_eq!(c.rule(RuleId::TargetProgress).level, Level::Report);
    }

    #[test]
    fn toml_overrides_and_errors_name_rule_and_param() {
        let c = Config::from_toml(
            "[general]\nutc_offset = \"+09:00\"\n[rules.OPP-FOLLOWUP]\nseverity = \"off\"\nwindow = \"45天\"\n[rules.GIFT-DECLARATION]\nlimit = 1000\n",
        )
        .unwrap();
        assert!(!c.enabled(RuleId::OppFollowup));
        assert_eq!(c.params.opp_window, 45 * DAY_MS);
        assert_eq!(c.params.gift_limit, 100_000);
        assert_eq!(c.params.utc_offset, 9 * HOUR_MS);

        let e = Config::from_toml("[rules.OPP-FOLLOWUP]\nwindow = 30\n").unwrap_err();
        assert!(
            matches!(&e, ConfigError::BadValue { rule, param, .. } if rule == "OPP-FOLLOWUP" && param == "window")
        );
        assert!(e.to_string().contains("30d"), "{e}");
        let e = Config::from_toml("[rules.OPP-FOLLOWUP]\nwindw = \"3d\"\n").unwrap_err();
        assert!(
            e.to_string().contains("windw") && e.to_string().contains("window"),
            "{e}"
        );
        let e = Config::from_toml("[rules.NO-SUCH]\nseverity = \"off\"\n").unwrap_err();
        assert_eq!(e, ConfigError::UnknownRule("NO-SUCH".into()));
        let e = Config::from_toml("[rules.CUST-DUPLICATE]\nseverity = \"report\"\n").unwrap_err();
        assert!(e.to_string().contains("CUST-DUPLICATE"), "{e}");
        assert!(matches!(
            Config::from_toml("this is = not toml ["),
            Err(ConfigError::Toml(_))
        ));
    }

    #[test]
    fn policy_document_overrides() {
        let mut s = PolicySettings::new();
        s.rules.insert(
            "PRICE-DISCOUNT".into(),
            RuleSetting {
                severity: Some("warning".into()),
                params: [("rep_allowance".to_string(), "15%".to_string())]
                    .into_iter()
                    .collect(),
            },
        );
        let c = Config::default().with_overrides(&s).unwrap();
        assert_eq!(c.params.rep_allowance_bp, 1500);
        assert_eq!(c.severity(RuleId::PriceDiscount), Some(Severity::Warning));

        s.rules.insert(
            "CUST-KEY-VISIT".into(),
            RuleSetting {
                severity: None,
                params: [("interval".to_string(), "soon".to_string())]
                    .into_iter()
                    .collect(),
            },
        );
        let e = Config::default().with_overrides(&s).unwrap_err();
        assert!(
            e.to_string().contains("CUST-KEY-VISIT") && e.to_string().contains("interval"),
            "{e}"
        );
        let (lenient, errors) = Config::default().with_overrides_lenient(&s);
        assert_eq!(errors.len(), 1);
        assert_eq!(lenient.params.rep_allowance_bp, 1500);
        assert_eq!(lenient.params.key_visit, 90 * DAY_MS);
    }

    #[test]
    fn value_parsers() {
        assert_eq!(parse_percent("12.5%"), Some(1250));
        assert_eq!(parse_percent("101%"), None);
        assert_eq!(parse_duration("48小时"), Some(48 * HOUR_MS));
        assert_eq!(parse_duration("2w"), Some(14 * DAY_MS));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_offset("-05:30"), Some(-(5 * HOUR_MS + 30 * 60_000)));
        assert_eq!(parse_offset("UTC+8"), Some(8 * HOUR_MS));
        assert_eq!(fmt_bp(1250), "12.5");
        assert_eq!(ParamValue::Offset(8 * HOUR_MS).to_string(), "+08:00");
    }
}
