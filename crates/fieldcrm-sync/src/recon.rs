//! Range-based set reconciliation over (document ID, hash of heads).
//!
//! Items are sorted by document ID. A range is "every ID whose first `depth` hex digits are
//! `prefix`", so ranges need no bounds on the wire and split into 16 children by the next
//! digit (document IDs are random, so children hold similar numbers of items). A range's
//! fingerprint is the wrapping sum of its items' 64-bit hashes: the empty range is 0, and
//! a prefix-sum array answers any range in O(log n).

use automerge::ChangeHash;
use fieldcrm_model::DocId;

/// A document ID as its 16 raw bytes.
pub(crate) type RawId = [u8; 16];

/// Ranges holding at most this many items are listed (8 bytes per item) instead of split
/// (16 fingerprints of 8 bytes, and another round trip).
pub(crate) const LEAF_ITEMS: usize = 16;
/// Ranges this deep are always listed (defends against IDs that share long prefixes).
pub(crate) const MAX_SPLIT_DEPTH: u8 = 16;

/// The raw ID of the roster (`DocId::workspace(&DocKind::Roster)`).
pub(crate) const ROSTER: RawId = {
    let mut r = [0u8; 16];
    r[15] = 1;
    r
};

/// The raw bytes of a document ID.
pub(crate) fn raw_id(id: &DocId) -> RawId {
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(id.as_str().as_bytes().chunks_exact(2)) {
        if let [hi, lo] = pair {
            *o = (nibble(*hi) << 4) | nibble(*lo);
        }
    }
    out
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        // DocId guarantees lowercase hex.
        _ => 0,
    }
}

/// The document ID for raw bytes (always valid: 32 lowercase hex digits).
// The hex of 16 bytes is 32 lowercase hex digits, exactly what `DocId` accepts, so the
// parse cannot fail whatever bytes a peer sent (the model has no infallible constructor).
#[allow(clippy::expect_used)]
pub(crate) fn doc_id(raw: &RawId) -> DocId {
    fieldcrm_model::hex(raw)
        .parse()
        .expect("32 lowercase hex digits are a document ID")
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The 64-bit item hash of a document at some heads. Part of the wire protocol: it must
/// never change within a protocol version.
pub(crate) fn item_hash(id: &RawId, heads: &[ChangeHash]) -> u64 {
    let id = u128::from_le_bytes(*id);
    let mut h = fmix64(id as u64 ^ 0x9e37_79b9_7f4a_7c15);
    h = fmix64(h ^ (id >> 64) as u64);
    let mut heads: Vec<&ChangeHash> = heads.iter().collect();
    heads.sort();
    for head in heads {
        for w in head.0.as_chunks::<8>().0 {
            h = fmix64(h.wrapping_add(0x2545_f491_4f6c_dd1d) ^ u64::from_le_bytes(*w));
        }
    }
    h
}

/// The item set one side offers in a session, sorted, with prefix sums of item hashes.
#[derive(Debug, Default)]
pub(crate) struct ItemSet {
    ids: Vec<u128>,
    hashes: Vec<u64>,
    sums: Vec<u64>,
}

impl ItemSet {
    pub(crate) fn new(mut items: Vec<(RawId, u64)>) -> Self {
        items.sort_unstable();
        items.dedup_by(|a, b| a.0 == b.0);
        Self::from_sorted(
            items
                .iter()
                .map(|(id, _)| u128::from_be_bytes(*id))
                .collect(),
            items.iter().map(|(_, h)| *h).collect(),
        )
    }

    /// From IDs in strictly increasing order and their hashes.
    fn from_sorted(ids: Vec<u128>, hashes: Vec<u64>) -> Self {
        let mut sums = Vec::with_capacity(hashes.len() + 1);
        sums.push(0u64);
        let mut acc = 0u64;
        for h in &hashes {
            acc = acc.wrapping_add(*h);
            sums.push(acc);
        }
        ItemSet { ids, hashes, sums }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Index range of the items in range (depth, prefix).
    pub(crate) fn bounds(&self, depth: u8, prefix: u128) -> (usize, usize) {
        if depth == 0 {
            return (0, self.ids.len());
        }
        let shift = 128 - 4 * depth as u32;
        let lo_id = prefix << shift;
        let lo = self.ids.partition_point(|&x| x < lo_id);
        let last = prefix
            .checked_add(1)
            .filter(|p| depth == 32 || p >> (4 * depth as u32) == 0);
        let hi = match last {
            Some(p) => self.ids.partition_point(|&x| x < p << shift),
            None => self.ids.len(),
        };
        (lo, hi)
    }

    /// The fingerprint of the items `lo..hi` (indices from [`Self::bounds`]).
    pub(crate) fn fingerprint(&self, lo: usize, hi: usize) -> u64 {
        match (self.sums.get(hi), self.sums.get(lo)) {
            (Some(h), Some(l)) => h.wrapping_sub(*l),
            _ => 0,
        }
    }

    /// Fingerprints of the 16 children of a range.
    pub(crate) fn split(&self, depth: u8, prefix: u128) -> [u64; 16] {
        let mut out = [0u64; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let (lo, hi) = self.bounds(depth + 1, (prefix << 4) | i as u128);
            *o = self.fingerprint(lo, hi);
        }
        out
    }

    /// The IDs of the items `lo..hi` (empty if out of range).
    pub(crate) fn ids(&self, lo: usize, hi: usize) -> impl Iterator<Item = RawId> + '_ {
        self.ids
            .get(lo..hi)
            .unwrap_or_default()
            .iter()
            .map(|id| id.to_be_bytes())
    }

    /// The hashes of the items `lo..hi` (empty if out of range).
    pub(crate) fn hashes(&self, lo: usize, hi: usize) -> &[u64] {
        self.hashes.get(lo..hi).unwrap_or_default()
    }

    /// Position of an ID, if present.
    pub(crate) fn find(&self, id: &RawId) -> Option<usize> {
        self.ids.binary_search(&u128::from_be_bytes(*id)).ok()
    }

    /// The item hash of an ID, if present.
    pub(crate) fn hash_of(&self, id: &RawId) -> Option<u64> {
        self.find(id).and_then(|i| self.hashes.get(i).copied())
    }

    /// These items without the IDs of `excluded` (sorted, no duplicates).
    pub(crate) fn without(&self, excluded: &[u128]) -> ItemSet {
        let mut ids = Vec::with_capacity(self.ids.len());
        let mut hashes = Vec::with_capacity(self.ids.len());
        let mut skip = excluded.iter().peekable();
        for (&id, &h) in self.ids.iter().zip(&self.hashes) {
            while skip.next_if(|&&x| x < id).is_some() {}
            if skip.peek() == Some(&&id) {
                continue;
            }
            ids.push(id);
            hashes.push(h);
        }
        ItemSet::from_sorted(ids, hashes)
    }
}

/// The documents one side offers a peer in a session: each shared document's ID with
/// the hash of its heads, sorted. Built from the held documents through a scope
/// ([`Items::build`]) or kept by the host between sessions and brought up to date with the
/// documents that changed ([`Items::patched`]), so a session with nothing changed costs
/// nothing per held document. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Items(pub(crate) std::sync::Arc<ItemSet>);

/// Format marker of [`Items::encode`].
const ITEMS_FORMAT: u8 = 1;

impl Items {
    /// The documents of `index` that `scope` shares ([`Scope::shares`](crate::Scope)).
    pub fn build<S: crate::Scope + ?Sized>(
        scope: &S,
        index: impl IntoIterator<Item = (DocId, Vec<ChangeHash>)>,
    ) -> Self {
        Items(std::sync::Arc::new(ItemSet::new(
            index
                .into_iter()
                .filter(|(id, _)| scope.shares(id))
                .map(|(id, heads)| {
                    let raw = raw_id(&id);
                    (raw, item_hash(&raw, &heads))
                })
                .collect(),
        )))
    }

    /// These items with `changes` applied: a document with heads is shared at those
    /// heads (added or updated), one without is not shared (removed).
    pub fn patched(
        &self,
        changes: impl IntoIterator<Item = (DocId, Option<Vec<ChangeHash>>)>,
    ) -> Self {
        let mut changes: Vec<(u128, Option<u64>)> = changes
            .into_iter()
            .map(|(id, heads)| {
                let raw = raw_id(&id);
                (u128::from_be_bytes(raw), heads.map(|h| item_hash(&raw, &h)))
            })
            .collect();
        if changes.is_empty() {
            return self.clone();
        }
        // The last word on a document wins.
        changes.reverse();
        changes.sort_by_key(|(id, _)| *id);
        changes.dedup_by_key(|(id, _)| *id);
        let old = &self.0;
        let mut ids = Vec::with_capacity(old.ids.len() + changes.len());
        let mut hashes = Vec::with_capacity(ids.capacity());
        let mut i = 0;
        for (id, hash) in changes {
            while let (Some(&o), Some(&h)) = (old.ids.get(i), old.hashes.get(i)) {
                if o >= id {
                    break;
                }
                ids.push(o);
                hashes.push(h);
                i += 1;
            }
            if old.ids.get(i) == Some(&id) {
                i += 1;
            }
            if let Some(h) = hash {
                ids.push(id);
                hashes.push(h);
            }
        }
        ids.extend_from_slice(old.ids.get(i..).unwrap_or_default());
        hashes.extend_from_slice(old.hashes.get(i..).unwrap_or_default());
        Items(std::sync::Arc::new(ItemSet::from_sorted(ids, hashes)))
    }

    /// How many documents are offered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Bytes to keep these items in (24 per document).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 24 * self.len());
        out.push(ITEMS_FORMAT);
        for (id, h) in self.0.ids.iter().zip(&self.0.hashes) {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Items kept by [`Items::encode`]; `None` for bytes it did not write (another
    /// format, cut short, IDs out of order).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (&ITEMS_FORMAT, rest) = bytes.split_first()? else {
            return None;
        };
        let (rows, tail) = rest.as_chunks::<24>();
        if !tail.is_empty() {
            return None;
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut hashes = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, h) = row.split_first_chunk::<16>()?;
            let id = u128::from_be_bytes(*id);
            if ids.last().is_some_and(|&last| last >= id) {
                return None;
            }
            ids.push(id);
            hashes.push(u64::from_le_bytes(<[u8; 8]>::try_from(h).ok()?));
        }
        Some(Items(std::sync::Arc::new(ItemSet::from_sorted(
            ids, hashes,
        ))))
    }
}

impl PartialEq for Items {
    fn eq(&self, other: &Self) -> bool {
        self.0.ids == other.0.ids && self.0.hashes == other.0.hashes
    }
}

/// Whether `id` lies in range (depth, prefix).
#[cfg(test)]
fn in_range(id: &RawId, depth: u8, prefix: u128) -> bool {
    depth == 0 || u128::from_be_bytes(*id) >> (128 - 4 * depth as u32) == prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u128]) -> ItemSet {
        ItemSet::new(
            ids.iter()
                .map(|&i| (i.to_be_bytes(), (i as u64).wrapping_mul(7) | 1))
                .collect(),
        )
    }

    #[test]
    fn the_roster_constant_is_the_rosters_raw_id() {
        let roster = DocId::workspace(&fieldcrm_model::DocKind::Roster);
        assert_eq!(raw_id(&roster), ROSTER);
        assert_eq!(doc_id(&ROSTER), roster);
    }

    #[test]
    fn patched_items_equal_items_built_from_the_result() {
        let ids: Vec<DocId> = (0..50).map(|_| DocId::random()).collect();
        let heads = |n: u8| vec![ChangeHash([n; 32])];
        let all = crate::scope::Unrestricted;
        let start = Items::build(&all, ids.iter().map(|id| (id.clone(), heads(1))));
        assert_eq!(start.len(), 50);
        // Change 10, remove 5, add 3 (one of them twice: the last word wins).
        let added: Vec<DocId> = (0..3).map(|_| DocId::random()).collect();
        let mut changes: Vec<(DocId, Option<Vec<ChangeHash>>)> = Vec::new();
        changes.extend(ids.iter().take(10).map(|id| (id.clone(), Some(heads(2)))));
        changes.extend(ids.iter().skip(10).take(5).map(|id| (id.clone(), None)));
        changes.extend(added.iter().map(|id| (id.clone(), Some(heads(9)))));
        changes.push((added[0].clone(), Some(heads(3))));
        let patched = start.patched(changes);
        let mut want: Vec<(DocId, Vec<ChangeHash>)> = Vec::new();
        want.extend(ids.iter().take(10).map(|id| (id.clone(), heads(2))));
        want.extend(ids.iter().skip(15).map(|id| (id.clone(), heads(1))));
        want.push((added[0].clone(), heads(3)));
        want.extend(added.iter().skip(1).map(|id| (id.clone(), heads(9))));
        let built = Items::build(&all, want);
        assert_eq!(patched, built);
        assert_eq!(
            patched.0.fingerprint(0, patched.len()),
            built.0.fingerprint(0, built.len())
        );
        assert_eq!(patched.len(), 48);
        // Kept and read back; damaged bytes are not read.
        let bytes = patched.encode();
        assert_eq!(Items::decode(&bytes), Some(patched.clone()));
        assert_eq!(Items::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(Items::decode(&[]), None);
        let mut swapped = bytes.clone();
        swapped[1..25].copy_from_slice(&bytes[25..49]);
        swapped[25..49].copy_from_slice(&bytes[1..25]);
        assert_eq!(Items::decode(&swapped), None);
    }

    #[test]
    fn items_without_some_ids_equal_items_built_without_them() {
        let ids: Vec<u128> = (0..200u128).map(|i| i * 7919 + (i << 100)).collect();
        let full = set(&ids);
        let mut excluded: Vec<u128> = ids.iter().step_by(3).copied().collect();
        // IDs not held are ignored.
        excluded.extend([1, u128::MAX - 1]);
        excluded.sort_unstable();
        let kept: Vec<u128> = ids
            .iter()
            .filter(|i| !excluded.contains(i))
            .copied()
            .collect();
        let rest = full.without(&excluded);
        let want = set(&kept);
        assert_eq!(rest.ids, want.ids);
        assert_eq!(
            rest.fingerprint(0, rest.len()),
            want.fingerprint(0, want.len())
        );
        assert_eq!(full.without(&[]).ids, full.ids);
        assert_eq!(full.without(&ids).len(), 0);
        assert_eq!(
            full.hash_of(&ids[3].to_be_bytes()),
            Some((ids[3] as u64).wrapping_mul(7) | 1)
        );
        assert_eq!(full.hash_of(&1u128.to_be_bytes()), None);
    }

    #[test]
    fn raw_ids_round_trip() {
        let id = DocId::random();
        assert_eq!(doc_id(&raw_id(&id)), id);
    }

    #[test]
    fn bounds_follow_hex_prefixes() {
        let s = set(&[0, 1 << 124, (1 << 124) + 5, u128::MAX]);
        assert_eq!(s.bounds(0, 0), (0, 4));
        assert_eq!(s.bounds(1, 0), (0, 1));
        assert_eq!(s.bounds(1, 1), (1, 3));
        assert_eq!(s.bounds(1, 15), (3, 4));
        assert_eq!(s.bounds(32, u128::MAX), (3, 4));
        assert_eq!(s.bounds(32, 0), (0, 1));
        let children = s.split(0, 0);
        assert_eq!(
            children.iter().fold(0u64, |a, b| a.wrapping_add(*b)),
            s.fingerprint(0, 4)
        );
        assert!(in_range(&((1u128 << 124) + 5).to_be_bytes(), 1, 1));
        assert!(!in_range(&0u128.to_be_bytes(), 1, 1));
    }

    const FIXED_VECTOR: u64 = 11_388_791_655_338_932_937;

    #[test]
    fn item_hash_is_stable_and_order_independent() {
        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        let id = [9u8; 16];
        assert_eq!(item_hash(&id, &[a, b]), item_hash(&id, &[b, a]));
        assert_ne!(item_hash(&id, &[a]), item_hash(&id, &[a, b]));
        assert_ne!(item_hash(&id, &[a]), item_hash(&[8; 16], &[a]));
        // A fixed vector: the hash is part of the wire protocol.
        assert_eq!(item_hash(&id, &[a]), FIXED_VECTOR);
    }
}
