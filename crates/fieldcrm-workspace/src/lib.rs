//! The rep's workspace: one redb store, the device identity, and the record-keeping
//! operations the CLI offers (add a customer, log a visit, approve a quote ...).
//!
//! This is the application layer between the thin `fieldcrm` binary and the model and
//! store crates. Every operation takes the current time as an argument (the binary reads
//! the clock once, at the edge) and either commits durably or changes nothing.
#![deny(missing_docs)]

mod after_sync;
mod authorship;
mod bundle;
mod claims;
mod error;
mod identity;
mod import;
pub mod input;
mod inspect;
mod invite;
pub mod keyfile;
mod lean;
mod live;
mod memo;
mod merge;
mod packed_claims;
use fieldcrm_model::par;
mod pending;
mod query;
mod records;
mod resolve;
mod roster;
mod search;
mod shared;
#[cfg(feature = "sheets")]
pub mod sheets;
mod snapshots;
mod sync;
mod views;

use std::path::{Path, PathBuf};

use autosurgeon::Reconcile;
use fieldcrm_model::{
    Catalog, DeviceKey, DocId, DocKind, Document, Millis, PolicySettings, Roster, Sales, Summary,
    User,
};
use fieldcrm_store::Store;

pub use after_sync::{AfterSync, Joined, Removed};
pub use bundle::{
    BUNDLE_MAGIC, BUNDLE_VERSION, Bundle, BundleHeader, ExportOptions, ExportReport, ImportReport,
};
pub use error::{Error, Msg, Result};
pub use fieldcrm_store::{Filter, Listed, SummaryRef, Tombstones};
pub use identity::{DeviceSecret, InitOptions, generate_secret, verify};
pub use import::{CsvImport, ExportTable, csv_field, parse_csv, write_csv};
pub use inspect::{
    Author, Conflict, ConflictValue, FieldChange, HistoryEntry, Pick, Point, diff_json, value_text,
};
pub use invite::{
    DEFAULT_VALID_MS, InviteLink, Issued, NewInvitation, invite_link, invite_refusal, qr_svg,
};
pub use live::Snapshots;
pub use memo::{LiveCheck, Memo};
pub use merge::{CarryOver, FieldDiff, MergePlan, merge_fields};
pub use pending::{COUNT_CHANGES_UP_TO, Waiting, WaitingDoc, peer_remote};
pub use query::{CheckQuery, ListRow, StorageSizes, WhoAmI, parse_rule};
pub use records::*;
pub use resolve::resolve_entity;
pub use search::*;
pub use shared::{SharedItems, roster_stamp};
pub use snapshots::snapshots_of;
pub use sync::{
    PeerScope, PeerSession, StoreHost, SummaryFn, history_loader, received, store_scope,
};
pub use views::*;

/// How long [`Workspace::open`] waits for another process to let go of the store.
pub const OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// File name of the store inside a workspace home directory.
pub const STORE_FILE: &str = "workspace.redb";

const META_WORKSPACE_ID: &str = "workspace_id";
const META_DEVICE_SECRET: &str = "device_secret";
const META_TIMEZONE: &str = "timezone";
/// Set once this store's own changes are all signed (new stores, or after signing a
/// store written before changes were signed).
const META_SIGNED: &str = "signatures-v1";

/// Where the workspace lives: `--home`, else `FIELDCRM_HOME`, else the platform data dir.
pub fn default_home() -> PathBuf {
    if let Some(h) = std::env::var_os("FIELDCRM_HOME") {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(x).join("fieldcrm");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/fieldcrm")
    } else if cfg!(windows) {
        std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .unwrap_or(home)
            .join("fieldcrm")
    } else {
        home.join(".local/share/fieldcrm")
    }
}

/// An open workspace on this device.
#[derive(Clone)]
pub struct Workspace {
    store: Store,
    home: PathBuf,
    secret: DeviceSecret,
    workspace_id: String,
    /// Values derived from the documents (snapshots, findings, the index, views): this
    /// handle's own, or one shared across handles by a long-running process.
    memo: std::sync::Arc<Memo>,
    /// Whether `memo` is shared (`with_memo`).
    shared_memo: bool,
    /// The roster last hydrated, with the heads it was read at: one command asks for the
    /// roster many times (who am I, who may write this, whose key signed that), and
    /// loading it costs more the more users and devices it holds.
    roster_memo: RosterMemo,
    /// What this handle's first syncs judged authors with (`authorship.rs`).
    first_sync: authorship::FirstSyncRecord,
}

/// The roster and the (sorted) heads it was read at.
/// The roster hydrated at its (sorted) heads (see `roster.rs`).
type RosterMemo = roster::Memo;

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("home", &self.home)
            .field("device", &self.secret.public())
            .field("workspace_id", &self.workspace_id)
            .finish()
    }
}

impl Workspace {
    /// Create a new workspace in `home`: a workspace ID, a device key, and the roster,
    /// catalog, policy and sales documents with the given user as first member.
    pub fn init(home: &Path, opts: &InitOptions, now: Millis) -> Result<Self> {
        let path = home.join(STORE_FILE);
        if path.exists() {
            return Err(Error::AlreadyInitialised(path));
        }
        if opts.user.trim().is_empty() {
            return Err(Error::bad(
                "user",
                "用户名不能为空",
                "the user name must not be empty",
            ));
        }
        if opts.company.trim().is_empty() {
            return Err(Error::bad(
                "company",
                "公司名称不能为空",
                "the company name must not be empty",
            ));
        }
        std::fs::create_dir_all(home).map_err(|source| Error::Io {
            path: home.to_path_buf(),
            source,
        })?;
        let secret = generate_secret();
        let device = secret.public();
        // The workspace ID commits to the founding device: every receiver checks the
        // roster's first change against it (`RosterScope::roster_chain`).
        let workspace_id = fieldcrm_model::sig::workspace_id_for(&device);
        let user_id = fieldcrm_model::new_entity_id();

        let mut roster = Roster::new(&workspace_id, &opts.company);
        roster.users.insert(
            user_id.clone(),
            User {
                name: opts.user.trim().to_string(),
                role: opts.role.clone(),
                team: opts.team.clone(),
                region: opts.region.clone(),
                active: true,
                created_at: now,
            },
        );
        roster.devices.insert(
            device.to_hex(),
            fieldcrm_model::Device {
                user: user_id,
                label: opts.device_label.clone(),
                enrolled_at: now,
                revoked_at: None,
                invitation: None,
            },
        );
        let mut docs = vec![
            Document::create(
                DocId::workspace(&DocKind::Roster),
                &device,
                now,
                &roster,
                "创建花名册 create roster",
            )?,
            Document::create(
                DocId::workspace(&DocKind::Catalog),
                &device,
                now,
                &Catalog::new(),
                "创建产品目录 create catalog",
            )?,
            Document::create(
                DocId::workspace(&DocKind::Policy),
                &device,
                now,
                &PolicySettings::new(),
                "创建规则配置 create policy",
            )?,
            Document::create(
                DocId::workspace(&DocKind::Sales),
                &device,
                now,
                &Sales::new(),
                "创建销售目标 create sales",
            )?,
        ];
        keyfile::private_dir(home)?;
        keyfile::write(home, &secret)?;
        let store = create_atomically(home, &secret, |store| {
            store.set_meta(META_WORKSPACE_ID, workspace_id.as_bytes())?;
            store.set_meta(META_SIGNED, b"1")?;
            store.save_batch(&mut docs)?;
            Ok(())
        })?;
        Ok(Workspace {
            store,
            home: home.to_path_buf(),
            secret,
            workspace_id,
            memo: Default::default(),
            shared_memo: false,
            roster_memo: Default::default(),
            first_sync: Default::default(),
        })
    }

    /// Prepare this device to join an existing workspace: a device key and the workspace
    /// ID, no documents. An admin enrolls the key (`fieldcrm device add`); the first sync
    /// brings the roster, catalog and policy.
    pub fn join(home: &Path, workspace_id: &str) -> Result<Self> {
        Self::join_with(home, workspace_id, generate_secret())
    }

    /// [`Workspace::join`] with a device key made beforehand (a device joining by
    /// invitation proves its key to the relay before it makes the workspace).
    pub fn join_with(home: &Path, workspace_id: &str, secret: DeviceSecret) -> Result<Self> {
        let workspace_id = workspace_id.trim().to_ascii_lowercase();
        if workspace_id.len() != 32 || !workspace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "`{workspace_id}` is not a workspace ID (32 hex characters, shown by `fieldcrm whoami`)"
            )));
        }
        let path = home.join(STORE_FILE);
        if path.exists() {
            return Err(Error::AlreadyInitialised(path));
        }
        std::fs::create_dir_all(home).map_err(|source| Error::Io {
            path: home.to_path_buf(),
            source,
        })?;
        keyfile::private_dir(home)?;
        keyfile::write(home, &secret)?;
        let store = create_atomically(home, &secret, |store| {
            store.set_meta(META_WORKSPACE_ID, workspace_id.as_bytes())?;
            store.set_meta(META_SIGNED, b"1")?;
            Ok(())
        })?;
        Ok(Workspace {
            store,
            home: home.to_path_buf(),
            secret,
            workspace_id,
            memo: Default::default(),
            shared_memo: false,
            roster_memo: Default::default(),
            first_sync: Default::default(),
        })
    }

    /// Open the workspace in `home`. Another fieldcrm process may hold the store for a
    /// moment (a sync session of `fieldcrm serve`, the app answering a request): wait for
    /// it up to [`OPEN_WAIT`] before reporting the store as in use.
    pub fn open(home: &Path) -> Result<Self> {
        Self::open_with(home, fieldcrm_store::StoreOptions::default())
    }

    /// [`Workspace::open`] with these store options (a command that reads the summary
    /// index once, such as a listing, needs no page cache worth the memory).
    pub fn open_with(home: &Path, options: fieldcrm_store::StoreOptions) -> Result<Self> {
        let path = home.join(STORE_FILE);
        if !path.exists() {
            return Err(Error::NotInitialised(home.to_path_buf()));
        }
        let started = std::time::Instant::now();
        let store = loop {
            match Store::open_with(&path, options.clone()) {
                Err(fieldcrm_store::OpenError::InUse { .. }) if started.elapsed() < OPEN_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                r => break r.map_err(fieldcrm_store::Error::from)?,
            }
        };
        let workspace_id = store
            .get_meta(META_WORKSPACE_ID)
            .map_err(fieldcrm_store::Error::from)?
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Error::Corrupt(format!("{}: no workspace ID", path.display())))?;
        let secret = match keyfile::read(home)? {
            Some(s) => s,
            None => {
                // A workspace made by an earlier build keeps its key in the store: move it
                // out to `device.key` (0600) and delete it from the shareable file.
                let legacy = store
                    .get_meta(META_DEVICE_SECRET)
                    .map_err(fieldcrm_store::Error::from)?
                    .and_then(|b| DeviceSecret::from_bytes(&b))
                    .ok_or_else(|| {
                        Error::Corrupt(format!(
                            "no device key: {} is missing",
                            keyfile::key_path(home).display()
                        ))
                    })?;
                keyfile::write(home, &legacy)?;
                store
                    .delete_meta(META_DEVICE_SECRET)
                    .map_err(fieldcrm_store::Error::from)?;
                legacy
            }
        };
        let store = store.with_signer(secret.clone());
        if store
            .get_meta(META_SIGNED)
            .map_err(fieldcrm_store::Error::from)?
            .is_none()
        {
            // A store from before changes were signed: sign this device's own changes
            // once (others' unsigned changes stay here, and peers refuse them by name).
            store.sign_unsigned().map_err(fieldcrm_store::Error::from)?;
            store
                .set_meta(META_SIGNED, b"1")
                .map_err(fieldcrm_store::Error::from)?;
        }
        Ok(Workspace {
            store,
            home: home.to_path_buf(),
            secret,
            workspace_id,
            memo: Default::default(),
            shared_memo: false,
            roster_memo: Default::default(),
            first_sync: Default::default(),
        })
    }

    /// The workspace home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The workspace ID.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// This device's public key (its iroh endpoint ID and Automerge actor ID).
    pub fn device(&self) -> DeviceKey {
        self.secret.public()
    }

    /// This device's secret key (32 bytes, ed25519).
    pub fn secret(&self) -> &DeviceSecret {
        &self.secret
    }

    /// The configured display time zone (IANA name), default Asia/Shanghai.
    pub fn timezone(&self) -> Result<String> {
        Ok(self
            .store
            .get_meta(META_TIMEZONE)
            .map_err(fieldcrm_store::Error::from)?
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| "Asia/Shanghai".to_string()))
    }

    /// Set the display time zone (an IANA name such as `Asia/Shanghai`).
    pub fn set_timezone(&self, tz: &str) -> Result<()> {
        let tz = tz.trim();
        input::Clock::new(tz, 0)?;
        self.store
            .set_meta(META_TIMEZONE, tz.as_bytes())
            .map_err(fieldcrm_store::Error::from)?;
        Ok(())
    }

    /// Load a document.
    pub fn load(&self, id: &DocId) -> Result<Document> {
        match self.store.load(id, &self.device()) {
            Ok(d) => Ok(d),
            Err(fieldcrm_store::LoadError::NotFound { .. }) => {
                Err(Error::not_found(format!("document {id}")))
            }
            Err(e) => Err(fieldcrm_store::Error::from(e).into()),
        }
    }

    /// Save a document durably (appends its new changes and updates the index).
    pub fn save(&self, doc: &mut Document) -> Result<()> {
        self.store.save(doc).map_err(fieldcrm_store::Error::from)?;
        Ok(())
    }

    /// Load, hydrate a workspace singleton.
    fn singleton<T: autosurgeon::Hydrate + 'static>(&self, kind: DocKind) -> Result<T> {
        Ok(self.load(&DocId::workspace(&kind))?.hydrate()?)
    }

    /// The catalog and price policy.
    pub fn catalog(&self) -> Result<Catalog> {
        self.singleton(DocKind::Catalog)
    }

    /// The rule configuration overrides.
    pub fn policy_settings(&self) -> Result<PolicySettings> {
        self.singleton(DocKind::Policy)
    }

    /// Targets and reports.
    pub fn sales(&self) -> Result<Sales> {
        Ok(self.singleton::<Sales>(DocKind::Sales)?.without_removed())
    }

    /// The user this device acts for, per the roster. Fails if the device is not
    /// enrolled, is revoked, or the user is inactive.
    pub fn me(&self) -> Result<Me> {
        let roster = self.roster()?;
        let device = self.device();
        let dev = roster
            .devices
            .get(&device.to_hex())
            .ok_or(Error::NotEnrolled(device))?;
        if dev.revoked_at.is_some() {
            return Err(Error::Revoked(device));
        }
        let user = roster
            .users
            .get(&dev.user)
            .ok_or(Error::NotEnrolled(device))?
            .clone();
        if !user.active {
            return Err(Error::denied(format!("user {} is deactivated", user.name)));
        }
        Ok(Me {
            user_id: dev.user.clone(),
            user,
            roster,
        })
    }

    /// Create and durably save a new document. (A customer file's claim is written by
    /// the next sync or bundle export: see `claims.rs`.)
    pub fn create<T: Reconcile>(
        &self,
        id: DocId,
        content: &T,
        now: Millis,
        message: &str,
    ) -> Result<DocId> {
        let mut doc = Document::create(id.clone(), &self.device(), now, content, message)?;
        input::check_text_sizes(&mut doc)?;
        self.save(&mut doc)?;
        Ok(id)
    }

    /// Load a document, apply `f`, commit with `message` at `now`, and save durably. If
    /// `f` fails nothing is written.
    pub fn edit<R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document) -> Result<R>,
    ) -> Result<R> {
        let mut doc = self.load(id)?;
        let r = f(&mut doc)?;
        doc.commit(now, message);
        input::check_text_sizes(&mut doc)?;
        // The Sales document's summary reads none of its claims (there is one per
        // customer file), so an edit that leaves it unreadable as a Sales document is
        // refused here, as reading the summary refuses one for the other workspace
        // documents. Known by its ID: other edits read nothing more.
        if *id == DocId::workspace(&DocKind::Sales) {
            doc.body()?;
        }
        self.save(&mut doc)?;
        Ok(r)
    }

    /// List documents from the summary index (loads no document).
    pub fn list(&self, filter: &Filter) -> Result<Vec<Listed>> {
        if self.shared_memo {
            let matches = filter.matching();
            return Ok(self
                .index_rows()?
                .iter()
                .filter(|l| matches(&l.summary))
                .cloned()
                .collect());
        }
        Ok(self
            .store
            .list(filter)
            .map_err(fieldcrm_store::Error::from)?)
    }

    /// What `row` makes of each document matching `filter`, in no promised order (sort
    /// what comes back): a long listing keeps only the columns it shows, not every
    /// summary. Loads no document.
    pub fn list_map<T>(
        &self,
        filter: &Filter,
        mut row: impl FnMut(&DocId, SummaryRef<'_>) -> T,
    ) -> Result<Vec<T>> {
        if self.shared_memo {
            let matches = filter.matching();
            return Ok(self
                .index_rows()?
                .iter()
                .filter(|l| matches(&l.summary))
                .map(|l| row(&l.id, SummaryRef::of(&l.summary)))
                .collect());
        }
        Ok(self
            .store
            .list_map(filter, row)
            .map_err(fieldcrm_store::Error::from)?)
    }

    /// The documents matching `filter` in name order (then ID), from both ends at once
    /// (see [`fieldcrm_store::Store::list_by_name_ends`]): the listing is `front`'s rows,
    /// then `back`'s reversed. Loads no document and sorts nothing.
    pub fn list_by_name_ends<A: Send>(
        &self,
        filter: &Filter,
        mut front: A,
        back: A,
        row: impl Fn(&mut A, &DocId, SummaryRef<'_>) + Sync,
    ) -> Result<(A, A)> {
        if self.shared_memo {
            // The memo's rows are in name order already.
            let matches = filter.matching();
            for l in self.index_rows()?.iter().filter(|l| matches(&l.summary)) {
                row(&mut front, &l.id, SummaryRef::of(&l.summary));
            }
            return Ok((front, back));
        }
        Ok(self
            .store
            .list_by_name_ends(filter, front, back, row)
            .map_err(fieldcrm_store::Error::from)?)
    }

    /// Every summary-index row (every kind, merged and archived ones included), by name;
    /// from the memo while the store is unchanged, when there is one. Filter with
    /// [`Filter::matching`].
    pub fn index_rows(&self) -> Result<std::sync::Arc<Vec<Listed>>> {
        let at = memo::stamp(&self.store);
        if let Some(rows) = self.memo.rows(at) {
            return Ok(rows);
        }
        let all = Filter::default().tombstones(Tombstones::Include);
        let rows = std::sync::Arc::new(self.store.list(&all).map_err(fieldcrm_store::Error::from)?);
        self.memo.keep_rows(at, &rows);
        Ok(rows)
    }

    /// The name-search index over the customer files in lists (merged and archived ones
    /// left out); from the memo while the store is unchanged.
    pub fn customer_search(&self) -> Result<std::sync::Arc<RowSearch>> {
        let at = memo::stamp(&self.store);
        if let Some(index) = self.memo.search(at) {
            return Ok(index);
        }
        let rows: Vec<Listed> = self
            .index_rows()?
            .iter()
            .filter(|l| {
                l.summary.kind == DocKind::Customer
                    && l.summary.merged_into.is_none()
                    && !l.summary.archived
            })
            .cloned()
            .collect();
        let index = std::sync::Arc::new(RowSearch::new(rows));
        self.memo.keep_search(at, &index);
        Ok(index)
    }

    /// A value computed from the store at `now` (a page's view), kept in the memo under
    /// `key` while the store is unchanged and for a minute of clock.
    pub(crate) fn memoized<T: Send + Sync + 'static>(
        &self,
        key: &str,
        now: Millis,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<std::sync::Arc<T>> {
        let at = memo::stamp(&self.store);
        if let Some(v) = self.memo.view::<T>(key, at, now) {
            return Ok(v);
        }
        let v = std::sync::Arc::new(compute()?);
        self.memo.keep_view(key, at, now, &v);
        Ok(v)
    }

    /// The summary-index row of a document.
    pub fn summary(&self, id: &DocId) -> Result<Option<Summary>> {
        Ok(self
            .store
            .summary(id)
            .map_err(fieldcrm_store::Error::from)?)
    }

    /// The memo this handle keeps derived values in.
    pub(crate) fn memo(&self) -> &Memo {
        &self.memo
    }

    /// Keep derived values (snapshots, findings) in `memo` across handles: for a
    /// long-running process that opens the workspace per request.
    pub fn with_memo(mut self, memo: std::sync::Arc<Memo>) -> Self {
        self.memo = memo;
        self.shared_memo = true;
        self
    }

    /// Every document's policy snapshot (see [`snapshots_of`]), shared; kept in the memo
    /// and brought up to date by reading only the documents that changed (`live.rs`).
    pub fn snapshots(&self) -> Result<Snapshots> {
        self.memo.snapshots(&self.store, memo::stamp(&self.store))
    }

    /// Every finding of the rules on all documents at `now`, by the incremental engine
    /// kept in the memo (only what changed since is re-evaluated); the same findings are
    /// reused for a minute of clock.
    pub fn all_findings(
        &self,
        now: Millis,
    ) -> Result<std::sync::Arc<Vec<fieldcrm_policy::Finding>>> {
        self.memo.findings(
            &self.store,
            memo::stamp(&self.store),
            Some(&self.device()),
            now,
        )
    }

    /// Resolve a document by unique ID prefix or exact name; failing that, by the same
    /// matcher as the app's search (any part of the name, pinyin full or initials,
    /// traditional or simplified): one match is taken, several are listed as "did you
    /// mean" candidates.
    pub fn resolve(&self, kind: Option<&DocKind>, text: &str) -> Result<DocId> {
        match self.store.resolve(kind, text) {
            Ok(id) => Ok(id),
            Err(fieldcrm_store::ResolveError::NotFound { .. }) if !text.trim().is_empty() => {
                self.resolve_fuzzy(kind, text)
            }
            Err(e) => Err(fieldcrm_store::Error::from(e).into()),
        }
    }

    fn resolve_fuzzy(&self, kind: Option<&DocKind>, text: &str) -> Result<DocId> {
        let mut filter = Filter::default();
        filter.kind = kind.cloned();
        let rows = self.list(&filter)?;
        let index = SearchIndex::build(&rows);
        let hits = index.search(text, 8);
        let name_of = |id: &DocId| {
            rows.iter()
                .find(|l| &l.id == id)
                .map(|l| format!("{} ({})", l.summary.name, id.short()))
                .unwrap_or_else(|| id.short().to_string())
        };
        // The kind in each language: 客户 in the Chinese message, customer in the English.
        let (what_zh, what_en) = kind.map_or(("文档", "document"), |k| (k.zh(), k.as_str()));
        match hits.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::NotFound(Msg::new(
                format!("没有与“{text}”匹配的{what_zh}（可输入名称的一部分、拼音或编号前缀）"),
                format!(
                    "no {what_en} matches `{text}` (type part of the name, its pinyin, or an ID prefix)"
                ),
            ))),
            many => {
                let list = many.iter().map(name_of).collect::<Vec<_>>().join(", ");
                Err(Error::Ambiguous(Msg::new(
                    format!("“{text}”匹配多个{what_zh}，您是指：{list}"),
                    format!("`{text}` matches more than one {what_en}: did you mean {list}?"),
                )))
            }
        }
    }

    /// Resolve a user by ID prefix or exact name.
    pub fn resolve_user(&self, roster: &Roster, text: &str) -> Result<String> {
        resolve::resolve_user(roster, text)
    }
}

/// Create the workspace store in `home` all or nothing: everything is written to a
/// temporary file that is renamed into place only once complete, so a crash during `init`
/// or `join` leaves either no workspace (and `init` can run again) or a whole one.
fn create_atomically(
    home: &Path,
    secret: &DeviceSecret,
    fill: impl FnOnce(&Store) -> std::result::Result<(), fieldcrm_store::Error>,
) -> Result<Store> {
    let path = home.join(STORE_FILE);
    let tmp = home.join(format!("{STORE_FILE}.partial"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    // A leftover from a crash during an earlier attempt: never a usable workspace.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp)(e)),
        _ => {}
    }
    {
        let store = Store::create(&tmp)
            .map_err(fieldcrm_store::Error::from)?
            .with_signer(secret.clone());
        fill(&store)?;
        // Dropping the only handle closes the file; every write above was committed
        // durably by the store.
    }
    if path.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::AlreadyInitialised(path));
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(home) {
        let _ = dir.sync_all();
    }
    Ok(Store::open(&path)
        .map_err(fieldcrm_store::Error::from)?
        .with_signer(secret.clone()))
}

/// The acting user, with the roster it was read from.
#[derive(Debug, Clone)]
pub struct Me {
    /// User ID.
    pub user_id: String,
    /// The user.
    pub user: User,
    /// The roster.
    pub roster: std::sync::Arc<Roster>,
}

impl Me {
    /// Fail unless the user's role holds `authority` (the one table in
    /// [`fieldcrm_model::Authority`]).
    pub fn require(&self, authority: fieldcrm_model::Authority) -> Result<()> {
        if authority.allows(&self.user.role) {
            Ok(())
        } else {
            Err(Error::lacks(&self.user.name, &self.user.role, authority))
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;
