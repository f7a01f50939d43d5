//! The change log: which documents each document-writing transaction touched, so that
//! what is derived from the documents (a sync peer's item set, what a remote holds, the
//! app's live rule state) is brought up to date by reading what changed since it was
//! derived, not every document.
//!
//! Every transaction that writes documents moves the store's generation on (see
//! [`Store::generation`]) and adds one row per document it wrote or removed to
//! `changelog-v1`: (generation, document ID) → the document's heads *before* that
//! transaction (empty: it did not exist). The log holds every write after the generation
//! kept in its floor meta row; older rows are pruned once the log holds more than twice
//! as many rows as there are documents (plus [`SLACK_ROWS`]), whole generations at a
//! time, and the floor moves past them. A reader holding state derived at a generation
//! below the floor derives it again from everything.

use std::collections::BTreeMap;
use std::path::Path;

use automerge::ChangeHash;
use fieldcrm_model::DocId;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableDefinition};

use crate::codec;
use crate::docs::damaged;
use crate::error::{DbError, DbResultExt, LoadError};
use crate::store::{META, STATE, Store};

/// (generation, document ID) → the document's heads before that generation's write.
pub(crate) const LOG: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("changelog-v1");
/// The generation after which the log is complete.
pub(crate) const FLOOR_KEY: &str = "fieldcrm.store.log-floor";
/// Rows kept beyond twice the number of documents before the oldest are pruned.
pub(crate) const SLACK_ROWS: u64 = 20_000;

/// Every held document with its heads, in ID order.
pub type AllHeads = Vec<(DocId, Vec<ChangeHash>)>;

/// The documents written since a generation (see [`Store::changed_since`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The store's generation now (what to ask from next time).
    pub generation: u64,
    /// Every document written or removed since, in ID order.
    pub docs: Vec<ChangedDoc>,
}

/// One document written or removed since a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedDoc {
    /// Its ID.
    pub id: DocId,
    /// Its heads at that generation (empty: the store did not hold it).
    pub before: Vec<ChangeHash>,
    /// Its heads now (`None`: the store no longer holds it).
    pub heads: Option<Vec<ChangeHash>>,
}

fn decode_floor(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(u64::MAX, u64::from_le_bytes)
}

fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    let (chunks, rest) = bytes.as_chunks::<32>();
    rest.is_empty()
        .then(|| chunks.iter().map(|c| ChangeHash(*c)).collect())
}

/// The log table of one write transaction at generation `generation`.
pub(crate) struct LogWriter<'t> {
    table: Table<'t, (u64, &'static str), &'static [u8]>,
    generation: u64,
}

impl<'t> LogWriter<'t> {
    /// Open the log in a transaction that moved the generation from `previous` to
    /// `previous + 1`: start the floor at `previous` in a store that had no log yet, and
    /// prune the oldest generations once the log is too long for `docs` documents.
    pub(crate) fn open(
        txn: &'t redb::WriteTransaction,
        meta: &mut Table<'_, &'static str, &'static [u8]>,
        path: &Path,
        previous: u64,
    ) -> Result<Self, DbError> {
        let mut table = txn.open_table(LOG).db(path)?;
        if meta.get(FLOOR_KEY).db(path)?.is_none() {
            meta.insert(FLOOR_KEY, previous.to_le_bytes().as_slice())
                .db(path)?;
        }
        let docs = txn.open_table(STATE).db(path)?.len().db(path)?;
        let rows = table.len().db(path)?;
        let limit = docs.saturating_mul(2).saturating_add(SLACK_ROWS);
        if rows > limit {
            // Drop the oldest half of the rows, whole generations at a time.
            let mut cut = None;
            for (n, row) in table.iter().db(path)?.enumerate() {
                let (k, _) = row.db(path)?;
                cut = Some(k.value().0);
                if n as u64 >= rows / 2 {
                    break;
                }
            }
            if let Some(cut) = cut.filter(|c| *c < previous) {
                table
                    .retain_in((0, "")..(cut.saturating_add(1), ""), |_, _| false)
                    .db(path)?;
                meta.insert(FLOOR_KEY, cut.to_le_bytes().as_slice())
                    .db(path)?;
            }
        }
        Ok(LogWriter {
            table,
            generation: previous.wrapping_add(1),
        })
    }

    /// Note that this transaction writes or removes document `key`, which had `before`
    /// (once per document and transaction: the first call keeps the heads it had at the
    /// start).
    pub(crate) fn touch(
        &mut self,
        path: &Path,
        key: &str,
        before: &[ChangeHash],
    ) -> Result<(), DbError> {
        if self.table.get((self.generation, key)).db(path)?.is_none() {
            self.table
                .insert((self.generation, key), encode_heads(before).as_slice())
                .db(path)?;
        }
        Ok(())
    }
}

impl Store {
    /// Every document written or removed after generation `since` (as returned by
    /// [`Store::generation`] or an earlier [`Changed::generation`]), with its heads then
    /// and now, read in one transaction. `None` when the log does not reach back that far
    /// (pruned, a store older than the log, or `since` is not a generation of this
    /// store): the caller derives its state from every document again.
    pub fn changed_since(&self, since: u64) -> Result<Option<Changed>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let meta = txn.open_table(META).db(path)?;
        let generation = crate::store::read_generation(&meta, path)?;
        let floor = match meta.get(FLOOR_KEY).db(path)? {
            Some(v) => decode_floor(v.value()),
            None => return Ok(None),
        };
        if since < floor || since > generation {
            return Ok(None);
        }
        let log = match txn.open_table(LOG) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(DbError::new(path, e).into()),
        };
        let state = txn.open_table(STATE).db(path)?;
        let mut first: BTreeMap<String, Vec<ChangeHash>> = BTreeMap::new();
        for row in log.range((since.saturating_add(1), "")..).db(path)? {
            let (k, v) = row.db(path)?;
            let (_, key) = k.value();
            if first.contains_key(key) {
                continue;
            }
            let before = decode_heads(v.value())
                .ok_or_else(|| damaged(path, "changelog-v1", key, "heads are not whole hashes"))?;
            first.insert(key.to_string(), before);
        }
        let mut docs = Vec::with_capacity(first.len());
        for (key, before) in first {
            let id = key
                .parse::<DocId>()
                .map_err(|e| damaged(path, "changelog-v1", &key, e))?;
            let heads = match state.get(key.as_str()).db(path)? {
                Some(v) => Some(
                    codec::DocState::decode_heads(v.value())
                        .map_err(|e| damaged(path, "state-v1", &key, e.0))?,
                ),
                None => None,
            };
            docs.push(ChangedDoc { id, before, heads });
        }
        Ok(Some(Changed { generation, docs }))
    }

    /// [`Store::all_heads`] with the generation they are the heads at, read in one
    /// transaction (to derive state that [`Store::changed_since`] then keeps up to date).
    pub fn all_heads_at(&self) -> Result<(u64, AllHeads), LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let meta = txn.open_table(META).db(path)?;
        let generation = crate::store::read_generation(&meta, path)?;
        let state = txn.open_table(STATE).db(path)?;
        Ok((generation, crate::docs::heads_of_all(&state, path)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{Customer, DeviceKey, Document};

    const A: DeviceKey = DeviceKey([1; 32]);

    fn customer(name: &str) -> Document {
        Document::create(DocId::random(), &A, 1, &Customer::new(name, 1), "new").unwrap()
    }

    fn ids(c: &Changed) -> Vec<&DocId> {
        c.docs.iter().map(|d| &d.id).collect()
    }

    #[test]
    fn names_what_each_write_touched_with_heads_then_and_now() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
        assert_eq!(s.changed_since(0).unwrap().unwrap().docs, vec![]);
        let mut a = customer("华东机械");
        let mut b = customer("華南貿易");
        s.save_all([&mut a, &mut b]).unwrap();
        let g1 = s.generation().unwrap();
        let all = s.changed_since(0).unwrap().unwrap();
        assert_eq!(all.generation, g1);
        let mut want = vec![a.id(), b.id()];
        want.sort();
        assert_eq!(ids(&all), want);
        assert!(all.docs.iter().all(|d| d.before.is_empty()));

        // Nothing since: empty. An edit: only that document, with its heads before.
        assert!(s.changed_since(g1).unwrap().unwrap().docs.is_empty());
        let a_before = a.heads();
        a.put(&["region"], &Some("上海 🏭".to_string())).unwrap();
        a.commit(2, "region");
        s.save(&mut a).unwrap();
        let c = s.changed_since(g1).unwrap().unwrap();
        assert_eq!(ids(&c), vec![a.id()]);
        assert_eq!(c.docs[0].before, a_before);
        assert_eq!(c.docs[0].heads.as_deref(), Some(a.heads().as_slice()));

        // Two edits of a later generation: the earliest heads are kept.
        let g2 = c.generation;
        let b_before = b.heads();
        for n in 0..2 {
            b.put(&["region"], &Some(format!("廣州 {n}"))).unwrap();
            b.commit(3 + n, "region");
            s.save(&mut b).unwrap();
        }
        let c = s.changed_since(g1).unwrap().unwrap();
        assert_eq!(ids(&c).len(), 2);
        let since_g2 = s.changed_since(g2).unwrap().unwrap();
        assert_eq!(ids(&since_g2), vec![b.id()]);
        assert_eq!(since_g2.docs[0].before, b_before);

        // A removal is a change too, with no heads now.
        let g3 = since_g2.generation;
        assert!(s.delete(a.id()).unwrap());
        let c = s.changed_since(g3).unwrap().unwrap();
        assert_eq!(ids(&c), vec![a.id()]);
        assert_eq!(c.docs[0].heads, None);

        // A save that writes nothing moves nothing; a generation from the future, or
        // one this store never had, is not answered.
        let g4 = c.generation;
        s.save(&mut b).unwrap();
        assert_eq!(s.generation().unwrap(), g4);
        assert_eq!(s.changed_since(g4 + 1).unwrap(), None);
        let (at, heads) = s.all_heads_at().unwrap();
        assert_eq!((at, heads.len()), (g4, 1));
    }

    #[test]
    fn a_long_log_is_pruned_and_older_generations_are_not_answered() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
        let mut doc = customer("成都客户");
        s.save(&mut doc).unwrap();
        let start = s.generation().unwrap();
        // One document edited SLACK_ROWS + 10 times: the log outgrows 2 × 1 + SLACK_ROWS.
        let total = SLACK_ROWS + 10;
        for n in 0..total {
            doc.put(&["region"], &Some(format!("区域{n}"))).unwrap();
            doc.commit(10 + n as i64, "region");
            let txn = s.db().begin_write().unwrap();
            {
                let mut t = crate::docs::tables_for_test(&txn, s.path());
                t.log().touch(s.path(), doc.id().as_str(), &[]).unwrap();
            }
            txn.commit().unwrap();
        }
        s.save(&mut doc).unwrap();
        assert_eq!(s.changed_since(start).unwrap(), None, "pruned past it");
        let now = s.generation().unwrap();
        let recent = s.changed_since(now - 5).unwrap().unwrap();
        assert_eq!(recent.docs.len(), 1);
        let txn = s.db().begin_read().unwrap();
        let rows = txn.open_table(LOG).unwrap().len().unwrap();
        assert!(rows <= 2 + SLACK_ROWS, "{rows} rows kept");
    }

    #[test]
    fn a_store_written_before_the_log_answers_from_its_next_open_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.fieldcrm");
        let g = {
            let s = Store::create(&path).unwrap();
            let mut doc = customer("老客户");
            s.save(&mut doc).unwrap();
            // As a store from before the log: no floor row, no log table.
            let txn = s.db().begin_write().unwrap();
            txn.open_table(META).unwrap().remove(FLOOR_KEY).unwrap();
            txn.delete_table(LOG).unwrap();
            txn.commit().unwrap();
            let g = s.generation().unwrap();
            assert_eq!(s.changed_since(g).unwrap(), None);
            g
        };
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.changed_since(g - 1).unwrap(),
            None,
            "before the log began"
        );
        assert_eq!(s.changed_since(g).unwrap().unwrap().docs, vec![]);
        let id = s.all_heads().unwrap()[0].0.clone();
        let mut doc = s.load(&id, &A).unwrap();
        doc.put(&["region"], &Some("北京".to_string())).unwrap();
        doc.commit(5, "region");
        s.save(&mut doc).unwrap();
        let c = s.changed_since(g).unwrap().unwrap();
        assert_eq!(ids(&c), vec![doc.id()]);
    }
}
