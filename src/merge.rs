//! `fieldcrm customer merge`, `fieldcrm channel merge`, `fieldcrm merge-forward`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use fieldcrm_model::{DocKind, Millis};
use fieldcrm_workspace::{CarryOver, Workspace, merge_fields, value_text};
use serde_json::json;

use crate::render::{Table, print_json, say, tr, trf};

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
        let (f, side) = t.split_once('=').ok_or_else(|| {
            anyhow!(trf!(
                zh: "--take：`{t}` 不是 字段=keep 或 字段=duplicate",
                en: "--take: `{t}` is not FIELD=keep or FIELD=duplicate"
            ))
        })?;
        let f = f.trim();
        if !fields.contains(&f) {
            let fields = fields.join(", ");
            bail!(trf!(
                zh: "--take：`{f}` 不是合并时需要选择的字段；可选字段：{fields}",
                en: "--take: `{f}` is not a field a merge chooses; fields: {fields}"
            ));
        }
        match side.trim() {
            "duplicate" | "dup" | "重复" => {
                take.insert(f.to_string());
            }
            "keep" | "保留" => {}
            other => bail!(trf!(
                zh: "--take：`{other}` 不是 keep 或 duplicate",
                en: "--take: `{other}` is not keep or duplicate"
            )),
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
            let (field, keep, dup) = (&d.field, value_text(&d.keep), value_text(&d.duplicate));
            print!(
                "{}",
                trf!(
                    zh: "{field}：[1] 保留 `{keep}`  [2] 采用重复档案的 `{dup}`  （回车 = 1）：",
                    en: "{field}: [1] keep `{keep}`  [2] duplicate `{dup}`  (Enter = 1): "
                )
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
        let progress = crate::progress::Progress::start(tr("合并中", "merging"));
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
    let (dup, dup_id) = (&plan.duplicate_name, plan.duplicate.short());
    let (keep, keep_id) = (&plan.keep_name, plan.keep.short());
    match a.dry_run {
        true => say!(
            zh: "将合并 {dup}（{dup_id}）→ {keep}（{keep_id}）",
            en: "would merge {dup} ({dup_id}) → {keep} ({keep_id})"
        ),
        false => say!(
            zh: "已合并 {dup}（{dup_id}）→ {keep}（{keep_id}）",
            en: "merged {dup} ({dup_id}) → {keep} ({keep_id})"
        ),
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for e in &plan.entities {
        *counts.entry(e.split('/').next().unwrap_or("")).or_default() += 1;
    }
    if counts.is_empty() {
        say!(zh: "  复制的记录：无", en: "  entities copied: none");
    } else {
        let copied = counts
            .iter()
            .map(|(c, n)| match crate::render::zh() {
                true => format!("{} ×{n}", crate::render::kind_name(c)),
                false => format!("{c} ×{n}"),
            })
            .collect::<Vec<_>>()
            .join(tr("、", ", "));
        say!(zh: "  复制的记录：{copied}", en: "  entities copied: {copied}");
    }
    if !plan.filled.is_empty() {
        let filled = plan.filled.join(", ");
        say!(
            zh: "  从重复档案补全：{filled}",
            en: "  filled from the duplicate: {filled}"
        );
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
        let mut t = Table::titled(&[
            ("  字段", "  FIELD"),
            ("保留档案", "KEEP"),
            ("重复档案", "DUPLICATE"),
            ("采用", "CHOSEN"),
        ]);
        for d in &plan.differing {
            t.row(vec![
                format!("  {}", d.field),
                shown(&d.field, &d.keep),
                shown(&d.field, &d.duplicate),
                if take.contains(&d.field) {
                    tr("重复档案", "duplicate").into()
                } else {
                    tr("保留档案", "keep").into()
                },
            ]);
        }
        t.print()?;
        if a.dry_run {
            say!(
                zh: "  （用 --take 字段=duplicate 选择；默认保留）",
                en: "  (choose with --take FIELD=duplicate; default keep)"
            );
        }
    }
    if !a.dry_run {
        say!(
            zh: "{dup_id} 已成为指向 {keep_id} 的墓碑记录",
            en: "{dup_id} is now a tombstone pointing to {keep_id}"
        );
    }
    Ok(())
}

pub(crate) fn print_carry(list: &[CarryOver]) {
    for c in list {
        let (name, tombstone, survivor) = (&c.name, c.tombstone.short(), c.survivor.short());
        if !c.carried.is_empty() {
            let (n, what) = (c.carried.len(), c.carried.join(", "));
            say!(
                zh: "接续合并：已将已合并档案 {name}（{tombstone}）的 {n} 项修改转入 {survivor}：{what}",
                en: "carried over {n} change(s) from merged file {name} ({tombstone}) into {survivor}: {what}"
            );
        }
        for (ch, why) in &c.review {
            let path = &ch.path;
            let old = ch.old.as_ref().map(value_text).unwrap_or("-".into());
            let new = ch.new.as_ref().map(value_text).unwrap_or("-".into());
            say!(
                zh: "需要处理：对已合并档案 {name}（{tombstone}）的修改未转入：{path} {old} → {new}：{why}",
                en: "edit to merged file {name} ({tombstone}) not carried over: {path} {old} → {new}: {why}"
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
    let progress = crate::progress::Progress::start(tr("转入中", "carrying over"));
    let list = ws.merge_forward(now)?;
    progress.done();
    if !json {
        print_carry(&list);
    }
    Ok(list)
}

pub(crate) fn merge_forward(ws: &Workspace, now: Millis, a: MergeForwardArgs) -> Result<()> {
    let progress = crate::progress::Progress::start(tr("转入中", "carrying over"));
    let list = ws.merge_forward(now)?;
    progress.done();
    if a.json {
        print_json(&list)?;
    } else if list.is_empty() {
        say!(zh: "没有需要转入的修改", en: "nothing to carry over");
    } else {
        print_carry(&list);
    }
    Ok(())
}
