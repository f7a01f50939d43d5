//! `fieldcrm check` (local and relay findings) and `fieldcrm policy`.

#[allow(unused_imports)]
use super::*;

pub(super) fn check(ctx: &Ctx, a: CheckArgs) -> Result<i32> {
    use fieldcrm_policy::{Lang, Severity};
    // `check --lang`, else the language of everything else (`--lang` before the command,
    // or the locale).
    let lang = match &a.lang {
        Some(wanted) => Lang::parse(wanted).ok_or_else(|| {
            anyhow!(trf!(
                zh: "--lang：`{wanted}` 不是 zh 或 en",
                en: "--lang: `{wanted}` is not zh or en"
            ))
        })?,
        None => match crate::render::lang() {
            fieldcrm_model::Lang::Zh => Lang::Zh,
            fieldcrm_model::Lang::En => Lang::En,
        },
    };
    let rule = a
        .rule
        .as_deref()
        .map(fieldcrm_workspace::parse_rule)
        .transpose()?;
    let only_doc = match (&a.customer, &a.channel) {
        (Some(c), _) => Some(ctx.customer(c)?),
        (None, Some(c)) => Some(ctx.channel(c)?),
        _ => None,
    };
    if let Some(target) = &a.relay {
        return relay_check(ctx, &a, target, rule, only_doc.as_ref(), lang);
    }
    let query = fieldcrm_workspace::CheckQuery {
        rule,
        doc: only_doc,
    };
    let progress = crate::progress::Progress::start(tr("检查中", "checking"));
    let tracked = ctx.ws.check_tracked(&query, ctx.now())?;
    progress.done();
    if a.json {
        let shown: Vec<&fieldcrm_policy::Tracked> = tracked
            .iter()
            .filter(|t| a.all || t.status.is_open())
            .collect();
        print_json(&shown)?;
    } else {
        let offset = ctx.ws.effective_policy()?.0.utc_offset();
        print!(
            "{}",
            fieldcrm_policy::render_tracked(&tracked, lang, a.all, offset)
        );
    }
    // Only open findings count: acknowledged ones are still open; waived and resolved
    // ones are not.
    let open = |sev: Severity| {
        tracked
            .iter()
            .any(|t| t.status.is_open() && t.finding.severity == sev)
    };
    ctx.ws.before_exit();
    Ok(
        if open(Severity::Violation) || (a.strict && open(Severity::Warning)) {
            1
        } else {
            0
        },
    )
}

/// `finding ack|waive|reopen`.
pub(super) fn finding(ctx: &Ctx, c: FindingCmd) -> Result<()> {
    let now = ctx.now();
    let (done, key) = match c {
        FindingCmd::Ack { key, note } => (
            tr("已确认", "acknowledged"),
            ctx.ws.acknowledge_finding(&key, &note, now)?,
        ),
        FindingCmd::Waive { key, reason, until } => {
            let until = ctx.clock.parse_end("until", &until)?;
            (
                tr("已豁免", "waived"),
                ctx.ws.waive_finding(&key, &reason, until, now)?,
            )
        }
        FindingCmd::Reopen { key } => (
            tr("已重新打开", "reopened"),
            ctx.ws.reopen_finding(&key, now)?,
        ),
    };
    wrote("finding", &key, || println!("{done} {key}"));
    Ok(())
}

/// `check --relay`: the relay's findings (JSON rows of the same shape as `check --json`).
pub(super) fn relay_check(
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
            let severity = f["severity"].as_str().unwrap_or("");
            let severity = match (lang, severity) {
                (fieldcrm_policy::Lang::Zh, "violation") => "违规",
                (fieldcrm_policy::Lang::Zh, "warning") => "警告",
                (_, s) => s,
            };
            println!(
                "[{severity}] {}  {}",
                f["rule"].as_str().unwrap_or(""),
                f[msg].as_str().unwrap_or("")
            );
        }
        let n = findings.len();
        if lang == fieldcrm_policy::Lang::Zh {
            println!("中继报告了 {n} 条检查结果");
        } else {
            println!("{n} finding(s) from the relay");
        }
    }
    let has = |sev: &str| findings.iter().any(|f| f["severity"] == sev);
    Ok(if has("violation") || (a.strict && has("warning")) {
        1
    } else {
        0
    })
}

pub(super) fn policy(ctx: &Ctx, p: PolicyCmd) -> Result<()> {
    match p {
        PolicyCmd::Show => {
            let (config, ignored) = ctx.ws.effective_policy()?;
            for e in ignored {
                crate::render::say_err!(zh: "警告：已忽略的覆盖：{e}", en: "warning: ignored override: {e}");
            }
            print!("{}", config.to_toml());
        }
        PolicyCmd::Set {
            rule,
            severity,
            params,
        } => {
            let rule_id = ctx
                .ws
                .set_rule_text(&rule, severity.as_deref(), &params, ctx.now())?;
            wrote("rule", &rule_id.to_string(), || {
                say!(
                    zh: "已保存规则 {rule_id} 的覆盖配置",
                    en: "saved policy override for {rule_id}"
                )
            });
        }
    }
    Ok(())
}
