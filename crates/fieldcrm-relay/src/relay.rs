//! The relay's state: its store, the roster it trusts, the audit log and the counters;
//! device authorization and the scope and host of each session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use fieldcrm_model::{DeviceKey, DocId, DocKind, Document, Millis, Roster, short_id};
use fieldcrm_store::Store;
use fieldcrm_sync::scope::RosterScope;
use fieldcrm_sync::{HostError, Session, SessionRole};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::activity::{Activity, EVENTS_FILE};
use crate::audit::Audit;
use crate::config::Config;
use crate::host::ScopeKind;
pub use crate::host::{RelayHost, RelayScope};
use crate::log::RefusalLog;
use crate::metrics::{ConnRefusal, Gauges, Metrics};

/// File name of the relay's store inside the data directory.
pub const STORE_FILE: &str = "relay.redb";
/// File name of the audit log inside the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

pub(crate) const META_WORKSPACE: &str = "relay.workspace_id";
const META_ADMIN: &str = "relay.admin_device";
const META_IROH_SECRET: &str = "relay.iroh_secret";
/// UTC ms of the last backup that succeeded.
pub(crate) const META_LAST_BACKUP: &str = "relay.last_backup_ms";

/// Opening or initializing the relay failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// `init` on a data directory that already holds a relay.
    #[error("{0} already holds a relay store")]
    AlreadyInitialised(PathBuf),
    /// `serve` on a data directory without a relay.
    #[error("{0} holds no relay store: run `fieldcrm-relay init` first")]
    NotInitialised(PathBuf),
    /// Another process (a running relay) has the store open.
    #[error("{0} is in use by another process (is the relay running?)")]
    InUse(PathBuf),
    /// A workspace ID that is not 32 hex characters.
    #[error("`{0}` is not a workspace ID (32 hex characters)")]
    BadWorkspace(String),
    /// The store failed.
    #[error("relay store: {0}")]
    Store(String),
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn store_err(e: impl std::fmt::Display) -> RelayError {
    RelayError::Store(e.to_string())
}

/// Why a device is turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Not in the roster (or, before the roster arrived, not the admin device).
    #[error("device {0} is not enrolled in this workspace")]
    NotEnrolled(String),
    /// Revoked in the roster.
    #[error("device {0} has been revoked")]
    Revoked(String),
    /// Its user is deactivated.
    #[error("the user of device {0} is deactivated")]
    Inactive(String),
    /// The signature over the challenge does not verify.
    #[error("the challenge signature does not match device {0}")]
    BadSignature(String),
    /// The relay cannot read its roster.
    #[error("the relay cannot read its roster: {0}")]
    Roster(String),
}

/// What an authorized device may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The relay has no roster yet and this is the admin device named at `init`: it
    /// uploads the workspace and receives nothing.
    Bootstrap,
    /// An enrolled device of `user`.
    Device {
        /// The user ID in the roster.
        user: String,
    },
}

/// The office relay. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    workspace_id: String,
    admin: DeviceKey,
    iroh_secret: [u8; 32],
    config: Config,
    audit: Audit,
    activity: Activity,
    console_sessions: crate::console::Sessions,
    metrics: Metrics,
    refusal_log: RefusalLog,
    /// Held while a backup is written: one at a time.
    backup_lock: Mutex<()>,
    roster: Mutex<Option<(Vec<ChangeHash>, Arc<Roster>)>>,
    sessions: Arc<Semaphore>,
    /// Sessions whose store work runs at once (`limits.store_jobs`): each holds a
    /// message's documents in memory while it runs.
    store_jobs: Semaphore,
    active: AtomicUsize,
    preauth: Mutex<PreAuthCounts>,
    connections: Arc<Semaphore>,
    open_connections: AtomicUsize,
    stopping: AtomicBool,
    hard_stop: watch::Sender<bool>,
    clock: fn() -> i64,
    /// Nonces of signed HTTP requests seen within the freshness window, with their time;
    /// and the time this relay started: a request signed before it started could be a
    /// replay of one this process never saw, so it is refused.
    nonces: Mutex<(Millis, std::collections::HashMap<String, Millis>)>,
    /// The rules' findings on the merged state, kept between requests and brought up to
    /// date by the documents each sync changed.
    live: fieldcrm_workspace::LiveCheck,
    /// What each user's sessions share (by user ID), kept between sessions and brought
    /// up to date from the store's change log.
    shared: Mutex<SharedMap>,
    /// Where each device's last finished session left it, to name what changed since
    /// in its next one (`host.rs`). Lost at restart: the ranges then find everything.
    synced: Mutex<crate::host::SyncedMap>,
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Unauthenticated WebSocket connections, in total and per address.
#[derive(Default)]
struct PreAuthCounts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// An unauthenticated WebSocket connection's slot (see `limits.max_preauth*`): counted
/// while alive; dropped once the device is authenticated or turned away.
pub(crate) struct PreAuthSlot {
    relay: Relay,
    ip: IpAddr,
}

impl Drop for PreAuthSlot {
    fn drop(&mut self) {
        let mut c = self
            .relay
            .inner
            .preauth
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// An open TCP connection's slot (see `limits.max_connections`).
pub(crate) struct ConnSlot {
    relay: Relay,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.relay
            .inner
            .open_connections
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running session's slot: counted while alive.
pub struct SessionSlot {
    relay: Relay,
    _permit: OwnedSemaphorePermit,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.relay.inner.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Relay {
    /// Creates the relay store in `data_dir` for `workspace_id`, trusting the roster that
    /// `admin` uploads first.
    pub fn init(data_dir: &Path, workspace_id: &str, admin: DeviceKey) -> Result<(), RelayError> {
        let ws = workspace_id.trim().to_ascii_lowercase();
        if ws.len() != 32 || !ws.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RelayError::BadWorkspace(workspace_id.into()));
        }
        let path = data_dir.join(STORE_FILE);
        if path.exists() {
            return Err(RelayError::AlreadyInitialised(path));
        }
        std::fs::create_dir_all(data_dir).map_err(|source| RelayError::Io {
            path: data_dir.into(),
            source,
        })?;
        let store = Store::create(&path).map_err(store_err)?;
        let secret: [u8; 32] = rand::random();
        store.set_meta_str(META_WORKSPACE, &ws).map_err(store_err)?;
        store
            .set_meta_str(META_ADMIN, &admin.to_hex())
            .map_err(store_err)?;
        store
            .set_meta(META_IROH_SECRET, &secret)
            .map_err(store_err)?;
        Ok(())
    }

    /// Opens the relay of `config.data_dir`.
    pub fn open(config: Config) -> Result<Relay, RelayError> {
        let path = config.data_dir.join(STORE_FILE);
        if !path.exists() {
            return Err(RelayError::NotInitialised(config.data_dir.clone()));
        }
        let store = Store::open(&path).map_err(|e| match e {
            fieldcrm_store::OpenError::InUse { path } => RelayError::InUse(path),
            e => store_err(e),
        })?;
        let meta = |k: &str| -> Result<String, RelayError> {
            store
                .get_meta_str(k)
                .map_err(store_err)?
                .ok_or_else(|| RelayError::Store(format!("meta `{k}` missing")))
        };
        let workspace_id = meta(META_WORKSPACE)?;
        let admin: DeviceKey = meta(META_ADMIN)?
            .parse()
            .map_err(|e| RelayError::Store(format!("admin device: {e}")))?;
        let iroh_secret: [u8; 32] = store
            .get_meta(META_IROH_SECRET)
            .map_err(store_err)?
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| RelayError::Store("iroh secret missing".into()))?;
        let audit_path = config.data_dir.join(AUDIT_FILE);
        let audit = Audit::open(&audit_path).map_err(|source| RelayError::Io {
            path: audit_path,
            source,
        })?;
        let events_path = config.data_dir.join(EVENTS_FILE);
        let activity = Activity::open(&events_path).map_err(|source| RelayError::Io {
            path: events_path,
            source,
        })?;
        activity.fold_deliveries(&config.data_dir.join(AUDIT_FILE));
        let (hard_stop, _) = watch::channel(false);
        Ok(Relay {
            inner: Arc::new(Inner {
                store,
                workspace_id,
                admin,
                iroh_secret,
                sessions: Arc::new(Semaphore::new(config.limits.max_sessions)),
                store_jobs: Semaphore::new(config.store_jobs()),
                preauth: Mutex::new(PreAuthCounts::default()),
                connections: Arc::new(Semaphore::new(config.limits.max_connections)),
                open_connections: AtomicUsize::new(0),
                config,
                audit,
                activity,
                console_sessions: crate::console::Sessions::default(),
                metrics: Metrics::default(),
                refusal_log: RefusalLog::default(),
                backup_lock: Mutex::new(()),
                roster: Mutex::new(None),
                active: AtomicUsize::new(0),
                stopping: AtomicBool::new(false),
                hard_stop,
                clock: wall_clock_ms,
                nonces: Mutex::new((wall_clock_ms(), std::collections::HashMap::new())),
                live: fieldcrm_workspace::LiveCheck::new(),
                shared: Mutex::new(std::collections::HashMap::new()),
                synced: Mutex::new(std::collections::HashMap::new()),
            }),
        })
    }

    /// The workspace this relay serves.
    pub fn workspace_id(&self) -> &str {
        &self.inner.workspace_id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The secret key of the relay's iroh endpoint.
    pub fn iroh_secret(&self) -> [u8; 32] {
        self.inner.iroh_secret
    }

    /// The events log (the console's source).
    pub(crate) fn activity(&self) -> &Activity {
        &self.inner.activity
    }

    /// The office console's signed-in sessions.
    pub(crate) fn console_sessions(&self) -> &crate::console::Sessions {
        &self.inner.console_sessions
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Every finding on the merged state at `now`, with its life: only the documents
    /// changed since the last call are read and re-evaluated, and no snapshot is kept
    /// that is not read again (see `fieldcrm_workspace::LiveCheck`).
    pub(crate) fn checked(
        &self,
        now: Millis,
    ) -> fieldcrm_workspace::Result<Arc<Vec<fieldcrm_policy::Tracked>>> {
        self.inner.live.tracked(&self.inner.store, now)
    }

    /// The store (read-only use: tests, tools).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn audit(&self) -> &Audit {
        &self.inner.audit
    }

    pub(crate) fn refusal_log(&self) -> &RefusalLog {
        &self.inner.refusal_log
    }

    /// Taken while a backup is written.
    pub(crate) fn backup_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .backup_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A device was refused: counted, and logged (rate-limited).
    pub(crate) fn log_refusal(
        &self,
        refusal: &Refusal,
        device: &DeviceKey,
        transport: &str,
        peer: Option<&str>,
    ) {
        self.inner
            .refusal_log
            .device(refusal, device, transport, peer);
    }

    /// The display name of a user in the roster the relay holds.
    pub(crate) fn user_name(&self, user: &str) -> Option<String> {
        let roster = self.roster().ok().flatten()?;
        roster.users.get(user).map(|u| u.name.clone())
    }

    /// The roster the relay holds, if the admin has uploaded it.
    pub fn roster(&self) -> Result<Option<Arc<Roster>>, String> {
        let id = DocId::workspace(&DocKind::Roster);
        let Some(heads) = self.inner.store.heads(&id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut cache = self.inner.roster.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((h, r)) = cache.as_ref()
            && *h == heads
        {
            return Ok(Some(r.clone()));
        }
        let bytes = self
            .inner
            .store
            .load_bytes(&id)
            .map_err(|e| e.to_string())?;
        let doc = Document::load(id, &bytes, &self.inner.admin).map_err(|e| e.to_string())?;
        let roster: Roster = doc.hydrate().map_err(|e| e.to_string())?;
        let roster = Arc::new(roster);
        *cache = Some((heads, roster.clone()));
        Ok(Some(roster))
    }

    /// Whether `device` may connect, and as what. Decided from the roster the relay holds
    /// (before it holds one, only the admin device named at `init` may connect).
    pub fn authorize(&self, device: &DeviceKey) -> Result<Access, Refusal> {
        let short = short_id(&device.to_hex()).to_string();
        let result = match self.roster().map_err(Refusal::Roster)? {
            None if *device == self.inner.admin => Ok(Access::Bootstrap),
            None => Err(Refusal::NotEnrolled(short)),
            Some(roster) => match roster.devices.get(&device.to_hex()) {
                None => Err(Refusal::NotEnrolled(short)),
                Some(d) if d.revoked_at.is_some() => Err(Refusal::Revoked(short)),
                Some(d) => match roster.users.get(&d.user) {
                    Some(u) if u.active => Ok(Access::Device {
                        user: d.user.clone(),
                    }),
                    _ => Err(Refusal::Inactive(short)),
                },
            },
        };
        if let Err(r) = &result {
            self.inner.metrics.refused(r);
        }
        result
    }

    /// Record a signed request's nonce; `false` if it was seen before (a replay) or the
    /// request was signed before this relay started. Entries older than the freshness
    /// window are dropped, so the set stays bounded by the request rate.
    pub(crate) fn first_use_of_nonce(&self, nonce: &str, at_ms: Millis, now: Millis) -> bool {
        let Ok(mut guard) = self.inner.nonces.lock() else {
            return false;
        };
        let (started, seen) = &mut *guard;
        if at_ms < *started - crate::findings::MAX_SKEW_MS.min(1_000) {
            return false;
        }
        let window = 2 * crate::findings::MAX_SKEW_MS;
        seen.retain(|_, t| now.saturating_sub(*t) <= window);
        seen.insert(nonce.to_string(), at_ms).is_none()
    }

    /// The relay's clock (UTC ms), read at the edge for audit rows and findings requests.
    pub fn now_ms(&self) -> i64 {
        (self.inner.clock)()
    }

    /// Takes a session slot, or `None` when `max_sessions` run or the relay is stopping.
    pub fn try_session(&self) -> Option<SessionSlot> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            return None;
        }
        match self.inner.sessions.clone().try_acquire_owned() {
            Ok(permit) => {
                self.inner.active.fetch_add(1, Ordering::SeqCst);
                Some(SessionSlot {
                    relay: self.clone(),
                    _permit: permit,
                })
            }
            Err(_) => {
                self.inner.metrics.busy();
                None
            }
        }
    }

    /// Takes a slot for an unauthenticated WebSocket from `ip`, or says which cap is full.
    pub(crate) fn try_preauth(&self, ip: IpAddr) -> Result<PreAuthSlot, ConnRefusal> {
        let ip = ip.to_canonical();
        let limits = &self.inner.config.limits;
        let mut c = self.inner.preauth.lock().unwrap_or_else(|p| p.into_inner());
        let refusal = if c.total >= limits.max_preauth {
            Some(ConnRefusal::PreauthTotal)
        } else if c.per_ip.get(&ip).copied().unwrap_or(0) >= limits.max_preauth_per_ip {
            Some(ConnRefusal::PreauthPerIp)
        } else {
            None
        };
        if let Some(r) = refusal {
            drop(c);
            self.inner.metrics.conn_refused(r);
            return Err(r);
        }
        c.total += 1;
        *c.per_ip.entry(ip).or_insert(0) += 1;
        Ok(PreAuthSlot {
            relay: self.clone(),
            ip,
        })
    }

    /// Unauthenticated WebSocket connections now.
    pub fn preauth_connections(&self) -> usize {
        self.inner
            .preauth
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total
    }

    /// Takes a slot for a new TCP connection, or `None` at `max_connections` (at most
    /// `cap`, the limit the process's open-file limit allows).
    pub(crate) fn try_connection(&self, cap: usize) -> Option<ConnSlot> {
        if self.inner.open_connections.load(Ordering::SeqCst) >= cap {
            self.inner.metrics.conn_refused(ConnRefusal::MaxConnections);
            return None;
        }
        match self.inner.connections.clone().try_acquire_owned() {
            Ok(permit) => {
                self.inner.open_connections.fetch_add(1, Ordering::SeqCst);
                Some(ConnSlot {
                    relay: self.clone(),
                    _permit: permit,
                })
            }
            Err(_) => {
                self.inner.metrics.conn_refused(ConnRefusal::MaxConnections);
                None
            }
        }
    }

    /// Open TCP connections on the HTTP port now.
    pub fn open_connections(&self) -> usize {
        self.inner.open_connections.load(Ordering::SeqCst)
    }

    /// Whether the relay is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Sessions running now.
    pub fn active_sessions(&self) -> usize {
        self.inner.active.load(Ordering::SeqCst)
    }

    /// Stops taking new sessions.
    pub fn begin_stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }

    /// Ends every running session now (they lose nothing acknowledged).
    pub fn hard_stop(&self) {
        let _ = self.inner.hard_stop.send(true);
    }

    /// Resolves when [`Relay::hard_stop`] is called.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.hard_stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Waits for a turn to run a session's store work (see `limits.store_jobs`); the
    /// turn ends when the permit is dropped. `None` if the relay is closing them.
    pub(crate) async fn store_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.inner.store_jobs.acquire().await.ok()
    }

    /// A sync session (responder) and its host for an authorized device.
    pub fn session(
        &self,
        device: DeviceKey,
        access: &Access,
        transport: &'static str,
    ) -> Result<(Session<RelayScope>, RelayHost), HostError> {
        let store = self.inner.store.clone();
        let authors = Arc::new(Mutex::new(HashMap::new()));
        let ws = &self.inner.workspace_id;
        let kind =
            match access {
                Access::Bootstrap => ScopeKind::Bootstrap(Box::new(
                    fieldcrm_workspace::store_scope(&store, ws, Roster::new(ws, ""), String::new()),
                )),
                Access::Device { user } => {
                    let roster = self
                        .roster()
                        .map_err(HostError)?
                        .ok_or_else(|| HostError("no roster".into()))?;
                    let scope =
                        fieldcrm_workspace::store_scope(&store, ws, roster.clone(), user.clone())
                            .history(fieldcrm_workspace::history_loader(&store));
                    ScopeKind::Roster {
                        roster,
                        user: user.clone(),
                        scope: Box::new(scope),
                    }
                }
            };
        let user = match access {
            Access::Bootstrap => "(bootstrap admin)".to_string(),
            Access::Device { user } => user.clone(),
        };
        // Read before the items: whatever is written from here on is named next time.
        let started = store.generation().map_err(|e| HostError(e.to_string()))?;
        let (items, recent) = match &kind {
            ScopeKind::Bootstrap(_) => (fieldcrm_sync::Items::default(), Vec::new()),
            ScopeKind::Roster { user, scope, .. } => (
                self.shared_items(user, scope)?,
                crate::host::changed_for(&store, &self.inner.synced, &device),
            ),
        };
        let scope = RelayScope {
            kind,
            store: store.clone(),
            authors: authors.clone(),
        };
        self.inner.metrics.session_started(transport);
        let session = Session::with_recent(
            SessionRole::Responder,
            &self.inner.workspace_id,
            scope,
            items,
            recent,
        );
        let host = RelayHost {
            relay: self.clone(),
            device,
            user,
            transport,
            authors,
            started,
            saved: std::collections::HashSet::new(),
        };
        Ok((session, host))
    }

    /// What `user`'s sessions share now: kept from the last session of that user and
    /// brought up to date by the documents written since, or derived from all of them.
    fn shared_items(
        &self,
        user: &str,
        scope: &RosterScope<SummaryFn>,
    ) -> Result<fieldcrm_sync::Items, HostError> {
        let store = &self.inner.store;
        let roster =
            fieldcrm_workspace::roster_stamp(store).map_err(|e| HostError(e.to_string()))?;
        let kept: Option<fieldcrm_workspace::SharedItems> =
            shared_lock(&self.inner.shared).get(user).cloned();
        let (now, changed) = fieldcrm_workspace::SharedItems::refresh(store, kept, roster, &|s| {
            scope.shares_summary(s)
        })
        .map_err(|e| HostError(e.to_string()))?;
        if changed {
            let mut kept = shared_lock(&self.inner.shared);
            // A bounded cache (24 bytes per shared document per user): past the bound,
            // another user's items make room and are derived again when needed.
            if kept.len() >= SHARED_USERS_KEPT && !kept.contains_key(user) {
                let other = kept.keys().next().cloned();
                if let Some(other) = other {
                    kept.remove(&other);
                }
            }
            kept.insert(user.to_string(), now.clone());
        }
        Ok(now.items)
    }

    /// Where devices' last finished sessions left them (`host.rs`).
    pub(crate) fn synced(&self) -> &Mutex<crate::host::SyncedMap> {
        &self.inner.synced
    }

    /// The Prometheus text of the counters (reads the store: call it off the async workers).
    pub fn metrics_text(&self) -> String {
        let docs = self.inner.store.len().unwrap_or(0) as usize;
        let file_len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let last_backup_ms = self
            .inner
            .store
            .get_meta_str(META_LAST_BACKUP)
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.inner.metrics.render(Gauges {
            sessions: self.active_sessions(),
            documents: docs,
            audit_rows: self.inner.audit.rows(),
            audit_bytes: file_len(self.inner.audit.path()),
            store_bytes: file_len(self.inner.store.path()),
            connections: self.open_connections(),
            preauth: self.preauth_connections(),
            last_backup_ms,
        })
    }
}

/// Users whose shared items the relay keeps between sessions.
const SHARED_USERS_KEPT: usize = 64;

type SharedMap = std::collections::HashMap<String, fieldcrm_workspace::SharedItems>;

fn shared_lock(m: &Mutex<SharedMap>) -> std::sync::MutexGuard<'_, SharedMap> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) use fieldcrm_workspace::SummaryFn;
