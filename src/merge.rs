//! `fieldcrm customer merge`, `fieldcrm channel merge`, `fieldcrm merge-forward`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use fieldcrm_model::{DocKind, Millis};
use fieldcrm_workspace::{CarryOver, Workspace, merge_fields, value_text};
use serde_json::json;

use crate::render::{Table, print_json};

/// `customer merge` / `channel merge`.
#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// The file to keep (ID prefix or exact name).
    pub(crate) keep: String,
    /// The duplicate to fold into it; it becomes a tombstone pointing to KEEP.
    pub(crate) duplicate: String,
    /// For a field set differently in both: FIELD=keep or FIELD=duplicate (repeatable);
    /// default keep. Without it, a terminal asks.
    #[arg(long = "take", value_name = "FIELD=keep|duplicate")]
    pub(crate) take: Vec<String>,
    /// Show what would happen; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `merge-forward`.
#[derive(Args, Debug)]
pub(crate) struct MergeForwardArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn merge(ws: &Workspace, kind: DocKind, now: Millis, a: MergeArgs) -> Result<()> {
    let keep = ws.resolve(Some(&kind), &a.keep)?;
    let dup = ws.resolve(Some(&kind), &a.duplicate)?;
    let fields = merge_fields(&kind);
    let mut take = BTreeSet::new();
    let mut decided = BTreeSet::new();
    for t in &a.take {
        let (f, side) = t
            .split_once('=')
            .ok_or_else(|| anyhow!("--take: `{t}` is not FIELD=keep or FIELD=duplicate"))?;
        let f = f.trim();
        if !fields.contains(&f) {
            bail!(
                "--take: `{f}` is not a field a merge chooses; fields: {}",
                fields.join(", ")
            );
        }
        match side.trim() {
            "duplicate" | "dup" | "重复" => {
                take.insert(f.to_string());
            }
            "keep" | "保留" => {}
            other => bail!("--take: `{other}` is not keep or duplicate"),
        }
        decided.insert(f.to_string());
    }
    let plan = ws.merge_plan(&kind, &keep, &dup)?;
    let interactive = !a.json && !a.dry_run && std::io::stdin().is_terminal();
    if interactive {
        let stdin = std::io::stdin();
        for d in plan
            .differing
            .iter()
            .filter(|d| !decided.contains(&d.field))
        {
            print!(
                "{}: [1] keep `{}`  [2] duplicate `{}`  (Enter = 1): ",
                d.field,
                value_text(&d.keep),
                value_text(&d.duplicate)
            );
            std::io::stdout().flush()?;
            let mut line = String::new();
            stdin.lock().read_line(&mut line)?;
            if line.trim() == "2" {
                take.insert(d.field.clone());
            }
        }
    }
    let plan = if a.dry_run {
        plan
    } else {
        let progress = crate::progress::Progress::start("合并中 merging");
        let r = ws.merge_docs(&kind, &keep, &dup, &take, now)?;
        progress.done();
        r
    };
    if a.json {
        print_json(&json!({
            "keep": plan.keep,
            "duplicate": plan.duplicate,
            "dry_run": a.dry_run,
            "entities": plan.entities,
            "filled": plan.filled,
            "differing": plan.differing.iter().map(|d| json!({
                "field": d.field,
                "keep": d.keep,
                "duplicate": d.duplicate,
                "chosen": if take.contains(&d.field) { "duplicate" } else { "keep" },
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    println!(
        "{} {} ({}) → {} ({})",
        if a.dry_run { "would merge" } else { "merged" },
        plan.duplicate_name,
        plan.duplicate.short(),
        plan.keep_name,
        plan.keep.short()
    );
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for e in &plan.entities {
        *counts.entry(e.split('/').next().unwrap_or("")).or_default() += 1;
    }
    if counts.is_empty() {
        println!("  entities copied: none");
    } else {
        println!(
            "  entities copied: {}",
            counts
                .iter()
                .map(|(c, n)| format!("{c} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !plan.filled.is_empty() {
        println!("  filled from the duplicate: {}", plan.filled.join(", "));
    }
    if !plan.differing.is_empty() {
        let roster = ws.roster().ok();
        // Owners are user IDs: show the user's name.
        let shown = |field: &str, v: &serde_json::Value| match (field, v.as_str(), &roster) {
            ("owner", Some(id), Some(r)) => r
                .users
                .get(id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| value_text(v)),
            _ => value_text(v),
        };
        let mut t = Table::new(&["  FIELD", "KEEP", "DUPLICATE", "CHOSEN"]);
        for d in &plan.differing {
            t.row(vec![
                format!("  {}", d.field),
                shown(&d.field, &d.keep),
                shown(&d.field, &d.duplicate),
                if take.contains(&d.field) {
                    "duplicate".into()
                } else {
                    "keep".into()
                },
            ]);
        }
        print!("{}", t.render());
        if a.dry_run {
            println!("  (choose with --take FIELD=duplicate; default keep)");
        }
    }
    if !a.dry_run {
        println!(
            "已合并 {} is now a tombstone pointing to {}",
            plan.duplicate.short(),
            plan.keep.short()
        );
    }
    Ok(())
}

pub(crate) fn print_carry(list: &[CarryOver]) {
    for c in list {
        if !c.carried.is_empty() {
            println!(
                "接续合并 carried over {} change(s) from merged file {} ({}) into {}: {}",
                c.carried.len(),
                c.name,
                c.tombstone.short(),
                c.survivor.short(),
                c.carried.join(", ")
            );
        }
        for (ch, why) in &c.review {
            println!(
                "需要处理 edit to merged file {} ({}) not carried over: {} {} → {}: {why}",
                c.name,
                c.tombstone.short(),
                ch.path,
                ch.old.as_ref().map(value_text).unwrap_or("-".into()),
                ch.new.as_ref().map(value_text).unwrap_or("-".into()),
            );
        }
    }
}

/// Run carry-over after an import; prints what happened (unless `json`). A device
/// without a usable roster identity skips it.
pub(crate) fn carry_over_quietly(
    ws: &Workspace,
    now: Millis,
    json: bool,
) -> Result<Vec<CarryOver>> {
    if ws.me().is_err() {
        return Ok(Vec::new());
    }
    let progress = crate::progress::Progress::start("转入中 carrying over");
    let list = ws.merge_forward(now)?;
    progress.done();
    if !json {
        print_carry(&list);
    }
    Ok(list)
}

pub(crate) fn merge_forward(ws: &Workspace, now: Millis, a: MergeForwardArgs) -> Result<()> {
    let progress = crate::progress::Progress::start("转入中 carrying over");
    let list = ws.merge_forward(now)?;
    progress.done();
    if a.json {
        print_json(&list)?;
    } else if list.is_empty() {
        println!("nothing to carry over");
    } else {
        print_carry(&list);
    }
    Ok(())
}
