//! Rule configuration: each rule's severity and parameters.
//!
//! The defaults live in `schema/policy-default.toml` (embedded with `include_str!`). A
//! company's TOML file overrides them ([`Config::from_toml`]), and a workspace overrides
//! again through the synced [`PolicySettings`] document ([`Config::with_overrides`]).
//! Parameter values are text with units (`30d`, `48h`, `10%`, `500` yuan), parsed here
//! into typed values once, so rules never parse anything.

use std::collections::BTreeMap;

use fieldcrm_model::{Authority, Fen, HOUR_MS, Millis, PolicySettings};

use crate::Severity;
use crate::rule::RuleId;
use crate::time::PeriodKind;

mod value;

pub use value::ParamValue;
pub(crate) use value::fmt_bp;
use value::{Kind, known, parse_value, toml_text};

/// The default configuration file, as shipped.
pub const DEFAULT_TOML: &str = include_str!("../../../../schema/policy-default.toml");

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

/// Parameters of each rule, with built-in defaults (the same as the shipped TOML file).
fn specs(rule: RuleId) -> &'static [(&'static str, Kind, &'static str)] {
    use Kind::*;
    use RuleId as R;
    match rule {
        R::CustClassCriteria => &[
            ("key_min_annual_value", Money, "1000000"),
            (
                "exception_covers",
                Covers(Authority::ClassException),
                "class",
            ),
        ],
        R::CustContactCadence => &[
            ("key_interval", OptDuration, "30d"),
            ("general_interval", OptDuration, "90d"),
            ("potential_interval", OptDuration, "none"),
            ("key_severity", Severity, "violation"),
        ],
        R::CustDuplicate => &[
            ("claim_notice", OptSeverity, "warning"),
            ("claim_by_name", Switch, "on"),
            ("claim_by_credit_code", Switch, "on"),
            ("claim_by_phone", Switch, "on"),
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
            (
                "approval_covers",
                Covers(Authority::DiscountApproval),
                "product,quantity,list_price,price",
            ),
        ],
        R::GiftDeclaration => &[
            ("limit", Money, "500"),
            (
                "approval_covers",
                Covers(Authority::GiftApproval),
                "kind,direction,description,value",
            ),
        ],
        R::ContractLegalReview => &[(
            "review_covers",
            Covers(Authority::LegalReview),
            "title,amount",
        )],
        R::ChannelQualification => &[(
            "review_covers",
            Covers(Authority::ChannelQualification),
            "name,channel_kind",
        )],
        R::SalesReport => &[("period", Period, "weekly"), ("lookback", Int, "4")],
        R::ChannelAgreement => &[("warn_before", Duration, "30d")],
        R::ChannelCommunication => &[("window", Duration, "90d")],
        R::ChannelAssessment => &[("period", Period, "quarterly"), ("lookback", Int, "4")],
        R::ChannelTraining => &[("window", Duration, "60d")],
        _ => &[],
    }
}

const GENERAL_SPECS: &[(&str, Kind, &str)] = &[
    ("utc_offset", Kind::Offset, "+08:00"),
    ("waiver_max", Kind::Duration, "180d"),
];

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
    pub waiver_max: Millis,
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
    /// The 撞单 notice's severity (CUST-DUPLICATE `claim_notice`); `None`: off.
    pub claim_notice: Option<Severity>,
    /// Which claim key kinds match (`claim_by_name`, `claim_by_credit_code`,
    /// `claim_by_phone`).
    pub claim_by_name: bool,
    pub claim_by_credit_code: bool,
    pub claim_by_phone: bool,
    /// Which covered fields void a sign-off, per authority (bit masks; see
    /// [`Params::covers_mask`]).
    pub covers: Vec<(Authority, u16)>,
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

    /// The longest a finding may be waived for (`[general] waiver_max`): a waiver counts
    /// until its end date or this long after it was written, whichever comes first.
    pub fn waiver_max(&self) -> Millis {
        self.params.waiver_max
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
            ParamValue::OptSeverity(s) => s,
            _ => None,
        };
        let on = |v: ParamValue| matches!(v, ParamValue::Switch(true));
        self.params = Params {
            utc_offset: match self.general.get("utc_offset") {
                Some(ParamValue::Offset(o)) => *o,
                _ => 8 * HOUR_MS,
            },
            waiver_max: match self.general.get("waiver_max") {
                Some(ParamValue::Duration(d)) => *d,
                _ => 180 * 24 * HOUR_MS,
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
            claim_notice: severity(self.p(R::CustDuplicate, "claim_notice")),
            claim_by_name: on(self.p(R::CustDuplicate, "claim_by_name")),
            claim_by_credit_code: on(self.p(R::CustDuplicate, "claim_by_credit_code")),
            claim_by_phone: on(self.p(R::CustDuplicate, "claim_by_phone")),
            covers: [
                (R::PriceDiscount, "approval_covers"),
                (R::GiftDeclaration, "approval_covers"),
                (R::ContractLegalReview, "review_covers"),
                (R::CustClassCriteria, "exception_covers"),
                (R::ChannelQualification, "review_covers"),
            ]
            .iter()
            .filter_map(|(r, n)| match self.p(*r, n) {
                ParamValue::Covers(a, m) => Some((a, m)),
                _ => None,
            })
            .collect(),
        };
    }
}

impl Params {
    /// The covered fields of `authority` whose change voids its sign-off (an order's
    /// approval follows the quote's setting): bit `i` is `covered_fields(authority)[i]`.
    pub(crate) fn covers_mask(&self, authority: Authority) -> u16 {
        let key = match authority {
            Authority::OrderApproval => Authority::DiscountApproval,
            a => a,
        };
        self.covers
            .iter()
            .find(|(a, _)| *a == key)
            .map_or(u16::MAX, |(_, m)| *m)
    }
}

#[cfg(test)]
mod tests;
