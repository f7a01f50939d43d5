//! Counters, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::relay::Refusal;

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    sessions_ws: AtomicU64,
    sessions_iroh: AtomicU64,
    sessions_ok: AtomicU64,
    sessions_failed: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    docs_saved: AtomicU64,
    docs_sent: AtomicU64,
    refused_not_enrolled: AtomicU64,
    refused_revoked: AtomicU64,
    refused_signature: AtomicU64,
    refused_busy: AtomicU64,
    refused_scope: AtomicU64,
    malformed: AtomicU64,
    conn_refused: [AtomicU64; ConnRefusal::ALL.len()],
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

/// Gauges of the relay's connections, rendered with the counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gauges {
    pub(crate) sessions: usize,
    pub(crate) documents: usize,
    pub(crate) audit_rows: u64,
    pub(crate) connections: usize,
    pub(crate) preauth: usize,
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

    pub(crate) fn session_ended(&self, r: &fieldcrm_sync::Report, ok: bool) {
        add(
            if ok {
                &self.sessions_ok
            } else {
                &self.sessions_failed
            },
            1,
        );
        add(&self.bytes_in, r.bytes_received);
        add(&self.bytes_out, r.bytes_sent);
        add(&self.docs_sent, r.docs_sent);
        add(&self.refused_scope, r.refused_here.len() as u64);
    }

    /// Refusals of any kind so far (devices and documents).
    pub fn refusals(&self) -> u64 {
        [
            &self.refused_not_enrolled,
            &self.refused_revoked,
            &self.refused_signature,
            &self.refused_busy,
            &self.refused_scope,
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
            connections,
            preauth,
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
        metric(
            "fieldcrm_relay_sessions_ended_total",
            "counter",
            "Sync sessions ended, by outcome.",
            &[
                ("{outcome=\"ok\"}", g(&self.sessions_ok)),
                ("{outcome=\"failed\"}", g(&self.sessions_failed)),
            ],
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
        s
    }
}
