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
        let mut sums = Vec::with_capacity(items.len() + 1);
        sums.push(0u64);
        let mut acc = 0u64;
        for (_, h) in &items {
            acc = acc.wrapping_add(*h);
            sums.push(acc);
        }
        ItemSet {
            ids: items
                .iter()
                .map(|(id, _)| u128::from_be_bytes(*id))
                .collect(),
            hashes: items.iter().map(|(_, h)| *h).collect(),
            sums,
        }
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
