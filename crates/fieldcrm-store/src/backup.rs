//! Online backups: every table of the store as of one moment (one redb read transaction),
//! copied into a fresh redb file while the store keeps serving writes.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use redb::{
    Database, Durability, Key, MultimapTableHandle, ReadTransaction, ReadableDatabase,
    ReadableTable, ReadableTableMetadata, TableDefinition, TableError, TableHandle, Value,
};

use crate::derived::DERIVED;
use crate::error::{DbError, DbResultExt};
use crate::store::{CHANGES, DOCS, INDEX, META, NAMES, SIGS, STATE, Store};

/// Rows written to the copy per write transaction (bounds the memory of a large copy).
const ROWS_PER_COMMIT: u64 = 50_000;

/// Making a backup copy of the store failed; the destination file was removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The destination exists: a backup never overwrites.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The destination.
        path: PathBuf,
    },
    /// The source holds a table this build does not know, so a copy could miss data.
    #[error("workspace store {} holds table `{table}`, unknown to this build; upgrade fieldcrm", path.display())]
    UnknownTable {
        /// The store file.
        path: PathBuf,
        /// The table's name.
        table: String,
    },
    /// Writing the destination failed.
    #[error("could not write the backup {}: {source}", path.display())]
    Io {
        /// The destination.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// redb failed (reading the store or writing the copy; the path says which).
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a backup copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupStats {
    /// Documents in the copy (rows of the summary index, as [`Store::len`] counts them).
    pub documents: u64,
    /// Rows copied, all tables together.
    pub rows: u64,
    /// Size of the copy in bytes.
    pub bytes: u64,
}

/// The whole store as of the moment [`Store::snapshot`] was called: later writes (which go
/// on meanwhile) are not in it. Copy it with [`StoreSnapshot::write_to`].
pub struct StoreSnapshot {
    txn: ReadTransaction,
    path: PathBuf,
}

impl std::fmt::Debug for StoreSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSnapshot")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A consistent view of every table at this moment (one redb read transaction). Writes
    /// go on meanwhile; they are not in the snapshot.
    pub fn snapshot(&self) -> Result<StoreSnapshot, DbError> {
        Ok(StoreSnapshot {
            txn: self.db().begin_read().db(self.path())?,
            path: self.path().to_path_buf(),
        })
    }

    /// Copies the store as of now into a new store file at `dest` (see
    /// [`StoreSnapshot::write_to`]) while this one keeps serving.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupStats, BackupError> {
        self.snapshot()?.write_to(dest)
    }
}

impl StoreSnapshot {
    /// Documents in the snapshot.
    pub fn documents(&self) -> Result<u64, DbError> {
        let path = &self.path;
        self.txn.open_table(INDEX).db(path)?.len().db(path)
    }

    /// Writes every table of the snapshot into a new redb file at `dest`, committed durably
    /// (redb syncs the file at the last commit) and opened as a store of its own by
    /// [`Store::open`]. Refuses an existing `dest`; on failure the partial file is removed.
    pub fn write_to(&self, dest: &Path) -> Result<BackupStats, BackupError> {
        self.check_tables()?;
        match OpenOptions::new().write(true).create_new(true).open(dest) {
            Ok(f) => drop(f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists { path: dest.into() });
            }
            Err(source) => {
                return Err(BackupError::Io {
                    path: dest.into(),
                    source,
                });
            }
        }
        let result = self.copy_into(dest);
        if result.is_err() {
            let _ = fs::remove_file(dest);
        }
        result
    }

    /// Every table of the source must be one this build copies.
    fn check_tables(&self) -> Result<(), BackupError> {
        let known = [
            META.name(),
            DOCS.name(),
            CHANGES.name(),
            STATE.name(),
            INDEX.name(),
            NAMES.name(),
            SIGS.name(),
            DERIVED.name(),
            crate::blobs::BLOBS.name(),
            crate::log::LOG.name(),
        ];
        let path = &self.path;
        for t in self.txn.list_tables().db(path)? {
            if !known.contains(&t.name()) {
                return Err(BackupError::UnknownTable {
                    path: path.clone(),
                    table: t.name().to_string(),
                });
            }
        }
        if let Some(t) = self.txn.list_multimap_tables().db(path)?.next() {
            return Err(BackupError::UnknownTable {
                path: path.clone(),
                table: t.name().to_string(),
            });
        }
        Ok(())
    }

    fn copy_into(&self, dest: &Path) -> Result<BackupStats, BackupError> {
        let db = Database::builder().create(dest).db(dest)?;
        let mut rows = 0;
        rows += copy_table(&self.txn, &self.path, &db, dest, META)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, DOCS)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, CHANGES)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, STATE)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, INDEX)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, NAMES)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, SIGS)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, DERIVED)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, crate::blobs::BLOBS)?;
        rows += copy_table(&self.txn, &self.path, &db, dest, crate::log::LOG)?;
        // The last commit is durable and covers every earlier one.
        let mut txn = db.begin_write().db(dest)?;
        txn.set_durability(Durability::Immediate).db(dest)?;
        txn.commit().db(dest)?;
        drop(db);
        let io = |source| BackupError::Io {
            path: dest.into(),
            source,
        };
        let file = fs::File::open(dest).map_err(io)?;
        file.sync_all().map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len();
        Ok(BackupStats {
            documents: self.documents()?,
            rows,
            bytes,
        })
    }
}

/// Copies one table (absent in the source: created empty) in commits of
/// [`ROWS_PER_COMMIT`] rows; returns the rows copied.
fn copy_table<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    src_path: &Path,
    db: &Database,
    dest: &Path,
    def: TableDefinition<K, V>,
) -> Result<u64, BackupError> {
    let table = match src.open_table(def) {
        Ok(t) => Some(t),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(DbError::new(src_path, e).into()),
    };
    let mut copied = 0;
    let mut txn = begin(db, dest)?;
    if let Some(table) = table {
        let mut out = txn.open_table(def).db(dest)?;
        for row in table.iter().db(src_path)? {
            let (k, v) = row.db(src_path)?;
            out.insert(k.value(), v.value()).db(dest)?;
            copied += 1;
            if copied % ROWS_PER_COMMIT == 0 {
                drop(out);
                txn.commit().db(dest)?;
                txn = begin(db, dest)?;
                out = txn.open_table(def).db(dest)?;
            }
        }
    } else {
        txn.open_table(def).db(dest)?;
    }
    txn.commit().db(dest)?;
    Ok(copied)
}

/// A write transaction on the copy that is not synced on its own (the last one is).
fn begin(db: &Database, dest: &Path) -> Result<redb::WriteTransaction, BackupError> {
    let mut txn = db.begin_write().db(dest)?;
    txn.set_durability(Durability::None).db(dest)?;
    Ok(txn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{Customer, DeviceKey, DocId, Document};

    #[test]
    fn a_backup_holds_what_was_committed_before_it_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("a.redb")).unwrap();
        let device = DeviceKey([7; 32]);
        let mut ids = Vec::new();
        for i in 0..30 {
            let c = Customer::new(format!("客户{i}"), 0);
            let mut doc = Document::create(DocId::random(), &device, 0, &c, "new").unwrap();
            store.save(&mut doc).unwrap();
            ids.push(doc.id().clone());
        }
        store.set_meta_str("relay.workspace_id", "ws").unwrap();
        let snap = store.snapshot().unwrap();
        // Written after the snapshot: not in the copy.
        let c = Customer::new("后来的客户", 0);
        let mut later = Document::create(DocId::random(), &device, 0, &c, "new").unwrap();
        store.save(&mut later).unwrap();
        let dest = dir.path().join("b.redb");
        let stats = snap.write_to(&dest).unwrap();
        assert_eq!(stats.documents, 30);
        assert!(stats.bytes > 0 && stats.rows > 60, "{stats:?}");
        let copy =
            Store::open_with(&dest, crate::StoreOptions::default().verify_on_open(true)).unwrap();
        assert_eq!(copy.len().unwrap(), 30);
        assert!(!copy.contains(later.id()).unwrap());
        for id in &ids {
            assert_eq!(
                copy.load_bytes(id).unwrap(),
                store.load_bytes(id).unwrap(),
                "{id}"
            );
            assert_eq!(copy.heads(id).unwrap(), store.heads(id).unwrap());
        }
        assert_eq!(
            copy.get_meta_str("relay.workspace_id").unwrap().as_deref(),
            Some("ws")
        );
        // Never overwrites; the existing file is untouched.
        let before = fs::read(&dest).unwrap();
        let err = store.backup_to(&dest).unwrap_err();
        assert!(matches!(err, BackupError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&dest).unwrap(), before);
    }
}
