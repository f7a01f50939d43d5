//! Counters, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::relay::Refusal;

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    sessions_ws: AtomicU64,
    sessions_iroh: AtomicU64,
    /// Ended sessions by transport (ws, iroh) and outcome (ok, failed).
    ended: [[AtomicU64; 2]; 2],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    docs_saved: AtomicU64,
    docs_sent: AtomicU64,
    refused_not_enrolled: AtomicU64,
    refused_revoked: AtomicU64,
    refused_signature: AtomicU64,
    refused_busy: AtomicU64,
    refused_scope: AtomicU64,
    refused_changes: AtomicU64,
    malformed: AtomicU64,
    conn_refused: [AtomicU64; ConnRefusal::ALL.len()],
    /// `/v1/findings` computations by duration bucket (`FINDINGS_BUCKETS`, then +Inf).
    findings_buckets: [AtomicU64; FINDINGS_BUCKETS.len() + 1],
    findings_micros: AtomicU64,
    backups_ok: AtomicU64,
    backups_failed: AtomicU64,
}

/// Upper bounds (seconds) of the `/v1/findings` duration histogram.
const FINDINGS_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// What a session moved, for the counters and the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionCounts {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) docs_sent: u64,
    pub(crate) docs_received: u64,
    pub(crate) refused_docs: u64,
    pub(crate) refused_changes: u64,
}

impl SessionCounts {
    pub(crate) fn of(r: &fieldcrm_sync::Report) -> Self {
        SessionCounts {
            bytes_in: r.bytes_received,
            bytes_out: r.bytes_sent,
            docs_sent: r.docs_sent,
            docs_received: r.docs_saved,
            refused_docs: r.refused_here.len() as u64,
            refused_changes: r.refused_changes.len() as u64,
        }
    }
}

/// Why a connection was refused or closed before (or instead of) a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnRefusal {
    /// `max_preauth_per_ip` unauthenticated WebSockets from this address already.
    PreauthPerIp,
    /// `max_preauth` unauthenticated WebSockets already.
    PreauthTotal,
    /// `max_connections` open TCP connections already.
    MaxConnections,
    /// No authentication answer within `auth_timeout_secs`.
    AuthTimeout,
    /// HTTP headers not complete within `header_read_timeout_secs`.
    HeaderTimeout,
    /// A message above `max_preauth_message_bytes` (before authentication) or
    /// `max_message_bytes` (after).
    Oversize,
    /// No application message within `idle_timeout_secs`.
    Idle,
}

impl ConnRefusal {
    const ALL: [ConnRefusal; 7] = [
        ConnRefusal::PreauthPerIp,
        ConnRefusal::PreauthTotal,
        ConnRefusal::MaxConnections,
        ConnRefusal::AuthTimeout,
        ConnRefusal::HeaderTimeout,
        ConnRefusal::Oversize,
        ConnRefusal::Idle,
    ];

    fn label(self) -> &'static str {
        match self {
            ConnRefusal::PreauthPerIp => "preauth_per_ip",
            ConnRefusal::PreauthTotal => "preauth_total",
            ConnRefusal::MaxConnections => "max_connections",
            ConnRefusal::AuthTimeout => "auth_timeout",
            ConnRefusal::HeaderTimeout => "header_timeout",
            ConnRefusal::Oversize => "oversize",
            ConnRefusal::Idle => "idle",
        }
    }
}

/// Gauges of the relay's connections and files, rendered with the counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gauges {
    pub(crate) sessions: usize,
    pub(crate) documents: usize,
    pub(crate) audit_rows: u64,
    pub(crate) audit_bytes: u64,
    pub(crate) store_bytes: u64,
    pub(crate) connections: usize,
    pub(crate) preauth: usize,
    /// UTC ms of the last backup that succeeded (kept in the store), 0 if none.
    pub(crate) last_backup_ms: i64,
}

fn transport_index(transport: &str) -> usize {
    usize::from(transport == "iroh")
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn refused(&self, r: &Refusal) {
        add(
            match r {
                Refusal::Revoked(_) => &self.refused_revoked,
                Refusal::BadSignature(_) => &self.refused_signature,
                _ => &self.refused_not_enrolled,
            },
            1,
        );
    }

    pub(crate) fn busy(&self) {
        add(&self.refused_busy, 1);
    }

    pub(crate) fn conn_refused(&self, r: ConnRefusal) {
        if let Some(c) = ConnRefusal::ALL
            .iter()
            .position(|x| *x == r)
            .and_then(|i| self.conn_refused.get(i))
        {
            add(c, 1);
        }
    }

    /// Connections refused or closed for `reason` (the label of
    /// `fieldcrm_relay_connections_refused_total`).
    pub fn connections_refused(&self, reason: &str) -> u64 {
        ConnRefusal::ALL
            .iter()
            .zip(&self.conn_refused)
            .find(|(r, _)| r.label() == reason)
            .map(|(_, c)| c.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    pub(crate) fn malformed(&self) {
        add(&self.malformed, 1);
    }

    pub(crate) fn saved(&self, n: u64) {
        add(&self.docs_saved, n);
    }

    pub(crate) fn session_started(&self, transport: &str) {
        add(
            if transport == "iroh" {
                &self.sessions_iroh
            } else {
                &self.sessions_ws
            },
            1,
        );
    }

    pub(crate) fn session_ended(&self, transport: &str, c: &SessionCounts, ok: bool) {
        if let Some(c) = self
            .ended
            .get(transport_index(transport))
            .and_then(|t| t.get(usize::from(!ok)))
        {
            add(c, 1);
        }
        add(&self.bytes_in, c.bytes_in);
        add(&self.bytes_out, c.bytes_out);
        add(&self.docs_sent, c.docs_sent);
        add(&self.refused_scope, c.refused_docs);
        add(&self.refused_changes, c.refused_changes);
    }

    /// One `/v1/findings` computation took `d`.
    pub(crate) fn findings_time(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = FINDINGS_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(FINDINGS_BUCKETS.len());
        if let Some(c) = self.findings_buckets.get(i) {
            add(c, 1);
        }
        add(
            &self.findings_micros,
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        );
    }

    pub(crate) fn backup(&self, ok: bool) {
        add(
            if ok {
                &self.backups_ok
            } else {
                &self.backups_failed
            },
            1,
        );
    }

    /// Refusals so far by label, for the log's periodic summary: connections turned away
    /// (`ConnRefusal` labels) and devices refused (`not_enrolled`, `revoked`,
    /// `bad_signature`, `busy`).
    pub(crate) fn refusal_counts(&self) -> Vec<(&'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out: Vec<(&'static str, u64)> = ConnRefusal::ALL
            .iter()
            .zip(&self.conn_refused)
            .map(|(r, c)| (r.label(), g(c)))
            .collect();
        out.extend([
            ("not_enrolled", g(&self.refused_not_enrolled)),
            ("revoked", g(&self.refused_revoked)),
            ("bad_signature", g(&self.refused_signature)),
            ("busy", g(&self.refused_busy)),
        ]);
        out
    }

    /// Refusals of any kind so far (devices and documents).
    pub fn refusals(&self) -> u64 {
        [
            &self.refused_not_enrolled,
            &self.refused_revoked,
            &self.refused_signature,
            &self.refused_busy,
            &self.refused_scope,
            &self.refused_changes,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    pub(crate) fn render(&self, gauges: Gauges) -> String {
        let Gauges {
            sessions: active,
            documents,
            audit_rows,
            audit_bytes,
            store_bytes,
            connections,
            preauth,
            last_backup_ms,
        } = gauges;
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(s, "{name}{labels} {v}");
            }
        };
        metric(
            "fieldcrm_relay_sessions_active",
            "gauge",
            "Sync sessions running now.",
            &[("", active as u64)],
        );
        metric(
            "fieldcrm_relay_sessions_total",
            "counter",
            "Sync sessions started, by transport.",
            &[
                ("{transport=\"ws\"}", g(&self.sessions_ws)),
                ("{transport=\"iroh\"}", g(&self.sessions_iroh)),
            ],
        );
        let mut ended = Vec::new();
        for (t, name) in ["ws", "iroh"].iter().enumerate() {
            for (o, outcome) in ["ok", "failed"].iter().enumerate() {
                let v = self.ended.get(t).and_then(|x| x.get(o)).map(g).unwrap_or(0);
                ended.push((format!("{{transport=\"{name}\",outcome=\"{outcome}\"}}"), v));
            }
        }
        let ended: Vec<(&str, u64)> = ended.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(
            "fieldcrm_relay_sessions_ended_total",
            "counter",
            "Sync sessions ended, by transport and outcome.",
            &ended,
        );
        metric(
            "fieldcrm_relay_documents",
            "gauge",
            "Documents the relay holds.",
            &[("", documents as u64)],
        );
        metric(
            "fieldcrm_relay_bytes_total",
            "counter",
            "Sync bytes, by direction.",
            &[
                ("{direction=\"in\"}", g(&self.bytes_in)),
                ("{direction=\"out\"}", g(&self.bytes_out)),
            ],
        );
        metric(
            "fieldcrm_relay_documents_saved_total",
            "counter",
            "Documents saved from devices.",
            &[("", g(&self.docs_saved))],
        );
        metric(
            "fieldcrm_relay_documents_sent_total",
            "counter",
            "Documents sent to devices.",
            &[("", g(&self.docs_sent))],
        );
        metric(
            "fieldcrm_relay_refusals_total",
            "counter",
            "Devices, sessions and documents refused, by reason.",
            &[
                ("{reason=\"not_enrolled\"}", g(&self.refused_not_enrolled)),
                ("{reason=\"revoked\"}", g(&self.refused_revoked)),
                ("{reason=\"bad_signature\"}", g(&self.refused_signature)),
                ("{reason=\"busy\"}", g(&self.refused_busy)),
                ("{reason=\"scope\"}", g(&self.refused_scope)),
                ("{reason=\"change\"}", g(&self.refused_changes)),
                ("{reason=\"malformed\"}", g(&self.malformed)),
            ],
        );
        let refused: Vec<(String, u64)> = ConnRefusal::ALL
            .iter()
            .zip(&self.conn_refused)
            .map(|(r, c)| (format!("{{reason=\"{}\"}}", r.label()), g(c)))
            .collect();
        let refused: Vec<(&str, u64)> = refused.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(
            "fieldcrm_relay_connections_refused_total",
            "counter",
            "Connections refused or closed before or instead of a session, by reason.",
            &refused,
        );
        metric(
            "fieldcrm_relay_connections_open",
            "gauge",
            "Open TCP connections on the HTTP port.",
            &[("", connections as u64)],
        );
        metric(
            "fieldcrm_relay_preauth_connections",
            "gauge",
            "WebSocket connections not yet authenticated.",
            &[("", preauth as u64)],
        );
        metric(
            "fieldcrm_relay_audit_rows",
            "gauge",
            "Rows in the audit log.",
            &[("", audit_rows)],
        );
        metric(
            "fieldcrm_relay_audit_bytes",
            "gauge",
            "Size of the audit log file in bytes.",
            &[("", audit_bytes)],
        );
        metric(
            "fieldcrm_relay_store_bytes",
            "gauge",
            "Size of the relay's store file (relay.redb) in bytes.",
            &[("", store_bytes)],
        );
        metric(
            "fieldcrm_relay_backups_total",
            "counter",
            "Backups this process made, by outcome.",
            &[
                ("{outcome=\"ok\"}", g(&self.backups_ok)),
                ("{outcome=\"failed\"}", g(&self.backups_failed)),
            ],
        );
        let last = if last_backup_ms > 0 {
            format!("{:.3}", last_backup_ms as f64 / 1000.0)
        } else {
            "0".into()
        };
        let _ = writeln!(
            s,
            "# HELP fieldcrm_relay_last_backup_timestamp_seconds When the last backup of this relay's data succeeded (Unix time), 0 if never.\n# TYPE fieldcrm_relay_last_backup_timestamp_seconds gauge\nfieldcrm_relay_last_backup_timestamp_seconds {last}"
        );
        self.render_findings(&mut s);
        s
    }

    /// The `/v1/findings` duration histogram.
    fn render_findings(&self, s: &mut String) {
        let name = "fieldcrm_relay_findings_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time /v1/findings spent computing the findings on the merged state.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, c) in self.findings_buckets.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = FINDINGS_BUCKETS
                .get(i)
                .map(|b| b.to_string())
                .unwrap_or_else(|| "+Inf".into());
            let _ = writeln!(s, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let micros = self.findings_micros.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_sum {:.6}", micros as f64 / 1e6);
        let _ = writeln!(s, "{name}_count {cumulative}");
    }
}
