//! Plain-text rendering of tracked findings: grouped like [`crate::render`], each with its
//! key (to act on it) and its state (who, when, why).

use std::fmt::Write as _;

use fieldcrm_model::{Lang, Millis, short_id as short};

use super::{Mark, Status, Tracked};
use crate::finding::Severity;
use crate::time::fmt_date;

/// Render tracked findings. Without `all`, only open ones (open or acknowledged) are
/// listed and the others are counted in the last line; with `all`, every one, with its
/// state. `offset` is the display UTC offset (`Config::utc_offset`).
pub fn render_tracked(items: &[Tracked], lang: Lang, all: bool, offset: Millis) -> String {
    let shown: Vec<&Tracked> = items.iter().filter(|t| all || t.status.is_open()).collect();
    let hidden = items.len() - shown.len();
    let zh = lang == Lang::Zh;
    let mut out = String::new();
    if shown.is_empty() {
        out.push_str(if zh {
            "没有未处理的问题。\n"
        } else {
            "No open findings.\n"
        });
    }
    for group in shown.chunk_by(|a, b| a.finding.rule == b.finding.rule) {
        let Some(rule) = group.first().map(|t| t.finding.rule) else {
            continue;
        };
        let title = if zh { rule.title_zh() } else { rule.title_en() };
        let count = if zh {
            format!("{} 条", group.len())
        } else {
            group.len().to_string()
        };
        let _ = writeln!(out, "{rule}  {title} ({count})");
        let _ = writeln!(out, "  {}", rule.clause());
        for t in group {
            let f = &t.finding;
            let docs: Vec<&str> = f.doc_ids.iter().map(|d| short(d.as_str())).collect();
            let sev = if zh {
                f.severity.zh()
            } else {
                f.severity.as_str()
            };
            let status = if zh { t.status.zh() } else { t.status.as_str() };
            let msg = if zh { &f.message_zh } else { &f.message_en };
            let _ = writeln!(out, "  [{sev}|{status}] {} {msg}", docs.join("+"));
            let _ = writeln!(out, "      {} {}", if zh { "键" } else { "key" }, t.key);
            if let Some(m) = &t.state {
                let _ = writeln!(out, "      {}", mark_line(m, lang, offset));
            }
            for m in &t.ignored {
                let _ = writeln!(out, "      {}", mark_line(m, lang, offset));
            }
        }
        out.push('\n');
    }
    let open: Vec<&&Tracked> = shown.iter().filter(|t| t.status.is_open()).collect();
    let v = open
        .iter()
        .filter(|t| t.finding.severity == Severity::Violation)
        .count();
    let w = open.len() - v;
    let count = |s: Status| items.iter().filter(|t| t.status == s).count();
    let (waived, resolved) = (count(Status::Waived), count(Status::Resolved));
    let _ = if zh {
        write!(
            out,
            "未处理 {} 条：违规 {v} 条，警告 {w} 条；已豁免 {waived} 条，已解决 {resolved} 条。",
            open.len()
        )
    } else {
        write!(
            out,
            "{} open: {v} violation(s), {w} warning(s); {waived} waived, {resolved} resolved.",
            open.len()
        )
    };
    if hidden > 0 {
        out.push_str(if zh {
            "（`fieldcrm check --all` 列出已豁免和已解决的问题）"
        } else {
            " (`fieldcrm check --all` lists the waived and resolved ones)"
        });
    }
    out.push('\n');
    out
}

/// `已豁免：李经理（销售经理） 2026-11-30，至 2026-12-31「年底停产」` and why it does not count.
fn mark_line(m: &Mark, lang: Lang, offset: Millis) -> String {
    let zh = lang == Lang::Zh;
    let who = if zh { m.by.label_zh() } else { m.by.label_en() };
    let what = match (m.state.as_str(), zh) {
        ("acknowledged", true) => "确认",
        ("waived", true) => "豁免",
        ("acknowledged", false) => "acknowledged",
        ("waived", false) => "waived",
        (other, _) => other,
    };
    let mut line = if zh {
        format!("{what}：{who} {}", fmt_date(m.at, offset))
    } else {
        format!("{what} by {who} on {}", fmt_date(m.at, offset))
    };
    if let Some(u) = m.until {
        let _ = if zh {
            write!(line, "，至 {}", fmt_date(u, offset))
        } else {
            write!(line, ", until {}", fmt_date(u, offset))
        };
    }
    for text in [&m.note, &m.reason].into_iter().flatten() {
        let _ = if zh {
            write!(line, "「{text}」")
        } else {
            write!(line, " \"{text}\"")
        };
    }
    let why = if zh { &m.why_not_zh } else { &m.why_not_en };
    if let Some(why) = why {
        let _ = if zh {
            write!(line, " —— {why}")
        } else {
            write!(line, " — {why}")
        };
    }
    line
}
