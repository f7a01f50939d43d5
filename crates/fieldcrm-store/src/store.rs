//! Opening and creating the store file, the process-wide registry of open files, and the
//! key-value meta API.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use redb::{
    Database, ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction,
};

use crate::error::{DbError, DbResultExt, MetaError, OpenError};

/// Store metadata and upper layers' keys.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-v1");
/// Latest compacted snapshot per document.
pub(crate) const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("docs-v1");
/// Change rows appended since the snapshot, keyed by (document, sequence).
pub(crate) const CHANGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("changes-v1");
/// Per-document bookkeeping: heads and compaction counters.
pub(crate) const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state-v1");
/// Summary-index rows.
pub(crate) const INDEX: TableDefinition<&str, &[u8]> = TableDefinition::new("index-v1");
/// Change signatures, keyed by (document, change hash): 64-byte ed25519 signatures by
/// the device that made the change (see `fieldcrm_model::sig`).
pub(crate) const SIGS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("sigs-v1");
/// Every document's summary row again, keyed by (name, document): exact-name lookup,
/// and listings in name order read in that order (no sort), from both ends at once.
pub(crate) const NAMES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("names-v2");
/// The name rows of stores written before they carried the summary: replaced by
/// [`NAMES`] when such a store is opened.
const OLD_NAMES: TableDefinition<(&str, &str), ()> = TableDefinition::new("names-v1");

/// Meta keys starting with this belong to the store itself; `set_meta` refuses them.
pub const RESERVED_META_PREFIX: &str = "fieldcrm.store.";
const FORMAT_KEY: &str = "fieldcrm.store.format";
const FORMAT_VERSION_KEY: &str = "fieldcrm.store.format-version";
/// A counter moved on by every transaction that writes documents (see
/// [`Store::generation`]).
const GENERATION_KEY: &str = "fieldcrm.store.generation";
const FORMAT_MARKER: &[u8] = b"fieldcrm-store";
/// The store file-format version this build writes and the highest it reads. Version 2:
/// the name rows carry each summary (`names-v2`); a version-1 store is brought up to it
/// when opened.
pub const FORMAT_VERSION: u64 = 2;

/// The first bytes of every redb file (redb file format 3).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Tuning of a store. Only the first open of a file in a process applies its options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Compact a document (one snapshot replaces snapshot + change rows) once this many
    /// change rows are pending. Default 64.
    pub compact_after_changes: u64,
    /// ... or once the pending change rows hold this many bytes. Default 256 KiB.
    pub compact_after_bytes: u64,
    /// redb page cache in bytes. Default 64 MiB.
    pub cache_bytes: usize,
    /// Verify the checksum of every page when opening (reads the whole file), so damage
    /// anywhere is an [`OpenError::Damaged`] at open rather than a failure on a later
    /// read. Default off: an ordinary open checks only what it reads, and redb verifies
    /// everything anyway when it repairs after a crash.
    pub verify_on_open: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            compact_after_changes: 64,
            compact_after_bytes: 256 * 1024,
            cache_bytes: 64 * 1024 * 1024,
            verify_on_open: false,
        }
    }
}

impl StoreOptions {
    /// Set [`Self::compact_after_changes`] (at least 1).
    pub fn compact_after_changes(mut self, n: u64) -> Self {
        self.compact_after_changes = n.max(1);
        self
    }

    /// Set [`Self::compact_after_bytes`].
    pub fn compact_after_bytes(mut self, n: u64) -> Self {
        self.compact_after_bytes = n;
        self
    }

    /// Set [`Self::cache_bytes`].
    pub fn cache_bytes(mut self, n: usize) -> Self {
        self.cache_bytes = n;
        self
    }

    /// Set [`Self::verify_on_open`].
    pub fn verify_on_open(mut self, on: bool) -> Self {
        self.verify_on_open = on;
        self
    }

    fn builder(&self) -> redb::Builder {
        let mut b = Database::builder();
        b.set_cache_size(self.cache_bytes);
        b.set_check_integrity_on_open(self.verify_on_open);
        b
    }
}

/// An open workspace store. Cheap to clone (an `Arc`); `Send + Sync`.
///
/// All clones, and every [`Store::open`] of the same file in this process, share one
/// `redb::Database`. The file stays locked against other processes until the last handle
/// is dropped.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    /// Signs the changes this device makes when they are saved (see [`Store::with_signer`]).
    pub(crate) signer: Option<Arc<fieldcrm_model::DeviceSecret>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    /// Always `Some` until `drop`, which closes it while holding the registry lock so a
    /// concurrent `open` of the same file never sees it half closed.
    db: Option<Database>,
    pub(crate) path: PathBuf,
    pub(crate) options: StoreOptions,
}

impl Inner {
    // `db` is `Some` from construction until `Drop::drop` takes it, and nothing can call
    // this during or after drop: the expect cannot fire, and no input reaches it.
    #[allow(clippy::expect_used)]
    pub(crate) fn db(&self) -> &Database {
        self.db
            .as_ref()
            .expect("database is open until Inner is dropped")
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut reg = registry();
        drop(self.db.take());
        reg.retain(|(_, w)| w.strong_count() > 0);
    }
}

/// Stores open in this process, by canonical path.
static OPEN_STORES: Mutex<Vec<(PathBuf, Weak<Inner>)>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<(PathBuf, Weak<Inner>)>> {
    OPEN_STORES.lock().unwrap_or_else(|e| e.into_inner())
}

fn io_err(path: &Path, e: std::io::Error) -> OpenError {
    if e.kind() == std::io::ErrorKind::NotFound {
        OpenError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        OpenError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "internal failure".into())
}

fn not_a_store(path: &Path, reason: impl Into<String>) -> OpenError {
    OpenError::NotAStore {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn map_open_err(path: &Path, e: redb::DatabaseError) -> OpenError {
    use redb::{DatabaseError as D, StorageError as S};
    let damaged = |detail: String| OpenError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    match e {
        D::DatabaseAlreadyOpen | D::LockProtocolMismatch => OpenError::InUse {
            path: path.to_path_buf(),
        },
        D::UpgradeRequired(v) => not_a_store(path, format!("old redb file format {v}")),
        D::RepairAborted => damaged("repair after a crash was aborted".into()),
        D::Storage(S::Corrupted(s)) => damaged(s),
        D::Storage(S::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            damaged(e.to_string())
        }
        D::Storage(S::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            damaged(format!("the file is truncated ({e})"))
        }
        e => OpenError::Db(DbError::new(path, e)),
    }
}

impl Store {
    /// Create a new, empty store file at `path` with default options. Refuses to overwrite
    /// an existing file.
    pub fn create(path: impl AsRef<Path>) -> Result<Store, OpenError> {
        Self::create_with(path, StoreOptions::default())
    }

    /// Create a new, empty store file with the given options.
    pub fn create_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, OpenError> {
        let path = path.as_ref();
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(f) => drop(f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(OpenError::AlreadyExists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(path, e)),
        }
        let made = fs::canonicalize(path)
            .map_err(|e| io_err(path, e))
            .and_then(|canonical| {
                let db = options
                    .builder()
                    .create(&canonical)
                    .map_err(|e| map_open_err(&canonical, e))?;
                init_tables(&db, &canonical)?;
                Ok((canonical, db))
            });
        let (canonical, db) = match made {
            Ok(x) => x,
            Err(e) => {
                let _ = fs::remove_file(path);
                return Err(e);
            }
        };
        let mut reg = registry();
        let inner = Arc::new(Inner {
            db: Some(db),
            path: canonical.clone(),
            options,
        });
        reg.push((canonical, Arc::downgrade(&inner)));
        Ok(Store {
            inner,
            signer: None,
        })
    }

    /// Open an existing store file with default options.
    ///
    /// A file that is not a fieldcrm store (a text file, another program's redb file, an
    /// empty or truncated file) is refused with [`OpenError::NotAStore`] or
    /// [`OpenError::Damaged`]; a file another process has open gives [`OpenError::InUse`].
    /// After a crash, redb repairs the file here (a walk over the whole file).
    pub fn open(path: impl AsRef<Path>) -> Result<Store, OpenError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Open an existing store file. If this process already has it open, returns a handle
    /// to that store and ignores `options`.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, OpenError> {
        let path = path.as_ref();
        let canonical = fs::canonicalize(path).map_err(|e| io_err(path, e))?;
        let mut reg = registry();
        if let Some(inner) = reg
            .iter()
            .filter(|(p, _)| *p == canonical)
            .find_map(|(_, w)| w.upgrade())
        {
            return Ok(Store {
                inner,
                signer: None,
            });
        }
        let db = open_file(&canonical, &options)?;
        start_log(&db, &canonical)?;
        name_rows(&db, &canonical)?;
        let inner = Arc::new(Inner {
            db: Some(db),
            path: canonical.clone(),
            options,
        });
        reg.retain(|(_, w)| w.strong_count() > 0);
        reg.push((canonical, Arc::downgrade(&inner)));
        Ok(Store {
            inner,
            signer: None,
        })
    }

    /// This handle signs every change made under `secret`'s actor ID when it is saved
    /// ([`Store::save`] and friends), in the same transaction; the signatures are kept in
    /// `sigs-v1` and travel with the changes. Changes by other actors are stored only
    /// through [`Store::apply_batch`], with the signatures that came with them.
    pub fn with_signer(mut self, secret: fieldcrm_model::DeviceSecret) -> Store {
        self.signer = Some(Arc::new(secret));
        self
    }

    /// The store file (canonical path).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options this store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    pub(crate) fn db(&self) -> &Database {
        self.inner.db()
    }

    /// A meta value, if set.
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, MetaError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let table = txn.open_table(META).db(path)?;
        Ok(table.get(key).db(path)?.map(|v| v.value().to_vec()))
    }

    /// A number that changes with every transaction that writes documents (by this
    /// process or another one), read from one meta row: a long-running process keeps
    /// values derived from the documents while it stays the same, instead of reading
    /// every document's heads to find out whether anything changed. 0 for a store no
    /// document was ever written to.
    pub fn generation(&self) -> Result<u64, MetaError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let table = txn.open_table(META).db(path)?;
        Ok(read_generation(&table, path)?)
    }

    /// A meta value as text, if set.
    pub fn get_meta_str(&self, key: &str) -> Result<Option<String>, MetaError> {
        self.get_meta(key)?
            .map(|b| {
                String::from_utf8(b).map_err(|_| MetaError::NotText {
                    path: self.path().to_path_buf(),
                    key: key.to_string(),
                })
            })
            .transpose()
    }

    /// Set a meta value (durably). Keys starting with [`RESERVED_META_PREFIX`] are refused.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), MetaError> {
        check_key(key)?;
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        txn.open_table(META).db(path)?.insert(key, value).db(path)?;
        txn.commit().db(path)?;
        Ok(())
    }

    /// Set a meta value to text (durably).
    pub fn set_meta_str(&self, key: &str, value: &str) -> Result<(), MetaError> {
        self.set_meta(key, value.as_bytes())
    }

    /// Remove a meta key (durably); whether it was set.
    pub fn delete_meta(&self, key: &str) -> Result<bool, MetaError> {
        check_key(key)?;
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        let existed = txn
            .open_table(META)
            .db(path)?
            .remove(key)
            .db(path)?
            .is_some();
        txn.commit().db(path)?;
        Ok(existed)
    }

    /// Meta keys starting with `prefix`, sorted (e.g. every `sync/peer/` state).
    pub fn meta_keys(&self, prefix: &str) -> Result<Vec<String>, MetaError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let table = txn.open_table(META).db(path)?;
        let mut keys = Vec::new();
        for row in table.range(prefix..).db(path)? {
            let (k, _) = row.db(path)?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            keys.push(k.to_string());
        }
        Ok(keys)
    }
}

fn check_key(key: &str) -> Result<(), MetaError> {
    if key.starts_with(RESERVED_META_PREFIX) {
        Err(MetaError::Reserved {
            key: key.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Move the generation counter on inside a transaction that writes documents, and open
/// the change log at the new generation.
pub(crate) fn bump_generation<'t>(
    txn: &'t WriteTransaction,
    path: &Path,
) -> Result<crate::log::LogWriter<'t>, DbError> {
    let mut meta = txn.open_table(META).db(path)?;
    let previous = read_generation(&meta, path)?;
    meta.insert(
        GENERATION_KEY,
        previous.wrapping_add(1).to_le_bytes().as_slice(),
    )
    .db(path)?;
    crate::log::LogWriter::open(txn, &mut meta, path, previous)
}

/// The generation in a meta table (0 when never set).
pub(crate) fn read_generation(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    path: &Path,
) -> Result<u64, DbError> {
    Ok(meta
        .get(GENERATION_KEY)
        .db(path)?
        .map(|v| decode_generation(v.value()))
        .unwrap_or(0))
}

/// The counter's row; a damaged one reads as 0 and is overwritten by the next write.
fn decode_generation(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_le_bytes)
}

fn init_tables(db: &Database, path: &Path) -> Result<(), OpenError> {
    let txn = db.begin_write().db(path)?;
    {
        let mut meta = txn.open_table(META).db(path)?;
        meta.insert(FORMAT_KEY, FORMAT_MARKER).db(path)?;
        meta.insert(FORMAT_VERSION_KEY, FORMAT_VERSION.to_string().as_bytes())
            .db(path)?;
        txn.open_table(DOCS).db(path)?;
        txn.open_table(CHANGES).db(path)?;
        txn.open_table(STATE).db(path)?;
        txn.open_table(INDEX).db(path)?;
        txn.open_table(NAMES).db(path)?;
        txn.open_table(SIGS).db(path)?;
        // A new store's change log is complete from the start.
        meta.insert(crate::log::FLOOR_KEY, 0u64.to_le_bytes().as_slice())
            .db(path)?;
        txn.open_table(crate::log::LOG).db(path)?;
    }
    txn.commit().db(path)?;
    Ok(())
}

/// A store written before the change log existed: start the log at its generation now
/// (once), so that what is derived from the documents can be kept up to date from the
/// first session on, not only from the first document written.
fn start_log(db: &Database, path: &Path) -> Result<(), OpenError> {
    let has_floor = {
        let txn = db.begin_read().db(path)?;
        let meta = txn.open_table(META).db(path)?;
        meta.get(crate::log::FLOOR_KEY).db(path)?.is_some()
    };
    if has_floor {
        return Ok(());
    }
    let txn = db.begin_write().db(path)?;
    {
        let mut meta = txn.open_table(META).db(path)?;
        let generation = read_generation(&meta, path)?;
        meta.insert(crate::log::FLOOR_KEY, generation.to_le_bytes().as_slice())
            .db(path)?;
        txn.open_table(crate::log::LOG).db(path)?;
    }
    txn.commit().db(path)?;
    Ok(())
}

/// A store written before the name rows carried the summary: build them from the
/// summary index (once, in one transaction) and drop the old ones. A row the index
/// cannot decode goes under the empty name, so that a listing reports it as damaged
/// as it did before.
fn name_rows(db: &Database, path: &Path) -> Result<(), OpenError> {
    {
        let txn = db.begin_read().db(path)?;
        match txn.open_table(NAMES) {
            Ok(_) => return Ok(()),
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => {
                return Err(OpenError::Damaged {
                    path: path.to_path_buf(),
                    detail: format!("table {NAMES}: {e}"),
                });
            }
        }
    }
    let txn = db.begin_write().db(path)?;
    {
        let index = txn.open_table(INDEX).db(path)?;
        let mut names = txn.open_table(NAMES).db(path)?;
        for row in index.iter().db(path)? {
            let (k, v) = row.db(path)?;
            let summary = v.value();
            let name = crate::codec::decode_summary_ref(summary).map_or("", |s| s.name);
            names.insert((name, k.value()), summary).db(path)?;
        }
    }
    txn.delete_table(OLD_NAMES).db(path)?;
    txn.open_table(META)
        .db(path)?
        .insert(FORMAT_VERSION_KEY, FORMAT_VERSION.to_string().as_bytes())
        .db(path)?;
    txn.commit().db(path)?;
    Ok(())
}

fn open_file(path: &Path, options: &StoreOptions) -> Result<Database, OpenError> {
    let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.is_dir() {
        return Err(not_a_store(path, "it is a directory"));
    }
    let mut head = Vec::with_capacity(REDB_MAGIC.len());
    fs::File::open(path)
        .and_then(|f| f.take(REDB_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|e| io_err(path, e))?;
    if head.is_empty() {
        return Err(not_a_store(path, "the file is empty"));
    }
    if head != REDB_MAGIC {
        return Err(not_a_store(path, "it is not a database file"));
    }
    // redb trusts a cleanly closed file and may panic on one damaged outside redb:
    // contain that, so a damaged file is an error and never takes the process down.
    let db = panic::catch_unwind(AssertUnwindSafe(|| options.builder().open(path)))
        .map_err(|p| OpenError::Damaged {
            path: path.to_path_buf(),
            detail: format!("redb failed reading it: {}", panic_text(&*p)),
        })?
        .map_err(|e| map_open_err(path, e))?;
    panic::catch_unwind(AssertUnwindSafe(|| check_format(&db, path))).map_err(|p| {
        OpenError::Damaged {
            path: path.to_path_buf(),
            detail: format!("redb failed reading it: {}", panic_text(&*p)),
        }
    })??;
    Ok(db)
}

fn check_format(db: &Database, path: &Path) -> Result<(), OpenError> {
    let txn = db.begin_read().db(path)?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => {
            return Err(not_a_store(path, "a redb database without fieldcrm tables"));
        }
        Err(TableError::TableTypeMismatch { .. }) => {
            return Err(not_a_store(path, "a redb database with foreign tables"));
        }
        Err(e) => return Err(DbError::new(path, e).into()),
    };
    match meta.get(FORMAT_KEY).db(path)? {
        Some(v) if v.value() == FORMAT_MARKER => {}
        _ => {
            return Err(not_a_store(
                path,
                "a redb database without the fieldcrm format marker",
            ));
        }
    }
    let version = meta.get(FORMAT_VERSION_KEY).db(path)?;
    let found = version
        .as_ref()
        .and_then(|v| std::str::from_utf8(v.value()).ok()?.parse::<u64>().ok())
        .ok_or_else(|| OpenError::Damaged {
            path: path.to_path_buf(),
            detail: "the format version is missing or unreadable".into(),
        })?;
    if found > FORMAT_VERSION {
        return Err(OpenError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    for name in [DOCS, STATE, INDEX] {
        txn.open_table(name).map_err(|e| OpenError::Damaged {
            path: path.to_path_buf(),
            detail: format!("table {name}: {e}"),
        })?;
    }
    txn.open_table(CHANGES).map_err(|e| OpenError::Damaged {
        path: path.to_path_buf(),
        detail: format!("table {CHANGES}: {e}"),
    })?;
    // The name rows are checked, or built for an older store, by `name_rows`.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn store_is_send_sync_and_cheap_to_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Store>();
    }

    #[test]
    fn meta_round_trips_and_persists() {
        let dir = tmp();
        let path = dir.path().join("ws.fieldcrm");
        {
            let s = Store::create(&path).unwrap();
            s.set_meta("device/secret", &[1, 2, 3]).unwrap();
            s.set_meta_str("workspace/id", "华东-01").unwrap();
            s.set_meta_str("sync/peer/b", "x").unwrap();
            s.set_meta_str("sync/peer/a", "y").unwrap();
            assert!(s.delete_meta("sync/peer/b").unwrap());
            assert!(!s.delete_meta("sync/peer/b").unwrap());
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.get_meta("device/secret").unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(
            s.get_meta_str("workspace/id").unwrap().as_deref(),
            Some("华东-01")
        );
        assert_eq!(s.get_meta("missing").unwrap(), None);
        assert_eq!(s.meta_keys("sync/peer/").unwrap(), vec!["sync/peer/a"]);
        s.set_meta("bin", &[0xff, 0xfe]).unwrap();
        assert!(matches!(
            s.get_meta_str("bin").unwrap_err(),
            MetaError::NotText { .. }
        ));
        let err = s.set_meta("fieldcrm.store.format", b"x").unwrap_err();
        assert!(matches!(err, MetaError::Reserved { .. }), "{err}");
    }

    #[test]
    fn create_refuses_to_overwrite() {
        let dir = tmp();
        let path = dir.path().join("ws.fieldcrm");
        fs::write(&path, "precious").unwrap();
        let err = Store::create(&path).unwrap_err();
        assert!(matches!(err, OpenError::AlreadyExists { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "precious");
    }

    #[test]
    fn open_in_same_process_shares_one_database() {
        let dir = tmp();
        let path = dir.path().join("ws.fieldcrm");
        let a = Store::create(&path).unwrap();
        let b = Store::open(&path).unwrap();
        let c = Store::open(dir.path().join(".").join("ws.fieldcrm")).unwrap();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(Arc::ptr_eq(&a.inner, &c.inner));
        drop((a, b, c));
        // After the last handle is gone the file is closed and can be opened afresh.
        let d = Store::open(&path).unwrap();
        d.set_meta("k", b"v").unwrap();
    }

    #[test]
    fn foreign_files_are_refused_with_typed_errors() {
        let dir = tmp();
        let missing = dir.path().join("missing.fieldcrm");
        assert!(matches!(
            Store::open(&missing).unwrap_err(),
            OpenError::NotFound { .. }
        ));

        let text = dir.path().join("notes.txt");
        fs::write(&text, "客户名单\nnot a database\n").unwrap();
        let err = Store::open(&text).unwrap_err();
        assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");
        assert!(err.to_string().contains("notes.txt"), "{err}");

        let empty = dir.path().join("empty");
        fs::write(&empty, "").unwrap();
        assert!(matches!(
            Store::open(&empty).unwrap_err(),
            OpenError::NotAStore { .. }
        ));

        assert!(matches!(
            Store::open(dir.path()).unwrap_err(),
            OpenError::NotAStore { .. }
        ));

        let foreign = dir.path().join("other.redb");
        {
            let db = Database::create(&foreign).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(TableDefinition::<u64, u64>::new("stuff"))
                .unwrap()
                .insert(1, 2)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Store::open(&foreign).unwrap_err();
        assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");

        let wrong_meta = dir.path().join("wrong-meta.redb");
        {
            let db = Database::create(&wrong_meta).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(TableDefinition::<u64, u64>::new("meta-v1"))
                .unwrap()
                .insert(1, 2)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Store::open(&wrong_meta).unwrap_err();
        assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");
    }

    #[test]
    fn newer_format_is_refused() {
        let dir = tmp();
        let path = dir.path().join("ws.fieldcrm");
        {
            let db = Database::create(&path).unwrap();
            init_tables(&db, &path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(FORMAT_VERSION_KEY, b"3".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, OpenError::TooNew { found: 3, .. }), "{err:?}");
        assert!(err.to_string().contains("upgrade fieldcrm"), "{err}");
    }

    #[test]
    fn truncated_and_scribbled_files_give_errors_not_panics() {
        let dir = tmp();
        let path = dir.path().join("ws.fieldcrm");
        {
            let s = Store::create(&path).unwrap();
            for i in 0..200 {
                s.set_meta(&format!("k{i}"), &[i as u8; 300]).unwrap();
            }
        }
        let good = fs::read(&path).unwrap();
        for cut in [10, 100, 600, 4096, good.len() / 2, good.len() - 1] {
            let p = dir.path().join(format!("cut-{cut}"));
            fs::write(&p, &good[..cut]).unwrap();
            let err = Store::open(&p).unwrap_err();
            assert!(
                matches!(err, OpenError::Damaged { .. }),
                "cut at {cut}: {err}"
            );
        }
        // Scribbles over the header and over the pages redb reads when opening (redb
        // panics on some of these; the store turns that into an error).
        for start in [64, 4096, 8192, 3 * good.len() / 4] {
            let mut scribbled = good.clone();
            for b in scribbled.iter_mut().skip(start).step_by(7) {
                *b ^= 0x5a;
            }
            let p = dir.path().join(format!("scribbled-{start}"));
            fs::write(&p, &scribbled).unwrap();
            let err = Store::open(&p).unwrap_err();
            assert!(
                matches!(err, OpenError::Damaged { .. } | OpenError::NotAStore { .. }),
                "scribbled from {start}: {err}"
            );
        }
    }
}
