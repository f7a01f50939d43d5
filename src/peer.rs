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

/// A sync's progress: documents and bytes, on the one indicator (`crate::progress`).
pub(crate) struct Progress(crate::progress::Progress);

impl Progress {
    pub(crate) fn new() -> Self {
        Progress(crate::progress::Progress::start("同步中 syncing"))
    }
    pub(crate) fn done(&self) {
        self.0.done();
    }
}

impl fieldcrm_connect::Progress for Progress {
    fn update(&mut self, r: &Report) {
        self.0.message(format!(
            "received {} docs, sent {} docs, {} KB",
            r.docs_saved,
            r.docs_sent,
            (r.bytes_sent + r.bytes_received) / 1024
        ));
    }
}

/// A library error as an `anyhow` error; a workspace error stays one, so `main` reports it
/// in both languages.
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
    let mut s = format!(
        "同步完成 synced with {who}: received {} document(s), sent {} document(s), {} bytes in / {} bytes out, {} message(s), {:.0} ms",
        r.docs_saved,
        r.docs_sent,
        r.bytes_received,
        r.bytes_sent,
        r.messages_sent + r.messages_received,
        elapsed.as_secs_f64() * 1000.0
    );
    for (id, why) in &r.refused_by_peer {
        s.push_str(&format!("\n  refused by peer: {} — {why}", id.short()));
    }
    for (id, why) in &r.refused_here {
        s.push_str(&format!("\n  refused here: {} — {why}", id.short()));
    }
    for (id, size) in &r.too_large {
        s.push_str(&format!(
            "\n  未发送 文档 {0} 太大（{1:.1} MB，单条消息上限 {2} MB），仍保留在本设备 not sent: document {0} is too large ({1:.1} MB; a message holds at most {2} MB); it stays on this device",
            id.short(),
            *size as f64 / 1_048_576.0,
            fieldcrm_sync::MAX_MESSAGE_SIZE >> 20
        ));
    }
    for c in &r.refused_changes {
        let zh = fieldcrm_sync::reason_zh(&c.reason).unwrap_or("");
        s.push_str(&format!(
            "\n  已拒绝 {zh} refused here: document {} {}",
            c.doc.short(),
            c.describe()
        ));
    }
    s
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
    })
}

/// Exit code of a sync or bundle import that went through except for refused changes.
pub(crate) const EXIT_REFUSED: i32 = 3;

/// Everything a finished sync prints: the summary line, the workspace a first sync
/// joined, documents that left the scope, carry-over.
pub(crate) fn print_outcome(o: &SyncOutcome) {
    println!("{}", summary(&o.with.to_string(), &o.report, o.elapsed));
    if crate::render::verbose() {
        let r = &o.report;
        eprintln!(
            "  messages sent {} / received {}, bytes sent {} / received {}, turns {}, \
             documents sent {} / saved {} / acknowledged {}, {:.2} s",
            r.messages_sent,
            r.messages_received,
            r.bytes_sent,
            r.bytes_received,
            r.turns_sent,
            r.docs_sent,
            r.docs_saved,
            r.docs_acked,
            o.elapsed.as_secs_f64()
        );
    }
    match &o.joined_as {
        Some(Joined::As { name, role, .. }) => {
            println!("已加入 joined workspace as {name} ({role})")
        }
        Some(Joined::Unusable(e)) => println!("received the workspace, but: {e}"),
        None => {}
    }
    print_after(&o.after);
}

/// What after-sync did (nothing when it did nothing).
pub(crate) fn print_after(a: &AfterSync) {
    for line in &a.removed_changes {
        println!("  已拒绝 {line}");
    }
    if !a.removed.is_empty() {
        println!(
            "已移除 removed {} document(s) no longer in your scope (reassigned or access changed):",
            a.removed.len()
        );
        for r in &a.removed {
            println!("  - {r}");
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
        eprintln!(
            "refused device {} (not enrolled or revoked)",
            short_id(&device.to_hex())
        );
    }

    fn progress(&self, _: &Counterpart, report: &Report) {
        if let Ok(mut p) = self.progress.lock() {
            fieldcrm_connect::Progress::update(&mut *p, report);
        }
    }

    fn finished(&self, with: &Counterpart, outcome: &fieldcrm_connect::Result<SyncOutcome>) {
        if let Ok(mut p) = self.progress.lock() {
            p.done();
            *p = Progress::new();
        }
        match outcome {
            Ok(o) if self.json => println!("{}", outcome_json(o)),
            Ok(o) => print_outcome(o),
            Err(ConnectError::Session { source, .. }) => {
                eprintln!("sync with {with} failed: {source}")
            }
            Err(e) => eprintln!(
                "sync with {with} failed: {}",
                e.message(fieldcrm_model::Lang::En)
            ),
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
        println!("等待同步 waiting for peers. Give this ticket to the other device:");
        println!("{ticket}");
        if let Some(f) = &a.ticket_file
            && let Err(e) = std::fs::write(f, &ticket)
        {
            serving.shutdown(Duration::from_secs(5)).await;
            return Err(anyhow::Error::from(e).context(format!("could not write {}", f.display())));
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
