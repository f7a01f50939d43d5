//! Saving, loading, applying changes to and deleting documents.
//!
//! A save never rewrites a whole document for a small edit: it appends the changes the
//! store does not have yet (`save_after(stored heads)`) as one row of `changes-v1`, and
//! folds the rows into a fresh snapshot in the same transaction once they pass the
//! thresholds of [`StoreOptions`](crate::StoreOptions).
//!
//! The store does not rely on the document's own save cursor (`save_incremental`): a
//! document freshly loaded by Automerge has an empty cursor, so its first
//! `save_incremental` returns the whole history. Diffing against the heads stored in
//! `state-v1` is right whatever the caller did with the document.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::{DeviceKey, DocError, DocId, Document, Summary};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, WriteTransaction};

use crate::codec::{self, DocState};
use crate::error::{ApplyError, DamagedRow, DbError, DbResultExt, LoadError, SaveError};
use crate::store::{CHANGES, DOCS, INDEX, NAMES, STATE, Store, StoreOptions};

/// How a document is laid out in the store right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocStorage {
    /// Size of the compacted snapshot row.
    pub snapshot_bytes: u64,
    /// Change rows appended since the snapshot.
    pub pending_changes: u64,
    /// Their total size.
    pub pending_bytes: u64,
    /// Heads of the stored document.
    pub heads: Vec<ChangeHash>,
}

/// The write tables of one transaction.
pub(crate) struct Tables<'t> {
    docs: Table<'t, &'static str, &'static [u8]>,
    changes: Table<'t, (&'static str, u64), &'static [u8]>,
    state: Table<'t, &'static str, &'static [u8]>,
    index: Table<'t, &'static str, &'static [u8]>,
    names: Table<'t, (&'static str, &'static str), ()>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction, path: &Path) -> Result<Self, DbError> {
        Ok(Tables {
            docs: txn.open_table(DOCS).db(path)?,
            changes: txn.open_table(CHANGES).db(path)?,
            state: txn.open_table(STATE).db(path)?,
            index: txn.open_table(INDEX).db(path)?,
            names: txn.open_table(NAMES).db(path)?,
        })
    }
}

fn damaged(path: &Path, table: &'static str, key: &str, detail: impl ToString) -> DamagedRow {
    DamagedRow {
        path: path.to_path_buf(),
        table,
        key: key.to_string(),
        detail: detail.to_string(),
    }
}

fn read_state(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    path: &Path,
    key: &str,
) -> Result<Option<DocState>, LoadError> {
    match table.get(key).db(path)? {
        None => Ok(None),
        Some(v) => DocState::decode(v.value())
            .map(Some)
            .map_err(|e| damaged(path, "state-v1", key, e.0).into()),
    }
}

/// Snapshot followed by the change rows: the bytes Automerge loads in one call.
fn read_doc_bytes(
    docs: &impl ReadableTable<&'static str, &'static [u8]>,
    changes: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    path: &Path,
    key: &str,
) -> Result<Option<Vec<u8>>, DbError> {
    let Some(snapshot) = docs.get(key).db(path)? else {
        return Ok(None);
    };
    let mut bytes = snapshot.value().to_vec();
    for row in changes.range((key, 0)..=(key, u64::MAX)).db(path)? {
        let (_, v) = row.db(path)?;
        bytes.extend_from_slice(v.value());
    }
    Ok(Some(bytes))
}

fn doc_err(path: &Path, e: DocError) -> SaveError {
    SaveError::Doc {
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

fn delete_change_rows(t: &mut Tables<'_>, path: &Path, key: &str) -> Result<(), DbError> {
    t.changes
        .retain_in((key, 0)..=(key, u64::MAX), |_, _| false)
        .db(path)
}

/// Write the summary row (and the name row) if it changed.
fn put_summary(
    t: &mut Tables<'_>,
    path: &Path,
    key: &str,
    summary: &Summary,
) -> Result<(), DbError> {
    let encoded = codec::encode_summary(summary);
    let old = t.index.get(key).db(path)?.map(|v| v.value().to_vec());
    if old.as_deref() == Some(encoded.as_slice()) {
        return Ok(());
    }
    // A damaged old row leaves a stale name row at worst; `resolve` checks names
    // against the index, so that is harmless.
    if let Some(old) = old.as_deref().and_then(|o| codec::decode_summary(o).ok())
        && old.name != summary.name
    {
        t.names.remove((old.name.as_str(), key)).db(path)?;
    }
    t.names.insert((summary.name.as_str(), key), ()).db(path)?;
    t.index.insert(key, encoded.as_slice()).db(path)?;
    Ok(())
}

fn remove_summary(t: &mut Tables<'_>, path: &Path, key: &str) -> Result<(), DbError> {
    let old = t.index.remove(key).db(path)?.map(|v| v.value().to_vec());
    if let Some(old) = old.as_deref().and_then(|o| codec::decode_summary(o).ok()) {
        t.names.remove((old.name.as_str(), key)).db(path)?;
    }
    Ok(())
}

/// Store a document the store did not have.
fn put_new(t: &mut Tables<'_>, path: &Path, doc: &mut Document) -> Result<(), SaveError> {
    let key = doc.id().as_str().to_string();
    let summary = doc.summary().map_err(|e| doc_err(path, e))?;
    let snapshot = doc.save();
    // No state row means no change rows either; make sure none linger.
    delete_change_rows(t, path, &key)?;
    let state = DocState {
        heads: doc.heads(),
        next_seq: 0,
        pending_changes: 0,
        pending_bytes: 0,
        snapshot_bytes: snapshot.len() as u64,
    };
    t.docs.insert(key.as_str(), snapshot.as_slice()).db(path)?;
    t.state
        .insert(key.as_str(), state.encode().as_slice())
        .db(path)?;
    put_summary(t, path, &key, &summary)?;
    Ok(())
}

/// Append `bytes` (changes the store lacks) and compact if the thresholds are passed.
/// `full` must be the whole stored document with `bytes` applied.
fn append(
    t: &mut Tables<'_>,
    path: &Path,
    opts: &StoreOptions,
    mut st: DocState,
    full: &mut Document,
    bytes: &[u8],
) -> Result<(), SaveError> {
    let key = full.id().as_str().to_string();
    let summary = full.summary().map_err(|e| doc_err(path, e))?;
    st.heads = full.heads();
    if st.pending_changes + 1 >= opts.compact_after_changes
        || st.pending_bytes + bytes.len() as u64 >= opts.compact_after_bytes
    {
        let snapshot = full.save();
        t.docs.insert(key.as_str(), snapshot.as_slice()).db(path)?;
        delete_change_rows(t, path, &key)?;
        st.pending_changes = 0;
        st.pending_bytes = 0;
        st.snapshot_bytes = snapshot.len() as u64;
    } else {
        t.changes
            .insert((key.as_str(), st.next_seq), bytes)
            .db(path)?;
        st.next_seq += 1;
        st.pending_changes += 1;
        st.pending_bytes += bytes.len() as u64;
    }
    t.state
        .insert(key.as_str(), st.encode().as_slice())
        .db(path)?;
    put_summary(t, path, &key, &summary)?;
    Ok(())
}

/// Save one document inside a write transaction. Returns whether anything was written.
fn save_in(
    t: &mut Tables<'_>,
    path: &Path,
    opts: &StoreOptions,
    doc: &mut Document,
) -> Result<bool, SaveError> {
    let key = doc.id().as_str().to_string();
    let Some(st) = read_state(&t.state, path, &key).map_err(load_to_save)? else {
        put_new(t, path, doc)?;
        return Ok(true);
    };
    if doc.heads() == st.heads {
        return Ok(false);
    }
    let am = doc.automerge_mut();
    if am.get_missing_deps(&st.heads).is_empty() {
        // The usual case: this copy has everything stored, plus new changes.
        let bytes = am.save_after(&st.heads);
        append(t, path, opts, st, doc, &bytes)?;
        return Ok(true);
    }
    // The store has changes this copy lacks (synced meanwhile): merge into the stored
    // document so heads, summary and any compaction reflect both.
    let ours = am.save_after(&st.heads);
    let stored = read_doc_bytes(&t.docs, &t.changes, path, &key)?
        .ok_or_else(|| damaged(path, "docs-v1", &key, "snapshot row is missing"))?;
    let mut merged = AutoCommit::load(&stored).map_err(|source| {
        doc_err(
            path,
            DocError::Load {
                id: key.clone(),
                source: Box::new(source),
            },
        )
    })?;
    merged.load_incremental(&ours).map_err(|source| {
        doc_err(
            path,
            DocError::Load {
                id: key.clone(),
                source: Box::new(source),
            },
        )
    })?;
    if merged.get_heads() == st.heads {
        return Ok(false);
    }
    let bytes = merged.save_after(&st.heads);
    let mut merged =
        Document::from_automerge(doc.id().clone(), merged).map_err(|e| doc_err(path, e))?;
    append(t, path, opts, st, &mut merged, &bytes)?;
    Ok(true)
}

/// The first bytes of every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Split concatenated Automerge chunks (document or change chunks), checking only the
/// framing: magic, then 4-byte checksum, 1-byte type, LEB128 length and the data.
fn split_chunks(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 10 || data[..4] != CHUNK_MAGIC {
            return Err("not an Automerge document or change".into());
        }
        let ty = data[8];
        let (mut len, mut used, mut shift) = (0u64, 0usize, 0u32);
        loop {
            let b = *data
                .get(9 + used)
                .ok_or("truncated Automerge chunk header")?;
            used += 1;
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 56 {
                return Err("bad Automerge chunk length".into());
            }
        }
        let total = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(9 + used))
            .filter(|t| *t <= data.len())
            .ok_or("truncated Automerge chunk")?;
        out.push((ty, &data[..total]));
        data = &data[total..];
    }
    Ok(out)
}

/// Apply bytes from outside (a peer): every chunk must parse strictly, unlike
/// `load_incremental`, which silently skips what it cannot read.
fn apply_untrusted(am: &mut AutoCommit, data: &[u8]) -> Result<(), String> {
    for (ty, chunk) in split_chunks(data)? {
        match ty {
            0 => {
                let mut other = AutoCommit::load_with_options(
                    chunk,
                    automerge::LoadOptions::new().on_partial_load(automerge::OnPartialLoad::Error),
                )
                .map_err(|e| e.to_string())?;
                am.merge(&mut other).map_err(|e| e.to_string())?;
            }
            1 | 2 => {
                let change = automerge::Change::try_from(chunk).map_err(|e| e.to_string())?;
                am.apply_changes([change]).map_err(|e| e.to_string())?;
            }
            t => return Err(format!("unsupported Automerge chunk type {t}")),
        }
    }
    Ok(())
}

fn load_to_save(e: LoadError) -> SaveError {
    match e {
        LoadError::Damaged(d) => SaveError::Damaged(d),
        LoadError::Db(d) => SaveError::Db(d),
        LoadError::Doc { path, source } => SaveError::Doc { path, source },
        LoadError::NotFound { path, id } => {
            SaveError::Damaged(damaged(&path, "docs-v1", id.as_str(), "document vanished"))
        }
    }
}

/// Apply untrusted chunks to one document inside a write transaction; returns its heads
/// and whether anything was written.
fn apply_in(
    t: &mut Tables<'_>,
    path: &Path,
    opts: &StoreOptions,
    id: &DocId,
    chunks: &[&[u8]],
) -> Result<(Vec<ChangeHash>, bool), ApplyError> {
    let key = id.as_str();
    let rejected = |detail: String| ApplyError::Rejected {
        path: path.to_path_buf(),
        id: id.clone(),
        detail,
    };
    let st = read_state(&t.state, path, key)?;
    let mut am = match &st {
        None => AutoCommit::new(),
        Some(_) => {
            let bytes = read_doc_bytes(&t.docs, &t.changes, path, key)?
                .ok_or_else(|| damaged(path, "docs-v1", key, "snapshot row is missing"))?;
            AutoCommit::load(&bytes).map_err(|source| ApplyError::Doc {
                path: path.to_path_buf(),
                source: Box::new(DocError::Load {
                    id: key.to_string(),
                    source: Box::new(source),
                }),
            })?
        }
    };
    let before = am.get_heads();
    for c in chunks {
        panic::catch_unwind(AssertUnwindSafe(|| apply_untrusted(&mut am, c)))
            .map_err(|_| rejected("automerge failed on these bytes".into()))?
            .map_err(rejected)?;
    }
    let after = am.get_heads();
    if after == before {
        return Ok((after, false));
    }
    let bytes = am.save_after(&before);
    let mut doc = Document::from_automerge(id.clone(), am).map_err(|e| ApplyError::Doc {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    match st {
        None => put_new(t, path, &mut doc),
        Some(st) => append(t, path, opts, st, &mut doc, &bytes),
    }
    .map_err(|e| match e {
        SaveError::Doc { path, source } => ApplyError::Doc { path, source },
        SaveError::Damaged(d) => ApplyError::Damaged(d),
        SaveError::Db(d) => ApplyError::Db(d),
    })?;
    Ok((after, true))
}

impl Store {
    /// Save a document durably: append its new changes (or store it whole if new) and
    /// update its heads and summary row. A document with nothing new writes nothing.
    ///
    /// If the store holds changes this copy lacks (applied by sync since it was loaded),
    /// the stored document becomes the merge of both; `doc` itself is not changed.
    pub fn save(&self, doc: &mut Document) -> Result<(), SaveError> {
        self.save_batch(std::slice::from_mut(doc))
    }

    /// Save many documents in one durable transaction (imports, sync). All or nothing.
    pub fn save_batch(&self, docs: &mut [Document]) -> Result<(), SaveError> {
        self.save_all(docs.iter_mut())
    }

    /// Like [`Store::save_batch`] for documents held elsewhere.
    pub fn save_all<'a>(
        &self,
        docs: impl IntoIterator<Item = &'a mut Document>,
    ) -> Result<(), SaveError> {
        let path = self.path();
        let opts = self.options();
        let txn = self.db().begin_write().db(path)?;
        let mut wrote = false;
        {
            let mut t = Tables::open(&txn, path)?;
            for doc in docs {
                wrote |= save_in(&mut t, path, opts, doc)?;
            }
        }
        finish(txn, wrote, path)?;
        Ok(())
    }

    /// Load a document; edits to it will be attributed to `device`.
    pub fn load(&self, id: &DocId, device: &DeviceKey) -> Result<Document, LoadError> {
        let bytes = self.load_bytes(id)?;
        Document::load(id.clone(), &bytes, device).map_err(|e| LoadError::Doc {
            path: self.path().to_path_buf(),
            source: Box::new(e),
        })
    }

    /// The stored bytes of a document (snapshot then change rows), which
    /// `automerge::AutoCommit::load` reads as one document.
    pub fn load_bytes(&self, id: &DocId) -> Result<Vec<u8>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let docs = txn.open_table(DOCS).db(path)?;
        let changes = txn.open_table(CHANGES).db(path)?;
        read_doc_bytes(&docs, &changes, path, id.as_str())?.ok_or_else(|| LoadError::NotFound {
            path: path.to_path_buf(),
            id: id.clone(),
        })
    }

    /// Whether the store holds a document.
    pub fn contains(&self, id: &DocId) -> Result<bool, LoadError> {
        Ok(self.heads(id)?.is_some())
    }

    /// The stored heads of a document, if the store has it.
    pub fn heads(&self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let state = txn.open_table(STATE).db(path)?;
        Ok(read_state(&state, path, id.as_str())?.map(|s| s.heads))
    }

    /// Every document with its heads, in ID order, reading only `state-v1` (what a sync
    /// engine compares with a peer).
    pub fn all_heads(&self) -> Result<Vec<(DocId, Vec<ChangeHash>)>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let state = txn.open_table(STATE).db(path)?;
        let mut out = Vec::with_capacity(state.len().db(path)? as usize);
        for row in state.iter().db(path)? {
            let (k, v) = row.db(path)?;
            let key = k.value();
            let id = key
                .parse::<DocId>()
                .map_err(|e| damaged(path, "state-v1", key, e))?;
            let heads = DocState::decode_heads(v.value())
                .map_err(|e| damaged(path, "state-v1", key, e.0))?;
            out.push((id, heads));
        }
        Ok(out)
    }

    /// How a document is stored (snapshot size, pending change rows), if present.
    pub fn storage(&self, id: &DocId) -> Result<Option<DocStorage>, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let state = txn.open_table(STATE).db(path)?;
        Ok(read_state(&state, path, id.as_str())?.map(|s| DocStorage {
            snapshot_bytes: s.snapshot_bytes,
            pending_changes: s.pending_changes,
            pending_bytes: s.pending_bytes,
            heads: s.heads,
        }))
    }

    /// Apply Automerge changes (as produced by `save_incremental`/`save_after`, or raw
    /// change chunks from a peer) to a stored document durably; returns its new heads.
    ///
    /// If the store lacks the document, it is created from the changes, which must then
    /// include its first change. The bytes are untrusted: a failure (even a panic inside
    /// Automerge) is an [`ApplyError::Rejected`] and writes nothing. Changes whose
    /// dependencies are missing are not stored (a sync peer sends them again).
    pub fn apply_changes(
        &self,
        id: &DocId,
        changes: &[impl AsRef<[u8]>],
    ) -> Result<Vec<ChangeHash>, ApplyError> {
        let mut heads = self.apply_batch(changes.iter().map(|c| (id, c.as_ref())))?;
        Ok(heads.pop().map(|(_, h)| h).unwrap_or_default())
    }

    /// [`Store::apply_changes`] for many documents in one durable transaction (what a
    /// sync session receives); all or nothing. Returns each document's new heads, in the
    /// order first seen; an ID may appear several times.
    pub fn apply_batch<'a>(
        &self,
        items: impl IntoIterator<Item = (&'a DocId, &'a [u8])>,
    ) -> Result<Vec<(DocId, Vec<ChangeHash>)>, ApplyError> {
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        let mut out: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
        let mut wrote = false;
        {
            let mut t = Tables::open(&txn, path)?;
            // Group consecutive items for one document so it is loaded once.
            let mut items = items.into_iter().peekable();
            while let Some((id, first)) = items.next() {
                let mut chunks = vec![first];
                while let Some((_, more)) = items.next_if(|(next, _)| *next == id) {
                    chunks.push(more);
                }
                let (heads, changed) = apply_in(&mut t, path, self.options(), id, &chunks)?;
                wrote |= changed;
                match out.iter_mut().find(|(i, _)| i == id) {
                    Some(slot) => slot.1 = heads,
                    None => out.push((id.clone(), heads)),
                }
            }
        }
        finish(txn, wrote, path)?;
        Ok(out)
    }

    /// Remove a document and everything kept beside it (e.g. when it leaves this
    /// device's read scope); whether it was there.
    pub fn delete(&self, id: &DocId) -> Result<bool, SaveError> {
        let path = self.path();
        let key = id.as_str();
        let txn = self.db().begin_write().db(path)?;
        let existed = {
            let mut t = Tables::open(&txn, path)?;
            let existed = t.state.remove(key).db(path)?.is_some();
            let had_doc = t.docs.remove(key).db(path)?.is_some();
            delete_change_rows(&mut t, path, key)?;
            remove_summary(&mut t, path, key)?;
            existed || had_doc
        };
        if let Ok(mut derived) = txn.open_table(crate::derived::DERIVED) {
            derived.remove(key).db(path)?;
        }
        finish(txn, existed, path)?;
        Ok(existed)
    }

    /// Fold a document's change rows into one snapshot now; whether there was anything
    /// to fold.
    pub fn compact(&self, id: &DocId) -> Result<bool, SaveError> {
        let path = self.path();
        let key = id.as_str();
        let txn = self.db().begin_write().db(path)?;
        {
            let mut t = Tables::open(&txn, path)?;
            let Some(mut st) = read_state(&t.state, path, key).map_err(load_to_save)? else {
                return Ok(false);
            };
            if st.pending_changes == 0 {
                return Ok(false);
            }
            let bytes = read_doc_bytes(&t.docs, &t.changes, path, key)?
                .ok_or_else(|| damaged(path, "docs-v1", key, "snapshot row is missing"))?;
            let mut am = AutoCommit::load(&bytes).map_err(|source| {
                doc_err(
                    path,
                    DocError::Load {
                        id: key.to_string(),
                        source: Box::new(source),
                    },
                )
            })?;
            let snapshot = am.save();
            t.docs.insert(key, snapshot.as_slice()).db(path)?;
            delete_change_rows(&mut t, path, key)?;
            st.pending_changes = 0;
            st.pending_bytes = 0;
            st.snapshot_bytes = snapshot.len() as u64;
            t.state.insert(key, st.encode().as_slice()).db(path)?;
        }
        txn.commit().db(path)?;
        Ok(true)
    }
}

/// Commit a write transaction if it wrote something, else abort it (an empty commit would
/// still cost an fsync).
fn finish(txn: WriteTransaction, wrote: bool, path: &Path) -> Result<(), DbError> {
    if wrote {
        txn.commit().db(path)
    } else {
        txn.abort().db(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use fieldcrm_model::{Contact, Customer, CustomerClass, DocKind};

    const A: DeviceKey = DeviceKey([1; 32]);
    const B: DeviceKey = DeviceKey([2; 32]);

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
        (dir, s)
    }

    fn customer(name: &str) -> Document {
        Document::create(DocId::random(), &A, 1, &Customer::new(name, 1), "new").unwrap()
    }

    fn add_contact(doc: &mut Document, key: &str, now: i64) {
        let c = Contact {
            name: format!("联系人 {key}"),
            ..Default::default()
        };
        doc.put(&["contacts", key], &c).unwrap();
        doc.commit(now, "contact");
    }

    fn contacts(doc: &Document) -> Vec<String> {
        let c: Customer = doc.hydrate().unwrap();
        c.contacts.into_keys().collect()
    }

    #[test]
    fn save_load_round_trip_and_summary() {
        let (_d, s) = store();
        let mut doc = customer("华东机械有限公司");
        doc.put(&["region"], &Some("上海".to_string())).unwrap();
        doc.commit(5, "region");
        s.save(&mut doc).unwrap();
        let mut back = s.load(doc.id(), &B).unwrap();
        assert_eq!(back.heads(), doc.heads());
        let c: Customer = back.hydrate().unwrap();
        assert_eq!(c.name, "华东机械有限公司");
        let sum = s.summary(doc.id()).unwrap().unwrap();
        assert_eq!(sum.kind, DocKind::Customer);
        assert_eq!(sum.region.as_deref(), Some("上海"));
        assert_eq!(sum.updated_at, 5);
        let missing = DocId::random();
        let err = s.load(&missing, &A).unwrap_err();
        assert!(matches!(err, LoadError::NotFound { .. }), "{err}");
        let msg = crate::Error::from(err).to_string();
        assert!(
            msg.contains(missing.as_str()) && msg.contains("ws.fieldcrm"),
            "{msg}"
        );
    }

    #[test]
    fn clones_save_from_many_threads() {
        let (_d, s) = store();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut doc = customer(&format!("thread {t}"));
                    for i in 0..15 {
                        add_contact(&mut doc, &format!("k{i}"), i);
                        s.save(&mut doc).unwrap();
                    }
                    doc.id().clone()
                })
            })
            .collect();
        for h in handles {
            let id = h.join().unwrap();
            assert_eq!(contacts(&s.load(&id, &A).unwrap()).len(), 15);
        }
        assert_eq!(s.len().unwrap(), 4);
    }

    #[test]
    fn small_edit_appends_a_small_row_and_loaded_docs_append_only_new_changes() {
        let (_d, s) = store();
        let mut doc = customer("Big Co");
        for i in 0..40 {
            add_contact(&mut doc, &format!("k{i}"), 10 + i);
        }
        s.save(&mut doc).unwrap();
        let st = s.storage(doc.id()).unwrap().unwrap();
        assert_eq!(st.pending_changes, 0);
        let snapshot = st.snapshot_bytes;

        // A fresh load has an empty Automerge save cursor: its save_incremental would
        // return the whole history. The store must append only the new change.
        let mut loaded = s.load(doc.id(), &B).unwrap();
        let mut probe = s.load(doc.id(), &B).unwrap();
        let whole_history = probe.save_incremental().len() as u64;
        assert!(whole_history > 1000, "{whole_history}");
        add_contact(&mut loaded, "new", 100);
        s.save(&mut loaded).unwrap();
        let st = s.storage(doc.id()).unwrap().unwrap();
        assert_eq!(st.pending_changes, 1);
        assert_eq!(st.snapshot_bytes, snapshot, "snapshot was rewritten");
        assert!(
            st.pending_bytes < 300 && st.pending_bytes * 5 < whole_history,
            "appended {} bytes for one small change (history {whole_history})",
            st.pending_bytes
        );
        assert_eq!(st.heads, loaded.heads());

        // Saving again with nothing new writes nothing.
        s.save(&mut loaded).unwrap();
        assert_eq!(s.storage(doc.id()).unwrap().unwrap().pending_changes, 1);

        let back = s.load(doc.id(), &A).unwrap();
        assert_eq!(contacts(&back).len(), 41);
    }

    #[test]
    fn compaction_folds_rows_without_losing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create_with(
            dir.path().join("ws.fieldcrm"),
            StoreOptions::default().compact_after_changes(5),
        )
        .unwrap();
        let mut doc = customer("X");
        s.save(&mut doc).unwrap();
        let mut seen_compaction = false;
        for i in 0..23 {
            add_contact(&mut doc, &format!("k{i}"), 10 + i);
            s.save(&mut doc).unwrap();
            let st = s.storage(doc.id()).unwrap().unwrap();
            assert!(st.pending_changes < 5, "{st:?}");
            seen_compaction |= st.pending_changes == 0;
            let back = s.load(doc.id(), &A).unwrap();
            assert_eq!(contacts(&back).len(), i as usize + 1);
        }
        assert!(seen_compaction);
        add_contact(&mut doc, "last", 99);
        s.save(&mut doc).unwrap();
        assert!(s.compact(doc.id()).unwrap());
        assert!(!s.compact(doc.id()).unwrap());
        assert_eq!(s.storage(doc.id()).unwrap().unwrap().pending_changes, 0);
        let mut back = s.load(doc.id(), &A).unwrap();
        assert_eq!(contacts(&back).len(), 24);
        assert_eq!(back.heads(), doc.heads());
    }

    #[test]
    fn byte_threshold_compacts_too() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create_with(
            dir.path().join("ws.fieldcrm"),
            StoreOptions::default().compact_after_bytes(400),
        )
        .unwrap();
        let mut doc = customer("X");
        s.save(&mut doc).unwrap();
        for i in 0..6 {
            add_contact(&mut doc, &format!("k{i}"), 10 + i);
            s.save(&mut doc).unwrap();
            assert!(s.storage(doc.id()).unwrap().unwrap().pending_bytes < 400);
        }
        assert_eq!(contacts(&s.load(doc.id(), &A).unwrap()).len(), 6);
    }

    #[test]
    fn saving_a_stale_copy_merges_with_what_sync_stored() {
        let (_d, s) = store();
        let mut doc = customer("X");
        s.save(&mut doc).unwrap();
        // A peer's edit arrives through sync while the rep holds `doc`.
        let mut peer = s.load(doc.id(), &B).unwrap();
        peer.save(); // prime the peer's cursor so save_incremental gives only its edit
        add_contact(&mut peer, "from-peer", 20);
        let edit = peer.save_incremental();
        let heads = s.apply_changes(peer.id(), &[edit]).unwrap();
        assert_eq!(heads, peer.heads());
        // The rep edits the stale copy and saves.
        add_contact(&mut doc, "from-rep", 21);
        s.save(&mut doc).unwrap();
        let mut back = s.load(doc.id(), &A).unwrap();
        let mut keys = contacts(&back);
        keys.sort();
        assert_eq!(keys, vec!["from-peer", "from-rep"]);
        assert_eq!(s.heads(doc.id()).unwrap().unwrap(), back.heads());
        assert_eq!(back.heads().len(), 2);
        assert_eq!(s.summary(doc.id()).unwrap().unwrap().updated_at, 21);
    }

    #[test]
    fn apply_changes_creates_updates_and_rejects_junk() {
        let (_d, s) = store();
        let mut doc = customer("新客户");
        let id = doc.id().clone();
        let heads = s.apply_changes(&id, &[doc.save()]).unwrap();
        assert_eq!(heads, doc.heads());
        assert_eq!(s.summary(&id).unwrap().unwrap().name, "新客户");
        doc.put(&["class"], &Some(CustomerClass::Key)).unwrap();
        doc.commit(3, "class");
        let heads = s.apply_changes(&id, &[doc.save_incremental()]).unwrap();
        assert_eq!(heads, doc.heads());
        assert_eq!(
            s.summary(&id).unwrap().unwrap().class.as_deref(),
            Some("key")
        );
        // Re-applying known changes is a no-op.
        assert_eq!(s.apply_changes(&id, &[doc.save()]).unwrap(), heads);
        let err = s.apply_changes(&id, &[b"garbage".as_slice()]).unwrap_err();
        assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
        assert!(err.to_string().contains(id.as_str()), "{err}");
        assert_eq!(s.heads(&id).unwrap().unwrap(), heads);
        // Raw bytes load as one document.
        let raw = s.load_bytes(&id).unwrap();
        assert_eq!(AutoCommit::load(&raw).unwrap().get_heads(), heads);
        // Nothing applicable for an unknown document stores nothing.
        let other = DocId::random();
        assert!(
            s.apply_changes(&other, &[Vec::<u8>::new()])
                .unwrap()
                .is_empty()
        );
        assert!(!s.contains(&other).unwrap());
        // Damaged real changes: truncated, or with a flipped byte.
        doc.put(&["team"], &Some("east".to_string())).unwrap();
        doc.commit(4, "team");
        let good = doc.automerge_mut().save_after(&heads);
        let err = s
            .apply_changes(&id, &[&good[..good.len() - 3]])
            .unwrap_err();
        assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
        assert_eq!(s.heads(&id).unwrap().unwrap(), heads);
        let mut rejected = 0;
        for i in (0..good.len()).step_by(3) {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            // An error or a harmless change, never a panic.
            rejected += usize::from(s.apply_changes(&id, &[bad]).is_err());
        }
        assert!(rejected > good.len() / 6, "{rejected}");
    }

    #[test]
    fn apply_batch_is_all_or_nothing() {
        let (_d, s) = store();
        let mut a = customer("A");
        let mut b = customer("B");
        let (sa, sb) = (a.save(), b.save());
        let out = s
            .apply_batch([(a.id(), sa.as_slice()), (b.id(), sb.as_slice())])
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].1, b.heads());
        add_contact(&mut a, "x", 5);
        let edit = a.save_incremental();
        let junk = b"junk".to_vec();
        let err = s
            .apply_batch([(a.id(), edit.as_slice()), (b.id(), junk.as_slice())])
            .unwrap_err();
        assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
        assert_ne!(s.heads(a.id()).unwrap().unwrap(), a.heads());
        s.apply_batch([(a.id(), edit.as_slice())]).unwrap();
        assert_eq!(s.heads(a.id()).unwrap().unwrap(), a.heads());
    }

    #[test]
    fn batch_save_is_one_transaction_and_all_heads_lists_everything() {
        let (_d, s) = store();
        let mut docs: Vec<Document> = (0..50).map(|i| customer(&format!("c{i:02}"))).collect();
        s.save_batch(&mut docs).unwrap();
        let all = s.all_heads().unwrap();
        assert_eq!(all.len(), 50);
        for d in &mut docs {
            let found = all.iter().find(|(id, _)| id == d.id()).unwrap();
            assert_eq!(found.1, d.heads());
        }
        // A failing document aborts the whole batch.
        for d in &mut docs {
            add_contact(d, "k", 5);
        }
        let mut bad = Customer::new("bad", 1);
        bad.kind = "customer".into();
        let mut bad = Document::create(DocId::random(), &A, 1, &bad, "new").unwrap();
        bad.automerge_mut()
            .put(automerge::ROOT, "kind", "spaceship")
            .unwrap();
        let mut batch: Vec<&mut Document> = docs.iter_mut().collect();
        batch.push(&mut bad);
        let err = s.save_all(batch).unwrap_err();
        assert!(matches!(err, SaveError::Doc { .. }), "{err}");
        assert!(s.storage(docs[0].id()).unwrap().unwrap().pending_changes == 0);
        assert!(!s.contains(bad.id()).unwrap());
    }

    #[test]
    fn delete_removes_every_trace() {
        let (_d, s) = store();
        let mut doc = customer("Gone Co");
        s.save(&mut doc).unwrap();
        add_contact(&mut doc, "k", 3);
        s.save(&mut doc).unwrap();
        assert!(s.delete(doc.id()).unwrap());
        assert!(!s.delete(doc.id()).unwrap());
        assert!(!s.contains(doc.id()).unwrap());
        assert!(s.summary(doc.id()).unwrap().is_none());
        assert!(s.all_heads().unwrap().is_empty());
        assert!(matches!(
            s.resolve(None, "Gone Co").unwrap_err(),
            crate::ResolveError::NotFound { .. }
        ));
        // Saving it again stores it whole.
        s.save(&mut doc).unwrap();
        assert_eq!(contacts(&s.load(doc.id(), &A).unwrap()), vec!["k"]);
    }
}
