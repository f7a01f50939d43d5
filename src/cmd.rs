//! Command handlers: turn parsed arguments into workspace calls and print the result.

use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use fieldcrm_model::money::parse_yuan;
use fieldcrm_model::*;
use fieldcrm_workspace::{
    AgreementInput, CustomerEdit, Filter, InitOptions, Listed, NewChannel, NewCustomer, Tombstones,
    Workspace, default_home,
};
use serde_json::json;

use crate::cli::*;
use crate::render::{Clock, Table, parse_now, print_json, short, yuan};

/// Parse a vocabulary value, naming the option in the error.
fn parse_enum<T: FromStr>(opt: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| anyhow!("--{opt}: {e}"))
}

fn money(opt: &str, text: &str) -> Result<Fen> {
    parse_yuan(text).map_err(|e| anyhow!("--{opt}: {e}"))
}

fn int(opt: &str, text: &str) -> Result<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| anyhow!("--{opt}: `{text}` is not a whole number"))
}

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
        self.clock.parse_or_now(text)
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
    let now = match &cli.now {
        Some(t) => parse_now(t).context("--now")?,
        None => jiff::Timestamp::now().as_millisecond(),
    };
    if let Command::Demo = &cli.command {
        return crate::demo::run().map(|()| 0);
    }
    let home = cli.home.clone().unwrap_or_else(default_home);
    if let Command::Init(a) = &cli.command {
        let opts = InitOptions {
            user: a.user.trim().to_string(),
            role: parse_enum("role", &a.role)?,
            team: a.team.clone(),
            region: a.region.clone(),
            company: a.company.clone(),
            device_label: a.device_label.clone(),
        };
        if opts.user.is_empty() {
            bail!("--user must not be empty");
        }
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
        Command::Serve(a) => crate::peer::serve(&ctx.ws, a).map(|()| 0),
        Command::Sync(a) => crate::remote::sync(&ctx.ws, a)
            .and_then(|()| crate::merge::carry_over_quietly(&ctx.ws, ctx.now(), false))
            .map(|_| 0),
        Command::Remote(c) => crate::remote::remote(&ctx.ws, c).map(|()| 0),
        Command::Policy(p) => policy(&ctx, p).map(|()| 0),
        other => dispatch(&ctx, other).map(|()| 0),
    }
}

fn check(ctx: &Ctx, a: CheckArgs) -> Result<i32> {
    use fieldcrm_policy::{Config, Lang, RuleId, Severity, check_device, render};
    let lang =
        Lang::parse(&a.lang).ok_or_else(|| anyhow!("--lang: `{}` is not zh or en", a.lang))?;
    let rule = a
        .rule
        .as_deref()
        .map(|r| r.parse::<RuleId>().map_err(|e| anyhow!("--rule: {e}")))
        .transpose()?;
    let only_doc = match (&a.customer, &a.channel) {
        (Some(c), _) => Some(ctx.customer(c)?),
        (None, Some(c)) => Some(ctx.channel(c)?),
        _ => None,
    };
    if let Some(target) = &a.relay {
        return relay_check(ctx, &a, target, rule, only_doc.as_ref(), lang);
    }
    let snaps = ctx.ws.snapshots()?;
    let mut findings = check_device(&snaps, &Config::default(), ctx.now(), &ctx.ws.device());
    findings.retain(|f| {
        rule.is_none_or(|r| f.rule == r) && only_doc.as_ref().is_none_or(|d| f.doc_ids.contains(d))
    });
    if a.json {
        print_json(&findings)?;
    } else {
        print!("{}", render(&findings, lang));
    }
    let violations = findings.iter().any(|f| f.severity == Severity::Violation);
    let warnings = findings.iter().any(|f| f.severity == Severity::Warning);
    Ok(if violations || (a.strict && warnings) {
        1
    } else {
        0
    })
}

/// `check --relay`: the relay's findings (JSON rows of the same shape as `check --json`).
fn relay_check(
    ctx: &Ctx,
    a: &CheckArgs,
    target: &str,
    rule: Option<fieldcrm_policy::RuleId>,
    only_doc: Option<&DocId>,
    lang: fieldcrm_policy::Lang,
) -> Result<i32> {
    let target = (!target.is_empty()).then_some(target);
    // The request is signed with the real clock (the relay checks its freshness against
    // its own); --now only moves the local rules' clock.
    let signed_at = jiff::Timestamp::now().as_millisecond();
    let all = crate::remote::relay_findings(&ctx.ws, target, signed_at)?;
    let findings: Vec<&serde_json::Value> = all
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            rule.is_none_or(|r| f["rule"] == r.as_str())
                && only_doc.is_none_or(|d| {
                    f["doc_ids"]
                        .as_array()
                        .is_some_and(|ids| ids.iter().any(|i| i == d.as_str()))
                })
        })
        .collect();
    if a.json {
        print_json(&findings)?;
    } else {
        let msg = if lang == fieldcrm_policy::Lang::Zh {
            "message_zh"
        } else {
            "message_en"
        };
        for f in &findings {
            println!(
                "[{}] {}  {}",
                f["severity"].as_str().unwrap_or(""),
                f["rule"].as_str().unwrap_or(""),
                f[msg].as_str().unwrap_or("")
            );
        }
        println!("{} finding(s) from the relay", findings.len());
    }
    let has = |sev: &str| findings.iter().any(|f| f["severity"] == sev);
    Ok(if has("violation") || (a.strict && has("warning")) {
        1
    } else {
        0
    })
}

fn policy(ctx: &Ctx, p: PolicyCmd) -> Result<()> {
    use fieldcrm_policy::Config;
    let settings = ctx.ws.policy_settings()?;
    match p {
        PolicyCmd::Show => {
            let (config, errors) = Config::default().with_overrides_lenient(&settings);
            for e in errors {
                eprintln!("warning: ignored override: {e}");
            }
            print!("{}", config.to_toml());
        }
        PolicyCmd::Set {
            rule,
            severity,
            params,
        } => {
            let rule_id: fieldcrm_policy::RuleId = rule.parse().map_err(|e| anyhow!("{e}"))?;
            let mut setting = settings
                .rules
                .get(rule_id.as_str())
                .cloned()
                .unwrap_or_default();
            if let Some(s) = severity {
                setting.severity = Some(s.trim().to_string());
            }
            for p in params {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--param: `{p}` is not NAME=VALUE"))?;
                setting
                    .params
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
            let mut trial = settings.clone();
            trial
                .rules
                .insert(rule_id.as_str().to_string(), setting.clone());
            Config::default().with_overrides(&trial)?;
            ctx.ws.set_rule(rule_id.as_str(), setting, ctx.now())?;
            println!("已保存 saved policy override for {rule_id}");
        }
    }
    Ok(())
}

fn saved(what: &str, id: &str) {
    println!("已保存 saved {what} {}", short(id));
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match command {
        Command::Init(_)
        | Command::Demo
        | Command::Join(_)
        | Command::Check(_)
        | Command::Policy(_)
        | Command::Serve(_)
        | Command::Sync(_)
        | Command::Remote(_) => unreachable!("handled in run"),
        Command::Whoami(f) => whoami(ctx, f.json)?,
        Command::Doc(c) => crate::inspect::doc(ws, &ctx.clock, c)?,
        Command::Conflicts(a) => crate::inspect::conflicts(ws, &ctx.clock, a)?,
        Command::Resolve(a) => crate::inspect::resolve(ws, now, a)?,
        Command::Bundle(c) => crate::bundle::bundle(ws, &ctx.clock, c)?,
        Command::MergeForward(a) => crate::merge::merge_forward(ws, now, a)?,
        Command::Export(a) => crate::import::export(ws, a)?,
        Command::Customer(c) => customer(ctx, c)?,
        Command::Contact(ContactCmd::Add {
            customer,
            name,
            phone,
            email,
            title,
        }) => {
            let id = ctx.customer(&customer)?;
            let eid = ws.add_contact(
                &id,
                Contact {
                    name,
                    title,
                    phone,
                    email,
                    created_at: now,
                },
                now,
            )?;
            saved("contact", &eid);
        }
        Command::Interaction(InteractionCmd::Log {
            customer,
            kind,
            summary,
            at,
            contact,
        }) => {
            let id = ctx.customer(&customer)?;
            let kind: InteractionKind = parse_enum("kind", &kind)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            let eid = ws.log_interaction(&id, kind, at, &summary, contact.as_deref(), now)?;
            saved("interaction", &eid);
        }
        Command::Complaint(c) => complaint(ctx, c)?,
        Command::Survey(SurveyCmd::Record {
            customer,
            score,
            comment,
            at,
        }) => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            let eid = ws.record_survey(&id, int("score", &score)?, comment, at, now)?;
            saved("survey", &eid);
        }
        Command::Plan(PlanCmd::Set {
            customer,
            text,
            review,
        }) => {
            let id = ctx.customer(&customer)?;
            let review = ctx.clock.parse(&review).context("--review")?;
            ws.set_plan(&id, &text, review, now)?;
            saved("plan for", id.as_str());
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
                parse_enum("stage", &stage)?,
                money("amount", &amount)?,
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
            let stage = stage.map(|s| parse_enum("stage", &s)).transpose()?;
            let amount = amount.map(|a| money("amount", &a)).transpose()?;
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
                int("quantity", &quantity)?,
                money("price", &price)?,
                now,
            )?;
            saved("quote", &eid);
            discount_note(ctx, bp)?;
        }
        Command::Quote(QuoteCmd::Approve {
            customer,
            quote,
            note,
        }) => {
            let id = ctx.customer(&customer)?;
            ws.approve_quote(&id, &quote, note, now)?;
            println!("已批准 approved quote {quote}");
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
            let at = ctx.at(at.as_deref()).context("--at")?;
            let eid = ws.record_gift(
                &id,
                parse_enum("kind", &kind)?,
                parse_enum("direction", &direction)?,
                &description,
                money("value", &value)?,
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
            println!("已批准 approved gift {gift}");
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
            let role: Role = parse_enum("role", &role)?;
            let pct = allowance.trim().trim_end_matches('%');
            let bp = (pct
                .parse::<f64>()
                .map_err(|_| anyhow!("--allowance: `{allowance}` is not a percentage"))?
                * 100.0)
                .round() as i64;
            ws.set_allowance(&role, bp, now)?;
            println!(
                "已保存 saved allowance for {role}: {:.1}%",
                bp as f64 / 100.0
            );
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
                money("amount", &amount)?,
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
        Command::Report(ReportCmd::Submit {
            period,
            amount,
            summary,
        }) => {
            let rid = ws.submit_report(&period, money("amount", &amount)?, &summary, now)?;
            saved("report", &rid);
        }
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
            Clock::new(&zone, now)?;
            ws.set_timezone(&zone)?;
            println!("已保存 time zone: {zone}");
        }
    }
    Ok(())
}

fn discount_note(ctx: &Ctx, bp: i64) -> Result<()> {
    if bp == 0 {
        return Ok(());
    }
    let me = ctx.ws.me()?;
    let allowed = ctx.ws.allowance_bp(&me.user.role)?;
    if bp > allowed {
        println!(
            "注意 note: discount {:.1}% exceeds your allowance {:.1}%; a manager must approve it",
            bp as f64 / 100.0,
            allowed as f64 / 100.0
        );
    }
    Ok(())
}

fn whoami(ctx: &Ctx, json: bool) -> Result<()> {
    let ws = &ctx.ws;
    let roster = ws.roster().ok();
    let me = ws.me();
    let (uid, user) = match &me {
        Ok(m) => (Some(m.user_id.clone()), Some(m.user.clone())),
        Err(_) => (None, None),
    };
    if json {
        print_json(&json!({
            "workspace_id": ws.workspace_id(),
            "workspace_name": roster.as_ref().map(|r| &r.workspace_name),
            "device": ws.device().to_hex(),
            "user_id": uid,
            "user": user.as_ref().map(|u| &u.name),
            "role": user.as_ref().map(|u| u.role.as_str()),
            "team": user.as_ref().and_then(|u| u.team.clone()),
            "home": ws.home(),
        }))?;
    } else {
        println!(
            "workspace: {} ({})",
            roster
                .as_ref()
                .map(|r| r.workspace_name.as_str())
                .unwrap_or("(not received yet)"),
            ws.workspace_id()
        );
        println!("device:    {}", ws.device());
        match (&uid, &user) {
            (Some(id), Some(u)) => println!(
                "user:      {} [{}] role {} ({}){}",
                u.name,
                short(id),
                u.role,
                u.role.zh(),
                u.team
                    .as_ref()
                    .map(|t| format!(", team {t}"))
                    .unwrap_or_default()
            ),
            _ => println!(
                "user:      (this device is not enrolled: {})",
                me.err().map(|e| e.to_string()).unwrap_or_default()
            ),
        }
        println!("home:      {}", ws.home().display());
    }
    Ok(())
}

fn summary_json(id: &DocId, s: &Summary, roster: &Roster) -> serde_json::Value {
    json!({
        "id": id,
        "kind": s.kind,
        "name": s.name,
        "class": s.class,
        "owner": s.owner,
        "owner_name": s.owner.as_ref().and_then(|o| roster.users.get(o)).map(|u| &u.name),
        "team": s.team,
        "status": s.status,
        "region": s.region,
        "merged_into": s.merged_into,
        "updated_at": s.updated_at,
    })
}

fn customer(ctx: &Ctx, c: CustomerCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        CustomerCmd::Merge(a) => crate::merge::merge(ws, DocKind::Customer, now, a)?,
        CustomerCmd::Import(a) => crate::import::import(ws, DocKind::Customer, now, a)?,
        CustomerCmd::Add { name, fields } => {
            let class = fields
                .class
                .as_deref()
                .map(|c| parse_enum("class", c))
                .transpose()?;
            let annual_value = fields
                .annual_value
                .as_deref()
                .map(|v| money("annual-value", v))
                .transpose()?;
            let id = ws.add_customer(
                NewCustomer {
                    name,
                    credit_code: fields.credit_code,
                    industry: fields.industry,
                    region: fields.region,
                    address: fields.address,
                    class,
                    annual_value,
                    owner: fields.owner,
                    team: fields.team,
                },
                now,
            )?;
            saved("customer", id.as_str());
        }
        CustomerCmd::Edit {
            customer,
            name,
            fields,
        } => {
            let id = ctx.customer(&customer)?;
            let e = CustomerEdit {
                name,
                credit_code: fields.credit_code,
                industry: fields.industry,
                region: fields.region,
                address: fields.address,
                class: fields
                    .class
                    .as_deref()
                    .map(|c| parse_enum("class", c))
                    .transpose()?,
                annual_value: fields
                    .annual_value
                    .as_deref()
                    .map(|v| money("annual-value", v))
                    .transpose()?,
                owner: fields.owner,
                team: fields.team,
            };
            ws.edit_customer_fields(&id, e, now)?;
            saved("customer", id.as_str());
        }
        CustomerCmd::ClassException { customer, note } => {
            let id = ctx.customer(&customer)?;
            ws.approve_class_exception(&id, note, now)?;
            println!("已批准 approved class exception for {}", id.short());
        }
        CustomerCmd::List(a) => {
            let roster = ws.roster()?;
            let owner = a
                .owner
                .as_deref()
                .map(|o| ws.resolve_user(&roster, o))
                .transpose()?;
            let class = a
                .class
                .as_deref()
                .map(|c| parse_enum::<CustomerClass>("class", c))
                .transpose()?;
            let mut filter = Filter::default()
                .kind(DocKind::Customer)
                .tombstones(if a.all {
                    Tombstones::Include
                } else {
                    Tombstones::Exclude
                });
            filter.class = class.map(|c| c.to_string());
            filter.owner = owner;
            filter.team = a.team;
            filter.region = a.region;
            filter.name_contains = a.name;
            let rows = ws.list(&filter)?;
            if a.json {
                print_json(
                    &rows
                        .iter()
                        .map(|l| summary_json(&l.id, &l.summary, &roster))
                        .collect::<Vec<_>>(),
                )?;
            } else {
                let mut t =
                    Table::new(&["ID", "NAME", "CLASS", "OWNER", "TEAM", "REGION", "UPDATED"]);
                for Listed { id, summary: s } in &rows {
                    let class = s
                        .class
                        .as_deref()
                        .and_then(|c| c.parse::<CustomerClass>().ok())
                        .map(|c| format!("{} {}", c, c.zh()))
                        .unwrap_or_else(|| "-".into());
                    let name = match &s.merged_into {
                        Some(m) => format!("{} (merged → {})", s.name, short(m)),
                        None => s.name.clone(),
                    };
                    t.row(vec![
                        id.short().into(),
                        name,
                        class,
                        ctx.user_name(&roster, &s.owner),
                        s.team.clone().unwrap_or("-".into()),
                        s.region.clone().unwrap_or("-".into()),
                        ctx.clock.fmt(s.updated_at),
                    ]);
                }
                print!("{}", t.render());
                println!("{} customer(s)", rows.len());
            }
        }
        CustomerCmd::Show { customer, json } => {
            let id = ctx.customer(&customer)?;
            let doc = ws.load(&id)?;
            let c: Customer = doc.hydrate()?;
            if json {
                let mut v = serde_json::to_value(&c)?;
                v["id"] = json!(id);
                print_json(&v)?;
            } else {
                show_customer(ctx, &id, &c)?;
            }
        }
    }
    Ok(())
}

fn show_customer(ctx: &Ctx, id: &DocId, c: &Customer) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    println!("{}  [{}]", c.name, id.short());
    if let Some(m) = &c.merged_into {
        println!("  merged into {}", short(m));
    }
    let class = c
        .class
        .as_ref()
        .map(|k| format!("{k} ({})", k.zh()))
        .unwrap_or("-".into());
    println!(
        "  class:        {class}{}",
        if c.class_exception.is_some() {
            "  (exception approved)"
        } else {
            ""
        }
    );
    println!(
        "  owner:        {}   team: {}",
        ctx.user_name(&roster, &c.owner),
        c.team.as_deref().unwrap_or("-")
    );
    println!(
        "  industry:     {}   region: {}",
        c.industry.as_deref().unwrap_or("-"),
        c.region.as_deref().unwrap_or("-")
    );
    println!("  address:      {}", c.address.as_deref().unwrap_or("-"));
    println!(
        "  credit code:  {}",
        c.credit_code.as_deref().unwrap_or("-")
    );
    println!(
        "  annual value: {}",
        c.annual_value.map(yuan).unwrap_or("-".into())
    );
    if let Some(p) = &c.plan {
        println!(
            "  plan:         {} (review {})",
            p.text,
            clock.date(p.review_at)
        );
    }
    let section = |title: &str, t: Table| {
        if !t.is_empty() {
            println!("\n{title}");
            for line in t.render().lines() {
                println!("  {line}");
            }
        }
    };
    let mut t = Table::new(&["ID", "NAME", "TITLE", "PHONE", "EMAIL"]);
    for (k, v) in &c.contacts {
        t.row(vec![
            short(k).into(),
            v.name.clone(),
            v.title.clone().unwrap_or_default(),
            v.phone.clone().unwrap_or_default(),
            v.email.clone().unwrap_or_default(),
        ]);
    }
    section("联系人 contacts", t);
    let mut its: Vec<_> = c.interactions.iter().collect();
    its.sort_by_key(|(_, i)| i.occurred_at);
    let mut t = Table::new(&["ID", "WHEN", "KIND", "BY", "SUMMARY"]);
    for (k, v) in its {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.occurred_at),
            format!("{} {}", v.kind, v.kind.zh()),
            name_of(&v.by),
            v.summary.clone(),
        ]);
    }
    section("往来记录 interactions", t);
    let mut t = Table::new(&[
        "ID",
        "OPENED",
        "SEVERITY",
        "RESPONDED",
        "ESCALATED",
        "CLOSED",
        "SUMMARY",
    ]);
    for (k, v) in &c.complaints {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.opened_at),
            v.severity.to_string(),
            clock.fmt_opt(v.first_response.as_ref().map(|r| r.at)),
            v.escalation
                .as_ref()
                .map(|e| name_of(&e.to))
                .unwrap_or("-".into()),
            clock.fmt_opt(v.closed_at),
            v.summary.clone(),
        ]);
    }
    section("投诉 complaints", t);
    let mut t = Table::new(&["ID", "WHEN", "SCORE", "COMMENT"]);
    for (k, v) in &c.surveys {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.at),
            v.score.to_string(),
            v.comment.clone().unwrap_or_default(),
        ]);
    }
    section("回访 surveys", t);
    let mut t = Table::new(&["ID", "TITLE", "STAGE", "AMOUNT", "LAST ACTIVITY"]);
    for (k, v) in &c.opportunities {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            v.stage.to_string(),
            yuan(v.amount),
            clock.fmt(v.last_activity_at),
        ]);
    }
    section("销售机会 opportunities", t);
    let mut t = Table::new(&["ID", "PRODUCT", "QTY", "LIST", "PRICE", "APPROVED BY"]);
    for (k, v) in &c.quotes {
        t.row(vec![
            short(k).into(),
            v.product.clone(),
            v.quantity.to_string(),
            yuan(v.list_price),
            yuan(v.price),
            v.approval
                .as_ref()
                .map(|a| name_of(&a.by))
                .unwrap_or("-".into()),
        ]);
    }
    section("报价 quotes", t);
    let mut t = Table::new(&["ID", "TITLE", "AMOUNT", "LEGAL REVIEW", "SIGNED", "ARCHIVE"]);
    for (k, v) in &c.contracts {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            yuan(v.amount),
            v.legal_review
                .as_ref()
                .map(|r| format!("{} by {}", r.result, name_of(&r.by)))
                .unwrap_or("-".into()),
            clock.fmt_opt(v.signed_at),
            v.archive_ref.clone().unwrap_or("-".into()),
        ]);
    }
    section("合同 contracts", t);
    let mut t = Table::new(&[
        "ID",
        "PRODUCT",
        "QTY",
        "PRICE",
        "PROMISED",
        "DELIVERED",
        "CHANNEL",
    ]);
    for (k, v) in &c.orders {
        t.row(vec![
            short(k).into(),
            v.product.clone(),
            v.quantity.to_string(),
            yuan(v.price),
            clock.date(v.promised_at),
            clock.fmt_opt(v.delivered_at),
            v.channel.as_deref().map(short).unwrap_or("-").to_string(),
        ]);
    }
    section("订单 orders", t);
    let mut t = Table::new(&[
        "ID",
        "KIND",
        "DIRECTION",
        "VALUE",
        "DECLARED",
        "APPROVED BY",
        "WHAT",
    ]);
    for (k, v) in &c.gifts {
        t.row(vec![
            short(k).into(),
            v.kind.to_string(),
            v.direction.to_string(),
            yuan(v.value),
            v.declared.to_string(),
            v.approval
                .as_ref()
                .map(|a| name_of(&a.by))
                .unwrap_or("-".into()),
            v.description.clone(),
        ]);
    }
    section("礼品招待 gifts", t);
    Ok(())
}

fn complaint(ctx: &Ctx, c: ComplaintCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        ComplaintCmd::Open {
            customer,
            summary,
            severity,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            let eid =
                ws.open_complaint(&id, parse_enum("severity", &severity)?, &summary, at, now)?;
            saved("complaint", &eid);
        }
        ComplaintCmd::Respond {
            customer,
            complaint,
            text,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            ws.respond_complaint(&id, &complaint, &text, at, now)?;
            saved("response to complaint", &complaint);
        }
        ComplaintCmd::Escalate {
            customer,
            complaint,
            to,
        } => {
            let id = ctx.customer(&customer)?;
            ws.escalate_complaint(&id, &complaint, &to, now)?;
            saved("escalation of complaint", &complaint);
        }
        ComplaintCmd::Investigate {
            customer,
            complaint,
            departments,
            findings,
        } => {
            let id = ctx.customer(&customer)?;
            ws.investigate_complaint(&id, &complaint, departments, &findings, now)?;
            saved("investigation of complaint", &complaint);
        }
        ComplaintCmd::Resolve {
            customer,
            complaint,
            text,
        } => {
            let id = ctx.customer(&customer)?;
            ws.resolve_complaint(&id, &complaint, &text, now)?;
            saved("resolution of complaint", &complaint);
        }
    }
    Ok(())
}

fn contract(ctx: &Ctx, c: ContractCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        ContractCmd::Add {
            customer,
            title,
            amount,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.add_contract(&id, &title, money("amount", &amount)?, now)?;
            saved("contract", &eid);
        }
        ContractCmd::Review {
            customer,
            contract,
            result,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            ws.review_contract(&id, &contract, parse_enum("result", &result)?, note, now)?;
            saved("legal review of contract", &contract);
        }
        ContractCmd::Sign {
            customer,
            contract,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            ws.sign_contract(&id, &contract, at, now)?;
            saved("signing of contract", &contract);
        }
        ContractCmd::Archive {
            customer,
            contract,
            reference,
        } => {
            let id = ctx.customer(&customer)?;
            ws.archive_contract(&id, &contract, &reference, now)?;
            saved("archive reference of contract", &contract);
        }
    }
    Ok(())
}

fn order(ctx: &Ctx, c: OrderCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        OrderCmd::Add {
            customer,
            product,
            quantity,
            price,
            promised,
            channel,
        } => {
            let id = ctx.customer(&customer)?;
            let promised = ctx.clock.parse_end(&promised).context("--promised")?;
            let channel = channel.map(|c| ctx.channel(&c)).transpose()?;
            let price = match price {
                Some(p) => money("price", &p)?,
                None => {
                    let cat = ws.catalog()?;
                    let key =
                        fieldcrm_workspace::resolve_entity("product", &cat.products, &product)?;
                    cat.products[&key].list_price
                }
            };
            let (eid, bp) = ws.add_order(
                &id,
                &product,
                int("quantity", &quantity)?,
                price,
                promised,
                channel,
                now,
            )?;
            saved("order", &eid);
            discount_note(ctx, bp)?;
        }
        OrderCmd::Deliver {
            customer,
            order,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref()).context("--at")?;
            ws.deliver_order(&id, &order, at, now)?;
            saved("delivery of order", &order);
        }
        OrderCmd::Approve {
            customer,
            order,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            ws.approve_order(&id, &order, note, now)?;
            println!("已批准 approved order {order}");
        }
    }
    Ok(())
}

fn channel(ctx: &Ctx, c: ChannelCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    let clock = &ctx.clock;
    match c {
        ChannelCmd::Merge(a) => crate::merge::merge(ws, DocKind::Channel, now, a)?,
        ChannelCmd::Import(a) => crate::import::import(ws, DocKind::Channel, now, a)?,
        ChannelCmd::Add {
            name,
            kind,
            region,
            lines,
            owner,
        } => {
            let id = ws.add_channel(
                NewChannel {
                    name,
                    kind: parse_enum("kind", &kind)?,
                    region,
                    product_lines: lines,
                    owner,
                },
                now,
            )?;
            saved("channel", id.as_str());
        }
        ChannelCmd::List {
            status,
            region,
            all,
            json,
        } => {
            let roster = ws.roster()?;
            let status = status
                .as_deref()
                .map(|s| parse_enum::<ChannelStatus>("status", s))
                .transpose()?;
            let mut filter = Filter::default().kind(DocKind::Channel).tombstones(if all {
                Tombstones::Include
            } else {
                Tombstones::Exclude
            });
            filter.status = status.map(|s| s.to_string());
            filter.region = region;
            let rows = ws.list(&filter)?;
            if json {
                print_json(
                    &rows
                        .iter()
                        .map(|l| summary_json(&l.id, &l.summary, &roster))
                        .collect::<Vec<_>>(),
                )?;
            } else {
                let mut t =
                    Table::new(&["ID", "NAME", "KIND", "STATUS", "REGION", "OWNER", "UPDATED"]);
                for Listed { id, summary: s } in &rows {
                    let kind = s
                        .class
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelKind>().ok())
                        .map(|k| format!("{k} {}", k.zh()))
                        .unwrap_or("-".into());
                    let status = s
                        .status
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelStatus>().ok())
                        .map(|k| format!("{k} {}", k.zh()))
                        .unwrap_or("-".into());
                    t.row(vec![
                        id.short().into(),
                        s.name.clone(),
                        kind,
                        status,
                        s.region.clone().unwrap_or("-".into()),
                        ctx.user_name(&roster, &s.owner),
                        clock.fmt(s.updated_at),
                    ]);
                }
                print!("{}", t.render());
                println!("{} channel(s)", rows.len());
            }
        }
        ChannelCmd::Show { channel, json } => {
            let id = ctx.channel(&channel)?;
            let ch: Channel = ws.load(&id)?.hydrate()?;
            if json {
                let mut v = serde_json::to_value(&ch)?;
                v["id"] = json!(id);
                print_json(&v)?;
            } else {
                show_channel(ctx, &id, &ch)?;
            }
        }
        ChannelCmd::Review {
            channel,
            result,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            ws.review_channel(&id, parse_enum("result", &result)?, note, now)?;
            saved("qualification review of", id.as_str());
        }
        ChannelCmd::AssessRisk {
            channel,
            level,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            ws.assess_channel_risk(&id, parse_enum("level", &level)?, note, now)?;
            saved("risk assessment of", id.as_str());
        }
        ChannelCmd::Agreement {
            channel,
            rights,
            responsibilities,
            plan,
            from,
            to,
            products,
            signed,
        } => {
            let id = ctx.channel(&channel)?;
            let a = AgreementInput {
                rights,
                responsibilities,
                plan,
                term_start: clock.parse(&from).context("--from")?,
                term_end: clock.parse_end(&to).context("--to")?,
                products,
                signed,
            };
            ws.set_agreement(&id, a, now)?;
            saved("agreement of", id.as_str());
        }
        ChannelCmd::Activate { channel } => status(ctx, &channel, ChannelStatus::Active)?,
        ChannelCmd::Suspend { channel } => status(ctx, &channel, ChannelStatus::Suspended)?,
        ChannelCmd::Terminate { channel } => status(ctx, &channel, ChannelStatus::Terminated)?,
        ChannelCmd::Territory {
            channel,
            region,
            line,
            from,
            to,
            non_exclusive,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.grant_territory(
                &id,
                &region,
                &line,
                clock.parse(&from).context("--from")?,
                clock.parse_end(&to).context("--to")?,
                !non_exclusive,
                now,
            )?;
            saved("territory", &eid);
        }
        ChannelCmd::Communicate {
            channel,
            summary,
            at,
        } => {
            let id = ctx.channel(&channel)?;
            let eid =
                ws.channel_communicate(&id, &summary, ctx.at(at.as_deref()).context("--at")?, now)?;
            saved("communication", &eid);
        }
        ChannelCmd::Train { channel, topic, at } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.channel_train(&id, &topic, ctx.at(at.as_deref()).context("--at")?, now)?;
            saved("training", &eid);
        }
        ChannelCmd::Assess {
            channel,
            period,
            score,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.assess_channel(&id, &period, int("score", &score)?, note, now)?;
            saved("assessment", &eid);
        }
        ChannelCmd::PriceReport {
            channel,
            product,
            price,
            at,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.report_channel_price(
                &id,
                &product,
                money("price", &price)?,
                ctx.at(at.as_deref()).context("--at")?,
                now,
            )?;
            saved("price report", &eid);
        }
    }
    Ok(())
}

fn status(ctx: &Ctx, channel: &str, s: ChannelStatus) -> Result<()> {
    let id = ctx.channel(channel)?;
    ctx.ws.set_channel_status(&id, s.clone(), ctx.now())?;
    println!("已保存 channel {} is now {s} ({})", id.short(), s.zh());
    Ok(())
}

fn show_channel(ctx: &Ctx, id: &DocId, c: &Channel) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    println!("{}  [{}]", c.name, id.short());
    println!(
        "  kind:          {} ({})",
        c.channel_kind,
        c.channel_kind.zh()
    );
    println!(
        "  status:        {} ({}) since {}",
        c.status,
        c.status.zh(),
        clock.fmt(c.status_at)
    );
    println!("  region:        {}", c.region.as_deref().unwrap_or("-"));
    println!(
        "  product lines: {}",
        c.product_lines
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  owner:         {}", ctx.user_name(&roster, &c.owner));
    match &c.qualification {
        Some(r) => println!(
            "  qualification: {} by {} at {}",
            r.result,
            name_of(&r.by),
            clock.fmt(r.at)
        ),
        None => println!("  qualification: -"),
    }
    match &c.risk {
        Some(r) => println!(
            "  risk:          {} by {} at {}",
            r.level,
            name_of(&r.by),
            clock.fmt(r.at)
        ),
        None => println!("  risk:          -"),
    }
    match &c.agreement {
        Some(a) => {
            println!(
                "  agreement:     {} .. {}, signed {}",
                clock.date(a.term_start),
                clock.date(a.term_end),
                clock.fmt_opt(a.signed_at)
            );
            println!(
                "    rights: {}; responsibilities: {}; plan: {}",
                a.rights, a.responsibilities, a.plan
            );
        }
        None => println!("  agreement:     -"),
    }
    let mut t = Table::new(&["ID", "REGION", "LINE", "FROM", "TO", "EXCLUSIVE"]);
    for (k, v) in &c.territories {
        t.row(vec![
            short(k).into(),
            v.region.clone(),
            v.product_line.clone(),
            clock.date(v.start),
            clock.date(v.end),
            v.exclusive.to_string(),
        ]);
    }
    if !t.is_empty() {
        println!("\n区域 territories\n{}", t.render());
    }
    let mut t = Table::new(&["KIND", "WHEN", "BY", "WHAT"]);
    for v in c.communications.values() {
        t.row(vec![
            "communication".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.trainings.values() {
        t.row(vec![
            "training".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.assessments.values() {
        t.row(vec![
            "assessment".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            format!("{} score {}", v.period, v.score),
        ]);
    }
    for v in c.price_reports.values() {
        t.row(vec![
            "price report".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            format!("{} {}", v.product, yuan(v.price)),
        ]);
    }
    if !t.is_empty() {
        println!("\n记录 records\n{}", t.render());
    }
    Ok(())
}

fn catalog(ctx: &Ctx, c: CatalogCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        CatalogCmd::Add {
            sku,
            name,
            line,
            list_price,
            floor_price,
        } => {
            let list_price = money("list-price", &list_price)?;
            let floor_price = floor_price
                .map(|f| money("floor-price", &f))
                .transpose()?
                .unwrap_or(list_price);
            ws.catalog_put(
                &sku,
                Product {
                    name,
                    product_line: line,
                    list_price,
                    floor_price,
                },
                ctx.now(),
            )?;
            println!("已保存 saved product {sku}");
        }
        CatalogCmd::List(f) => {
            let cat = ws.catalog()?;
            if f.json {
                print_json(&cat.products)?;
            } else {
                let mut t = Table::new(&["SKU", "NAME", "LINE", "LIST PRICE", "FLOOR PRICE"]);
                for (k, p) in &cat.products {
                    t.row(vec![
                        k.clone(),
                        p.name.clone(),
                        p.product_line.clone(),
                        yuan(p.list_price),
                        yuan(p.floor_price),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}

fn user(ctx: &Ctx, c: UserCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        UserCmd::Add {
            name,
            role,
            team,
            region,
        } => {
            let uid = ws.add_user(&name, parse_enum("role", &role)?, team, region, ctx.now())?;
            println!("已保存 saved user {name} [{}]", short(&uid));
        }
        UserCmd::Set {
            user,
            role,
            team,
            region,
            deactivate,
        } => {
            let role = role.map(|r| parse_enum("role", &r)).transpose()?;
            ws.update_user(
                &user,
                role,
                team,
                region,
                deactivate.then_some(false),
                ctx.now(),
            )?;
            println!("已保存 saved user {user}");
        }
        UserCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.users)?;
            } else {
                let mut t = Table::new(&["ID", "NAME", "ROLE", "TEAM", "REGION", "ACTIVE"]);
                for (id, u) in &roster.users {
                    t.row(vec![
                        short(id).into(),
                        u.name.clone(),
                        format!("{} {}", u.role, u.role.zh()),
                        u.team.clone().unwrap_or("-".into()),
                        u.region.clone().unwrap_or("-".into()),
                        u.active.to_string(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}

fn device(ctx: &Ctx, c: DeviceCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        DeviceCmd::Add { key, user, label } => {
            let key: DeviceKey = key.parse().map_err(|e: BadDeviceKey| anyhow!("{e}"))?;
            ws.enroll_device(&key, &user, &label, ctx.now())?;
            println!("已登记 enrolled device {} for {user}", short(&key.to_hex()));
            crate::remote::push_roster(ws);
        }
        DeviceCmd::Revoke { key } => {
            let k = ws.revoke_device(&key, ctx.now())?;
            println!("已吊销 revoked device {}", short(&k.to_hex()));
            crate::remote::push_roster(ws);
        }
        DeviceCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.devices)?;
            } else {
                let mut t = Table::new(&["DEVICE", "USER", "LABEL", "ENROLLED", "REVOKED"]);
                for (k, d) in &roster.devices {
                    t.row(vec![
                        short(k).into(),
                        ctx.user_name(&roster, &Some(d.user.clone())),
                        d.label.clone(),
                        ctx.clock.fmt(d.enrolled_at),
                        ctx.clock.fmt_opt(d.revoked_at),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}
