//! `fieldcrm today` (the rep's to-do), `fieldcrm inbox` (what waits for my approval) and
//! `fieldcrm report targets|pipeline|activity|complaints`: the same figures as the app's
//! 今日, 审批 and 报表 pages, from the same application functions.

#[allow(unused_imports)]
use super::*;

pub(super) fn today(ctx: &Ctx, json: bool) -> Result<()> {
    let d = ctx.ws.today(ctx.now())?;
    if json {
        return print_json(&d);
    }
    let clock = &ctx.clock;
    let overdue = tr(" 已逾期", " overdue");
    let due = |title: &str, list: &[fieldcrm_workspace::DueContact]| {
        println!("{title} ({})", list.len());
        let mut t = Table::titled(&[
            ("ID", "ID"),
            ("客户", "CUSTOMER"),
            ("上次联系", "LAST"),
            ("应联系", "DUE"),
        ]);
        for c in list {
            t.row(vec![
                c.id.short().into(),
                c.name.clone(),
                clock.fmt_opt(c.last),
                format!(
                    "{}{}",
                    clock.date(c.due_at),
                    if c.overdue { overdue } else { "" }
                ),
            ]);
        }
        if !t.is_empty() {
            print!("{}", t.render());
        }
    };
    due(tr("待联系客户", "customers due for contact"), &d.contacts);
    due(
        tr("\n重要客户待拜访", "\nkey-customer visits due"),
        &d.key_visits,
    );
    let n = d.deliveries.len();
    say!(zh: "\n待交付 ({n})", en: "\ndeliveries due ({n})");
    let mut t = Table::titled(&[
        ("客户", "CUSTOMER"),
        ("订单", "ORDER"),
        ("产品", "PRODUCT"),
        ("数量", "QTY"),
        ("承诺交期", "PROMISED"),
    ]);
    for o in &d.deliveries {
        t.row(vec![
            o.customer.clone(),
            short(&o.order).into(),
            o.product.clone(),
            o.quantity.to_string(),
            format!(
                "{}{}",
                clock.date(o.promised_at),
                if o.overdue { overdue } else { "" }
            ),
        ]);
    }
    if !t.is_empty() {
        t.print()?;
    }
    let n = d.waiting.len();
    say!(zh: "\n待审批 ({n})", en: "\nwaiting for approval ({n})");
    pending_table(&d.waiting);
    let n = d.findings.len();
    say!(zh: "\n我的待处理问题 ({n})", en: "\nmy open findings ({n})");
    for f in d.findings.iter().take(20) {
        let (severity, message) = if crate::render::zh() {
            (f.severity.zh(), &f.message_zh)
        } else {
            (f.severity.as_str(), &f.message_en)
        };
        println!("  [{severity}] {}  {message}", f.rule);
    }
    if n > 20 {
        let more = n - 20;
        say!(
            zh: "  … 另有 {more} 条：fieldcrm check",
            en: "  … {more} more: fieldcrm check"
        );
    }
    Ok(())
}

pub(super) fn inbox(ctx: &Ctx, json: bool) -> Result<()> {
    let items = ctx.ws.inbox()?;
    if json {
        return print_json(&items);
    }
    let n = items.len();
    say!(zh: "等待审批 ({n})", en: "waiting for a sign-off ({n})");
    pending_table(&items);
    Ok(())
}

fn pending_table(items: &[fieldcrm_workspace::Pending]) {
    let mut t = Table::titled(&[
        ("类型", "KIND"),
        ("客户", "CUSTOMER"),
        ("ID", "ID"),
        ("内容", "WHAT"),
        ("折扣", "DISCOUNT"),
        ("提交人", "BY"),
        ("可审批", "YOU MAY"),
    ]);
    for p in items {
        t.row(vec![
            tr(p.kind.zh(), p.kind.en()).to_string(),
            p.customer.clone(),
            short(&p.entity).into(),
            p.what.clone(),
            if p.discount_bp > 0 {
                format!("{:.1}%", p.discount_bp as f64 / 100.0)
            } else {
                "-".into()
            },
            p.by_name.clone().unwrap_or_else(|| short(&p.by).into()),
            yes_no(p.can_approve).into(),
        ]);
    }
    if !t.is_empty() {
        print!("{}", t.render());
    }
}

/// `fieldcrm report targets|pipeline|activity|complaints`.
pub(super) fn report(ctx: &Ctx, what: &ReportCmd) -> Result<()> {
    let r = ctx.ws.reports(ctx.now())?;
    let out = match what {
        ReportCmd::Targets(o)
        | ReportCmd::Pipeline(o)
        | ReportCmd::Activity(o)
        | ReportCmd::Complaints(o) => o,
        ReportCmd::Submit { .. }
        | ReportCmd::List(_)
        | ReportCmd::Remove { .. }
        | ReportCmd::Restore { .. } => return Ok(()),
    };
    use crate::import::{Format, format_for, write_out};
    let json = out.json || crate::render::json();
    if !json && (out.format.is_some() || out.output.is_some()) {
        let format = format_for(out.format, out.output.as_deref(), Format::Csv);
        if format != Format::Json {
            // The same sheets as the app's Excel download.
            let sheets = fieldcrm_workspace::sheets::ReportSheets::new(
                &r,
                &ctx.clock,
                crate::render::lang(),
            );
            let sheet = match what {
                ReportCmd::Pipeline(_) => sheets.pipeline,
                ReportCmd::Activity(_) => sheets.activity,
                ReportCmd::Complaints(_) => sheets.complaints,
                _ => sheets.targets,
            };
            let rows = sheet.rows.len();
            let bytes = match format {
                Format::Xlsx => fieldcrm_workspace::sheets::write_xlsx(&[sheet])?,
                _ => format!("\u{feff}{}", sheet.to_csv()).into_bytes(),
            };
            let what = trf!(zh: "{rows} 行", en: "{rows} row(s)");
            return write_out(&bytes, out.output.as_deref(), &what);
        }
    }
    let json = json || out.format == Some(Format::Json);
    match what {
        ReportCmd::Targets(_) if json => print_json(&r.progress)?,
        ReportCmd::Targets(_) => {
            let mut t = Table::titled(&[
                ("对象", "WHO"),
                ("周期", "PERIOD"),
                ("目标", "TARGET"),
                ("实际", "ACTUAL"),
                ("完成率", "ACHIEVED"),
                ("进度正常", "ON TRACK"),
            ]);
            for p in &r.progress {
                t.row(vec![
                    p.subject_name.clone(),
                    p.period.clone(),
                    yuan(p.target),
                    yuan(p.actual),
                    format!("{:.1}%", p.achieved_bp as f64 / 100.0),
                    yes_no(p.on_track).into(),
                ]);
            }
            t.print()?;
        }
        ReportCmd::Pipeline(_) if json => print_json(&r.pipeline)?,
        ReportCmd::Pipeline(_) => {
            let mut t = Table::titled(&[
                ("阶段", "STAGE"),
                ("商机数", "OPPORTUNITIES"),
                ("金额", "AMOUNT"),
            ]);
            for (stage, n, amount) in &r.pipeline {
                t.row(vec![
                    tr(stage.zh(), stage.as_str()).to_string(),
                    n.to_string(),
                    yuan(*amount),
                ]);
            }
            t.print()?;
        }
        ReportCmd::Activity(_) if json => print_json(&r.visits)?,
        ReportCmd::Activity(_) => {
            let mut t = Table::titled(&[
                ("周", "WEEK"),
                ("销售", "REP"),
                ("拜访与联系", "VISITS AND CALLS"),
            ]);
            for w in &r.visits {
                for (user, n) in &w.counts {
                    let name = r
                        .users
                        .get(user)
                        .cloned()
                        .unwrap_or_else(|| short(user).into());
                    t.row(vec![ctx.clock.date(w.week_start), name, n.to_string()]);
                }
            }
            t.print()?;
        }
        ReportCmd::Complaints(_) if json => print_json(&serde_json::json!({
            "open": r.complaints_open,
            "closed": r.complaints_closed,
        }))?,
        ReportCmd::Complaints(_) => {
            let (open, closed) = (r.complaints_open, r.complaints_closed);
            say!(
                zh: "投诉：处理中 {open}，已结案 {closed}",
                en: "complaints: open {open}, closed {closed}"
            )
        }
        ReportCmd::Submit { .. }
        | ReportCmd::List(_)
        | ReportCmd::Remove { .. }
        | ReportCmd::Restore { .. } => {}
    }
    Ok(())
}

/// A yes/no cell: 是/否, or yes/no.
fn yes_no(b: bool) -> &'static str {
    match b {
        true => tr("是", "yes"),
        false => tr("否", "no"),
    }
}
