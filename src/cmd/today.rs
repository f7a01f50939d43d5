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
    let due = |title: &str, list: &[fieldcrm_workspace::DueContact]| {
        println!("{title} ({})", list.len());
        let mut t = Table::new(&["ID", "CUSTOMER", "LAST", "DUE"]);
        for c in list {
            t.row(vec![
                c.id.short().into(),
                c.name.clone(),
                clock.fmt_opt(c.last),
                format!(
                    "{}{}",
                    clock.date(c.due_at),
                    if c.overdue { " 已逾期 overdue" } else { "" }
                ),
            ]);
        }
        if !t.is_empty() {
            print!("{}", t.render());
        }
    };
    due("待联系 customers due for contact", &d.contacts);
    due("\n重要客户待拜访 key-customer visits due", &d.key_visits);
    println!("\n待交付 deliveries due ({})", d.deliveries.len());
    let mut t = Table::new(&["CUSTOMER", "ORDER", "PRODUCT", "QTY", "PROMISED"]);
    for o in &d.deliveries {
        t.row(vec![
            o.customer.clone(),
            short(&o.order).into(),
            o.product.clone(),
            o.quantity.to_string(),
            format!(
                "{}{}",
                clock.date(o.promised_at),
                if o.overdue { " 已逾期 overdue" } else { "" }
            ),
        ]);
    }
    if !t.is_empty() {
        print!("{}", t.render());
    }
    println!("\n待审批 waiting for approval ({})", d.waiting.len());
    pending_table(&d.waiting);
    println!("\n待处理问题 my open findings ({})", d.findings.len());
    for f in d.findings.iter().take(20) {
        println!("  [{}] {}  {}", f.severity.zh(), f.rule, f.message_zh);
    }
    if d.findings.len() > 20 {
        println!("  … {} more: fieldcrm check", d.findings.len() - 20);
    }
    Ok(())
}

pub(super) fn inbox(ctx: &Ctx, json: bool) -> Result<()> {
    let items = ctx.ws.inbox()?;
    if json {
        return print_json(&items);
    }
    println!("等待审批 waiting for a sign-off ({})", items.len());
    pending_table(&items);
    Ok(())
}

fn pending_table(items: &[fieldcrm_workspace::Pending]) {
    let mut t = Table::new(&[
        "KIND", "CUSTOMER", "ID", "WHAT", "DISCOUNT", "BY", "YOU MAY",
    ]);
    for p in items {
        t.row(vec![
            format!("{} {}", p.kind.en(), p.kind.zh()),
            p.customer.clone(),
            short(&p.entity).into(),
            p.what.clone(),
            if p.discount_bp > 0 {
                format!("{:.1}%", p.discount_bp as f64 / 100.0)
            } else {
                "-".into()
            },
            p.by_name.clone().unwrap_or_else(|| short(&p.by).into()),
            if p.can_approve { "是 yes" } else { "否 no" }.into(),
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
            return write_out(&bytes, out.output.as_deref(), &format!("{rows} row(s)"));
        }
    }
    let json = json || out.format == Some(Format::Json);
    match what {
        ReportCmd::Targets(_) if json => print_json(&r.progress)?,
        ReportCmd::Targets(_) => {
            let mut t = Table::new(&["WHO", "PERIOD", "TARGET", "ACTUAL", "ACHIEVED", "ON TRACK"]);
            for p in &r.progress {
                t.row(vec![
                    p.subject_name.clone(),
                    p.period.clone(),
                    yuan(p.target),
                    yuan(p.actual),
                    format!("{:.1}%", p.achieved_bp as f64 / 100.0),
                    if p.on_track { "是 yes" } else { "否 no" }.into(),
                ]);
            }
            print!("{}", t.render());
        }
        ReportCmd::Pipeline(_) if json => print_json(&r.pipeline)?,
        ReportCmd::Pipeline(_) => {
            let mut t = Table::new(&["STAGE", "OPPORTUNITIES", "AMOUNT"]);
            for (stage, n, amount) in &r.pipeline {
                t.row(vec![
                    format!("{stage} {}", stage.zh()),
                    n.to_string(),
                    yuan(*amount),
                ]);
            }
            print!("{}", t.render());
        }
        ReportCmd::Activity(_) if json => print_json(&r.visits)?,
        ReportCmd::Activity(_) => {
            let mut t = Table::new(&["WEEK", "REP", "VISITS AND CALLS"]);
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
            print!("{}", t.render());
        }
        ReportCmd::Complaints(_) if json => print_json(&serde_json::json!({
            "open": r.complaints_open,
            "closed": r.complaints_closed,
        }))?,
        ReportCmd::Complaints(_) => println!(
            "投诉 complaints: 处理中 open {}, 已结案 closed {}",
            r.complaints_open, r.complaints_closed
        ),
        ReportCmd::Submit { .. }
        | ReportCmd::List(_)
        | ReportCmd::Remove { .. }
        | ReportCmd::Restore { .. } => {}
    }
    Ok(())
}
