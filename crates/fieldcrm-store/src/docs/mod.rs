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
//!
//! Bytes from outside (a sync peer, a bundle) go through `apply`, which checks every
//! chunk strictly before anything is written.

use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::{DeviceKey, DeviceSecret, DocError, DocId, Document, Signature, Summary};
use redb::{ReadableDatabase, ReadableTable, Table, WriteTransaction};

use crate::codec::{self, DocState};
use crate::error::{DamagedRow, DbError, DbResultExt, LoadError, SaveError};
use crate::store::{CHANGES, DOCS, INDEX, NAMES, SIGS, STATE, Store, StoreOptions};

mod apply;
pub use apply::{Applied, Received};
#[cfg(test)]
mod tests;

/// A document's stored bytes and the signatures of its changes, by change hash.
pub type Signed = (Vec<u8>, Vec<(ChangeHash, Signature)>);

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
    names: Table<'t, (&'static str, &'static str), &'static [u8]>,
    sigs: Table<'t, (&'static str, &'static [u8]), &'static [u8]>,
    log: crate::log::LogWriter<'t>,
}

impl<'t> Tables<'t> {
    /// The document tables of a write transaction, which is about to change documents:
    /// the store's generation moves on (see [`Store::generation`]).
    fn open(txn: &'t WriteTransaction, path: &Path) -> Result<Self, DbError> {
        let log = crate::store::bump_generation(txn, path)?;
        Ok(Tables {
            log,
            docs: txn.open_table(DOCS).db(path)?,
            changes: txn.open_table(CHANGES).db(path)?,
            state: txn.open_table(STATE).db(path)?,
            index: txn.open_table(INDEX).db(path)?,
            names: txn.open_table(NAMES).db(path)?,
            sigs: txn.open_table(SIGS).db(path)?,
        })
    }
}

/// The write tables of a transaction (for tests of the change log).
#[cfg(test)]
pub(crate) fn tables_for_test<'t>(txn: &'t WriteTransaction, path: &Path) -> Tables<'t> {
    match Tables::open(txn, path) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

impl<'t> Tables<'t> {
    /// The change log of this transaction.
    #[cfg(test)]
    pub(crate) fn log(&mut self) -> &mut crate::log::LogWriter<'t> {
        &mut self.log
    }
}

pub(crate) fn damaged(
    path: &Path,
    table: &'static str,
    key: &str,
    detail: impl ToString,
) -> DamagedRow {
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

/// Sign and record the changes of `am` after `since` that the signer's device made (a
/// local save). Changes by other actors are never signed here.
fn sign_new(
    t: &mut Tables<'_>,
    path: &Path,
    key: &str,
    am: &mut AutoCommit,
    since: &[ChangeHash],
    signer: Option<&DeviceSecret>,
) -> Result<(), DbError> {
    let Some(signer) = signer else {
        return Ok(());
    };
    let me = signer.public().actor();
    for meta in am.get_changes_meta(since) {
        if *meta.actor == me {
            let sig = signer.sign_change(&meta.hash);
            t.sigs.insert((key, &meta.hash.0[..]), &sig[..]).db(path)?;
        }
    }
    Ok(())
}

/// Record signatures that came with changes from outside (already verified).
fn put_sigs(
    t: &mut Tables<'_>,
    path: &Path,
    key: &str,
    sigs: &[(ChangeHash, Signature)],
) -> Result<(), DbError> {
    for (hash, sig) in sigs {
        t.sigs.insert((key, &hash.0[..]), &sig[..]).db(path)?;
    }
    Ok(())
}

/// Every signature stored for a document, in hash order.
fn read_sigs(
    sigs: &impl ReadableTable<(&'static str, &'static [u8]), &'static [u8]>,
    path: &Path,
    key: &str,
) -> Result<Vec<(ChangeHash, Signature)>, DbError> {
    let mut out = Vec::new();
    let lo: &[u8] = &[];
    let hi: &[u8] = &[0xff; 33];
    for row in sigs.range((key, lo)..=(key, hi)).db(path)? {
        let (k, v) = row.db(path)?;
        let (_, hash) = k.value();
        if let (Ok(hash), Ok(sig)) = (<[u8; 32]>::try_from(hash), <Signature>::try_from(v.value()))
        {
            out.push((ChangeHash(hash), sig));
        }
    }
    Ok(out)
}

/// Load a stored document's bytes (a failure is a damaged document, not bad input).
fn load_stored(path: &Path, key: &str, bytes: &[u8]) -> Result<AutoCommit, SaveError> {
    AutoCommit::load(bytes).map_err(|source| {
        doc_err(
            path,
            DocError::Load {
                id: key.to_string(),
                source: Box::new(source),
            },
        )
    })
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
    if let Some(old) = old.as_deref() {
        remove_name_row(t, path, key, old)?;
    }
    t.names
        .insert((summary.name.as_str(), key), encoded.as_slice())
        .db(path)?;
    t.index.insert(key, encoded.as_slice()).db(path)?;
    Ok(())
}

fn remove_summary(t: &mut Tables<'_>, path: &Path, key: &str) -> Result<(), DbError> {
    let old = t.index.remove(key).db(path)?.map(|v| v.value().to_vec());
    if let Some(old) = old.as_deref() {
        remove_name_row(t, path, key, old)?;
    }
    Ok(())
}

/// Remove the name row of `key`, whose summary row was `old`: under its name, or under
/// the empty name when that row did not decode (see `store::name_rows`). A listing
/// reads the name rows, so none may be left behind.
fn remove_name_row(t: &mut Tables<'_>, path: &Path, key: &str, old: &[u8]) -> Result<(), DbError> {
    let name = codec::decode_summary_ref(old).map_or("", |s| s.name);
    t.names.remove((name, key)).db(path)?;
    Ok(())
}

/// Store a document the store did not have.
/// Store a document new to this store whole. `saved`: the document's bytes as already
/// saved (e.g. received whole from a peer), so they need not be produced again.
fn put_new(
    t: &mut Tables<'_>,
    path: &Path,
    doc: &mut Document,
    signer: Option<&DeviceSecret>,
    saved: Option<&[u8]>,
    summary: Option<Summary>,
) -> Result<(), SaveError> {
    let key = doc.id().as_str().to_string();
    sign_new(t, path, &key, doc.automerge_mut(), &[], signer)?;
    let summary = match summary {
        Some(s) => s,
        None => doc.summary().map_err(|e| doc_err(path, e))?,
    };
    let snapshot = match saved {
        Some(b) => b.to_vec(),
        None => doc.save(),
    };
    t.log.touch(path, &key, &[])?;
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

/// A new document with what saving it needs besides the document, made by the caller
/// while it has the content at hand ([`Store::save_stream`]; an import builds these on
/// one thread while the store writes on another).
#[derive(Debug)]
pub struct NewDoc {
    doc: Document,
    summary: Summary,
}

impl NewDoc {
    /// `doc`, whose summary-index row is `summary`: the row built from the typed content
    /// the document was made of, instead of read back from the document.
    pub fn new(mut doc: Document, summary: Summary) -> Self {
        debug_assert_eq!(doc.summary().ok().as_ref(), Some(&summary), "{}", doc.id());
        NewDoc { doc, summary }
    }

    /// The document.
    pub fn doc(&self) -> &Document {
        &self.doc
    }
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
    t.log.touch(path, &key, &st.heads)?;
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
/// `summary` is the document's summary row if the caller already has it (used when the
/// document is new to the store).
fn save_in(
    t: &mut Tables<'_>,
    path: &Path,
    opts: &StoreOptions,
    doc: &mut Document,
    signer: Option<&DeviceSecret>,
    summary: Option<Summary>,
) -> Result<bool, SaveError> {
    let key = doc.id().as_str().to_string();
    let Some(st) = read_state(&t.state, path, &key).map_err(load_to_save)? else {
        put_new(t, path, doc, signer, None, summary)?;
        return Ok(true);
    };
    if doc.heads() == st.heads {
        return Ok(false);
    }
    let am = doc.automerge_mut();
    if am.get_missing_deps(&st.heads).is_empty() {
        // The usual case: this copy has everything stored, plus new changes.
        sign_new(t, path, &key, am, &st.heads, signer)?;
        let bytes = am.save_after(&st.heads);
        append(t, path, opts, st, doc, &bytes)?;
        return Ok(true);
    }
    // The store has changes this copy lacks (synced meanwhile): merge into the stored
    // document so heads, summary and any compaction reflect both.
    let ours = am.save_after(&st.heads);
    let stored = read_doc_bytes(&t.docs, &t.changes, path, &key)?
        .ok_or_else(|| damaged(path, "docs-v1", &key, "snapshot row is missing"))?;
    let mut merged = load_stored(path, &key, &stored)?;
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
    sign_new(t, path, &key, &mut merged, &st.heads, signer)?;
    let bytes = merged.save_after(&st.heads);
    let mut merged =
        Document::from_automerge(doc.id().clone(), merged).map_err(|e| doc_err(path, e))?;
    append(t, path, opts, st, &mut merged, &bytes)?;
    Ok(true)
}

/// Remove every row of a document; whether it existed.
pub(crate) fn remove_in(t: &mut Tables<'_>, path: &Path, key: &str) -> Result<bool, DbError> {
    let before = t.state.remove(key).db(path)?.map(|v| v.value().to_vec());
    let existed = before.is_some();
    if let Some(before) = before {
        let heads = DocState::decode_heads(&before).unwrap_or_default();
        t.log.touch(path, key, &heads)?;
    }
    let had_doc = t.docs.remove(key).db(path)?.is_some();
    delete_change_rows(t, path, key)?;
    remove_summary(t, path, key)?;
    let (lo, hi): (&[u8], &[u8]) = (&[], &[0xff; 33]);
    t.sigs
        .retain_in((key, lo)..=(key, hi), |_, _| false)
        .db(path)?;
    Ok(existed || had_doc)
}

/// Every document's heads in a state table, in ID order.
pub(crate) fn heads_of_all(
    state: &impl ReadableTable<&'static str, &'static [u8]>,
    path: &Path,
) -> Result<Vec<(DocId, Vec<ChangeHash>)>, LoadError> {
    let mut out = Vec::with_capacity(state.len().db(path)? as usize);
    for row in state.iter().db(path)? {
        let (k, v) = row.db(path)?;
        let key = k.value();
        let id = key
            .parse::<DocId>()
            .map_err(|e| damaged(path, "state-v1", key, e))?;
        let heads =
            DocState::decode_heads(v.value()).map_err(|e| damaged(path, "state-v1", key, e.0))?;
        out.push((id, heads));
    }
    Ok(out)
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
                wrote |= save_in(&mut t, path, opts, doc, self.signer.as_deref(), None)?;
            }
        }
        finish(txn, wrote, path)?;
        Ok(())
    }

    /// Save documents one at a time as `docs` yields them, in one durable transaction,
    /// holding only the current one in memory (imports of many new documents). Once
    /// `docs` is exhausted the transaction commits only if `commit()` says so (a caller
    /// that checks rows as it goes refuses the whole batch); returns whether it did.
    pub fn save_stream(
        &self,
        docs: impl Iterator<Item = NewDoc>,
        commit: impl FnOnce() -> bool,
    ) -> Result<bool, SaveError> {
        let path = self.path();
        let opts = self.options();
        let signer = self.signer.as_deref();
        let txn = self.db().begin_write().db(path)?;
        let mut wrote = false;
        {
            let mut t = Tables::open(&txn, path)?;
            for NewDoc { mut doc, summary } in docs {
                wrote |= save_in(&mut t, path, opts, &mut doc, signer, Some(summary))?;
            }
        }
        if !commit() {
            txn.abort().db(path)?;
            return Ok(false);
        }
        finish(txn, wrote, path)?;
        Ok(true)
    }

    /// Load a document; edits to it will be attributed to `device`.
    pub fn load(&self, id: &DocId, device: &DeviceKey) -> Result<Document, LoadError> {
        let bytes = self.load_bytes(id)?;
        Document::load(id.clone(), &bytes, device).map_err(|e| LoadError::Doc {
            path: self.path().to_path_buf(),
            source: Box::new(e),
        })
    }

    /// A held document as Automerge reads it, without the model's checks (its changes
    /// were judged when they arrived); `None` if it is not held.
    pub fn load_automerge(&self, id: &DocId) -> Result<Option<AutoCommit>, LoadError> {
        let bytes = match self.load_bytes(id) {
            Ok(b) => b,
            Err(LoadError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        AutoCommit::load(&bytes)
            .map(Some)
            .map_err(|source| LoadError::Doc {
                path: self.path().to_path_buf(),
                source: Box::new(DocError::Load {
                    id: id.to_string(),
                    source: Box::new(source),
                }),
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

    /// Sign every stored change made under this handle's signer that has no signature
    /// yet (a store written before changes were signed), in one durable transaction.
    /// Returns how many were signed; 0 without a signer.
    pub fn sign_unsigned(&self) -> Result<usize, SaveError> {
        let Some(signer) = self.signer.as_deref() else {
            return Ok(0);
        };
        let me = signer.public().actor();
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        let mut signed = 0;
        {
            let mut t = Tables::open(&txn, path)?;
            let keys: Vec<String> = t
                .state
                .iter()
                .db(path)?
                .map(|r| r.map(|(k, _)| k.value().to_string()))
                .collect::<Result<_, _>>()
                .db(path)?;
            for key in keys {
                let Some(bytes) = read_doc_bytes(&t.docs, &t.changes, path, &key)? else {
                    continue;
                };
                let mut am = load_stored(path, &key, &bytes)?;
                for meta in am.get_changes_meta(&[]) {
                    if *meta.actor == me
                        && t.sigs
                            .get((key.as_str(), &meta.hash.0[..]))
                            .db(path)?
                            .is_none()
                    {
                        let sig = signer.sign_change(&meta.hash);
                        t.sigs
                            .insert((key.as_str(), &meta.hash.0[..]), &sig[..])
                            .db(path)?;
                        signed += 1;
                    }
                }
            }
        }
        finish(txn, signed > 0, path)?;
        Ok(signed)
    }

    /// A document's stored bytes and the signatures of its changes (what a sync peer or
    /// a bundle is sent), read in one transaction.
    pub fn load_signed(&self, id: &DocId) -> Result<Signed, LoadError> {
        let path = self.path();
        let txn = self.db().begin_read().db(path)?;
        let docs = txn.open_table(DOCS).db(path)?;
        let changes = txn.open_table(CHANGES).db(path)?;
        let bytes = read_doc_bytes(&docs, &changes, path, id.as_str())?.ok_or_else(|| {
            LoadError::NotFound {
                path: path.to_path_buf(),
                id: id.clone(),
            }
        })?;
        let sigs = match txn.open_table(SIGS) {
            Ok(table) => read_sigs(&table, path, id.as_str())?,
            // A store written before signatures existed.
            Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
            Err(e) => return Err(LoadError::Db(DbError::new(path, e))),
        };
        Ok((bytes, sigs))
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
        heads_of_all(&state, path)
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

    /// Remove a document and everything kept beside it (e.g. when it leaves this
    /// device's read scope); whether it was there.
    pub fn delete(&self, id: &DocId) -> Result<bool, SaveError> {
        let path = self.path();
        let key = id.as_str();
        let txn = self.db().begin_write().db(path)?;
        let existed = {
            let mut t = Tables::open(&txn, path)?;
            remove_in(&mut t, path, key)?
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
