//! A cache of values derived from documents (e.g. the policy engine's snapshots), keyed by
//! document and valid only for the heads it was computed at. It is committed like every
//! other write (one transaction per batch), so a crash never leaves the file needing repair
//! on its account; a stale row is never used because its heads no longer match.

use automerge::ChangeHash;
use fieldcrm_model::DocId;
use redb::{ReadableDatabase, TableDefinition};

use crate::error::{DbResultExt, LoadError, SaveError};
use crate::store::Store;

/// `doc id → [n: u32 LE][n × 32-byte head hashes][payload]`.
pub(crate) const DERIVED: TableDefinition<&str, &[u8]> = TableDefinition::new("derived-v1");

fn encode(heads: &[ChangeHash], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + heads.len() * 32 + payload.len());
    out.extend_from_slice(&(heads.len() as u32).to_le_bytes());
    for h in heads {
        out.extend_from_slice(&h.0);
    }
    out.extend_from_slice(payload);
    out
}

/// The payload if the row was computed at exactly `heads`.
fn decode<'a>(row: &'a [u8], heads: &[ChangeHash]) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(row.get(..4)?.try_into().ok()?) as usize;
    let hashes = row.get(4..4 + n.checked_mul(32)?)?;
    if n != heads.len() || hashes.chunks(32).zip(heads).any(|(a, b)| a != b.0) {
        return None;
    }
    row.get(4 + n * 32..)
}

impl Store {
    /// Cached derived values for documents at the given heads (`None` where missing or
    /// computed at other heads), in the order asked. Reads only the cache table.
    pub fn derived(
        &self,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<Vec<Option<Vec<u8>>>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let table = match txn.open_table(DERIVED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![None; docs.len()]),
            Err(e) => return Err(LoadError::from(crate::error::DbError::new(path, e))),
        };
        docs.iter()
            .map(|(id, heads)| {
                Ok(table
                    .get(id.as_str())
                    .db(path)?
                    .and_then(|row| decode(row.value(), heads).map(<[u8]>::to_vec)))
            })
            .collect()
    }

    /// What is cached for document `id`, read where the store holds it (the row is not
    /// copied out: the Sales document's is megabytes): `None` when nothing is, at any
    /// heads; else `f` given the value computed at exactly `heads`, or `None` when the
    /// row is of other heads.
    pub fn derived_with<R>(
        &self,
        id: &DocId,
        heads: &[ChangeHash],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<Option<R>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let table = match txn.open_table(DERIVED) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(LoadError::from(crate::error::DbError::new(path, e))),
        };
        Ok(table
            .get(id.as_str())
            .db(path)?
            .map(|row| f(decode(row.value(), heads))))
    }

    /// Store derived values computed at the given heads, in one transaction that is not
    /// flushed to disk by itself: a cache row lost in a crash is only computed again, and
    /// a check after one edit should not wait for an fsync (the next durable commit
    /// persists these rows too).
    pub fn put_derived(&self, rows: &[(DocId, Vec<ChangeHash>, Vec<u8>)]) -> Result<(), SaveError> {
        let encoded: Vec<Vec<u8>> = rows.iter().map(|(_, h, p)| encode(h, p)).collect();
        let rows = rows.iter().zip(&encoded);
        Ok(self.write_cache(
            DERIVED,
            rows.map(|((id, ..), row)| (id.as_str(), Some(&row[..]))),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_valid_only_at_their_heads() {
        let h1 = ChangeHash([1; 32]);
        let h2 = ChangeHash([2; 32]);
        let row = encode(&[h1, h2], b"payload");
        assert_eq!(decode(&row, &[h1, h2]), Some(&b"payload"[..]));
        assert_eq!(decode(&row, &[h1]), None);
        assert_eq!(decode(&row, &[h2, h1]), None);
        assert_eq!(decode(&row[..10], &[h1, h2]), None);
    }

    #[test]
    fn cache_round_trip_through_a_real_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path().join("w.redb")).unwrap();
        let id = DocId::random();
        let heads = vec![ChangeHash([7; 32])];
        assert_eq!(
            store.derived(&[(id.clone(), heads.clone())]).unwrap(),
            vec![None]
        );
        store
            .put_derived(&[(id.clone(), heads.clone(), b"snap".to_vec())])
            .unwrap();
        assert_eq!(
            store.derived(&[(id.clone(), heads)]).unwrap(),
            vec![Some(b"snap".to_vec())]
        );
        assert_eq!(
            store.derived(&[(id, vec![ChangeHash([8; 32])])]).unwrap(),
            vec![None]
        );
    }
}
