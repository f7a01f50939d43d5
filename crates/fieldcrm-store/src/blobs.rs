//! Large values the layers above keep beside the documents (a device's record of what a
//! relay acknowledged), and small cached rows (the claims backfill's, one per file): one
//! row per key in their own table,
//! so the small meta rows every command reads (workspace ID, time zone) never share a
//! B-tree leaf, and so a page read, with a value of several megabytes.

use redb::{ReadableDatabase, TableDefinition, TableError};

use crate::error::{DbResultExt, MetaError};
use crate::store::{META, Store};

/// `key → bytes`.
pub(crate) const BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("blobs-v1");

impl Store {
    /// A large value, if set. A value an older version kept in the meta rows under the
    /// same key is found there until it is next set.
    pub fn get_blob(&self, key: &str) -> Result<Option<Vec<u8>>, MetaError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        match txn.open_table(BLOBS) {
            Ok(t) => {
                if let Some(v) = t.get(key).db(path)? {
                    return Ok(Some(v.value().to_vec()));
                }
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(crate::error::DbError::new(path, e).into()),
        }
        drop(txn);
        self.get_meta(key)
    }

    /// Set a large value durably, and remove the meta row an older version kept under
    /// the same key (in the same transaction).
    pub fn set_blob(&self, key: &str, value: &[u8]) -> Result<(), MetaError> {
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        txn.open_table(BLOBS)
            .db(path)?
            .insert(key, value)
            .db(path)?;
        txn.open_table(META).db(path)?.remove(key).db(path)?;
        txn.commit().db(path)?;
        Ok(())
    }
}

impl Store {
    /// Set a large value that is only a cache (computed again when lost): committed
    /// without waiting for the disk, like [`Store::put_derived`]; the next durable commit
    /// persists it too.
    pub fn set_cache_blob(&self, key: &str, value: &[u8]) -> Result<(), MetaError> {
        Ok(self.write_cache(BLOBS, [(key, Some(value))])?)
    }

    /// Small cached values kept one per key in the same table (for example one row per
    /// document), read for the keys asked in one read transaction, in order.
    pub fn get_cache_rows(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, MetaError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let t = match txn.open_table(BLOBS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(vec![None; keys.len()]),
            Err(e) => return Err(crate::error::DbError::new(path, e).into()),
        };
        keys.iter()
            .map(|k| Ok(t.get(k.as_str()).db(path)?.map(|v| v.value().to_vec())))
            .collect()
    }

    /// Set (or, with `None`, remove) cached rows in one transaction that does not wait
    /// for the disk, like [`Store::set_cache_blob`].
    pub fn set_cache_rows(&self, rows: &[(String, Option<Vec<u8>>)]) -> Result<(), MetaError> {
        let rows = rows.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        Ok(self.write_cache(BLOBS, rows)?)
    }

    /// Write (or, with `None`, remove) rows of a cache table in one transaction that is
    /// not flushed to disk by itself: a cache row lost in a crash is only computed again,
    /// and the next durable commit persists these rows too. Nothing is written for no
    /// rows.
    pub(crate) fn write_cache<'a>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        rows: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Result<(), crate::error::DbError> {
        let mut rows = rows.into_iter().peekable();
        if rows.peek().is_none() {
            return Ok(());
        }
        let path = self.path();
        let mut txn = self.db().begin_write().db(path)?;
        // Refused only when the transaction made a savepoint, which this one does not.
        let _ = txn.set_durability(redb::Durability::None);
        {
            let mut t = txn.open_table(table).db(path)?;
            for (k, v) in rows {
                match v {
                    Some(v) => drop(t.insert(k, v).db(path)?),
                    None => drop(t.remove(k).db(path)?),
                }
            }
        }
        txn.commit().db(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_replaces_the_meta_row_of_an_older_version() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("s.redb")).unwrap();
        assert_eq!(s.get_blob("acked/office").unwrap(), None);
        s.set_meta("acked/office", b"old").unwrap();
        assert_eq!(s.get_blob("acked/office").unwrap(), Some(b"old".to_vec()));
        let big = vec![7u8; 3 << 20];
        s.set_blob("acked/office", &big).unwrap();
        assert_eq!(s.get_blob("acked/office").unwrap(), Some(big));
        assert_eq!(s.get_meta("acked/office").unwrap(), None);
        // Meta rows stay small: the large value lives in its own table.
        s.set_meta_str("timezone", "Asia/Shanghai").unwrap();
        assert_eq!(
            s.get_meta_str("timezone").unwrap().as_deref(),
            Some("Asia/Shanghai")
        );
    }

    #[test]
    fn cache_rows_are_read_for_the_keys_asked_and_removed_with_none() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("s.redb")).unwrap();
        let keys: Vec<String> = ["c/客户一", "c/b", "c/🚚"].map(String::from).to_vec();
        assert_eq!(s.get_cache_rows(&keys).unwrap(), vec![None, None, None]);
        let rows = vec![
            (keys[0].clone(), Some(b"one".to_vec())),
            (keys[2].clone(), Some(b"three".to_vec())),
        ];
        s.set_cache_rows(&rows).unwrap();
        assert_eq!(
            s.get_cache_rows(&keys).unwrap(),
            vec![Some(b"one".to_vec()), None, Some(b"three".to_vec())]
        );
        s.set_cache_rows(&[(keys[0].clone(), None)]).unwrap();
        assert_eq!(s.get_cache_rows(&keys[..1]).unwrap(), vec![None]);
        assert_eq!(s.get_blob("c/🚚").unwrap(), Some(b"three".to_vec()));
    }
}
