//! Command handlers: turn parsed arguments into application-layer calls and print the
//! result. One module per record group; no business logic here.

use anyhow::{Context, Result, anyhow};
use fieldcrm_model::*;
use fieldcrm_workspace::{
    AgreementInput, CustomerEdit, Filter, InitOptions, Listed, NewChannel, NewCustomer, Tombstones,
    Workspace, default_home,
};
use serde_json::json;

use crate::cli::*;
use crate::render::{Clock, Table, parse_now, print_json, short, yuan};
use fieldcrm_workspace::input;

mod admin;
mod channel;
mod check;
mod customer;
mod today;

use admin::*;
use channel::*;
use check::*;
use customer::*;
use today::*;

pub(crate) struct Ctx {
    ws: Workspace,
    clock: Clock,
}

impl Ctx {
    fn now(&self) -> Millis {
        self.clock.now
    }
    fn customer(&self, text: &str) -> Result<DocId> {
        Ok(self.ws.resolve(Some(&DocKind::Customer), text)?)
    }
    fn channel(&self, text: &str) -> Result<DocId> {
        Ok(self.ws.resolve(Some(&DocKind::Channel), text)?)
    }
    fn at(&self, text: Option<&str>) -> Result<Millis> {
        Ok(self.clock.parse_or_now("at", text)?)
    }
    fn user_name(&self, roster: &Roster, id: &Option<String>) -> String {
        id.as_deref()
            .map(|i| {
                roster
                    .users
                    .get(i)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| short(i).to_string())
            })
            .unwrap_or_else(|| "-".into())
    }
}

/// Run a parsed command line; returns the process exit code.
pub(crate) fn run(cli: Cli) -> Result<i32> {
    crate::render::set_color(cli.color);
    crate::render::set_quiet(cli.quiet);
    crate::render::set_output(cli.lang.clone(), cli.json, cli.verbose);
    let now = match &cli.now {
        Some(t) => parse_now(t).context("--now")?,
        None => jiff::Timestamp::now().as_millisecond(),
    };
    match &cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "fieldcrm", &mut std::io::stdout());
            return Ok(0);
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(0);
        }
        _ => {}
    }
    if let Command::Demo { app } = &cli.command {
        return crate::demo::run(*app).map(|()| 0);
    }
    let home = cli.home.clone().unwrap_or_else(default_home);
    if let Command::App(a) = &cli.command {
        return crate::app::run(home, a, cli.now.as_ref().map(|_| now)).map(|()| 0);
    }
    if let Command::Init(a) = &cli.command {
        let opts = InitOptions {
            user: a.user.trim().to_string(),
            role: input::vocab("role", &a.role)?,
            team: a.team.clone(),
            region: a.region.clone(),
            company: a.company.clone(),
            device_label: a.device_label.clone(),
        };
        let ws = Workspace::init(&home, &opts, now)
            .with_context(|| format!("could not create a workspace in {}", home.display()))?;
        println!(
            "已创建工作区 created workspace {} in {}",
            ws.workspace_id(),
            home.display()
        );
        println!("user:   {} ({})", opts.user, opts.role);
        println!("device: {}", ws.device());
        return Ok(0);
    }
    if let Command::Join(a) = &cli.command {
        let is_link = a
            .url
            .as_deref()
            .is_some_and(|u| u.trim().starts_with("fieldcrm://"));
        if a.invite.is_some() || is_link {
            return crate::invite::join(&home, a, now);
        }
        if let Some(url) = &a.url {
            return crate::remote::join(&home, url).map(|()| 0);
        }
        let ws = Workspace::join(&home, a.workspace.as_deref().unwrap_or_default())
            .with_context(|| format!("could not prepare a workspace in {}", home.display()))?;
        println!(
            "已准备加入 ready to join workspace {} in {}",
            ws.workspace_id(),
            home.display()
        );
        println!("device: {}", ws.device());
        println!(
            "Ask an admin to run: fieldcrm device add {} --user <your name>",
            ws.device()
        );
        println!("then sync with their device: fieldcrm sync <ticket>");
        return Ok(0);
    }
    let ws = Workspace::open(&home)?;
    let tz = match &cli.tz {
        Some(t) => t.clone(),
        None => ws.timezone()?,
    };
    let ctx = Ctx {
        clock: Clock::new(&tz, now)?,
        ws,
    };
    match cli.command {
        Command::Check(a) => check(&ctx, a),
        Command::Serve(a) => {
            // Serving opens the workspace per session; let go of it so other commands
            // (and the app) can work while this device serves.
            let home = ctx.ws.home().to_path_buf();
            drop(ctx);
            crate::peer::serve(&home, a).map(|()| 0)
        }
        Command::Sync(a) => crate::remote::sync_at(&ctx.ws, a, ctx.now()),
        Command::Bundle(c) => crate::bundle::bundle(&ctx.ws, &ctx.clock, c),
        Command::Remote(c) => crate::remote::remote(&ctx.ws, c).map(|()| 0),
        Command::Invite(a) => crate::invite::invite(&ctx.ws, &ctx.clock, a).map(|()| 0),
        Command::Policy(p) => policy(&ctx, p).map(|()| 0),
        other => dispatch(&ctx, other).map(|()| 0),
    }
}

/// Print what a write did: with `--json` one object `{"kind", "id", "short"}` (the shape
/// `schema/output/write-result.schema.json` describes), with `--quiet` the full ID alone, else
/// the line `human` prints.
pub(super) fn wrote(kind: &str, id: &str, human: impl FnOnce()) {
    if crate::render::json() {
        println!("{}", json!({"kind": kind, "id": id, "short": short(id)}));
    } else if crate::render::quiet() {
        // For scripts: `id=$(fieldcrm -q customer add 甲公司)`.
        println!("{id}");
    } else {
        human();
    }
}

/// A save of `what` (its last word is the kind: "legal review of contract" → contract).
pub(super) fn saved(what: &str, id: &str) {
    let kind = what.rsplit(' ').next().unwrap_or(what);
    saved_kind(kind, what, id);
}

/// A save of `what` in a record of `kind` ("agreement of" a channel).
pub(super) fn saved_kind(kind: &str, what: &str, id: &str) {
    wrote(kind, id, || println!("已保存 saved {what} {}", short(id)));
}

pub(super) fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match command {
        Command::Init(_)
        | Command::Demo { .. }
        | Command::Completions { .. }
        | Command::Man
        | Command::App(_)
        | Command::Join(_)
        | Command::Check(_)
        | Command::Policy(_)
        | Command::Serve(_)
        | Command::Sync(_)
        | Command::Bundle(_)
        | Command::Remote(_)
        | Command::Invite(_) => unreachable!("handled in run"),
        // `--json` before the command counts too.
        Command::Whoami(f) => whoami(ctx, f.json || crate::render::json())?,
        Command::OfficeLogin(a) => office_login(ctx, &a)?,
        Command::Today(f) => today(ctx, f.json || crate::render::json())?,
        Command::Inbox(f) => inbox(ctx, f.json || crate::render::json())?,
        Command::Doc(c) => crate::inspect::doc(ws, &ctx.clock, c)?,
        Command::Conflicts(a) => crate::inspect::conflicts(ws, &ctx.clock, a)?,
        Command::Resolve(a) => crate::inspect::resolve(ws, now, a)?,
        Command::MergeForward(a) => crate::merge::merge_forward(ws, now, a)?,
        Command::Export(a) => crate::import::export(ws, a)?,
        Command::Finding(c) => finding(ctx, c)?,
        Command::Customer(c) => customer(ctx, c)?,
        Command::Contact(c) => contact(ctx, c)?,
        Command::Interaction(c) => interaction(ctx, c)?,
        Command::Complaint(c) => complaint(ctx, c)?,
        Command::Survey(SurveyCmd::Record {
            customer,
            score,
            comment,
            at,
        }) => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.record_survey(&id, input::int("score", &score)?, comment, at, now)?;
            saved("survey", &eid);
        }
        Command::Plan(PlanCmd::Set {
            customer,
            text,
            review,
        }) => {
            let id = ctx.customer(&customer)?;
            let review = ctx.clock.parse("review", &review)?;
            ws.set_plan(&id, &text, review, now)?;
            saved_kind("customer", "plan for", id.as_str());
        }
        Command::Opportunity(OpportunityCmd::Add {
            customer,
            title,
            amount,
            stage,
        }) => {
            let id = ctx.customer(&customer)?;
            let eid = ws.add_opportunity(
                &id,
                &title,
                input::vocab("stage", &stage)?,
                input::money("amount", &amount)?,
                now,
            )?;
            saved("opportunity", &eid);
        }
        Command::Opportunity(OpportunityCmd::Update {
            customer,
            opportunity,
            stage,
            amount,
        }) => {
            let id = ctx.customer(&customer)?;
            let stage = stage.map(|s| input::vocab("stage", &s)).transpose()?;
            let amount = amount.map(|a| input::money("amount", &a)).transpose()?;
            ws.update_opportunity(&id, &opportunity, stage, amount, now)?;
            saved("opportunity", &opportunity);
        }
        Command::Quote(QuoteCmd::Add {
            customer,
            product,
            price,
            quantity,
        }) => {
            let id = ctx.customer(&customer)?;
            let (eid, bp) = ws.add_quote(
                &id,
                &product,
                input::int("quantity", &quantity)?,
                input::money("price", &price)?,
                now,
            )?;
            saved("quote", &eid);
            discount_note(ctx, bp)?;
        }
        Command::Quote(QuoteCmd::Edit {
            customer,
            quote,
            price,
            quantity,
        }) => {
            let id = ctx.customer(&customer)?;
            let change = priced_change(price.as_deref(), quantity.as_deref())?;
            let edit = ws.edit_quote(&id, &quote, change, now)?;
            edited(ctx, "quote", &edit)?;
        }
        Command::Quote(QuoteCmd::Approve {
            customer,
            quote,
            note,
        }) => {
            let id = ctx.customer(&customer)?;
            ws.approve_quote(&id, &quote, note, now)?;
            wrote("quote", &quote, || {
                println!("已批准 approved quote {quote}")
            });
        }
        Command::Quote(QuoteCmd::Cancel(a)) => {
            let id = ctx.customer(&a.customer)?;
            let eid = ws.cancel_quote(&id, &a.record, a.reason, now)?;
            println!("已取消 cancelled quote {}", short(&eid));
        }
        Command::Contract(c) => contract(ctx, c)?,
        Command::Order(c) => order(ctx, c)?,
        Command::Gift(GiftCmd::Record {
            customer,
            kind,
            direction,
            description,
            value,
            declared,
            at,
        }) => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.record_gift(
                &id,
                input::vocab("kind", &kind)?,
                input::vocab("direction", &direction)?,
                &description,
                input::money("amount", &value)?,
                declared,
                at,
                now,
            )?;
            saved("gift", &eid);
        }
        Command::Gift(GiftCmd::Approve {
            customer,
            gift,
            note,
        }) => {
            let id = ctx.customer(&customer)?;
            ws.approve_gift(&id, &gift, note, now)?;
            wrote("gift", &gift, || println!("已批准 approved gift {gift}"));
        }
        Command::Channel(c) => channel(ctx, c)?,
        Command::Catalog(c) => catalog(ctx, c)?,
        Command::PricePolicy(PricePolicyCmd::Show(f)) => {
            let cat = ws.catalog()?;
            if f.json {
                print_json(&cat.discount_allowance_bp)?;
            } else {
                let mut t = Table::new(&["ROLE", "ALLOWANCE"]);
                for (r, bp) in &cat.discount_allowance_bp {
                    t.row(vec![r.clone(), format!("{:.1}%", *bp as f64 / 100.0)]);
                }
                print!("{}", t.render());
            }
        }
        Command::PricePolicy(PricePolicyCmd::Set { role, allowance }) => {
            let role: Role = input::vocab("role", &role)?;
            let bp = input::percent_bp("allowance", &allowance)?;
            ws.set_allowance(&role, bp, now)?;
            wrote("allowance", role.as_str(), || {
                println!(
                    "已保存 saved allowance for {role}: {:.1}%",
                    bp as f64 / 100.0
                )
            });
        }
        Command::User(c) => user(ctx, c)?,
        Command::Device(c) => device(ctx, c)?,
        Command::Target(TargetCmd::Set {
            user,
            team,
            period,
            amount,
        }) => {
            let tid = ws.set_target(
                user.as_deref(),
                team.as_deref(),
                &period,
                input::money("amount", &amount)?,
                now,
            )?;
            saved("target", &tid);
        }
        Command::Target(TargetCmd::List(f)) => {
            let sales = ws.sales()?;
            let roster = ws.roster()?;
            if f.json {
                print_json(&sales.targets)?;
            } else {
                let mut t = Table::new(&["ID", "SCOPE", "SUBJECT", "PERIOD", "AMOUNT"]);
                for (id, tg) in &sales.targets {
                    let subject = if tg.scope == "user" {
                        ctx.user_name(&roster, &Some(tg.subject.clone()))
                    } else {
                        tg.subject.clone()
                    };
                    t.row(vec![
                        short(id).into(),
                        tg.scope.clone(),
                        subject,
                        tg.period.clone(),
                        yuan(tg.amount),
                    ]);
                }
                print!("{}", t.render());
            }
        }
        Command::Target(TargetCmd::Remove { target, reason }) => {
            let eid = ws.remove_sales_record("target", &target, reason, now)?;
            println!("已删除 removed target {}", short(&eid));
        }
        Command::Target(TargetCmd::Restore { target }) => {
            let eid = ws.restore_sales_record("target", &target, now)?;
            println!("已恢复 restored target {}", short(&eid));
        }
        Command::Report(ReportCmd::Remove { report, reason }) => {
            let eid = ws.remove_sales_record("report", &report, reason, now)?;
            println!("已删除 removed report {}", short(&eid));
        }
        Command::Report(ReportCmd::Restore { report }) => {
            let eid = ws.restore_sales_record("report", &report, now)?;
            println!("已恢复 restored report {}", short(&eid));
        }
        Command::Report(ReportCmd::Submit {
            period,
            amount,
            summary,
        }) => {
            let rid = ws.submit_report(&period, input::money("amount", &amount)?, &summary, now)?;
            saved("report", &rid);
        }
        Command::Report(
            what @ (ReportCmd::Targets(_)
            | ReportCmd::Pipeline(_)
            | ReportCmd::Activity(_)
            | ReportCmd::Complaints(_)),
        ) => report(ctx, &what)?,
        Command::Report(ReportCmd::List(f)) => {
            let sales = ws.sales()?;
            let roster = ws.roster()?;
            if f.json {
                print_json(&sales.reports)?;
            } else {
                let mut t = Table::new(&["ID", "USER", "PERIOD", "AMOUNT", "SUBMITTED", "SUMMARY"]);
                for (id, r) in &sales.reports {
                    t.row(vec![
                        short(id).into(),
                        ctx.user_name(&roster, &Some(r.user.clone())),
                        r.period.clone(),
                        yuan(r.amount),
                        ctx.clock.fmt(r.submitted_at),
                        r.summary.clone(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
        Command::Config(ConfigCmd::Timezone { zone }) => {
            ws.set_timezone(&zone)?;
            wrote("timezone", &zone, || println!("已保存 time zone: {zone}"));
        }
    }
    Ok(())
}

/// The new price and quantity of a quote or order edit, parsed.
pub(super) fn priced_change(
    price: Option<&str>,
    quantity: Option<&str>,
) -> Result<(Option<i64>, Option<i64>)> {
    Ok((
        price.map(|p| input::money("price", p)).transpose()?,
        quantity.map(|q| input::int("quantity", q)).transpose()?,
    ))
}

/// Print what a quote or order edit did.
pub(super) fn edited(ctx: &Ctx, what: &str, edit: &fieldcrm_workspace::PricedEdit) -> Result<()> {
    saved(what, &edit.id);
    if edit.approval_void {
        println!(
            "注意 note: 原审批批准的是修改前的数值，现已失效，需重新审批 / the approval covered the old values and is void: it needs approving again"
        );
    }
    discount_note(ctx, edit.discount_bp)
}

pub(super) fn discount_note(ctx: &Ctx, bp: i64) -> Result<()> {
    if let Some(allowed) = ctx.ws.discount_needs_approval(bp)? {
        println!(
            "注意 note: discount {:.1}% exceeds your allowance {:.1}%; a manager must approve it",
            bp as f64 / 100.0,
            allowed as f64 / 100.0
        );
    }
    Ok(())
}
