//! Rules on the workspace documents: SALES-REPORT (every rep reports every period).

use std::collections::{HashMap, HashSet};

use fieldcrm_model::{DocId, Millis, Role, Sales};
use serde_json::json;

use crate::ctx::Ctx;
use crate::finding::Finding;
use crate::rule::RuleId;
use crate::time::{Period, period_at};

/// SALES-REPORT findings and the instant they next change.
pub(crate) fn sales_reports(
    ctx: &Ctx,
    doc: Option<&DocId>,
    sales: Option<&Sales>,
    now: Millis,
    out: &mut Vec<Finding>,
) -> Millis {
    let (Some(sev), Some(kind), Some(doc)) = (
        ctx.cfg.severity(RuleId::SalesReport),
        ctx.cfg.params.report_period,
        doc,
    ) else {
        return Millis::MAX;
    };
    let offset = ctx.offset();
    let current = period_at(kind, now, offset);
    let wake = current.end_ms(offset);
    let mut done: HashMap<&str, HashSet<String>> = HashMap::new();
    if let Some(sales) = sales {
        for r in sales.reports.values() {
            if let Some(p) = Period::parse(&r.period).ok().filter(|p| p.kind == kind) {
                done.entry(r.user.as_str()).or_default().insert(p.label);
            }
        }
    }
    for (id, user) in &ctx.auth.effective.users {
        if user.role != Role::Rep || !user.active {
            continue;
        }
        let mut missing = Vec::new();
        let mut period = current.prev();
        for _ in 0..ctx.cfg.params.report_lookback {
            if period.start_ms(offset) < user.created_at {
                break;
            }
            if !done
                .get(id.as_str())
                .is_some_and(|d| d.contains(&period.label))
            {
                missing.push(period.label.clone());
            }
            period = period.prev();
        }
        if missing.is_empty() {
            continue;
        }
        missing.reverse();
        out.push(Finding::new(
            RuleId::SalesReport,
            sev,
            vec![doc.clone()],
            Some(format!("users/{id}")),
            format!(
                "销售代表{}（{id}）没有提交以下周期的销售报告：{}。",
                user.name,
                missing.join("、")
            ),
            format!(
                "Rep {} ({id}) has not submitted a sales report for: {}.",
                user.name,
                missing.join(", ")
            ),
            json!({ "user": id, "missing_periods": missing, "period": kind.as_str() }),
        ));
    }
    wake
}
