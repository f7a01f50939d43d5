//! Applying untrusted Automerge bytes (from a sync peer or a bundle) to stored documents.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::{DocError, DocId, Document, Signature, Summary};

use super::{
    Tables, append, damaged, finish, put_new, put_sigs, read_doc_bytes, read_state, remove_in,
};
use crate::error::{ApplyError, DbResultExt};
use crate::store::{Store, StoreOptions};

/// The first bytes of every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Split concatenated Automerge chunks (document or change chunks), checking only the
/// framing: magic, then 4-byte checksum, 1-byte type, LEB128 length and the data.
fn split_chunks(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        // Header: magic (4), checksum (4), type (1), then the LEB128 length.
        let Some((magic, rest)) = data.split_first_chunk::<4>() else {
            return Err("not an Automerge document or change".into());
        };
        let Some((&ty, len_bytes)) = rest.get(4..).and_then(<[u8]>::split_first) else {
            return Err("not an Automerge document or change".into());
        };
        if *magic != CHUNK_MAGIC || len_bytes.is_empty() {
            return Err("not an Automerge document or change".into());
        }
        let (mut len, mut used, mut shift) = (0u64, 0usize, 0u32);
        loop {
            let b = *len_bytes
                .get(used)
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
        let (chunk, rest) = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(9 + used))
            .and_then(|total| data.split_at_checked(total))
            .ok_or("truncated Automerge chunk")?;
        out.push((ty, chunk));
        data = rest;
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
                if am.get_heads().is_empty() {
                    // A document new to this store (a first sync): take it as loaded
                    // rather than replaying every change into an empty one.
                    *am = other;
                } else {
                    am.merge(&mut other).map_err(|e| e.to_string())?;
                }
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

/// A document a batch was applied to, with its heads after it.
pub type Applied = (DocId, Vec<ChangeHash>);

/// Received data for one document ([`Store::apply_received`]).
#[derive(Debug)]
pub struct Received<'a> {
    /// The document.
    pub id: &'a DocId,
    /// Automerge chunks from outside (untrusted).
    pub data: &'a [u8],
    /// The signatures of the changes in `data` (checked by the caller).
    pub sigs: &'a [(ChangeHash, Signature)],
    /// When `data` is a whole document (one saved document, perhaps with changes after
    /// it): `data` as the caller already loaded it with `Automerge::load` (which is
    /// strict) and checked as a fieldcrm document, with its summary. Used when this store
    /// does not hold the document, so that it is not loaded, checked and read a second
    /// time.
    pub loaded: Option<(Document, Summary)>,
}

/// Whether `data` is exactly one whole saved document chunk.
fn one_document(data: &[u8]) -> bool {
    matches!(split_chunks(data).as_deref(), Ok([(0, whole)]) if whole.len() == data.len())
}

/// Apply untrusted chunks to one document inside a write transaction; returns its heads
/// and, if anything was written, the document as written. `loaded`: see
/// [`Received::loaded`].
fn apply_in(
    t: &mut Tables<'_>,
    path: &Path,
    opts: &StoreOptions,
    id: &DocId,
    chunks: &[&[u8]],
    sigs: &[(ChangeHash, Signature)],
    loaded: Option<(Document, Summary)>,
) -> Result<(Vec<ChangeHash>, Option<Document>), ApplyError> {
    let key = id.as_str();
    let rejected = |detail: String| ApplyError::Rejected {
        path: path.to_path_buf(),
        id: id.clone(),
        detail,
    };
    let st = read_state(&t.state, path, key)?;
    // A new document that arrived as one whole saved document (a first sync) is stored
    // as those bytes, already checked by a strict load, instead of being saved again.
    let as_received = match (&st, chunks) {
        (None, [one]) if one_document(one) => Some(*one),
        _ => None,
    };
    let (mut doc, summary, bytes, after) = match (&st, loaded) {
        // A new document the caller already loaded from these bytes (one whole saved
        // document, or one with changes after it, as a relay holding changes of a file
        // since it was last compacted sends it) and checked: taken as it is, with its
        // summary.
        (None, Some((mut doc, summary))) => {
            let after = doc.heads();
            if after.is_empty() {
                return Ok((after, None));
            }
            (doc, Some(summary), Vec::new(), after)
        }
        _ => {
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
                return Ok((after, None));
            }
            // Only an existing document appends its new changes; a new one is stored
            // whole.
            let bytes = if st.is_some() {
                am.save_after(&before)
            } else {
                Vec::new()
            };
            let doc = Document::from_automerge(id.clone(), am).map_err(|e| ApplyError::Doc {
                path: path.to_path_buf(),
                source: Box::new(e),
            })?;
            (doc, None, bytes, after)
        }
    };
    put_sigs(t, path, key, sigs)?;
    match st {
        None => put_new(t, path, &mut doc, None, as_received, summary),
        Some(st) => append(t, path, opts, st, &mut doc, &bytes),
    }
    .map_err(ApplyError::from)?;
    Ok((after, Some(doc)))
}

impl Store {
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
        let mut heads = self.apply_batch(changes.iter().map(|c| (id, c.as_ref(), &[][..])))?;
        Ok(heads.pop().map(|(_, h)| h).unwrap_or_default())
    }

    /// Replace a stored document by the given Automerge data and signatures, in one
    /// durable transaction (for a document found to hold changes it must not keep: it is
    /// rebuilt from the rest). The data is untrusted, as in [`Store::apply_batch`].
    pub fn replace(
        &self,
        id: &DocId,
        data: &[u8],
        sigs: &[(ChangeHash, Signature)],
    ) -> Result<Vec<ChangeHash>, ApplyError> {
        let path = self.path();
        let txn = self.db().begin_write().db(path)?;
        let heads = {
            let mut t = Tables::open(&txn, path)?;
            remove_in(&mut t, path, id.as_str())?;
            if let Ok(mut derived) = txn.open_table(crate::derived::DERIVED) {
                derived.remove(id.as_str()).db(path)?;
            }
            apply_in(&mut t, path, self.options(), id, &[data], sigs, None)?.0
        };
        finish(txn, true, path)?;
        Ok(heads)
    }

    /// [`Store::apply_changes`] for many documents in one durable transaction (what a
    /// sync session receives), with the signatures of the changes (checked by the caller;
    /// stored beside them in the same transaction); all or nothing. Returns each
    /// document's new heads, in the order first seen; an ID may appear several times.
    pub fn apply_batch<'a>(
        &self,
        items: impl IntoIterator<Item = (&'a DocId, &'a [u8], &'a [(ChangeHash, Signature)])>,
    ) -> Result<Vec<(DocId, Vec<ChangeHash>)>, ApplyError> {
        self.apply_received(items.into_iter().map(|(id, data, sigs)| Received {
            id,
            data,
            sigs,
            loaded: None,
        }))
    }

    /// [`Store::apply_batch`] of received documents, some of them already loaded by the
    /// caller ([`Received::loaded`]).
    pub fn apply_received<'a>(
        &self,
        items: impl IntoIterator<Item = Received<'a>>,
    ) -> Result<Vec<Applied>, ApplyError> {
        Ok(self.apply_received_keeping(items, None)?.0)
    }

    /// [`Store::apply_received`], giving back document `keep` as it was written and
    /// committed, if it was: for a caller about to read it after the transaction (a
    /// large document loaded once, not twice).
    pub fn apply_received_keeping<'a>(
        &self,
        items: impl IntoIterator<Item = Received<'a>>,
        keep: Option<&DocId>,
    ) -> Result<(Vec<Applied>, Option<Document>), ApplyError> {
        let path = self.path();
        let mut kept = None;
        let txn = self.db().begin_write().db(path)?;
        let mut out: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
        // Where each document is in `out` (a first sync brings thousands per batch).
        let mut at: HashMap<&DocId, usize> = HashMap::new();
        let mut wrote = false;
        {
            let mut t = Tables::open(&txn, path)?;
            // Group consecutive items for one document so it is loaded once.
            let mut items = items.into_iter().peekable();
            while let Some(first) = items.next() {
                let id = first.id;
                let mut chunks = vec![first.data];
                let mut sigs = first.sigs.to_vec();
                let mut loaded = first.loaded;
                while let Some(more) = items.next_if(|next| next.id == id) {
                    chunks.push(more.data);
                    sigs.extend_from_slice(more.sigs);
                    loaded = None;
                }
                let (heads, written) =
                    apply_in(&mut t, path, self.options(), id, &chunks, &sigs, loaded)?;
                wrote |= written.is_some();
                if written.is_some() && keep == Some(id) {
                    kept = written;
                }
                match at.get(id) {
                    Some(&i) => {
                        if let Some(slot) = out.get_mut(i) {
                            slot.1 = heads;
                        }
                    }
                    None => {
                        at.insert(id, out.len());
                        out.push((id.clone(), heads));
                    }
                }
            }
        }
        finish(txn, wrote, path)?;
        Ok((out, kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_framing_never_panics_on_short_or_odd_input() {
        let mut chunk = CHUNK_MAGIC.to_vec();
        chunk.extend_from_slice(&[0, 0, 0, 0, 1, 3, 7, 8, 9]);
        assert_eq!(split_chunks(&chunk).unwrap(), vec![(1, chunk.as_slice())]);
        for n in 1..chunk.len() {
            assert!(split_chunks(&chunk[..n]).is_err(), "prefix {n}");
        }
        let mut overlong = CHUNK_MAGIC.to_vec();
        overlong.extend_from_slice(&[0, 0, 0, 0, 1]);
        overlong.extend_from_slice(&[0xff; 12]);
        assert!(split_chunks(&overlong).is_err());
        assert!(split_chunks(b"\xf0\x9f\x98\x80 emoji").is_err());
        assert!(split_chunks(&[]).unwrap().is_empty());
    }
}
