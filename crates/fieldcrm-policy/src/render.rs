//! Plain-text rendering of findings and progress for terminals.

use std::fmt::Write as _;

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::short_id as short;

use crate::config::fmt_bp;
use crate::finding::{Finding, Severity};
use crate::progress::ProgressRow;

pub use fieldcrm_model::Lang;

fn sev_label(s: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => s.zh(),
        Lang::En => s.as_str(),
    }
}

/// Render findings grouped by rule, then by document, with a summary line. The input
/// order does not matter: groups come out in the canonical order.
pub fn render(findings: &[Finding], lang: Lang) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| a.canonical_cmp(b));
    let mut out = String::new();
    if sorted.is_empty() {
        out.push_str(match lang {
            Lang::Zh => "没有发现问题。\n",
            Lang::En => "No findings.\n",
        });
        return out;
    }
    for group in sorted.chunk_by(|a, b| a.rule == b.rule) {
        let Some(rule) = group.first().map(|f| f.rule) else {
            continue;
        };
        let title = match lang {
            Lang::Zh => rule.title_zh(),
            Lang::En => rule.title_en(),
        };
        let count = match lang {
            Lang::Zh => format!("{} 条", group.len()),
            Lang::En => format!("{}", group.len()),
        };
        let _ = writeln!(out, "{rule}  {title} ({count})");
        let _ = writeln!(out, "  {}", rule.clause());
        for same_docs in group.chunk_by(|a, b| a.doc_ids == b.doc_ids) {
            let docs = same_docs.first().map_or(&[][..], |f| f.doc_ids.as_slice());
            let ids: Vec<&str> = docs.iter().map(|d| short(d.as_str())).collect();
            let label = match lang {
                Lang::Zh => "文档",
                Lang::En => "doc",
            };
            let _ = writeln!(out, "  {label} {}", ids.join(" + "));
            for f in same_docs {
                let msg = match lang {
                    Lang::Zh => &f.message_zh,
                    Lang::En => &f.message_en,
                };
                let entity = f
                    .entity
                    .as_deref()
                    .map(|e| format!(" {}", short_entity(e)))
                    .unwrap_or_default();
                let _ = writeln!(out, "    [{}]{entity} {msg}", sev_label(f.severity, lang));
            }
        }
        out.push('\n');
    }
    let v = sorted
        .iter()
        .filter(|f| f.severity == Severity::Violation)
        .count();
    let w = sorted.len() - v;
    let _ = match lang {
        Lang::Zh => writeln!(out, "共 {} 条：违规 {v} 条，警告 {w} 条。", sorted.len()),
        Lang::En => writeln!(
            out,
            "{} findings: {v} violation(s), {w} warning(s).",
            sorted.len()
        ),
    };
    out
}

/// Shorten the 32-hex entity IDs inside an entity path (`complaints/3f2a…` → `complaints/3f2a1b2c`).
fn short_entity(e: &str) -> String {
    e.split('/')
        .map(|s| {
            if s.len() == fieldcrm_model::ID_HEX_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                short(s)
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Render the target-progress report as a table.
pub fn render_progress(rows: &[ProgressRow], lang: Lang) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str(match lang {
            Lang::Zh => "没有销售目标。\n",
            Lang::En => "No sales targets.\n",
        });
        return out;
    }
    let _ = match lang {
        Lang::Zh => writeln!(
            out,
            "周期\t对象\t目标（元）\t实际（元）\t上报（元）\t完成率\t时间进度\t状态"
        ),
        Lang::En => writeln!(
            out,
            "period\tsubject\ttarget\tactual\treported\tachieved\telapsed\tstatus"
        ),
    };
    for r in rows {
        let scope = match (lang, r.scope.as_str()) {
            (Lang::Zh, "team") => "团队",
            (Lang::Zh, _) => "个人",
            (Lang::En, s) => s,
        };
        let status = match (lang, r.on_track) {
            (Lang::Zh, true) => "正常",
            (Lang::Zh, false) => "落后",
            (Lang::En, true) => "on track",
            (Lang::En, false) => "behind",
        };
        let _ = writeln!(
            out,
            "{}\t{scope}:{}\t{}\t{}\t{}\t{}%\t{}%\t{status}",
            r.period,
            r.subject_name,
            format_yuan(r.target),
            format_yuan(r.actual),
            format_yuan(r.reported),
            fmt_bp(r.achieved_bp),
            fmt_bp(r.elapsed_bp)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleId;
    use fieldcrm_model::DocId;

    fn f(rule: RuleId, doc: u8, sev: Severity, en: &str) -> Finding {
        Finding::new(
            rule,
            sev,
            vec![
                format!("{doc:02x}{}", "0".repeat(30))
                    .parse::<DocId>()
                    .unwrap(),
            ],
            Some(format!("complaints/{}", "ab".repeat(16))),
            format!("中文{en}"),
            en.to_string(),
            serde_json::json!({}),
        )
    }

    #[test]
    fn groups_by_rule_then_document() {
        let findings = vec![
            f(RuleId::OppFollowup, 2, Severity::Warning, "opp"),
            f(RuleId::CustClassMissing, 2, Severity::Violation, "class b"),
            f(RuleId::CustClassMissing, 1, Severity::Violation, "class a"),
        ];
        let zh = render(&findings, Lang::Zh);
        let class = zh.find("CUST-CLASS-MISSING  客户未分类 (2 条)").unwrap();
        let opp = zh.find("OPP-FOLLOWUP").unwrap();
        assert!(class < opp, "{zh}");
        let a = zh.find("文档 01000000").unwrap();
        let b = zh.find("文档 02000000").unwrap();
        assert!(a < b && b < opp, "{zh}");
        assert!(
            zh.contains("[违规] complaints/abababab 中文class a"),
            "{zh}"
        );
        assert!(zh.ends_with("共 3 条：违规 2 条，警告 1 条。\n"), "{zh}");
        let en = render(&findings, Lang::En);
        assert!(en.contains("[warning] complaints/abababab opp"), "{en}");
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
