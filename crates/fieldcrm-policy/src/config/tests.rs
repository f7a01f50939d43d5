//! Unit tests of the rule configuration.

use super::value::{parse_duration, parse_offset, parse_percent};
use super::*;
use fieldcrm_model::{DAY_MS, RuleSetting};

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
