//! The relay's log on stderr (`tracing`): one span per sync session (device, user,
//! transport, peer address) closed by a `session ended` event with what moved, how long
//! it took and how it ended; start and shutdown; device refusals, at most
//! [`REFUSAL_LINES`] lines per summary period; and every period one line summing up the
//! connections and devices turned away since the last one, so hostile traffic never
//! makes a line per packet. Human-readable text by default, JSON lines on request.
//!
//! stdout is not the log: `serve` prints its `http:`, `iroh:` and `ready` lines there for
//! supervisors and tests.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fieldcrm_model::DeviceKey;
use fieldcrm_sync::Report;
use tracing::{Span, debug, info, warn};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::metrics::SessionCounts;
use crate::relay::{Access, Refusal, Relay};

/// Device refusals logged one by one per summary period; the rest are counted in the
/// summary line.
pub(crate) const REFUSAL_LINES: u64 = 10;

/// The filter for a `--log-level` / `RUST_LOG` / `log_level` value: a bare level applies
/// to the relay (and its transport crate) while other crates stay at `warn`; anything
/// else is taken as a `RUST_LOG`-style filter as it is.
pub fn filter_directive(level: &str) -> String {
    let l = level.trim().to_ascii_lowercase();
    match l.as_str() {
        "trace" | "debug" | "info" => format!("warn,fieldcrm_relay={l},fieldcrm_net={l}"),
        "warn" | "error" | "off" => l,
        _ => level.trim().to_string(),
    }
}

/// Installs the process's log subscriber: `format` lines on stderr, filtered by `level`
/// (see [`filter_directive`]). Fails on a filter that does not parse.
pub fn init_logging(format: LogFormat, level: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter_directive(level))
        .map_err(|e| format!("log level `{}`: {e}", level.trim()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|e| format!("could not start logging: {e}"))
}

/// One sync session in the log and the counters: its span, and the `session ended` line
/// when it ends (also when it is dropped unfinished: the relay stopped it).
pub(crate) struct SessionLog {
    relay: Relay,
    span: Span,
    transport: &'static str,
    started: Instant,
    counts: SessionCounts,
    ended: bool,
    /// Who the session is with, for the events log (the console).
    events: crate::activity::SessionPeer,
    /// The last report seen (what an interrupted session records).
    last: Report,
}

impl SessionLog {
    pub(crate) fn start(
        relay: &Relay,
        device: &DeviceKey,
        access: &Access,
        transport: &'static str,
        peer: Option<String>,
        user_name: Option<String>,
        events: crate::activity::SessionPeer,
    ) -> SessionLog {
        let user = match access {
            Access::Bootstrap => "(bootstrap admin)".to_string(),
            Access::Device { user } => user.clone(),
        };
        let user_name = user_name.unwrap_or_default();
        let span = tracing::info_span!(
            "session",
            device = %device.to_hex(),
            user = %user,
            user_name = %user_name,
            transport,
            peer = %peer.unwrap_or_default(),
        );
        debug!(parent: &span, "session started");
        SessionLog {
            relay: relay.clone(),
            span,
            transport,
            started: Instant::now(),
            counts: SessionCounts::default(),
            ended: false,
            events,
            last: Report::default(),
        }
    }

    pub(crate) fn span(&self) -> Span {
        self.span.clone()
    }

    /// The session's counters so far (what an interrupted session reports).
    pub(crate) fn update(&mut self, report: &Report) {
        self.counts = SessionCounts::of(report);
        self.last.clone_from(report);
    }

    /// The session ended: `Ok` when it finished, else why it failed.
    pub(crate) fn end(&mut self, report: &Report, result: Result<(), String>) {
        self.counts = SessionCounts::of(report);
        self.last.clone_from(report);
        self.ended = true;
        let refusals = describe_refusals(report);
        match result {
            Ok(()) => self.emit("ok", None, &refusals),
            Err(e) => self.emit("failed", Some(&e), &refusals),
        }
    }

    fn emit(&self, outcome: &'static str, error: Option<&str>, refusals: &str) {
        self.record_event(outcome == "ok");
        let c = self.counts;
        self.relay
            .metrics()
            .session_ended(self.transport, &c, outcome == "ok");
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if outcome == "ok" && refusals.is_empty() {
            info!(
                parent: &self.span,
                outcome,
                docs_sent = c.docs_sent,
                docs_received = c.docs_received,
                bytes_in = c.bytes_in,
                bytes_out = c.bytes_out,
                refused_docs = c.refused_docs,
                refused_changes = c.refused_changes,
                duration_ms,
                "session ended"
            );
        } else {
            warn!(
                parent: &self.span,
                outcome,
                error = error.unwrap_or_default(),
                docs_sent = c.docs_sent,
                docs_received = c.docs_received,
                bytes_in = c.bytes_in,
                bytes_out = c.bytes_out,
                refused_docs = c.refused_docs,
                refused_changes = c.refused_changes,
                refusals,
                duration_ms,
                "session ended"
            );
        }
    }
}

impl SessionLog {
    /// The session's line in the events log (appended and synced: off the async workers
    /// when a runtime is there).
    fn record_event(&self, ok: bool) {
        let (relay, peer, report) = (self.relay.clone(), self.events.clone(), self.last.clone());
        let write = move || relay.note_session(&peer, &report, ok);
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(write);
            }
            Err(_) => write(),
        }
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        if !self.ended {
            self.ended = true;
            self.emit("aborted", Some("stopped by the relay"), "");
        }
    }
}

/// The first few refusals of a session, with their reasons (at most ~400 characters).
fn describe_refusals(r: &Report) -> String {
    let mut parts: Vec<String> = r
        .refused_here
        .iter()
        .map(|(id, why)| format!("document {}: {why}", id.short()))
        .collect();
    parts.extend(
        r.refused_changes
            .iter()
            .map(|c| format!("document {} {}", c.doc.short(), c.describe())),
    );
    let total = parts.len();
    let mut out = String::new();
    for p in parts.iter().take(3) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.extend(p.chars().take(130));
    }
    if total > 3 {
        out.push_str(&format!("; and {} more", total - 3));
    }
    out
}

/// Rate limit of device-refusal lines, and the last totals the summary reported.
#[derive(Default)]
pub(crate) struct RefusalLog {
    state: Mutex<RefusalState>,
}

#[derive(Default)]
struct RefusalState {
    lines: u64,
    suppressed: u64,
    last: Vec<(&'static str, u64)>,
}

impl RefusalLog {
    /// A device was refused: a line, unless [`REFUSAL_LINES`] were logged this period.
    pub(crate) fn device(
        &self,
        refusal: &Refusal,
        device: &DeviceKey,
        transport: &str,
        peer: Option<&str>,
    ) {
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if s.lines >= REFUSAL_LINES {
                s.suppressed += 1;
                return;
            }
            s.lines += 1;
        }
        warn!(
            device = %device.to_hex(),
            transport,
            peer = peer.unwrap_or_default(),
            reason = %refusal,
            "device refused"
        );
    }

    /// Logs what was refused since the last call (one line, nothing if nothing was) and
    /// opens a new rate-limit period.
    pub(crate) fn summarize(&self, relay: &Relay, period: Duration) {
        let now = relay.metrics().refusal_counts();
        let (delta, suppressed) = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let delta: Vec<(&'static str, u64)> = now
                .iter()
                .map(|(k, v)| {
                    let before = s
                        .last
                        .iter()
                        .find(|(l, _)| l == k)
                        .map(|(_, b)| *b)
                        .unwrap_or(0);
                    (*k, v.saturating_sub(before))
                })
                .filter(|(_, d)| *d > 0)
                .collect();
            let suppressed = s.suppressed;
            s.last = now;
            s.lines = 0;
            s.suppressed = 0;
            (delta, suppressed)
        };
        if delta.is_empty() {
            return;
        }
        let total: u64 = delta.iter().map(|(_, d)| d).sum();
        let by_reason = delta
            .iter()
            .map(|(k, d)| format!("{k}={d}"))
            .collect::<Vec<_>>()
            .join(" ");
        warn!(
            total,
            by_reason = %by_reason,
            device_lines_suppressed = suppressed,
            period_secs = period.as_secs(),
            "connections refused since the last summary"
        );
    }
}
