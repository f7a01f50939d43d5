//! Policy snapshots of every stored document, cached per document and heads.

use std::sync::Arc;

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
    Ok(snapshots_at(store, &ids, Claims::InMaps)?
        .into_iter()
        .map(Arc::unwrap_or_clone)
        .collect())
}

/// The policy snapshots of these documents at these heads (the heads just read from the
/// store), in the same order: decoded from the cache, or built and cached; a Sales
/// snapshot from the cache holds its claims as `claims` says.
///
/// Each snapshot is put in its shared `Arc` where it is decoded or built, and only the
/// pointers move from there: a snapshot is about 840 bytes inline, and passing them by
/// value through the threads' results, this list and then into `Arc`s used to hold
/// three copies of every one at once (about 250 MB at 100,000 customers).
pub(crate) fn snapshots_at(
    store: &Store,
    ids: &[(fieldcrm_model::DocId, Vec<automerge::ChangeHash>)],
    claims: Claims,
) -> Result<Vec<Arc<fieldcrm_model::Snapshot>>> {
    let cached = store.derived(ids).map_err(fieldcrm_store::Error::from)?;
    let work: Vec<_> = ids.iter().zip(cached).collect();
    // Read only: the actor a loaded document would write with does not matter.
    let reader = DeviceKey([0; 32]);
    // Decoding a cached snapshot and building a missing one are independent per
    // document: on every core (a cold check of a freshly synced device builds them all).
    let built = crate::par::par_map(&work, 256, |((id, heads), cached)| -> Result<_> {
        if let Some(snap) = cached
            .as_deref()
            .and_then(|row| decode_snapshot_as(row, claims))
        {
            return Ok((Arc::new(snap), None));
        }
        let doc = store
            .load(id, &reader)
            .map_err(fieldcrm_store::Error::from)?;
        let snap = doc.snapshot()?;
        let row = (id.clone(), heads.clone(), encode_snapshot(&snap));
        Ok((Arc::new(snap), Some(row)))
    });
    // The cached rows are decoded: let them go before the list is made.
    drop(work);
    let mut out = Vec::with_capacity(built.len());
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

/// The snapshot cache rows of the documents a sync session received whole and loaded to
/// judge them, from the snapshots read when they were judged, before the store takes
/// them: a device's first `check` after its first sync then reads every customer file's
/// snapshot instead of loading 100,000 documents again. With `workspace`, also the claims cache rows of
/// the customer files among them ([`crate::claims::received_row`]), from the content
/// the snapshot read. The Sales document is left out here: its snapshot holds every
/// claim, and the claims backfill after the session, which reads every claim anyway,
/// keeps it (`Workspace::cache_sales_snapshot`).
pub(crate) fn of_received(
    docs: &mut [fieldcrm_sync::SaveDoc],
    workspace: Option<&str>,
) -> (Vec<CacheRow>, Vec<crate::claims::ClaimRow>) {
    // Each document's snapshot was read when it was judged, in the same pass as its
    // summary ([`fieldcrm_sync::JudgedDoc::snapshot`]); here it is only encoded.
    let work: Vec<_> = docs
        .iter()
        .filter_map(|d| {
            let (heads, l) = (d.whole_heads.as_ref()?, d.loaded.as_deref()?);
            let customer = match l.summary.kind {
                fieldcrm_model::DocKind::Sales => return None,
                fieldcrm_model::DocKind::Customer => true,
                _ => false,
            };
            Some((&d.id, heads, l, customer))
        })
        .collect();
    let rows = crate::par::par_map(&work, 64, |&(id, heads, l, customer)| {
        let claim = match workspace {
            Some(ws) if customer => {
                // The claim reads the file as written, removed records too: the
                // snapshot's content serves only when nothing was removed from it.
                let content = match l.snapshot.as_ref().map(|s| &s.body) {
                    Some(fieldcrm_model::Body::Customer(c)) if c.removed.is_empty() => Some(c),
                    _ => None,
                };
                crate::claims::received_row(ws, id, heads, content, l.doc.automerge())
            }
            _ => None,
        };
        let row = l
            .snapshot
            .as_ref()
            .map(|s| (id.clone(), heads.clone(), encode_snapshot(s)));
        (row, claim)
    });
    drop(work);
    // The store takes the documents, not their snapshots.
    for l in docs.iter_mut().filter_map(|d| d.loaded.as_deref_mut()) {
        l.snapshot = None;
    }
    let mut snapshots = Vec::with_capacity(rows.len());
    let mut claims = Vec::with_capacity(rows.len());
    for (row, claim) in rows {
        snapshots.extend(row);
        claims.extend(claim);
    }
    (snapshots, claims)
}

/// A snapshot cache row: document, heads, encoded snapshot.
pub(crate) type CacheRow = (fieldcrm_model::DocId, Vec<automerge::ChangeHash>, Vec<u8>);

/// Tag of the cached snapshot format, computed by `build.rs` from the model crate's
/// source: any change to the `Snapshot` type or how it is built gives a new tag, so old
/// cache rows are recomputed instead of misread.
const SNAPSHOT_CACHE_TAG: &str = env!("FIELDCRM_SNAPSHOT_TAG");

/// What follows the tag in a cache row: the encoding of the snapshot. A row in another
/// encoding (an older build's deflated JSON, or MessagePack deflated without the
/// dictionary) is simply recomputed.
const SNAPSHOT_CACHE_FORMAT: &[u8] = b"\nmsgpack+deflate+dict\n";

/// The encoding of a Sales snapshot's row whose claims are records
/// ([`encode_snapshot`]).
const PACKED_FORMAT: &[u8] = b"\nclaims+msgpack+deflate+dict\n";

/// The preset dictionary the rows are deflated with: the MessagePack of typical
/// snapshots (the field names, kinds and provenance entries every customer file repeats),
/// so that a row of a few hundred bytes does not spell them out again. Made from the
/// cached snapshots of `fieldcrm demo --app`'s manager workspace, customer files last,
/// its last 8 KiB (at 100,000 imported customers a row is 320 bytes instead of 698;
/// 16 KiB saves little more and costs more per row). `build.rs` hashes it into the
/// tag, so a new dictionary makes old rows recomputed, never misread.
const SNAPSHOT_DICT: &[u8] = include_bytes!("snapshot.dict");

/// Deflate level of the rows: 3 is a third smaller than 1 on these rows, and 6 no
/// smaller than 3 but slower.
const SNAPSHOT_LEVEL: u32 = 3;

/// A cache row: the tag, the format line, then the snapshot as MessagePack with field
/// names (decoding is 2.5 times faster than the deflated JSON it replaced, and a field
/// skipped when empty cannot shift the others, as it could without names), deflated
/// with [`SNAPSHOT_DICT`]. An empty row (it cannot happen for these types in memory) is
/// simply recomputed next time.
///
/// The Sales snapshot's row ([`PACKED_FORMAT`]) holds its claims as records first
/// ([`crate::packed_claims`]): the length of those, them, then the rest of the snapshot
/// as above.
pub(crate) fn encode_snapshot(s: &fieldcrm_model::Snapshot) -> Vec<u8> {
    let mut out = SNAPSHOT_CACHE_TAG.as_bytes().to_vec();
    if matches!(s.body, fieldcrm_model::Body::Sales(_)) {
        // The one document that grows with the customers (a claim per file): its claims
        // as records, the rest deflated as it is written (a Sales document of claims
        // fieldcrm does not write could still be large).
        let Some((claims, rest)) = crate::packed_claims::pack(s) else {
            out.extend_from_slice(SNAPSHOT_CACHE_FORMAT);
            return encode_streaming(s, out).unwrap_or_default();
        };
        out.extend_from_slice(PACKED_FORMAT);
        out.extend_from_slice(&(claims.len() as u64).to_le_bytes());
        out.extend_from_slice(&claims);
        drop(claims);
        return encode_streaming(&rest, out).unwrap_or_default();
    }
    out.extend_from_slice(SNAPSHOT_CACHE_FORMAT);
    let Ok(body) = rmp_serde::to_vec_named(s) else {
        return Vec::new();
    };
    deflate_with_dict(&body, out).unwrap_or_default()
}

fn encode_streaming(s: &fieldcrm_model::Snapshot, out: Vec<u8>) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let z = compressor()?;
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, Deflating { z, out });
    rmp_serde::encode::write_named(&mut w, s).ok()?;
    w.flush().ok()?;
    let Deflating { mut z, out } = w.into_inner().ok()?;
    let row = to_end(&mut z, &[], out);
    give_back(z);
    row
}

/// The rows' deflate stream: [`SNAPSHOT_LEVEL`], with [`SNAPSHOT_DICT`]. The thread's
/// last one is reset and used again (hand it back with [`give_back`]): making one
/// allocates and clears some 300 KB, which was a fifth of encoding a customer's row.
fn compressor() -> Option<flate2::Compress> {
    let mut z = SPARE
        .with(|spare| spare.take())
        .map(|mut z| {
            z.reset();
            z
        })
        .unwrap_or_else(|| flate2::Compress::new(flate2::Compression::new(SNAPSHOT_LEVEL), false));
    z.set_dictionary(SNAPSHOT_DICT).ok()?;
    Some(z)
}

/// Keep a finished compressor for the thread's next row (a thread holds one, about
/// 300 KB, until it ends: the cores' scoped threads of a batch, or the one thread of a
/// single row).
fn give_back(z: flate2::Compress) {
    SPARE.with(|spare| spare.set(Some(z)));
}

thread_local! {
    static SPARE: std::cell::Cell<Option<flate2::Compress>> = const { std::cell::Cell::new(None) };
}

/// A row's body deflated as it is written ([`to_end`] finishes the stream).
struct Deflating {
    z: flate2::Compress,
    out: Vec<u8>,
}

impl std::io::Write for Deflating {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let took = self.z.total_in();
        loop {
            if self.out.capacity() - self.out.len() < 4096 {
                self.out.reserve(self.out.capacity().max(64 * 1024));
            }
            self.z
                .compress_vec(buf, &mut self.out, flate2::FlushCompress::None)
                .map_err(std::io::Error::other)?;
            let n = usize::try_from(self.z.total_in().saturating_sub(took))
                .map_err(std::io::Error::other)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn deflate_with_dict(body: &[u8], mut out: Vec<u8>) -> Option<Vec<u8>> {
    let mut z = compressor()?;
    out.reserve(body.len() / 2 + 64);
    let row = to_end(&mut z, body, out);
    give_back(z);
    row
}

/// Rows larger than this are decoded as they are inflated: the Sales document of
/// 100,000 claims is a 15 MB row that inflates to 110 MB, which held at once beside the
/// 205 MB it decodes to was the peak of a lean `check`. Small rows are inflated whole
/// (faster for the 100,000 rows of a few hundred bytes).
const STREAM_ROW_BYTES: usize = 256 * 1024;

/// Whether a cache row is in this build's format (its content is not read).
pub(crate) fn in_this_format(row: &[u8]) -> bool {
    row.strip_prefix(SNAPSHOT_CACHE_TAG.as_bytes())
        .is_some_and(|r| r.starts_with(SNAPSHOT_CACHE_FORMAT) || r.starts_with(PACKED_FORMAT))
}

#[cfg(test)]
pub(crate) fn decode_snapshot(bytes: &[u8]) -> Option<fieldcrm_model::Snapshot> {
    decode_snapshot_as(bytes, Claims::InMaps)
}

/// Where a decoded Sales snapshot holds the claims its row keeps as records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claims {
    /// In its maps, as any snapshot.
    InMaps,
    /// As the records ([`fieldcrm_model::claims_walk::ClaimHands::packed`]): only for
    /// the policy engine, which walks them in place.
    AsRecords,
}

pub(crate) fn decode_snapshot_as(bytes: &[u8], claims: Claims) -> Option<fieldcrm_model::Snapshot> {
    let row = bytes.strip_prefix(SNAPSHOT_CACHE_TAG.as_bytes())?;
    if let Some(rest) = row.strip_prefix(PACKED_FORMAT) {
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        let (records, body) = (rest.get(..len)?, rest.get(len..)?);
        let mut snap = decode_body(body)?;
        match claims {
            Claims::InMaps => crate::packed_claims::unpack(records, &mut snap)?,
            Claims::AsRecords => crate::packed_claims::attach(records, &mut snap)?,
        }
        return Some(snap);
    }
    decode_body(row.strip_prefix(SNAPSHOT_CACHE_FORMAT)?)
}

/// A snapshot from the deflated MessagePack of a row.
fn decode_body(body: &[u8]) -> Option<fieldcrm_model::Snapshot> {
    let mut z = flate2::Decompress::new(false);
    z.set_dictionary(SNAPSHOT_DICT).ok()?;
    if body.len() > STREAM_ROW_BYTES {
        let inflating = Inflating {
            z,
            input: body,
            ended: false,
        };
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, inflating);
        let snap = rmp_serde::from_read(&mut reader).ok()?;
        // Only a whole row counts: nothing left after the snapshot, and the stream ended.
        let mut more = [0u8; 1];
        return match std::io::Read::read(&mut reader, &mut more) {
            Ok(0) if reader.get_ref().ended => Some(snap),
            _ => None,
        };
    }
    let raw = Vec::with_capacity(body.len().saturating_mul(4).max(1024));
    let raw = to_end(&mut z, body, raw)?;
    rmp_serde::from_slice(&raw).ok()
}

/// A row's body inflated as it is read.
struct Inflating<'a> {
    z: flate2::Decompress,
    input: &'a [u8],
    /// Whether the deflate stream reached its end.
    ended: bool,
}

impl std::io::Read for Inflating<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        while !self.ended && !buf.is_empty() {
            let (took, wrote) = (self.z.total_in(), self.z.total_out());
            let rest = usize::try_from(took)
                .ok()
                .and_then(|t| self.input.get(t..))
                .ok_or_else(|| bad("inflate read past its input"))?;
            let status = self
                .z
                .decompress(rest, buf, flate2::FlushDecompress::None)
                .map_err(|_| bad("damaged row"))?;
            self.ended = status == flate2::Status::StreamEnd;
            let n = usize::try_from(self.z.total_out().saturating_sub(wrote))
                .map_err(|_| bad("inflate wrote too much"))?;
            if n > 0 || self.ended {
                return Ok(n);
            }
            if self.z.total_in() == took {
                // No progress with room to write: the row was cut short.
                return Err(bad("row cut short"));
            }
        }
        Ok(0)
    }
}

/// A deflate or inflate stream, as [`to_end`] drives it.
trait Zstream {
    /// Bytes taken in and written out so far.
    fn totals(&self) -> (u64, u64);
    /// Feed `input` (the whole rest), finishing; whether the stream ended.
    fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<bool>;
}

impl Zstream for flate2::Compress {
    fn totals(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }
    fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<bool> {
        let st = self
            .compress_vec(input, out, flate2::FlushCompress::Finish)
            .ok()?;
        Some(st == flate2::Status::StreamEnd)
    }
}

impl Zstream for flate2::Decompress {
    fn totals(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }
    fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<bool> {
        let st = self
            .decompress_vec(input, out, flate2::FlushDecompress::Finish)
            .ok()?;
        Some(st == flate2::Status::StreamEnd)
    }
}

/// Run `z` over all of `input`, appending to `out` (growing it as needed), to the end
/// of the stream (`z` may have taken input before: a stream finished after it was
/// written to). `None` when it fails, or stops making progress with room to write (a
/// row cut short or damaged).
fn to_end(z: &mut impl Zstream, input: &[u8], mut out: Vec<u8>) -> Option<Vec<u8>> {
    let start = z.totals().0;
    loop {
        let before = z.totals();
        let rest = input.get(usize::try_from(before.0.saturating_sub(start)).ok()?..)?;
        if z.step(rest, &mut out)? {
            return Some(out);
        }
        if out.len() < out.capacity() && before == z.totals() {
            return None;
        }
        out.reserve(out.capacity().max(4096));
    }
}
