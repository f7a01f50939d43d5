//! What happened on the relay, for the office console: one JSON line per event (a sync,
//! a refusal, a roster change, a login, an invitation), appended and synced to disk in
//! `events.jsonl`, and what the console needs of it kept in memory — each device's last
//! sync, address and version, and the recent events for the charts and the audit page.
//!
//! The per-document delivery log (`audit.jsonl`, [`crate::AuditRow`]) stays as it is: it
//! is written before a delivery is acknowledged. This log is written after the fact; a
//! crash may lose its last line, never a document change.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Mutex;

use std::sync::Arc;

use fieldcrm_model::{DeviceKey, Millis, Role, Roster};
use serde::{Deserialize, Serialize};

use crate::relay::{Refusal, Relay};

/// The events file in the data directory.
pub const EVENTS_FILE: &str = "events.jsonl";

/// How many recent events the relay keeps in memory (the rest stay in the file).
const RECENT: usize = 50_000;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A device synced (the session finished).
    Sync,
    /// A device's session failed part way.
    SyncFailed,
    /// Changes or documents a device delivered were refused (one event per session).
    Refused,
    /// A device was refused at the door (not enrolled, revoked, inactive user).
    ConnectionRefused,
    /// A device was added to the roster.
    Enrolled,
    /// A device was revoked.
    Revoked,
    /// A user's role or team changed.
    RoleChanged,
    /// An invitation was created.
    InvitationCreated,
    /// An invitation was used to enrol a device.
    InvitationUsed,
    /// A code was refused (wrong, expired, reused).
    InvitationRefused,
    /// Someone signed in to the console.
    Login,
    /// A console login link was refused.
    LoginRefused,
    /// A backup was taken.
    Backup,
}

impl EventKind {
    /// Every kind, in display order.
    pub const ALL: [EventKind; 13] = [
        EventKind::Sync,
        EventKind::SyncFailed,
        EventKind::Refused,
        EventKind::ConnectionRefused,
        EventKind::Enrolled,
        EventKind::Revoked,
        EventKind::RoleChanged,
        EventKind::InvitationCreated,
        EventKind::InvitationUsed,
        EventKind::InvitationRefused,
        EventKind::Login,
        EventKind::LoginRefused,
        EventKind::Backup,
    ];

    /// The name in the file and in CSV exports.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Sync => "sync",
            EventKind::SyncFailed => "sync_failed",
            EventKind::Refused => "refused",
            EventKind::ConnectionRefused => "connection_refused",
            EventKind::Enrolled => "enrolled",
            EventKind::Revoked => "revoked",
            EventKind::RoleChanged => "role_changed",
            EventKind::InvitationCreated => "invitation_created",
            EventKind::InvitationUsed => "invitation_used",
            EventKind::InvitationRefused => "invitation_refused",
            EventKind::Login => "login",
            EventKind::LoginRefused => "login_refused",
            EventKind::Backup => "backup",
        }
    }

    /// Whether the audit page lists it (syncs are counted in the charts instead).
    pub fn audited(self) -> bool {
        !matches!(self, EventKind::Sync)
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When (UTC ms, the relay's clock).
    pub at_ms: Millis,
    /// What.
    pub kind: EventKind,
    /// The device it is about (hex key), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// That device's user ID, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Who did it (the device that wrote a roster change, the admin who invited), if
    /// not the device itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The client's address, if it came over the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The client's version, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `ws` or `iroh` for sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Bytes received plus sent, for sessions.
    #[serde(default)]
    pub bytes: u64,
    /// Documents received, for sessions.
    #[serde(default)]
    pub docs_in: u64,
    /// Documents sent, for sessions.
    #[serde(default)]
    pub docs_out: u64,
    /// Changes or documents refused, for sessions.
    #[serde(default)]
    pub refused: u64,
    /// What else there is to say (the reasons of a refusal, the old and new role).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Event {
    /// An event of `kind` at `at_ms` with nothing else set.
    pub fn new(kind: EventKind, at_ms: Millis) -> Event {
        Event {
            at_ms,
            kind,
            device: None,
            user: None,
            by: None,
            address: None,
            version: None,
            transport: None,
            bytes: 0,
            docs_in: 0,
            docs_out: 0,
            refused: 0,
            detail: String::new(),
        }
    }
}

/// What the console shows of one device, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSeen {
    /// The last finished sync.
    pub last_sync_ms: Option<Millis>,
    /// The last time it connected at all (a sync, failed or not, or a refusal).
    pub last_seen_ms: Option<Millis>,
    /// The address it last came from.
    pub last_address: Option<String>,
    /// The version it last reported.
    pub version: Option<String>,
    /// Finished syncs.
    pub syncs: u64,
    /// Failed sessions.
    pub failures: u64,
    /// Changes or documents refused, in all its sessions.
    pub refused: u64,
    /// The reasons of the last refusal.
    pub last_refusal: Option<String>,
    /// When it was refused at the door last (revoked, not enrolled).
    pub last_door_refusal_ms: Option<Millis>,
}

#[derive(Default)]
struct State {
    devices: HashMap<String, DeviceSeen>,
    recent: VecDeque<Event>,
    /// Documents delivered by each device, with when (the latest delivery per document):
    /// what another device has not fetched yet is what changed after its last sync.
    delivered: HashMap<String, Millis>,
    /// Per document: who delivered it last.
    delivered_by: HashMap<String, String>,
}

impl State {
    fn fold(&mut self, e: &Event) {
        if let Some(dev) = &e.device {
            let seen = self.devices.entry(dev.clone()).or_default();
            match e.kind {
                EventKind::Sync | EventKind::SyncFailed | EventKind::Refused => {
                    seen.last_seen_ms = seen.last_seen_ms.max(Some(e.at_ms));
                    if e.address.is_some() {
                        seen.last_address.clone_from(&e.address);
                    }
                    if e.version.is_some() {
                        seen.version.clone_from(&e.version);
                    }
                    match e.kind {
                        EventKind::Sync => {
                            seen.last_sync_ms = seen.last_sync_ms.max(Some(e.at_ms));
                            seen.syncs += 1;
                        }
                        EventKind::SyncFailed => seen.failures += 1,
                        _ => {
                            seen.refused += e.refused;
                            seen.last_refusal = Some(e.detail.clone());
                        }
                    }
                }
                EventKind::ConnectionRefused => {
                    seen.last_seen_ms = seen.last_seen_ms.max(Some(e.at_ms));
                    seen.last_door_refusal_ms = Some(e.at_ms);
                    if e.address.is_some() {
                        seen.last_address.clone_from(&e.address);
                    }
                }
                _ => {}
            }
        }
        self.recent.push_back(e.clone());
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }
}

/// The events log and what the console needs of it.
pub(crate) struct Activity {
    file: Mutex<Option<File>>,
    state: Mutex<State>,
}

impl Activity {
    /// Opens (or creates) the log and folds what it holds. Lines that do not parse (a
    /// torn last line after a crash) are skipped.
    pub(crate) fn open(path: &Path) -> std::io::Result<Activity> {
        let mut state = State::default();
        if let Ok(f) = File::open(path) {
            for line in std::io::BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                if let Ok(e) = serde_json::from_str::<Event>(&line) {
                    state.fold(&e);
                }
            }
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        // A torn last line gets its end, so the next event starts on a line of its own.
        if last_byte(path).is_some_and(|b| b != b'\n') {
            file.write_all(b"\n")?;
        }
        Ok(Activity {
            file: Mutex::new(Some(file)),
            state: Mutex::new(state),
        })
    }

    /// Appends events (synced to disk) and folds them. A write error is returned, the
    /// events stay folded in memory.
    pub(crate) fn record(&self, events: &[Event]) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for e in events {
                s.fold(e);
            }
        }
        let mut text = String::new();
        for e in events {
            text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(f) => {
                f.write_all(text.as_bytes())?;
                f.sync_data()
            }
            None => Ok(()),
        }
    }

    /// Folds the delivery log (`audit.jsonl`): which device delivered which document
    /// last, and when, so "waiting" survives a restart. Unreadable lines are skipped.
    pub(crate) fn fold_deliveries(&self, audit: &Path) {
        let Ok(f) = File::open(audit) else { return };
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for line in std::io::BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            if let Ok(row) = serde_json::from_str::<crate::AuditRow>(&line) {
                s.delivered.insert(row.doc.clone(), row.at_ms);
                s.delivered_by.insert(row.doc, row.device);
            }
        }
    }

    /// Notes that `device` delivered `docs` at `at_ms`.
    pub(crate) fn delivered(&self, device: &str, docs: impl Iterator<Item = String>, at: Millis) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for d in docs {
            s.delivered.insert(d.clone(), at);
            s.delivered_by.insert(d, device.to_string());
        }
    }

    /// Each device's folded state.
    pub(crate) fn devices(&self) -> HashMap<String, DeviceSeen> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .devices
            .clone()
    }

    /// Documents other devices delivered after `since` that `readable` lets the device
    /// read: what waits for it at its next sync (counted since this relay started).
    pub(crate) fn waiting_for(
        &self,
        device: &str,
        since: Option<Millis>,
        mut readable: impl FnMut(&str) -> bool,
    ) -> usize {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.delivered
            .iter()
            .filter(|(doc, at)| since.is_none_or(|t| **at > t) && readable(doc))
            .filter(|(doc, _)| s.delivered_by.get(*doc).is_some_and(|by| by != device))
            .count()
    }

    /// The most recent events, newest first, that `keep` accepts, at most `limit`.
    pub(crate) fn recent(&self, limit: usize, keep: impl Fn(&Event) -> bool) -> Vec<Event> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.recent
            .iter()
            .rev()
            .filter(|e| keep(e))
            .take(limit)
            .cloned()
            .collect()
    }
}

fn last_byte(path: &Path) -> Option<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::End(-1)).ok()?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b).ok()?;
    let [b] = b;
    Some(b)
}

/// Who is on the other end of a session.
#[derive(Debug, Clone)]
pub(crate) struct SessionPeer {
    pub(crate) device: DeviceKey,
    pub(crate) user: Option<String>,
    pub(crate) transport: &'static str,
    pub(crate) address: Option<String>,
    pub(crate) version: Option<String>,
}

/// At most this many refusal reasons are kept in one event's detail.
const MAX_REASONS: usize = 5;

impl Relay {
    /// Records an event (the console's log). A write error is counted, never fatal.
    pub fn record_event(&self, event: Event) {
        if self.activity().record(&[event]).is_err() {
            self.metrics().malformed();
        }
    }

    /// The most recent events, newest first.
    pub fn recent_events(&self, limit: usize) -> Vec<Event> {
        self.activity().recent(limit, |_| true)
    }

    /// A finished (or failed) session.
    pub(crate) fn note_session(&self, peer: &SessionPeer, r: &fieldcrm_sync::Report, ok: bool) {
        let at = self.now_ms();
        let mut events = Vec::new();
        let base = |kind| {
            let mut e = Event::new(kind, at);
            e.device = Some(peer.device.to_hex());
            e.user.clone_from(&peer.user);
            e.address.clone_from(&peer.address);
            e.version.clone_from(&peer.version);
            e.transport = Some(peer.transport.to_string());
            e
        };
        let refused = r.refused_here.len() + r.refused_changes.len();
        if refused > 0 {
            let mut e = base(EventKind::Refused);
            e.refused = refused as u64;
            let reasons: Vec<String> = r
                .refused_here
                .iter()
                .map(|(doc, why)| format!("{}: {why}", fieldcrm_model::short_id(doc.as_str())))
                .chain(r.refused_changes.iter().map(|c| c.describe()))
                .take(MAX_REASONS)
                .collect();
            e.detail = reasons.join("; ");
            events.push(e);
        }
        let mut e = base(if ok {
            EventKind::Sync
        } else {
            EventKind::SyncFailed
        });
        e.bytes = r.bytes_received.saturating_add(r.bytes_sent);
        e.docs_in = r.docs_saved;
        e.docs_out = r.docs_sent;
        e.refused = refused as u64;
        events.push(e);
        if self.activity().record(&events).is_err() {
            self.metrics().malformed();
        }
    }

    /// A device refused at the door.
    pub(crate) fn note_door_refusal(
        &self,
        device: &DeviceKey,
        why: &Refusal,
        address: Option<String>,
    ) {
        let mut e = Event::new(EventKind::ConnectionRefused, self.now_ms());
        e.device = Some(device.to_hex());
        e.address = address;
        e.detail = why.to_string();
        self.record_event(e);
    }

    /// Documents a device delivered and durably saved; `roster` holds the roster before
    /// the save and the authors of the delivered roster changes, when the roster was
    /// among them.
    pub(crate) fn note_saved(
        &self,
        device: &DeviceKey,
        docs: impl Iterator<Item = String>,
        roster: Option<(Option<Arc<Roster>>, Vec<String>)>,
        at: Millis,
    ) {
        self.activity().delivered(&device.to_hex(), docs, at);
        let Some((before, authors)) = roster else {
            return;
        };
        let Ok(Some(after)) = self.roster() else {
            return;
        };
        let by = if authors.is_empty() {
            device.to_hex()
        } else {
            authors.join(",")
        };
        let events: Vec<Event> = roster_events(before.as_deref(), &after, at)
            .into_iter()
            .map(|mut e| {
                e.by = Some(by.clone());
                e
            })
            .collect();
        if self.activity().record(&events).is_err() {
            self.metrics().malformed();
        }
    }
}

/// The roster changes between two rosters, as events (`by` left for the caller).
pub fn roster_events(old: Option<&Roster>, new: &Roster, at_ms: Millis) -> Vec<Event> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    let old_devices = old.map_or(&empty, |r| &r.devices);
    for (key, d) in &new.devices {
        match old_devices.get(key) {
            None => {
                let mut e = Event::new(EventKind::Enrolled, at_ms);
                e.device = Some(key.clone());
                e.user = Some(d.user.clone());
                e.detail = d.label.clone();
                out.push(e);
            }
            Some(o) if o.revoked_at.is_none() && d.revoked_at.is_some() => {
                let mut e = Event::new(EventKind::Revoked, at_ms);
                e.device = Some(key.clone());
                e.user = Some(d.user.clone());
                out.push(e);
            }
            Some(_) => {}
        }
    }
    if let Some(old) = old {
        for (id, u) in &new.users {
            if let Some(o) = old.users.get(id)
                && (o.role != u.role || o.team != u.team || o.active != u.active)
            {
                let mut e = Event::new(EventKind::RoleChanged, at_ms);
                e.user = Some(id.clone());
                e.detail = format!(
                    "{} {} → {} {}{}",
                    role_code(&o.role),
                    o.team.as_deref().unwrap_or("-"),
                    role_code(&u.role),
                    u.team.as_deref().unwrap_or("-"),
                    if o.active && !u.active {
                        " (deactivated)"
                    } else if !o.active && u.active {
                        " (reactivated)"
                    } else {
                        ""
                    }
                );
                out.push(e);
            }
        }
    }
    out
}

fn role_code(r: &Role) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{r:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_skipped_and_the_rest_folds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let a = Activity::open(&path).unwrap();
        let mut e = Event::new(EventKind::Sync, 1_000);
        e.device = Some("aa".into());
        e.address = Some("127.0.0.1:5".into());
        a.record(&[e.clone()]).unwrap();
        drop(a);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"at_ms\":2000,\"ki").unwrap();
        let a = Activity::open(&path).unwrap();
        let seen = a.devices();
        let d = seen.get("aa").unwrap();
        assert_eq!(d.last_sync_ms, Some(1_000));
        assert_eq!(d.last_address.as_deref(), Some("127.0.0.1:5"));
        assert_eq!(a.recent(10, |_| true), vec![e.clone()]);
        let mut later = Event::new(EventKind::Login, 3_000);
        later.user = Some("u".into());
        a.record(&[later.clone()]).unwrap();
        drop(a);
        let a = Activity::open(&path).unwrap();
        assert_eq!(a.recent(10, |_| true), vec![later, e]);
    }
}
