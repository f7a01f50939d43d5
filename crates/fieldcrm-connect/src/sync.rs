//! Syncing this device: with the office relay (WebSocket URL or the relay's iroh ticket,
//! usually a saved remote) or directly with a peer (the ticket its `serve` shows), then
//! the after-sync steps. Also `join URL` and the roster push after an enrollment.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fieldcrm_model::{DeviceKey, DocId, Millis, short_id};
use fieldcrm_net::ws::{OUT_OF_SCOPE, close, is_relay_url};
use fieldcrm_net::{
    DEFAULT_BIND_ADDR, DriveError, Endpoint, FrameTransport, TICKET_PREFIX, Ticket, WsConfig,
    WsError, connect, connect_ws, drive, relay_workspace,
};
use fieldcrm_sync::{ALPN, Report, SessionRole};
use fieldcrm_workspace::{AfterSync, Joined, PeerSession, Workspace};

use crate::busy;
use crate::remotes::{DEFAULT_REMOTE, check_remote_url, find, remotes};
use crate::{Error, Result};

/// Told how a running session is going (after every received frame). Any
/// `FnMut(&Report)` is one; [`NoProgress`] ignores it.
pub trait Progress {
    /// The session's counters so far.
    fn update(&mut self, report: &Report);
}

impl<F: FnMut(&Report)> Progress for F {
    fn update(&mut self, report: &Report) {
        self(report)
    }
}

/// A [`Progress`] that ignores updates.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _: &Report) {}
}

/// Who this device synced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counterpart {
    /// The office relay at this URL (or iroh ticket).
    Relay {
        /// As given or saved.
        url: String,
    },
    /// A peer device.
    Device {
        /// Its key.
        key: DeviceKey,
        /// Its user's name, when the roster knows it.
        user: Option<String>,
    },
}

impl Counterpart {
    fn device(ws: &Workspace, key: DeviceKey) -> Self {
        Counterpart::Device {
            key,
            user: ws.peer_user(&key).ok().map(|(_, u)| u.name),
        }
    }
}

impl std::fmt::Display for Counterpart {
    /// `relay ws://…` (at most 40 characters of the URL), `小张 (1a2b3c4d)` or
    /// `device 1a2b3c4d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Counterpart::Relay { url } => {
                let shown: String = url.chars().take(40).collect();
                write!(f, "relay {shown}")
            }
            Counterpart::Device {
                key,
                user: Some(name),
            } => write!(f, "{name} ({})", short_id(&key.to_hex())),
            Counterpart::Device { key, user: None } => {
                write!(f, "device {}", short_id(&key.to_hex()))
            }
        }
    }
}

/// What a finished sync did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The other side.
    pub with: Counterpart,
    /// The session's counters and refusals.
    pub report: Report,
    /// How long the session took.
    pub elapsed: Duration,
    /// Set on a just-joined device's first sync: as whom it now acts.
    pub joined_as: Option<Joined>,
    /// What ran after the sync (scope clean-up, carry-over).
    pub after: AfterSync,
    /// How many times the relay turned this device away as busy before the sync got in
    /// (it waited and tried again: `busy.rs`); 0 for a direct sync.
    pub busy_retries: u32,
}

impl SyncOutcome {
    /// Everything refused in this sync, one line each: changes this side refused,
    /// documents or changes the other side refused (except documents it no longer
    /// shares with this user, which are removed here, not errors), changes removed
    /// after a first sync. Empty when everything went through.
    pub fn refusals(&self) -> Vec<String> {
        let r = &self.report;
        let mut out: Vec<String> = r
            .refused_changes
            .iter()
            .map(|c| format!("refused here: document {} {}", c.doc.short(), c.describe()))
            .collect();
        out.extend(
            r.refused_here
                .iter()
                .map(|(id, why)| format!("refused here: document {} — {why}", id.short())),
        );
        out.extend(
            r.refused_by_peer
                .iter()
                .filter(|(_, why)| !why.starts_with(OUT_OF_SCOPE))
                .map(|(id, why)| {
                    format!("refused by the other side: document {} — {why}", id.short())
                }),
        );
        out.extend(self.after.removed_changes.iter().cloned());
        out
    }
}

/// Where `sync` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The office relay: a `ws://` / `wss://` URL, or the relay's iroh ticket saved as a
    /// remote.
    Relay(String),
    /// A peer device's ticket (direct sync).
    Peer(Ticket),
}

/// The documents the relay refused as out of this device's scope (a reassigned
/// customer): the device deletes its copies.
pub fn refused_out_of_scope(report: &Report) -> Vec<DocId> {
    report
        .refused_by_peer
        .iter()
        .filter(|(_, why)| why.starts_with(OUT_OF_SCOPE))
        .map(|(id, _)| id.clone())
        .collect()
}

/// The relay URL for a target: a `ws://` URL, a saved remote's name, or nothing (remote
/// `office`, or the only remote).
pub(crate) fn relay_url(ws: &Workspace, target: Option<&str>) -> Result<String> {
    match target.map(str::trim) {
        Some(t) if is_relay_url(t) => Ok(t.to_string()),
        Some(t) => find(ws, t)?.ok_or_else(|| Error::UnknownTarget(t.to_string())),
        None => {
            let mut all = remotes(ws)?;
            if let Some(r) = all.iter().find(|r| r.name == DEFAULT_REMOTE) {
                return Ok(r.url.clone());
            }
            match (all.pop(), all.is_empty()) {
                (Some(only), true) => Ok(only.url),
                _ => Err(Error::NoRemote),
            }
        }
    }
}

/// What `sync [TARGET]` means: a peer's ticket (`fieldcrm1…`), a relay URL, a saved
/// remote's name, or nothing (remote `office`, or the only remote).
pub fn resolve_target(ws: &Workspace, target: Option<&str>) -> Result<Target> {
    match target.map(str::trim) {
        Some(t) if t.starts_with(TICKET_PREFIX) => {
            Ok(Target::Peer(t.parse().map_err(Error::BadTicket)?))
        }
        other => Ok(Target::Relay(relay_url(ws, other)?)),
    }
}

/// `sync [TARGET]` ([`resolve_target`]), then the after-sync steps at `now`. `bind` is the
/// local UDP address for a direct sync.
pub async fn sync<P: Progress>(
    ws: &Workspace,
    target: Option<&str>,
    bind: SocketAddr,
    now: Millis,
    progress: &mut P,
) -> Result<SyncOutcome> {
    match resolve_target(ws, target)? {
        Target::Peer(ticket) => sync_peer(ws, &ticket, bind, now, progress).await,
        Target::Relay(url) => sync_relay(ws, &url, now, progress).await,
    }
}

async fn drive_session<T: FrameTransport, P: Progress>(
    ws: &Workspace,
    conn: &mut T,
    session: &mut PeerSession,
    progress: &mut P,
) -> std::result::Result<Report, DriveError> {
    let mut host = ws.sync_host();
    drive(conn, session, &mut host, |r| progress.update(r)).await?;
    Ok(session.report().clone())
}

fn refusal(ws: &Workspace, url: &str, e: WsError) -> Error {
    match &e {
        WsError::Refused { code, .. } if *code == close::NOT_ENROLLED => Error::NotEnrolled {
            device: ws.device(),
            refusal: e,
        },
        WsError::Refused { code, .. } if *code == close::REVOKED => Error::Revoked { refusal: e },
        _ => Error::Relay {
            url: url.to_string(),
            source: e,
        },
    }
}

/// The device's own spread of its waits for a busy relay: its key's first 8 bytes.
fn seed(device: &DeviceKey) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = device.0;
    u64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// One session with the relay at `url`; the times it said busy first are added to `busy`.
async fn relay_once<P: Progress>(
    ws: &Workspace,
    url: &str,
    progress: &mut P,
    busy: &mut u32,
) -> Result<Report> {
    let failed = |source| Error::Session {
        with: format!("the relay at {url}"),
        source,
    };
    let report = if url.starts_with(TICKET_PREFIX) {
        // The relay's iroh face: the endpoint ID is authenticated by QUIC itself.
        let ticket: Ticket = url.parse().map_err(Error::BadTicket)?;
        let endpoint = Endpoint::bind(&ws.secret().to_bytes(), DEFAULT_BIND_ADDR)
            .await
            .map_err(|e| Error::Bind(Box::new(e)))?;
        let result = async {
            let mut conn = connect(&endpoint, &ticket, ALPN)
                .await
                .map_err(|e| Error::ReachRelay(Box::new(e)))?;
            let mut session = ws.relay_session_to(url)?;
            let report = drive_session(ws, &mut conn, &mut session, progress)
                .await
                .map_err(failed)?;
            let _ = conn.finish().await;
            Ok::<_, Error>(report)
        }
        .await;
        endpoint.close().await;
        result?
    } else {
        // A relay that is busy now is tried again for a while (busy.rs).
        let config = WsConfig::default();
        let (turned_away, conn) = busy::patiently(busy::PATIENCE, seed(&ws.device()), || {
            let secret = ws.secret().clone();
            connect_ws(
                url,
                ws.device(),
                ws.workspace_id(),
                move |m| secret.sign(m),
                &config,
            )
        })
        .await;
        *busy = busy.saturating_add(turned_away);
        let mut conn = conn.map_err(|e| refusal(ws, url, e))?;
        let mut session = ws.relay_session_to(url)?;
        let report = drive_session(ws, &mut conn, &mut session, progress)
            .await
            .map_err(failed)?;
        let _ = conn.finish().await;
        report
    };
    Ok(report)
}

/// The roster's heads now (empty without a roster).
fn roster_heads(ws: &Workspace) -> Result<Vec<String>> {
    let id = DocId::workspace(&fieldcrm_model::DocKind::Roster);
    Ok(ws
        .store()
        .heads(&id)
        .map_err(|e| fieldcrm_workspace::Error::from(fieldcrm_store::Error::from(e)))?
        .unwrap_or_default()
        .iter()
        .map(|h| h.to_string())
        .collect())
}

/// A session judges changes against the roster it started with: when it brought a new
/// roster and refused changes, one more session judges them against the new one (a
/// device enrolled in the same sync as its first changes arrive).
fn needs_second_pass(ws: &Workspace, report: &Report, roster_before: &[String]) -> Result<bool> {
    Ok(!report.refused_changes.is_empty() && roster_heads(ws)? != roster_before)
}

/// The report of two sessions in a row: the second's refusals (it judged again what the
/// first refused), both sessions' counters.
fn combine(first: Report, mut second: Report) -> Report {
    second.messages_sent += first.messages_sent;
    second.messages_received += first.messages_received;
    second.bytes_sent += first.bytes_sent;
    second.bytes_received += first.bytes_received;
    second.turns_sent += first.turns_sent;
    second.docs_sent += first.docs_sent;
    second.automerge_bytes_sent += first.automerge_bytes_sent;
    second.docs_saved += first.docs_saved;
    second.docs_acked += first.docs_acked;
    second
}

/// Sync with the office relay at `url` (a `ws://` / `wss://` URL, or the relay's iroh
/// ticket), then run the after-sync steps at `now`; documents the relay refused as out of
/// scope are deleted too.
pub async fn sync_relay<P: Progress>(
    ws: &Workspace,
    url: &str,
    now: Millis,
    progress: &mut P,
) -> Result<SyncOutcome> {
    let started = Instant::now();
    // This user's customer claims go out with the sync (see fieldcrm-workspace claims.rs).
    ws.before_sync(now).map_err(Error::BeforeSync)?;
    let had_roster = ws.has_roster()?;
    let before = roster_heads(ws)?;
    let mut busy = 0;
    let mut report = relay_once(ws, url, progress, &mut busy).await?;
    if needs_second_pass(ws, &report, &before)? {
        let second = relay_once(ws, url, progress, &mut busy).await?;
        report = combine(report, second);
    }
    // What the relay now holds, for the count of changes waiting to go (fieldcrm-workspace
    // pending.rs): everything here except what it refused or what was too large to send.
    ws.note_synced(url, &not_acked(&report))
        .map_err(Error::AfterSync)?;
    let refused = refused_out_of_scope(&report);
    let mut outcome = finish(
        ws,
        Counterpart::Relay {
            url: url.to_string(),
        },
        report,
        started.elapsed(),
        had_roster,
        &refused,
        now,
    )?;
    outcome.busy_retries = busy;
    Ok(outcome)
}

/// The documents a finished session leaves the peer without: those it refused and
/// those too large to send.
pub(crate) fn not_acked(report: &Report) -> Vec<DocId> {
    (report.refused_by_peer.iter().map(|(id, _)| id.clone()))
        .chain(report.too_large.iter().map(|(id, _)| id.clone()))
        .collect()
}

fn finish(
    ws: &Workspace,
    with: Counterpart,
    report: Report,
    elapsed: Duration,
    had_roster: bool,
    refused: &[DocId],
    now: Millis,
) -> Result<SyncOutcome> {
    let joined_as = ws.joined(had_roster)?;
    let after = ws.after_sync(refused, now).map_err(Error::AfterSync)?;
    Ok(SyncOutcome {
        with,
        report,
        elapsed,
        joined_as,
        after,
        busy_retries: 0,
    })
}

/// Sync directly with the peer device in `ticket` (its `serve`), binding `bind` locally,
/// then run the after-sync steps at `now`. (A peer's refusals delete nothing here; only
/// the roster's read scope does.)
pub async fn sync_peer<P: Progress>(
    ws: &Workspace,
    ticket: &Ticket,
    bind: SocketAddr,
    now: Millis,
    progress: &mut P,
) -> Result<SyncOutcome> {
    let device = ticket.device_key();
    ws.before_sync(now).map_err(Error::BeforeSync)?;
    let endpoint = Endpoint::bind(&ws.secret().to_bytes(), bind)
        .await
        .map_err(|e| Error::Bind(Box::new(e)))?;
    let result = async {
        let conn = connect(&endpoint, ticket, ALPN)
            .await
            .map_err(|e| Error::ReachDevice {
                device,
                source: Box::new(e),
            })?;
        let had_roster = ws.has_roster()?;
        let before = roster_heads(ws)?;
        let started = Instant::now();
        let mut report = Report::default();
        let mut first = Some(conn);
        for pass in 0..2 {
            let mut conn = match first.take() {
                Some(c) => c,
                None if needs_second_pass(ws, &report, &before)? => {
                    connect(&endpoint, ticket, ALPN)
                        .await
                        .map_err(|e| Error::ReachDevice {
                            device,
                            source: Box::new(e),
                        })?
                }
                None => break,
            };
            let mut session = ws.sync_session(SessionRole::Initiator, &conn.peer())?;
            let this = drive_session(ws, &mut conn, &mut session, progress)
                .await
                .map_err(|source| Error::Session {
                    with: format!("device {}", short_id(&device.to_hex())),
                    source,
                })?;
            conn.finish()
                .await
                .map_err(|e| Error::Finish(e.to_string()))?;
            report = if pass == 0 {
                this
            } else {
                combine(report, this)
            };
        }
        let elapsed = started.elapsed();
        Ok::<_, Error>((report, elapsed, had_roster))
    }
    .await;
    endpoint.close().await;
    let (report, elapsed, had_roster) = result?;
    // What the peer now holds, so that the next session with it names only what changes
    // after this one.
    ws.note_synced(
        &fieldcrm_workspace::peer_remote(&device),
        &not_acked(&report),
    )
    .map_err(Error::AfterSync)?;
    finish(
        ws,
        Counterpart::device(ws, device),
        report,
        elapsed,
        had_roster,
        &[],
        now,
    )
}

/// A device prepared by [`join_relay`].
#[derive(Debug)]
pub struct JoinedRelay {
    /// The new workspace (no roster yet: an admin enrolls the device, then it syncs).
    pub ws: Workspace,
    /// The relay, saved as remote [`JoinedRelay::remote`].
    pub url: String,
    /// The remote's name ([`DEFAULT_REMOTE`]).
    pub remote: &'static str,
}

/// `join URL`: ask the relay which workspace it serves, prepare this device for it in
/// `home` and save the relay as remote [`DEFAULT_REMOTE`].
pub async fn join_relay(home: &Path, url: &str) -> Result<JoinedRelay> {
    let url = check_remote_url(url)?;
    let workspace = relay_workspace(&url, &WsConfig::default())
        .await
        .map_err(|source| Error::AskWorkspace {
            url: url.clone(),
            source,
        })?;
    let ws = Workspace::join(home, &workspace).map_err(|source| Error::Prepare {
        home: home.to_path_buf(),
        source,
    })?;
    crate::remotes::save(&ws, DEFAULT_REMOTE, &url)?;
    Ok(JoinedRelay {
        ws,
        url,
        remote: DEFAULT_REMOTE,
    })
}

/// After an enrollment or revocation: if remote [`DEFAULT_REMOTE`] is saved, sync with it
/// now so the relay's roster (which decides who may connect) changes at once. `None`
/// when there is no such remote.
pub async fn push_roster<P: Progress>(
    ws: &Workspace,
    now: Millis,
    progress: &mut P,
) -> Result<Option<SyncOutcome>> {
    match find(ws, DEFAULT_REMOTE)? {
        Some(url) => sync_relay(ws, &url, now, progress).await.map(Some),
        None => Ok(None),
    }
}
