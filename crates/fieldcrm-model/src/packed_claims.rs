//! Claims as records of their bytes, read where they lie.
//!
//! The snapshot cache keeps the Sales snapshot's claims in this form (fieldcrm-workspace
//! `packed_claims` writes it). Turned back into the snapshot's maps, 100,000 claims
//! were a million small allocations and a fifth of a `check` after a sync; the policy
//! engine, which only walks them once in order, reads them here instead
//! ([`crate::claims_walk::ClaimHands::packed`]).
//!
//! Layout (little-endian): the number of strings and each string (length, UTF-8) — the
//! owners and key kinds, each once; the number of claims; each claim: ID (16 bytes),
//! owner (string number), `since`, the writers of its owner and date (`u32::MAX`: none),
//! the number of keys; each key: hash (16 bytes), kind (string number), writer. Claims
//! are in ID order, each once, and a claim's keys in hash order, each once.

use std::collections::HashMap;
use std::ops::Range;

/// A writer that is not there.
pub const NO_WRITER: u32 = u32::MAX;

/// Bytes of a claim before its keys, and of one key.
const CLAIM_BYTES: usize = 16 + 4 + 8 + 4 + 4 + 4;
const KEY_BYTES: usize = 16 + 4 + 4;

/// Claims as records, checked whole when read ([`PackedClaims::read`]), so that walking
/// them cannot fail.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedClaims {
    bytes: Vec<u8>,
    /// Where each string is in `bytes` (checked UTF-8).
    strings: Vec<Range<usize>>,
    /// Where the claims start, and how many there are.
    start: usize,
    count: usize,
}

impl std::fmt::Debug for PackedClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedClaims({} claims)", self.count)
    }
}

/// One claim, borrowed from its record.
#[derive(Debug, Clone, Copy)]
pub struct PackedClaim<'a> {
    /// The claim ID's 16 bytes.
    pub id: [u8; 16],
    /// Its owner (a user).
    pub owner: &'a str,
    /// When it was made (UTC ms).
    pub since: i64,
    /// Who wrote its owner (an index of [`crate::claims_walk::ClaimHands::actors`]).
    pub owner_by: Option<u32>,
    /// Who wrote its date (the same).
    pub since_by: Option<u32>,
    keys: &'a [u8],
    of: &'a PackedClaims,
}

impl<'a> PackedClaim<'a> {
    /// Its keys in hash order: hash, kind and writer.
    pub fn keys(&self) -> impl Iterator<Item = ([u8; 16], &'a str, u32)> + 'a {
        let of = self.of;
        self.keys.chunks_exact(KEY_BYTES).filter_map(move |k| {
            let mut r = Reader(k);
            let hash = r.array::<16>()?;
            let kind = of.string(r.u32()?)?;
            Some((hash, kind, r.u32()?))
        })
    }

    /// How many keys it has.
    pub fn key_count(&self) -> usize {
        self.keys.len() / KEY_BYTES
    }
}

impl PackedClaims {
    /// Read and check records; `None` if they are damaged: cut, a string that is not
    /// UTF-8, a string number out of range, claims or keys out of order or repeated, or
    /// bytes left over.
    pub fn read(bytes: Vec<u8>) -> Option<Self> {
        let mut r = Reader(&bytes);
        let n = r.u32()?;
        let mut strings = Vec::new();
        for _ in 0..n {
            let len = usize::try_from(r.u32()?).ok()?;
            let at = bytes.len() - r.0.len();
            std::str::from_utf8(r.bytes(len)?).ok()?;
            strings.push(at..at + len);
        }
        let count = usize::try_from(r.u32()?).ok()?;
        let start = bytes.len() - r.0.len();
        let in_range = |n: u32| usize::try_from(n).is_ok_and(|n| n < strings.len());
        let mut last: Option<[u8; 16]> = None;
        for _ in 0..count {
            let id = r.array::<16>()?;
            if last.is_some_and(|l| l >= id) {
                return None;
            }
            last = Some(id);
            if !in_range(r.u32()?) {
                return None;
            }
            r.bytes(8 + 4 + 4)?;
            let keys = usize::try_from(r.u32()?).ok()?;
            let mut last_key: Option<[u8; 16]> = None;
            for _ in 0..keys {
                let hash = r.array::<16>()?;
                if last_key.is_some_and(|l| l >= hash) || !in_range(r.u32()?) {
                    return None;
                }
                last_key = Some(hash);
                r.u32()?;
            }
        }
        if !r.0.is_empty() {
            return None;
        }
        Some(PackedClaims {
            bytes,
            strings,
            start,
            count,
        })
    }

    /// How many claims there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn string(&self, n: u32) -> Option<&str> {
        let range = self.strings.get(usize::try_from(n).ok()?)?.clone();
        std::str::from_utf8(self.bytes.get(range)?).ok()
    }

    /// The claims in ID order.
    pub fn iter(&self) -> impl Iterator<Item = PackedClaim<'_>> {
        let mut r = Reader(self.bytes.get(self.start..).unwrap_or_default());
        let by = |n: u32| (n != NO_WRITER).then_some(n);
        (0..self.count).map_while(move |_| {
            let head = r.bytes(CLAIM_BYTES)?;
            let mut h = Reader(head);
            let id = h.array::<16>()?;
            let owner = self.string(h.u32()?)?;
            let since = i64::from_le_bytes(h.array()?);
            let (owner_by, since_by) = (by(h.u32()?), by(h.u32()?));
            let keys = usize::try_from(h.u32()?).ok()?;
            let keys = r.bytes(keys.checked_mul(KEY_BYTES)?)?;
            Some(PackedClaim {
                id,
                owner,
                since,
                owner_by,
                since_by,
                keys,
                of: self,
            })
        })
    }
}

/// Claims written as records, in claim ID order ([`Writer::push`]).
#[derive(Default)]
pub struct Writer<'a> {
    /// The owners and kinds written, each once, numbered.
    strings: Vec<&'a str>,
    numbers: HashMap<&'a str, u32>,
    records: Vec<u8>,
    count: u32,
}

impl<'a> Writer<'a> {
    /// Room for about `claims` claims.
    pub fn with_capacity(claims: usize) -> Self {
        Writer {
            records: Vec::with_capacity(claims.saturating_mul(CLAIM_BYTES + 2 * KEY_BYTES)),
            ..Writer::default()
        }
    }

    fn number(&mut self, s: &'a str) -> Option<u32> {
        if let Some(n) = self.numbers.get(s) {
            return Some(*n);
        }
        let n = u32::try_from(self.strings.len()).ok()?;
        self.strings.push(s);
        self.numbers.insert(s, n);
        Some(n)
    }

    /// Add a claim after those added before (in claim ID order), with its keys in hash
    /// order; `None` when there are more than a `u32` counts.
    pub fn push(
        &mut self,
        id: [u8; 16],
        owner: &'a str,
        since: i64,
        (owner_by, since_by): (Option<u32>, Option<u32>),
        keys: &[([u8; 16], &'a str, u32)],
    ) -> Option<()> {
        self.count = self.count.checked_add(1)?;
        let owner = self.number(owner)?;
        self.records.extend_from_slice(&id);
        self.records.extend_from_slice(&owner.to_le_bytes());
        self.records.extend_from_slice(&since.to_le_bytes());
        for by in [owner_by, since_by] {
            self.records
                .extend_from_slice(&by.unwrap_or(NO_WRITER).to_le_bytes());
        }
        self.records
            .extend_from_slice(&u32::try_from(keys.len()).ok()?.to_le_bytes());
        for (hash, kind, by) in keys {
            let kind = self.number(kind)?;
            self.records.extend_from_slice(hash);
            self.records.extend_from_slice(&kind.to_le_bytes());
            self.records.extend_from_slice(&by.to_le_bytes());
        }
        Some(())
    }

    /// How many claims were added.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records ([`PackedClaims::read`] reads them).
    pub fn finish(self) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(self.records.len() + 64);
        out.extend_from_slice(&u32::try_from(self.strings.len()).ok()?.to_le_bytes());
        for s in &self.strings {
            out.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.records);
        Some(out)
    }
}

/// Bytes read in order.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
}
