//! Policy snapshots of every stored document, cached per document and heads.

use fieldcrm_model::DeviceKey;
use fieldcrm_store::Store;

use crate::Result;

/// Every document's policy snapshot (typed content plus deciding-field provenance) in a
/// store: a device's workspace or the relay's.
///
/// Snapshots are cached in the store per document and heads (`derived-v1`), so a check
/// after a sync rebuilds only the documents that changed.
pub fn snapshots_of(store: &Store) -> Result<Vec<fieldcrm_model::Snapshot>> {
    let ids = store.all_heads().map_err(fieldcrm_store::Error::from)?;
    snapshots_at(store, &ids)
}

/// The policy snapshots of these documents at these heads (the heads just read from the
/// store), in the same order: decoded from the cache, or built and cached.
pub(crate) fn snapshots_at(
    store: &Store,
    ids: &[(fieldcrm_model::DocId, Vec<automerge::ChangeHash>)],
) -> Result<Vec<fieldcrm_model::Snapshot>> {
    let cached = store.derived(ids).map_err(fieldcrm_store::Error::from)?;
    let work: Vec<_> = ids.iter().zip(cached).collect();
    // Read only: the actor a loaded document would write with does not matter.
    let reader = DeviceKey([0; 32]);
    // Decoding a cached snapshot and building a missing one are independent per
    // document: on every core (a cold check of a freshly synced device builds them all).
    let built = crate::par::par_map(&work, 256, |((id, heads), cached)| -> Result<_> {
        if let Some(snap) = cached.as_deref().and_then(decode_snapshot) {
            return Ok((snap, None));
        }
        let snap = store
            .load(id, &reader)
            .map_err(fieldcrm_store::Error::from)?
            .snapshot()?;
        let row = (id.clone(), heads.clone(), encode_snapshot(&snap));
        Ok((snap, Some(row)))
    });
    let mut out = Vec::with_capacity(work.len());
    let mut fresh = Vec::new();
    for b in built {
        let (snap, row) = b?;
        out.push(snap);
        fresh.extend(row);
    }
    // Only a cache: a failure to write it costs recomputation next time, nothing else.
    let _ = store.put_derived(&fresh);
    Ok(out)
}

/// Tag of the cached snapshot format, computed by `build.rs` from the model crate's
/// source: any change to the `Snapshot` type or how it is built gives a new tag, so old
/// cache rows are recomputed instead of misread.
const SNAPSHOT_CACHE_TAG: &str = env!("FIELDCRM_SNAPSHOT_TAG");

/// What follows the tag in a cache row: the encoding of the snapshot. A row in another
/// encoding (an older build's deflated JSON) is simply recomputed.
const SNAPSHOT_CACHE_FORMAT: &[u8] = b"\nmsgpack+deflate\n";

/// A cache row: the tag, the format line, then the snapshot as deflated MessagePack with
/// field names (decoding is 2.5 times faster than the deflated JSON it replaced, and a
/// field skipped when empty cannot shift the others, as it could without names).
pub(crate) fn encode_snapshot(s: &fieldcrm_model::Snapshot) -> Vec<u8> {
    use std::io::Write as _;
    let mut out = SNAPSHOT_CACHE_TAG.as_bytes().to_vec();
    out.extend_from_slice(SNAPSHOT_CACHE_FORMAT);
    let mut z = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    // Encoding into memory cannot fail for these types; an empty row is simply
    // recomputed next time.
    let body = rmp_serde::to_vec_named(s).unwrap_or_default();
    z.write_all(&body)
        .and_then(|()| z.finish())
        .unwrap_or_default()
}

pub(crate) fn decode_snapshot(bytes: &[u8]) -> Option<fieldcrm_model::Snapshot> {
    let body = bytes
        .strip_prefix(SNAPSHOT_CACHE_TAG.as_bytes())?
        .strip_prefix(SNAPSHOT_CACHE_FORMAT)?;
    use std::io::Read as _;
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(body)
        .read_to_end(&mut raw)
        .ok()?;
    rmp_serde::from_slice(&raw).ok()
}
