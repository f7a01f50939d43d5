//! `fieldcrm doc list|show|history|diff`, `fieldcrm conflicts`, `fieldcrm resolve`.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use fieldcrm_model::{DocId, DocKind};
use fieldcrm_workspace::{Conflict, Filter, Pick, Point, Tombstones, Workspace, value_text};
use serde_json::json;

use crate::render::{Clock, Table, pad, pad_start, print_json, say, short, tr, trf};

/// `doc ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum DocCmd {
    /// List every document on this device (customers, channels, workspace documents).
    List {
        /// Only this kind: customer, channel, roster, catalog, policy, sales.
        #[arg(long)]
        kind: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a document's fields (now, or as of a date or change hashes).
    Show {
        /// Document (ID prefix or exact name).
        doc: String,
        /// As of a date/time (2026-11-29, 2026-11-29T14:00) or change hashes (comma separated).
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a document's changes: time, device, user and summary.
    History {
        /// Document (ID prefix or exact name).
        doc: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show which fields changed between two points (dates or change hashes).
    Diff {
        /// Document (ID prefix or exact name).
        doc: String,
        /// From: a date/time (the document as of then) or change hashes (comma separated).
        #[arg(long)]
        from: String,
        /// To (default: now).
        #[arg(long)]
        to: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// How much this device's store holds: the file and each table (documents, changes,
    /// index, snapshot cache).
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `conflicts`.
#[derive(Args, Debug)]
pub(crate) struct ConflictsArgs {
    /// Only this document.
    #[arg(long)]
    pub(crate) doc: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `resolve`.
#[derive(Args, Debug)]
pub(crate) struct ResolveArgs {
    /// Document (ID prefix or exact name).
    pub(crate) doc: String,
    /// Field path as shown by `fieldcrm conflicts`, e.g. `class` or `quotes/<id>/approval`.
    pub(crate) field: String,
    /// Keep this value (as shown by `fieldcrm conflicts`).
    #[arg(
        long,
        conflicts_with = "pick_author",
        required_unless_present = "pick_author"
    )]
    pub(crate) pick: Option<String>,
    /// Keep the value this user wrote (name or ID prefix).
    #[arg(long)]
    pub(crate) pick_author: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A document by ID prefix or exact name; the workspace documents also by kind
/// (`roster`, `catalog`, `policy`, `sales`).
fn resolve_doc(ws: &Workspace, text: &str) -> Result<DocId> {
    if let Ok(k) = text.trim().parse::<DocKind>()
        && k.is_workspace_doc()
        && k.as_str() == text.trim()
    {
        return Ok(DocId::workspace(&k));
    }
    Ok(ws.resolve_any(text)?)
}

/// The ID column: the short ID, or the kind for a workspace document (whose fixed IDs
/// share a prefix).
fn id_cell(id: &DocId, kind: &DocKind) -> String {
    if kind.is_workspace_doc() {
        kind.to_string()
    } else {
        id.short().to_string()
    }
}

/// A point typed by the user: a date/time, `now`, or comma-separated change hashes.
fn point(clock: &Clock, text: &str) -> Result<Point> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(Point::Now);
    }
    if !t.is_empty()
        && t.split(',')
            .all(|h| h.trim().bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(Point::Heads(
            t.split(',').map(|h| h.trim().to_string()).collect(),
        ));
    }
    match clock.parse_end("when", t) {
        Ok(ms) => Ok(Point::Time(ms)),
        Err(_) => bail!(trf!(
            zh: "`{text}` 既不是日期（2026-11-29、2026-11-29T14:00），也不是变更哈希（见 `fieldcrm doc history`）",
            en: "`{text}` is neither a date (2026-11-29, 2026-11-29T14:00) nor change hashes (see `fieldcrm doc history`)"
        )),
    }
}

/// Who wrote a change: `王经理 (manager)` or `device 1a2b3c4d`; in Chinese
/// `王经理（经理）` or `设备 1a2b3c4d`.
fn author(a: &fieldcrm_workspace::Author) -> String {
    if !crate::render::zh() {
        return a.label();
    }
    match (&a.user, &a.role) {
        (Some(u), Some(r)) => {
            let role = r
                .parse::<fieldcrm_model::Role>()
                .map(|r| r.zh().to_string())
                .unwrap_or_else(|_| r.clone());
            format!("{u}（{role}）")
        }
        _ => format!("设备 {}", short(&a.device)),
    }
}

/// A value for display: strings bare, `-` for none, other JSON compact.
fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "-".into(),
        Some(v) => value_text(v),
    }
}

fn flatten(v: &serde_json::Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}/{k}")
                };
                flatten(v, &p, out);
            }
        }
        other => out.push((prefix.to_string(), show(Some(other)))),
    }
}

pub(crate) fn doc(ws: &Workspace, clock: &Clock, cmd: DocCmd) -> Result<()> {
    match cmd {
        DocCmd::Stats { json } => {
            let s = ws.storage_sizes()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            let mb = |b: u64| b as f64 / 1e6;
            let file = mb(s.file_bytes);
            say!(zh: "存储文件：{file:.1} MB", en: "store file: {file:.1} MB");
            println!(
                "{} {} {} {}",
                pad(tr("表", "table"), 14),
                pad_start(tr("条数", "rows"), 10),
                pad_start(tr("数据 MB", "data MB"), 10),
                pad_start(tr("页面 MB", "pages MB"), 10)
            );
            for t in &s.tables {
                println!(
                    "{:<14} {:>10} {:>10.1} {:>10.1}",
                    t.name,
                    t.entries,
                    mb(t.stored_bytes),
                    mb(t.metadata_bytes + t.fragmented_bytes)
                );
            }
            let state = mb(s.engine_state_bytes);
            say!(
                zh: "规则检查状态（存储文件旁，供下次 check 使用）：{state:.1} MB",
                en: "rules' state beside the store (for the next check): {state:.1} MB"
            );
        }
        DocCmd::List { kind, json } => {
            let mut filter = Filter::default().tombstones(Tombstones::Include);
            if let Some(k) = kind {
                let k: DocKind = k.parse().map_err(|e| {
                    let expected = DocKind::expected();
                    anyhow::anyhow!(trf!(
                        zh: "--kind：不认识的文档类型 `{k}`（可用：{expected}）",
                        en: "--kind: {e}"
                    ))
                })?;
                if let DocKind::Unknown(u) = &k {
                    bail!(trf!(
                        zh: "--kind：不认识的文档类型 `{u}`",
                        en: "--kind: unknown document kind `{u}`"
                    ));
                }
                filter = filter.kind(k);
            }
            let rows = ws.list(&filter)?;
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id,
                            "kind": l.summary.kind.to_string(),
                            "name": l.summary.name,
                            "merged_into": l.summary.merged_into,
                            "updated_at": l.summary.updated_at,
                        })
                    })
                    .collect();
                print_json(&v)?;
            } else {
                let mut t = Table::titled(&[
                    ("ID", "ID"),
                    ("类型", "KIND"),
                    ("名称", "NAME"),
                    ("更新时间", "UPDATED"),
                ]);
                for l in &rows {
                    let name = match &l.summary.merged_into {
                        Some(m) => {
                            let (name, into) = (&l.summary.name, short(m));
                            trf!(zh: "{name}（已并入 {into}）", en: "{name} (merged → {into})")
                        }
                        None => l.summary.name.clone(),
                    };
                    let kind = &l.summary.kind;
                    t.row(vec![
                        id_cell(&l.id, kind),
                        tr(kind.zh(), kind.as_str()).to_string(),
                        name,
                        clock.fmt(l.summary.updated_at),
                    ]);
                }
                t.print()?;
                let n = rows.len();
                say!(zh: "共 {n} 份文档", en: "{n} document(s)");
            }
        }
        DocCmd::Show { doc, at, json } => {
            let id = resolve_doc(ws, &doc)?;
            let p = match &at {
                Some(a) => point(clock, a)?,
                None => Point::Now,
            };
            let v = ws.doc_json_at(&id, &p)?;
            if json {
                print_json(&json!({"id": id, "doc": v}))?;
            } else if v.is_null() {
                let (id, at) = (id.short(), at.unwrap_or_default());
                say!(
                    zh: "文档 {id} 在 {at} 时尚不存在",
                    en: "document {id} did not exist yet at {at}"
                );
            } else {
                let mut lines = Vec::new();
                flatten(&v, "", &mut lines);
                let mut t = Table::titled(&[("字段", "FIELD"), ("值", "VALUE")]);
                for (k, v) in lines {
                    t.row(vec![k, v.replace('\n', " ")]);
                }
                say!(zh: "文档 {id}", en: "document {id}");
                t.print()?;
            }
        }
        DocCmd::History { doc, json } => {
            let id = resolve_doc(ws, &doc)?;
            let h = ws.history(&id)?;
            if json {
                print_json(&h)?;
            } else {
                let mut t = Table::titled(&[
                    ("时间", "TIME"),
                    ("变更", "CHANGE"),
                    ("用户", "USER"),
                    ("设备", "DEVICE"),
                    ("摘要", "SUMMARY"),
                ]);
                for e in &h {
                    t.row(vec![
                        clock.fmt(e.time),
                        short(&e.hash).into(),
                        author(&e.author),
                        short(&e.author.device).into(),
                        e.message.clone(),
                    ]);
                }
                t.print()?;
                let n = h.len();
                say!(zh: "共 {n} 项变更", en: "{n} change(s)");
            }
        }
        DocCmd::Diff {
            doc,
            from,
            to,
            json,
        } => {
            let id = resolve_doc(ws, &doc)?;
            let a = point(clock, &from)?;
            let b = match &to {
                Some(t) => point(clock, t)?,
                None => Point::Now,
            };
            let changes = ws.diff(&id, &a, &b)?;
            if json {
                print_json(&json!({
                    "id": id,
                    "from": from,
                    "to": to.unwrap_or_else(|| "now".into()),
                    "changes": changes,
                }))?;
            } else if changes.is_empty() {
                say!(zh: "没有改动", en: "no changes");
            } else {
                let mut t = Table::titled(&[("字段", "FIELD"), ("原值", "OLD"), ("新值", "NEW")]);
                for c in &changes {
                    t.row(vec![
                        c.path.clone(),
                        show(c.old.as_ref()).replace('\n', " "),
                        format!("→ {}", show(c.new.as_ref()).replace('\n', " ")),
                    ]);
                }
                t.print()?;
                let n = changes.len();
                say!(zh: "共 {n} 个字段有改动", en: "{n} field(s) changed");
            }
        }
    }
    Ok(())
}

fn print_conflicts(clock: &Clock, list: &[Conflict]) {
    let mut t = Table::titled(&[
        ("文档", "DOC"),
        ("名称", "NAME"),
        ("字段", "FIELD"),
        ("值", "VALUE"),
        ("设置人", "SET BY"),
        ("时间", "AT"),
    ]);
    for c in list {
        for (i, v) in c.values.iter().enumerate() {
            let (d, n, f) = if i == 0 {
                let kind = c.kind.parse::<DocKind>().unwrap_or(DocKind::Customer);
                (id_cell(&c.doc, &kind), c.name.clone(), c.path.clone())
            } else {
                (String::new(), String::new(), String::new())
            };
            let mut value = value_text(&v.value);
            if value.chars().count() > 40 {
                value = format!("{}…", value.chars().take(40).collect::<String>());
            }
            t.row(vec![d, n, f, value, author(&v.author), clock.fmt(v.time)]);
        }
    }
    print!("{}", t.render());
}

pub(crate) fn conflicts(ws: &Workspace, clock: &Clock, a: ConflictsArgs) -> Result<()> {
    let list = match &a.doc {
        Some(d) => ws.doc_conflicts(&resolve_doc(ws, d)?)?,
        None => ws.conflicts()?,
    };
    if a.json {
        print_json(&list)?;
    } else if list.is_empty() {
        say!(zh: "没有冲突", en: "no conflicting values");
    } else {
        print_conflicts(clock, &list);
        let n = list.len();
        say!(
            zh: "{n} 个字段存在并发取值；用 `fieldcrm resolve 文档 字段 --pick 值` 或 `--pick-author 用户` 裁定",
            en: "{n} field(s) with concurrent values; decide with `fieldcrm resolve DOC FIELD --pick VALUE` or `--pick-author USER`"
        );
    }
    Ok(())
}

pub(crate) fn resolve(ws: &Workspace, now: i64, a: ResolveArgs) -> Result<()> {
    let id = resolve_doc(ws, &a.doc)?;
    let pick = match (a.pick, a.pick_author) {
        (Some(v), None) => Pick::Value(v),
        (None, Some(u)) => Pick::Author(u),
        _ => bail!(tr(
            "请给出 --pick 值 或 --pick-author 用户 之一",
            "give one of --pick VALUE or --pick-author USER"
        )),
    };
    let chosen = ws.resolve_conflict(&id, &a.field, &pick, now)?;
    if a.json {
        print_json(
            &json!({"id": id, "field": a.field, "value": chosen.value, "author": chosen.author}),
        )?;
    } else {
        let (field, id) = (a.field.trim_matches('/'), id.short());
        let (value, by) = (value_text(&chosen.value), author(&chosen.author));
        say!(
            zh: "已裁定 {id} 的 {field}：保留 `{value}`（由 {by} 设置）",
            en: "resolved {field} of {id}: kept `{value}` (set by {by})"
        );
    }
    Ok(())
}
