//! How much each table of the store holds (`fieldcrm doc stats`): what an admin asks when
//! a device's disk fills, and what the end-to-end benchmark compares (the snapshot cache
//! against the documents).

use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};

use crate::error::{DbResultExt, ListError};
use crate::store::Store;

/// One table's size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableSize {
    /// The table's name (e.g. `docs-v1`, `derived-v1`).
    pub name: String,
    /// Rows.
    pub entries: u64,
    /// Bytes of keys and values.
    pub stored_bytes: u64,
    /// Bytes of the tree's own pages beyond the stored data.
    pub metadata_bytes: u64,
    /// Bytes allocated to the table but unused.
    pub fragmented_bytes: u64,
}

impl Store {
    /// Every table's size, by name, from one read transaction.
    pub fn table_sizes(&self) -> Result<Vec<TableSize>, ListError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let mut out = Vec::new();
        for handle in txn.list_tables().db(path)? {
            let name = handle.name().to_string();
            let table = txn.open_untyped_table(handle).db(path)?;
            let s = table.stats().db(path)?;
            out.push(TableSize {
                name,
                entries: table.len().db(path)?,
                stored_bytes: s.stored_bytes(),
                metadata_bytes: s.metadata_bytes(),
                fragmented_bytes: s.fragmented_bytes(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
