//! The lean engine's state kept between processes: a `check` starts from the state the
//! last one left and evaluates what changed since (the store's change log names it),
//! instead of decoding and evaluating every snapshot again.
//!
//! The state is the engine's ([`fieldcrm_policy::SavedEngine`]) with the generation and
//! heads it reflects and what the lean engine keeps beside it. It is written to a file of
//! its own beside the store, streamed (at 100,000 customers it is tens of megabytes, and
//! a copy of it in memory, or redb's pages for it, were most of a `check`'s peak), and
//! renamed into place; it is read whole (the copy is let go before the engine is made
//! from it, below the peak, and decoding through a reader was slower). It names itself
//! with a random number that the store keeps too: a state is used only with the store
//! it was written beside, at the state of that store it describes (a store copied or
//! restored elsewhere carries its number, and its own history since). A state that
//! cannot be read (another build's, damaged, of another device, of another store) is not
//! used: the engine reads every document instead.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use automerge::ChangeHash;
use fieldcrm_model::{DeviceKey, DocId, Millis};
use fieldcrm_policy::{Config, Engine, SavedEngine};
use fieldcrm_store::Store;
use serde::{Deserialize, Serialize};

use super::{Lean, read};
use crate::memo::Stamp;

/// Tag of a saved state, computed by `build.rs` from the model and policy crates' source
/// and the lean engine's: a state written by another build is not read.
const STATE_TAG: &str = env!("FIELDCRM_ENGINE_TAG");

/// The store's record of the state file written beside it: its number.
const STATE_KEY: &str = "engine-state";

/// The state file beside the store.
fn state_path(store: &Store) -> PathBuf {
    let mut name = store.path().file_name().unwrap_or_default().to_os_string();
    name.push(".engine-state");
    store.path().with_file_name(name)
}

/// A lean state as it is written.
#[derive(Serialize, Deserialize)]
struct SavedLean<'a> {
    /// The number the store keeps for it.
    #[serde(with = "serde_bytes")]
    id: Vec<u8>,
    generation: u64,
    /// Every document's ID in ID order, 16 bytes each.
    #[serde(with = "serde_bytes")]
    ids: Vec<u8>,
    /// How many heads each has.
    #[serde(with = "serde_bytes")]
    counts: Vec<u8>,
    /// Their heads, one after the other, 32 bytes each.
    #[serde(with = "serde_bytes")]
    hashes: Vec<u8>,
    kept: Vec<DocId>,
    carried: Vec<DocId>,
    engine: SavedEngine<'a>,
}

impl Lean {
    /// Keep this state beside the store, unless the one kept is this one already. Only
    /// a cache: nothing waits for the disk, and a failure to write it changes nothing
    /// else.
    pub(crate) fn save(&mut self, store: &Store) {
        if self.is_saved() || self.device.is_none() {
            return;
        }
        let mut ids = Vec::with_capacity(self.heads.len() * 16);
        let mut counts = Vec::with_capacity(self.heads.len());
        let mut hashes = Vec::with_capacity(self.heads.len() * 32);
        for (id, h) in &self.heads {
            let (Some(raw), Ok(n)) = (fieldcrm_model::hex16(id.as_str()), u8::try_from(h.len()))
            else {
                return;
            };
            ids.extend(raw);
            counts.push(n);
            hashes.extend(h.iter().flat_map(|c| c.0));
        }
        let number: [u8; 16] = rand::random();
        let state = SavedLean {
            id: number.to_vec(),
            generation: self.generation,
            ids,
            counts,
            hashes,
            kept: self.kept.keys().cloned().collect(),
            carried: self.carried.iter().cloned().collect(),
            engine: self.engine.saved(),
        };
        let path = state_path(store);
        // A name of this writer's own: two processes saving at once each write their
        // own file, and the one renamed last is the one the store's number names, or
        // neither is used.
        let mut part = path.clone().into_os_string();
        part.push(format!(".part-{}", fieldcrm_model::hex(&number)));
        let part = PathBuf::from(part);
        let written = (|| {
            let mut out = BufWriter::with_capacity(1 << 16, std::fs::File::create(&part).ok()?);
            out.write_all(STATE_TAG.as_bytes()).ok()?;
            out.write_all(b"\n").ok()?;
            rmp_serde::encode::write(&mut out, &state).ok()?;
            out.into_inner().ok()?;
            // The old state goes first: renaming over an existing file makes ext4 (and
            // other file systems guarding against zero-length files after a crash)
            // write the new one out at once, and the 35 MB of a state at 100,000
            // customers then held up the rename and the store's next commit by about
            // 60 ms. This state is a cache, so a crash between the two costs only a
            // full check next time.
            let _ = std::fs::remove_file(&path);
            std::fs::rename(&part, &path).ok()
        })();
        drop(state);
        if written.is_none() {
            let _ = std::fs::remove_file(&part);
            return;
        }
        if store.set_cache_blob(STATE_KEY, &number).is_ok() {
            self.saved = Some(self.generation);
        }
    }

    /// The state kept beside the store for `device`, brought up to date with the store
    /// (at `stamp`) and the clock: `None` when there is none this build can use, or it
    /// could not be brought up to date (the caller reads every document instead).
    pub(crate) fn restore(
        store: &Store,
        stamp: Option<Stamp>,
        device: Option<&DeviceKey>,
        now: Millis,
        ahead: bool,
    ) -> Option<Lean> {
        let number = store.get_blob(STATE_KEY).ok()??;
        // Read whole, then decoded from memory: decoding through a reader copied each of
        // its hundreds of thousands of strings into a buffer of its own first.
        let bytes = std::fs::read(state_path(store)).ok()?;
        let body = bytes
            .strip_prefix(STATE_TAG.as_bytes())?
            .strip_prefix(b"\n")?;
        let state: SavedLean<'static> = rmp_serde::from_slice(body).ok()?;
        drop(bytes);
        if state.id != number {
            return None;
        }
        let heads = heads_of(&state.ids, &state.counts, &state.hashes)?;
        let engine = Engine::restore(Config::default(), device, state.engine)?.reading_ahead(ahead);
        let mut lean = Lean {
            stamp: None,
            device: device.copied(),
            generation: state.generation,
            heads,
            engine,
            kept: HashMap::new(),
            carried: state.carried.into_iter().collect(),
            checked: None,
            saved: Some(state.generation),
        };
        read(store, &lean.heads, &mut lean.kept, &state.kept).ok()?;
        lean.refresh(store, stamp, now).ok()?;
        Some(lean)
    }
}

/// The size of the state file beside the store (0 when there is none).
pub(crate) fn size(store: &Store) -> u64 {
    std::fs::metadata(state_path(store)).map_or(0, |m| m.len())
}

/// Remove the state kept beside the store: after documents were deleted from it (they
/// left the user's read scope), what it holds of them (names, keys, findings) goes
/// too, as every row kept beside them in the store does. The next check reads every
/// document.
pub(crate) fn forget(store: &Store) {
    let _ = std::fs::remove_file(state_path(store));
}

/// Every document's heads as written (see [`SavedLean`]), in ID order; `None` for
/// anything else.
fn heads_of(ids: &[u8], counts: &[u8], hashes: &[u8]) -> Option<Vec<(DocId, Vec<ChangeHash>)>> {
    let ids = ids.chunks_exact(16);
    if !ids.remainder().is_empty() || ids.len() != counts.len() {
        return None;
    }
    let mut hashes = hashes.chunks_exact(32);
    let mut heads = Vec::with_capacity(counts.len());
    for (raw, &n) in ids.zip(counts) {
        let id = DocId::from_bytes(raw.try_into().ok()?);
        let h: Vec<ChangeHash> = hashes
            .by_ref()
            .take(usize::from(n))
            .map(|c| c.try_into().ok().map(ChangeHash))
            .collect::<Option<_>>()?;
        if h.len() != usize::from(n) {
            return None;
        }
        heads.push((id, h));
    }
    // In ID order, as the store gives them (`refresh` pairs them in one pass), and all.
    let ordered = heads.is_sorted_by(|a, b| a.0 < b.0);
    (ordered && hashes.next().is_none() && hashes.remainder().is_empty()).then_some(heads)
}
