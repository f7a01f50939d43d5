//! `GET /sync` 同步: saved remotes and the last sync; `POST /sync` syncs now (the
//! workspace stays open for the session) and shows what happened.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_connect::{NoProgress, Remote, SyncOutcome};
use fieldcrm_model::{DocId, DocKind, Lang, Millis};
use fieldcrm_workspace::{Waiting, Workspace};
use maud::{Markup, html};

use super::{Base, base, fail};
use crate::App;
use crate::format::{t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, empty, vocab};

/// Store meta key of the last sync started from the app (UTC ms).
pub(crate) const META_LAST_SYNC: &str = "app.last_sync";

/// How many of the documents waiting to go the page names.
const WAITING_SHOWN: usize = 5;

struct SyncPage {
    remotes: Vec<Remote>,
    /// What waits to go to each remote, in the order of `remotes` (`None` if unreadable).
    waiting: Vec<Option<Waiting>>,
    last: Option<Millis>,
}

fn read(ws: &Workspace) -> SyncPage {
    let remotes = fieldcrm_connect::remotes(ws).unwrap_or_default();
    SyncPage {
        waiting: remotes
            .iter()
            .map(|r| ws.waiting(&r.url, WAITING_SHOWN).ok())
            .collect(),
        remotes,
        last: ws
            .store()
            .get_meta_str(META_LAST_SYNC)
            .ok()
            .flatten()
            .and_then(|s| s.parse().ok()),
    }
}

/// What a sync did, with the names of the documents it mentions.
struct Done {
    outcome: Result<SyncOutcome, fieldcrm_connect::Error>,
    names: std::collections::HashMap<DocId, String>,
}

/// `GET /sync`.
pub(crate) async fn page(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| Ok((base(ws, &a)?, read(ws)))).await;
    match r {
        Ok((b, p)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "sync",
                t(ctx.lang, "同步", "Sync"),
                None,
                render(&ctx, &b, &p, None, None),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// `POST /sync`.
pub(crate) async fn run_sync(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let handle = tokio::runtime::Handle::current();
    let target = fields.opt("remote");
    let r = tokio::task::spawn_blocking(move || -> Result<(Base, SyncPage, Done), WsError> {
        let access = crate::store::Access::begin(&a);
        let r = (|| {
            let ws = crate::store::open(&a)?;
            let b = base(&ws, &a)?;
            let bind = SocketAddr::from(([0, 0, 0, 0], 0));
            let outcome = handle.block_on(fieldcrm_connect::sync(
                &ws,
                target.as_deref(),
                bind,
                now,
                &mut NoProgress,
            ));
            let mut names = std::collections::HashMap::new();
            if let Ok(o) = &outcome {
                let _ = ws.store().set_meta_str(META_LAST_SYNC, &now.to_string());
                let changes = o.report.refused_changes.iter().map(|c| &c.doc);
                for id in o
                    .report
                    .refused_here
                    .iter()
                    .chain(&o.report.refused_by_peer)
                    .map(|(id, _)| id)
                    .chain(o.report.too_large.iter().map(|(id, _)| id))
                    .chain(changes)
                {
                    if let Ok(Some(s)) = ws.summary(id) {
                        names.insert(id.clone(), s.name);
                    }
                }
            }
            let p = read(&ws);
            Ok((b, p, Done { outcome, names }))
        })();
        drop(access);
        r
    })
    .await
    .unwrap_or_else(|e| Err(WsError::Internal(e.to_string())));
    match r {
        Ok((b, p, done)) => {
            let status = if done.outcome.is_ok() {
                StatusCode::OK
            } else {
                StatusCode::BAD_GATEWAY
            };
            ui::page(
                status,
                ui::layout(
                    &ctx,
                    &b.who,
                    "sync",
                    t(ctx.lang, "同步", "Sync"),
                    None,
                    render(&ctx, &b, &p, Some(&done), None),
                ),
            )
        }
        Err(e) => fail(&ctx, e),
    }
}

fn outcome(lang: Lang, done: &Done) -> Markup {
    let name = |id: &DocId| {
        done.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.short().to_string())
    };
    match &done.outcome {
        Err(e) => html! {
            div.sync-result.bad role="alert" {
                h2 { (t(lang, "同步失败", "Sync failed")) }
                p { (e.message(lang)) }
            }
        },
        Ok(o) => {
            let r = &o.report;
            let oos = fieldcrm_connect::refused_out_of_scope(r);
            html! {
                div.sync-result.ok role="status" {
                    h2 { (t(lang, "同步完成", "Sync finished")) }
                    p {
                        (t(lang, "对方：", "With: ")) (o.with.to_string())
                        " · " (o.elapsed.as_millis()) " ms"
                    }
                    @if o.busy_retries > 0 {
                        p.muted {
                            (t(lang, "中继繁忙，等待后重试了 ", "The relay was busy: waited and tried again "))
                            (o.busy_retries)
                            (t(lang, " 次", " times"))
                        }
                    }
                    ul.sync-counts {
                        li { span.stat-num { (r.docs_saved) } span.stat-label { (t(lang, "收到的文档", "documents received")) } }
                        li { span.stat-num { (r.docs_sent) } span.stat-label { (t(lang, "发出的文档", "documents sent")) } }
                        li { span.stat-num { (o.after.removed.len()) } span.stat-label { (t(lang, "移除的文档", "documents removed")) } }
                    }
                    @if let Some(j) = &o.joined_as {
                        p { (t(lang, "已加入工作区：", "Joined the workspace as: ")) (format!("{j:?}")) }
                    }
                    @if !r.refused_by_peer.is_empty() {
                        h3 { (t(lang, "对方拒绝的更改", "Changes the other side refused")) }
                        ul {
                            @for (id, why) in &r.refused_by_peer {
                                li { strong { (name(id)) } "：" (explain(lang, oos.contains(id), why)) }
                            }
                        }
                    }
                    @if !r.refused_here.is_empty() || !r.refused_changes.is_empty() || !o.after.removed_changes.is_empty() {
                        h3 { (t(lang, "本机拒绝的更改", "Changes this device refused")) }
                        ul {
                            @for (id, why) in &r.refused_here {
                                li { strong { (name(id)) } "：" (explain(lang, false, why)) }
                            }
                            @for c in &r.refused_changes {
                                li { strong { (name(&c.doc)) } "：" (explain(lang, false, &c.describe())) }
                            }
                            @for line in &o.after.removed_changes {
                                li { (line) }
                            }
                        }
                    }
                    @if !r.too_large.is_empty() {
                        h3 { (t(lang, "太大、未能发送的文档（仍保留在本机）", "Documents too large to send (they stay on this device)")) }
                        ul {
                            @for (id, size) in &r.too_large {
                                li { strong { (name(id)) } "：" (format!("{:.1} MB", *size as f64 / 1_048_576.0)) }
                            }
                        }
                    }
                    @if !o.after.removed.is_empty() {
                        h3 { (t(lang, "已从本机移除（不再属于你的范围）", "Removed from this device (no longer yours to see)")) }
                        ul { @for rm in &o.after.removed { li { (rm.to_string()) } } }
                    }
                    @if !o.after.carried.is_empty() {
                        p { (t(lang, "合并后的修改已转入保留的档案：", "Edits to merged files were carried over: ")) (o.after.carried.len()) }
                    }
                }
            }
        }
    }
}

/// A refusal reason in words.
fn explain(lang: Lang, out_of_scope: bool, why: &str) -> String {
    if out_of_scope {
        match lang {
            Lang::Zh => "超出你的数据范围（例如客户已转给他人），本机副本已删除。".to_string(),
            Lang::En => "outside your data scope (e.g. the customer was reassigned); the copy on this device was removed.".to_string(),
        }
    } else if lang == Lang::Zh {
        match fieldcrm_sync::reason_zh(why) {
            Some(zh) => format!("{zh}（{why}）"),
            None => why.to_string(),
        }
    } else {
        why.to_string()
    }
}

/// What waits to go to one remote: counts, and the latest documents by name.
fn waiting(lang: Lang, b: &Base, w: &Waiting) -> Markup {
    let changes = w.changes.map(|c| match lang {
        Lang::Zh => format!("，共 {c} 处更改"),
        Lang::En => format!(", {c} change{}", if c == 1 { "" } else { "s" }),
    });
    html! {
        div.waiting data-docs=(w.docs) {
            p.waiting-count {
                @if w.docs == 0 {
                    span.chip.ok { (t(lang, "0 等待发送", "0 waiting")) } " "
                    (t(lang, "本机的修改都已同步。", "Everything changed here has gone."))
                } @else {
                    span.chip.warn { (w.docs) (t(lang, " 等待发送", " waiting")) } " "
                    @match lang {
                        Lang::Zh => { (w.docs) " 份文档在本机修改后尚未同步" (changes.unwrap_or_default()) "。" }
                        Lang::En => { (w.docs) " document" (if w.docs == 1 { "" } else { "s" }) " changed here since the last sync" (changes.unwrap_or_default()) "." }
                    }
                    @if !w.synced_before { " " (t(lang, "（还没有与它同步过）", "(never synced with it)")) }
                }
            }
            @if !w.latest.is_empty() {
                ul.waiting-docs {
                    @for d in &w.latest {
                        li {
                            @let kind = vocab(d.kind.zh(), d.kind.as_str(), lang);
                            @if matches!(d.kind, DocKind::Customer | DocKind::Channel) {
                                a href=(super::doc_href(&d.id, &d.kind)) { (d.name) }
                                span.muted { " · " (kind) }
                            } @else {
                                (kind)
                            }
                            span.muted { " · " (when(&b.clock, d.updated_at, lang)) }
                        }
                    }
                    @if w.docs > w.latest.len() {
                        li.muted { (match lang {
                            Lang::Zh => format!("还有 {} 份", w.docs - w.latest.len()),
                            Lang::En => format!("and {} more", w.docs - w.latest.len()),
                        }) }
                    }
                }
            }
        }
    }
}

fn render(
    ctx: &Ctx,
    b: &Base,
    p: &SyncPage,
    done: Option<&Done>,
    console: Option<Result<String, String>>,
) -> Markup {
    let lang = ctx.lang;
    html! {
        div.page-head { h1 { (t(lang, "同步", "Sync")) } }
        div #sync-status {
            @if let Some(d) = done { (outcome(lang, d)) }
        }
        section.card {
            h2 { (t(lang, "办公室中继", "Office relay")) }
            @if p.remotes.is_empty() {
                (empty(t(lang, "还没有保存的中继。在命令行运行 fieldcrm remote add office ws://主机:端口", "No relay saved yet. Run fieldcrm remote add office ws://host:port")))
            } @else {
                ul.list {
                    @for (r, w) in p.remotes.iter().zip(&p.waiting) {
                        li.row {
                            div.row-main {
                                strong { (r.name) } div.row-sub { code.wrap { (r.url) } }
                                @if let Some(w) = w { (waiting(lang, b, w)) }
                            }
                        }
                    }
                }
            }
            p.muted {
                (t(lang, "上次从本应用同步：", "Last synced from this app: "))
                @match p.last { Some(l) => (when(&b.clock, l, lang)), None => (t(lang, "从未", "never")) }
            }
            form.form method="post" action="/sync" {
                input type="hidden" name="_csrf" value=(ctx.csrf);
                @if p.remotes.len() > 1 {
                    div.field {
                        label for="remote" { (t(lang, "同步对象", "Sync with")) }
                        select #remote name="remote" {
                            @for r in &p.remotes { option value=(r.name) { (r.name) } }
                        }
                    }
                }
                div.actions { button #sync-now type="submit" { (t(lang, "立即同步", "Sync now")) } }
            }
        }
        @if b.who.is_manager() && !p.remotes.is_empty() {
            section.card #office-console {
                h2 { (t(lang, "办公室控制台", "Office console")) }
                p.muted.small { (t(lang, "在中继上查看设备、同步活动、问题和审计日志。登录链接由本设备签名，5 分钟内有效，只能使用一次。",
                    "Devices, sync activity, findings and the audit log, on the relay. The sign-in link is signed by this device, valid for 5 minutes and works once.")) }
                @if let Some(link) = console {
                    @match link {
                        Ok(url) => p { a.button #console-link href=(url) target="_blank" rel="noopener noreferrer" { (t(lang, "打开办公室控制台", "Open the office console")) } },
                        Err(e) => p.form-error role="alert" { (e) },
                    }
                } @else {
                    form.form method="post" action="/sync/console" {
                        input type="hidden" name="_csrf" value=(ctx.csrf);
                        div.actions { button.secondary #console-login type="submit" { (t(lang, "生成登录链接", "Make a sign-in link")) } }
                    }
                }
            }
        }
    }
}

/// `POST /sync/console`: a console sign-in link signed by this device with the real
/// clock (the relay checks its freshness against its own).
pub(crate) async fn console_link(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let a = app.clone();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let now = jiff::Timestamp::now().as_millisecond();
        let link = fieldcrm_connect::console_link(ws, None, now)
            .map(|l| l.url)
            .map_err(|e| e.message(lang));
        Ok((b, read(ws), link))
    })
    .await;
    match r {
        Ok((b, p, link)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "sync",
                t(ctx.lang, "同步", "Sync"),
                None,
                render(&ctx, &b, &p, None, Some(link)),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}
