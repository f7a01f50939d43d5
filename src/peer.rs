//! `fieldcrm serve` and `fieldcrm sync TICKET`: direct device-to-device sync over iroh
//! (the work is `fieldcrm_connect`'s; this prints), and the printing every sync shares.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use fieldcrm_connect::{
    Counterpart, Error as ConnectError, Joined, ServeEvents, SyncOutcome, runtime,
};
use fieldcrm_model::{DeviceKey, Millis, short_id};
use fieldcrm_sync::Report;
use fieldcrm_workspace::AfterSync;

use crate::cli::ServeArgs;
use crate::render::{say, say_err, tr, trf};

/// A sync's progress: documents and bytes, on the one indicator (`crate::progress`).
pub(crate) struct Progress(crate::progress::Progress);

impl Progress {
    pub(crate) fn new() -> Self {
        Progress(crate::progress::Progress::start(tr("同步中", "syncing")))
    }
    pub(crate) fn done(&self) {
        self.0.done();
    }
}

impl fieldcrm_connect::Progress for Progress {
    fn update(&mut self, r: &Report) {
        let (got, sent, kb) = (
            r.docs_saved,
            r.docs_sent,
            (r.bytes_sent + r.bytes_received) / 1024,
        );
        self.0.message(trf!(
            zh: "收到 {got} 份，发出 {sent} 份，{kb} KB",
            en: "received {got} docs, sent {sent} docs, {kb} KB"
        ));
    }
}

/// A library error as an `anyhow` error; a workspace error stays one, so `main` reports it
/// in the chosen language.
pub(crate) fn cli_error(e: ConnectError) -> anyhow::Error {
    match e {
        ConnectError::Workspace(w) => w.into(),
        e => e.into(),
    }
}

/// The time `FIELDCRM_NOW` fixes (what `--now` reads from the environment; scripts and
/// tests), if set.
pub(crate) fn fixed_now() -> Result<Option<Millis>> {
    match std::env::var("FIELDCRM_NOW") {
        Ok(t) if !t.trim().is_empty() => Ok(Some(crate::render::parse_now(&t)?)),
        _ => Ok(None),
    }
}

/// The clock at the binary's edge: `FIELDCRM_NOW`, else the wall clock.
pub(crate) fn edge_now() -> Result<Millis> {
    Ok(fixed_now()?.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond()))
}

pub(crate) fn summary(who: &str, r: &Report, elapsed: Duration) -> String {
    let (got, sent, bytes_in, bytes_out) =
        (r.docs_saved, r.docs_sent, r.bytes_received, r.bytes_sent);
    let messages = r.messages_sent + r.messages_received;
    let ms = elapsed.as_secs_f64() * 1000.0;
    let mut s = trf!(
        zh: "已与 {who} 同步完成：收到 {got} 份文档，发出 {sent} 份文档，收 {bytes_in} 字节 / 发 {bytes_out} 字节，{messages} 条消息，{ms:.0} 毫秒",
        en: "synced with {who}: received {got} document(s), sent {sent} document(s), {bytes_in} bytes in / {bytes_out} bytes out, {messages} message(s), {ms:.0} ms"
    );
    for (id, why) in &r.refused_by_peer {
        let (id, why) = (id.short(), refusal_line(why));
        s.push_str(&trf!(
            zh: "\n  对方拒绝：{id} — {why}",
            en: "\n  refused by peer: {id} — {why}"
        ));
    }
    for (id, why) in &r.refused_here {
        let (id, why) = (id.short(), refusal_line(why));
        s.push_str(&trf!(
            zh: "\n  本机拒绝：{id} — {why}",
            en: "\n  refused here: {id} — {why}"
        ));
    }
    for (id, size) in &r.too_large {
        let (id, mb, max) = (
            id.short(),
            *size as f64 / 1_048_576.0,
            fieldcrm_sync::MAX_MESSAGE_SIZE >> 20,
        );
        s.push_str(&trf!(
            zh: "\n  未发送：文档 {id} 太大（{mb:.1} MB，单条消息上限 {max} MB），仍保留在本设备",
            en: "\n  not sent: document {id} is too large ({mb:.1} MB; a message holds at most {max} MB); it stays on this device"
        ));
    }
    for c in &r.refused_changes {
        let doc = c.doc.short();
        let change = fieldcrm_model::short_id(&c.hash.to_string()).to_string();
        let author = c
            .author
            .map(|a| short_id(&a.to_hex()).to_string())
            .unwrap_or_else(|| tr("（不是设备）", "(not a device)").to_string());
        let reason = refusal_line(&c.reason);
        s.push_str(&trf!(
            zh: "\n  本机已拒绝：文档 {doc} 中设备 {author} 的修改 {change}：{reason}",
            en: "\n  refused here: document {doc} change {change} by device {author}: {reason}"
        ));
    }
    s
}

/// Who a sync was with, for a person: `relay ws://…`, `小张 (1a2b3c4d)`, `device 1a2b3c4d`
/// (中继 …, 小张（1a2b3c4d）, 设备 … in Chinese).
pub(crate) fn counterpart(c: &Counterpart) -> String {
    if !crate::render::zh() {
        return c.to_string();
    }
    match c {
        Counterpart::Relay { url } => {
            format!("中继 {}", url.chars().take(40).collect::<String>())
        }
        Counterpart::Device {
            key,
            user: Some(name),
        } => format!("{name}（{}）", short_id(&key.to_hex())),
        Counterpart::Device { key, user: None } => {
            format!("设备 {}", short_id(&key.to_hex()))
        }
    }
}

/// A refusal reason from the sync layer (English: it is also sent to the peer) for a
/// person: in Chinese, its Chinese wording where there is one, with the original after it.
pub(crate) fn refusal_line(reason: &str) -> String {
    match fieldcrm_sync::reason_zh(reason) {
        Some(zh) if crate::render::zh() => format!("{zh}（{reason}）"),
        _ => reason.to_string(),
    }
}

/// The exit code of a finished sync: 0, or [`EXIT_REFUSED`] when anything was refused
/// or could not be sent (the rest went through; what did not was printed).
pub(crate) fn outcome_code(o: &SyncOutcome) -> i32 {
    if o.refusals().is_empty() && o.report.too_large.is_empty() {
        0
    } else {
        EXIT_REFUSED
    }
}

/// A finished sync as JSON (`fieldcrm sync --json`): what moved, what it cost, what
/// was refused or removed. Scripts and the end-to-end benchmark read it.
pub(crate) fn outcome_json(o: &SyncOutcome) -> serde_json::Value {
    let r = &o.report;
    let ids = |v: &[(fieldcrm_model::DocId, String)]| {
        v.iter()
            .map(|(id, why)| serde_json::json!({"id": id.to_string(), "reason": why}))
            .collect::<Vec<_>>()
    };
    serde_json::json!({
        "with": o.with.to_string(),
        "docs_received": r.docs_saved,
        "docs_sent": r.docs_sent,
        "bytes_received": r.bytes_received,
        "bytes_sent": r.bytes_sent,
        "automerge_bytes_sent": r.automerge_bytes_sent,
        "messages_sent": r.messages_sent,
        "messages_received": r.messages_received,
        "turns_sent": r.turns_sent,
        "elapsed_ms": o.elapsed.as_secs_f64() * 1000.0,
        "refused_by_peer": ids(&r.refused_by_peer),
        "refused_here": ids(&r.refused_here),
        "refused_changes": r.refused_changes.iter().map(|c| {
            serde_json::json!({"id": c.doc.to_string(), "reason": c.describe()})
        }).collect::<Vec<_>>(),
        "too_large": r.too_large.iter().map(|(id, size)| {
            serde_json::json!({"id": id.to_string(), "bytes": size})
        }).collect::<Vec<_>>(),
        "removed": o.after.removed.len(),
        "busy_retries": o.busy_retries,
    })
}

/// Exit code of a sync or bundle import that went through except for refused changes.
pub(crate) const EXIT_REFUSED: i32 = 3;

/// Everything a finished sync prints: the summary line, the workspace a first sync
/// joined, documents that left the scope, carry-over.
pub(crate) fn print_outcome(o: &SyncOutcome) {
    println!("{}", summary(&counterpart(&o.with), &o.report, o.elapsed));
    if o.busy_retries > 0 {
        let n = o.busy_retries;
        say_err!(
            zh: "  中继繁忙，等待后重试了 {n} 次",
            en: "  the relay was busy: waited and tried again {n} times"
        );
    }
    if crate::render::verbose() {
        let r = &o.report;
        let (m_out, m_in, b_out, b_in) = (
            r.messages_sent,
            r.messages_received,
            r.bytes_sent,
            r.bytes_received,
        );
        let (turns, d_out, d_in, acked) = (r.turns_sent, r.docs_sent, r.docs_saved, r.docs_acked);
        let secs = o.elapsed.as_secs_f64();
        say_err!(
            zh: "  消息 发出 {m_out} / 收到 {m_in}，字节 发出 {b_out} / 收到 {b_in}，轮次 {turns}，\
                 文档 发出 {d_out} / 保存 {d_in} / 确认 {acked}，{secs:.2} 秒",
            en: "  messages sent {m_out} / received {m_in}, bytes sent {b_out} / received {b_in}, turns {turns}, \
                 documents sent {d_out} / saved {d_in} / acknowledged {acked}, {secs:.2} s"
        );
    }
    match &o.joined_as {
        Some(Joined::As { name, role, .. }) => {
            let role_zh = role.zh();
            say!(
                zh: "已以 {name}（{role_zh}）的身份加入工作区",
                en: "joined workspace as {name} ({role})"
            )
        }
        Some(Joined::Unusable(e)) => {
            let e = e.message(crate::render::lang());
            say!(zh: "已收到工作区，但：{e}", en: "received the workspace, but: {e}")
        }
        None => {}
    }
    print_after(&o.after);
}

/// What after-sync did (nothing when it did nothing).
pub(crate) fn print_after(a: &AfterSync) {
    for line in &a.removed_changes {
        let line = refusal_line(line);
        say!(zh: "  已拒绝：{line}", en: "  refused: {line}");
    }
    if !a.removed.is_empty() {
        let n = a.removed.len();
        say!(
            zh: "已移除 {n} 份不再在你权限范围内的文档（已改派或权限变更）：",
            en: "removed {n} document(s) no longer in your scope (reassigned or access changed):"
        );
        for r in &a.removed {
            match (&r.kind, &r.name, crate::render::zh()) {
                (Some(kind), Some(name), true) => {
                    println!("  - {} {name}（{}）", kind.zh(), r.id.short())
                }
                _ => println!("  - {r}"),
            }
        }
    }
    // The same lines as `fieldcrm merge-forward`.
    crate::merge::print_carry(&a.carried);
}

/// `serve`'s printing: refusals and failures on stderr, each finished session on stdout.
struct Printer {
    progress: Mutex<Progress>,
    json: bool,
}

impl ServeEvents for Printer {
    fn refused(&self, device: &DeviceKey) {
        let hex = device.to_hex();
        let device = short_id(&hex);
        say_err!(
            zh: "已拒绝设备 {device}（未登记或已吊销）",
            en: "refused device {device} (not enrolled or revoked)"
        );
    }

    fn progress(&self, _: &Counterpart, report: &Report) {
        if let Ok(mut p) = self.progress.lock() {
            fieldcrm_connect::Progress::update(&mut *p, report);
        }
    }

    fn finished(&self, with: &Counterpart, outcome: &fieldcrm_connect::Result<SyncOutcome>) {
        let with = counterpart(with);
        if let Ok(mut p) = self.progress.lock() {
            p.done();
            *p = Progress::new();
        }
        match outcome {
            Ok(o) if self.json => println!("{}", outcome_json(o)),
            Ok(o) => print_outcome(o),
            Err(ConnectError::Session { source, .. }) => {
                say_err!(zh: "与 {with} 同步失败：{source}", en: "sync with {with} failed: {source}")
            }
            Err(e) => {
                let e = e.message(crate::render::lang());
                say_err!(zh: "与 {with} 同步失败：{e}", en: "sync with {with} failed: {e}")
            }
        }
    }
}

/// `fieldcrm serve`.
pub(crate) fn serve(home: &std::path::Path, a: ServeArgs) -> Result<()> {
    // Carry-over after each session writes at the clock of that moment.
    let fixed = fixed_now()?;
    let clock = move || fixed.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond());
    let printer = Printer {
        progress: Mutex::new(Progress::new()),
        json: a.json,
    };
    runtime().map_err(cli_error)?.block_on(async {
        let mut serving = fieldcrm_connect::serve(home, a.bind, clock, printer)
            .await
            .map_err(cli_error)?;
        let ticket = serving.ticket().to_string();
        say!(
            zh: "等待对等设备同步。请把下面的票据交给另一台设备：",
            en: "waiting for peers. Give this ticket to the other device:"
        );
        println!("{ticket}");
        if let Some(f) = &a.ticket_file
            && let Err(e) = std::fs::write(f, &ticket)
        {
            serving.shutdown(Duration::from_secs(5)).await;
            let f = f.display();
            return Err(
                anyhow::Error::from(e).context(trf!(zh: "无法写入 {f}", en: "could not write {f}"))
            );
        }
        if a.once {
            serving.session_done().await;
        } else {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { while serving.session_done().await {} } => {},
            }
        }
        serving.shutdown(Duration::from_secs(5)).await;
        Ok(())
    })
}
