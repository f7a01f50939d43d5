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
use crate::render::{Clock, Table, parse_now, print_json, say, short, tr, trf, yuan};
use fieldcrm_workspace::input;

mod admin;
mod channel;
mod check;
mod customer;
mod show;
mod today;

use admin::*;
use channel::*;
use check::*;
use customer::*;
use show::*;
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
        user_label(roster, id.as_deref()).to_string()
    }
}

/// A user's name from the roster; the short ID of one not in it; `-` for none.
fn user_label<'a>(roster: &'a Roster, id: Option<&'a str>) -> &'a str {
    match id {
        Some(i) => roster
            .users
            .get(i)
            .map_or_else(|| short(i), |u| u.name.as_str()),
        None => "-",
    }
}

/// The store's page cache for a command that lists from the summary index.
const LISTING_CACHE_BYTES: usize = 4 << 20;

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
        let ws = Workspace::init(&home, &opts, now).with_context(|| {
            trf!(
                zh: "无法在 {} 新建工作区",
                en: "could not create a workspace in {}",
                home.display()
            )
        })?;
        let (id, at, device) = (ws.workspace_id(), home.display(), ws.device());
        let (user, role) = (&opts.user, tr(opts.role.zh(), opts.role.as_str()));
        say!(
            zh: "已新建工作区 {id}，位于 {at}",
            en: "created workspace {id} in {at}"
        );
        say!(zh: "用户：{user}（{role}）", en: "user:   {user} ({role})");
        say!(zh: "设备：{device}", en: "device: {device}");
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
        let ws = Workspace::join(&home, a.workspace.as_deref().unwrap_or_default()).with_context(
            || {
                trf!(
                    zh: "无法在 {} 准备工作区",
                    en: "could not prepare a workspace in {}",
                    home.display()
                )
            },
        )?;
        let (id, at, device) = (ws.workspace_id(), home.display(), ws.device());
        say!(
            zh: "已准备加入工作区 {id}，位于 {at}",
            en: "ready to join workspace {id} in {at}"
        );
        say!(zh: "设备：{device}", en: "device: {device}");
        say!(
            zh: "请管理员运行：fieldcrm device add {device} --user <你的名字>",
            en: "Ask an admin to run: fieldcrm device add {device} --user <your name>"
        );
        say!(
            zh: "然后与其设备同步：fieldcrm sync <票据>",
            en: "then sync with their device: fieldcrm sync <ticket>"
        );
        return Ok(0);
    }
    let ws = if cli.command.lists_index() {
        // A listing reads each summary row once: a small page cache keeps its memory
        // to the rows it prints.
        let small = fieldcrm_store::StoreOptions::default().cache_bytes(LISTING_CACHE_BYTES);
        Workspace::open_with(&home, small)?
    } else {
        Workspace::open(&home)?
    };
    let tz = match &cli.tz {
        Some(t) => t.clone(),
        None => ws.timezone()?,
    };
    let ctx = Ctx {
        clock: Clock::new(&tz, now)?,
        ws,
    };
    let result = match cli.command {
        Command::Check(a) => check(&ctx, a),
        Command::Serve(a) => {
            // Serving opens the workspace per session; let go of it so other commands
            // (and the app) can work while this device serves.
            let home = ctx.ws.home().to_path_buf();
            drop(ctx);
            return crate::peer::serve(&home, a).map(|()| 0);
        }
        Command::Sync(a) => crate::remote::sync_at(&ctx.ws, a, ctx.now()),
        Command::Bundle(c) => crate::bundle::bundle(&ctx.ws, &ctx.clock, c),
        Command::Remote(c) => crate::remote::remote(&ctx.ws, c).map(|()| 0),
        Command::Invite(a) => crate::invite::invite(&ctx.ws, &ctx.clock, a).map(|()| 0),
        Command::Policy(p) => policy(&ctx, p).map(|()| 0),
        other => dispatch(&ctx, other).map(|()| 0),
    };
    // What this command derived that the next one can reuse (the hydrated roster).
    ctx.ws.keep_caches();
    result
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

/// A save of `en` (its last word is the kind: "legal review of contract" → contract);
/// `zh` names it in Chinese ("合同的法务审核").
pub(super) fn saved(zh: &str, en: &str, id: &str) {
    let kind = en.rsplit(' ').next().unwrap_or(en);
    saved_kind(kind, zh, en, id);
}

/// A save of `en` (`zh` in Chinese) in a record of `kind` ("agreement of" a channel).
pub(super) fn saved_kind(kind: &str, zh: &str, en: &str, id: &str) {
    let id_short = short(id);
    wrote(
        kind,
        id,
        || say!(zh: "已保存{zh} {id_short}", en: "saved {en} {id_short}"),
    );
}

/// The filter of a list of `kind`'s records: archived ones too with `--all`.
pub(super) fn list_filter(kind: DocKind, all: bool) -> Filter {
    Filter::default().kind(kind).tombstones(if all {
        Tombstones::Include
    } else {
        Tombstones::Exclude
    })
}

/// What a command did to a whole record or to a record in one: removed, restored, archived,
/// cancelled, approved.
#[derive(Clone, Copy)]
pub(super) enum Act {
    Removed,
    Restored,
    Archived,
    Cancelled,
    Approved,
}

/// Print that `act` was done to the record `id` of `kind` (`contact`, `customer`, `quote`,
/// `target`, or the kind as the user typed it): `removed contact 1a2b3c4d`, in Chinese
/// `已删除联系人 1a2b3c4d`; with `--json` the object of [`wrote`].
pub(super) fn did(act: Act, kind: &str, id: &str) {
    let (name, short_id) = (crate::render::kind_name(kind), short(id));
    wrote(kind, id, || match act {
        Act::Removed => say!(zh: "已删除{name} {short_id}", en: "removed {name} {short_id}"),
        Act::Restored => say!(zh: "已恢复{name} {short_id}", en: "restored {name} {short_id}"),
        Act::Archived => say!(zh: "已归档{name} {short_id}", en: "archived {name} {short_id}"),
        Act::Cancelled => say!(zh: "已取消{name} {short_id}", en: "cancelled {name} {short_id}"),
        Act::Approved => say!(zh: "已批准{name} {short_id}", en: "approved {name} {short_id}"),
    });
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
            saved("满意度回访", "survey", &eid);
        }
        Command::Plan(PlanCmd::Set {
            customer,
            text,
            review,
        }) => {
            let id = ctx.customer(&customer)?;
            let review = ctx.clock.parse("review", &review)?;
            ws.set_plan(&id, &text, review, now)?;
            saved_kind("customer", "客户开发计划", "plan for", id.as_str());
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
            saved("商机", "opportunity", &eid);
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
            let eid = ws.update_opportunity(&id, &opportunity, stage, amount, now)?;
            saved("商机", "opportunity", &eid);
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
            saved("报价", "quote", &eid);
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
            edited(ctx, "报价", "quote", &edit)?;
        }
        Command::Quote(QuoteCmd::Approve {
            customer,
            quote,
            note,
        }) => {
            let id = ctx.customer(&customer)?;
            did(
                Act::Approved,
                "quote",
                &ws.approve_quote(&id, &quote, note, now)?,
            );
        }
        Command::Quote(QuoteCmd::Cancel(a)) => {
            let id = ctx.customer(&a.customer)?;
            did(
                Act::Cancelled,
                "quote",
                &ws.cancel_quote(&id, &a.record, a.reason, now)?,
            );
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
            saved("礼品", "gift", &eid);
        }
        Command::Gift(GiftCmd::Approve {
            customer,
            gift,
            note,
        }) => {
            let id = ctx.customer(&customer)?;
            did(
                Act::Approved,
                "gift",
                &ws.approve_gift(&id, &gift, note, now)?,
            );
        }
        Command::Channel(c) => channel(ctx, c)?,
        Command::Catalog(c) => catalog(ctx, c)?,
        Command::PricePolicy(PricePolicyCmd::Show(f)) => {
            let cat = ws.catalog()?;
            if f.json {
                print_json(&cat.discount_allowance_bp)?;
            } else {
                let mut t = Table::titled(&[("角色", "ROLE"), ("折扣权限", "ALLOWANCE")]);
                for (r, bp) in &cat.discount_allowance_bp {
                    let role = match r.parse::<Role>() {
                        Ok(role) if crate::render::zh() => role.zh().to_string(),
                        _ => r.clone(),
                    };
                    t.row(vec![role, format!("{:.1}%", *bp as f64 / 100.0)]);
                }
                t.print()?;
            }
        }
        Command::PricePolicy(PricePolicyCmd::Set { role, allowance }) => {
            let role: Role = input::vocab("role", &role)?;
            let bp = input::percent_bp("allowance", &allowance)?;
            ws.set_allowance(&role, bp, now)?;
            let percent = bp as f64 / 100.0;
            let role_zh = role.zh();
            wrote("allowance", role.as_str(), || {
                say!(
                    zh: "已保存{role_zh}的折扣权限：{percent:.1}%",
                    en: "saved allowance for {role}: {percent:.1}%"
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
            saved("销售目标", "target", &tid);
        }
        Command::Target(TargetCmd::List(f)) => {
            let sales = ws.sales()?;
            let roster = ws.roster()?;
            if f.json {
                print_json(&sales.targets)?;
            } else {
                let mut t = Table::titled(&[
                    ("ID", "ID"),
                    ("范围", "SCOPE"),
                    ("对象", "SUBJECT"),
                    ("周期", "PERIOD"),
                    ("金额", "AMOUNT"),
                ]);
                for (id, tg) in &sales.targets {
                    let subject = if tg.scope == "user" {
                        ctx.user_name(&roster, &Some(tg.subject.clone()))
                    } else {
                        tg.subject.clone()
                    };
                    let scope = match tg.scope.as_str() {
                        "user" => tr("个人", "user"),
                        "team" => tr("团队", "team"),
                        other => other,
                    };
                    t.row(vec![
                        short(id).into(),
                        scope.to_string(),
                        subject,
                        tg.period.clone(),
                        yuan(tg.amount),
                    ]);
                }
                t.print()?;
            }
        }
        Command::Target(TargetCmd::Remove { target, reason }) => {
            let eid = ws.remove_sales_record("target", &target, reason, now)?;
            did(Act::Removed, "target", &eid);
        }
        Command::Target(TargetCmd::Restore { target }) => {
            let eid = ws.restore_sales_record("target", &target, now)?;
            did(Act::Restored, "target", &eid);
        }
        Command::Report(ReportCmd::Remove { report, reason }) => {
            let eid = ws.remove_sales_record("report", &report, reason, now)?;
            did(Act::Removed, "report", &eid);
        }
        Command::Report(ReportCmd::Restore { report }) => {
            let eid = ws.restore_sales_record("report", &report, now)?;
            did(Act::Restored, "report", &eid);
        }
        Command::Report(ReportCmd::Submit {
            period,
            amount,
            summary,
        }) => {
            let rid = ws.submit_report(&period, input::money("amount", &amount)?, &summary, now)?;
            saved("销售报告", "report", &rid);
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
                let mut t = Table::titled(&[
                    ("ID", "ID"),
                    ("用户", "USER"),
                    ("周期", "PERIOD"),
                    ("金额", "AMOUNT"),
                    ("提交时间", "SUBMITTED"),
                    ("摘要", "SUMMARY"),
                ]);
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
                t.print()?;
            }
        }
        Command::Config(ConfigCmd::Timezone { zone }) => {
            ws.set_timezone(&zone)?;
            wrote(
                "timezone",
                &zone,
                || say!(zh: "已保存时区：{zone}", en: "saved time zone: {zone}"),
            );
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
pub(super) fn edited(
    ctx: &Ctx,
    zh: &str,
    en: &str,
    edit: &fieldcrm_workspace::PricedEdit,
) -> Result<()> {
    saved(zh, en, &edit.id);
    if edit.approval_void {
        say!(
            zh: "注意：原审批批准的是修改前的数值，现已失效，需重新审批",
            en: "note: the approval covered the old values and is void: it needs approving again"
        );
    }
    discount_note(ctx, edit.discount_bp)
}

pub(super) fn discount_note(ctx: &Ctx, bp: i64) -> Result<()> {
    if let Some(allowed) = ctx.ws.discount_needs_approval(bp)? {
        let (discount, allowed) = (bp as f64 / 100.0, allowed as f64 / 100.0);
        say!(
            zh: "注意：折扣 {discount:.1}% 超出你的权限 {allowed:.1}%，需经理审批",
            en: "note: discount {discount:.1}% exceeds your allowance {allowed:.1}%; a manager must approve it"
        );
    }
    Ok(())
}
