//! The wire format: a hand-written, versioned binary encoding.
//!
//! Every frame starts with two bytes that never change between protocol versions:
//! `[version: u8][kind: u8]`. Kind 1 is a turn message, kind 2 an error. An error frame's
//! body is `code: u8` and UTF-8 text, so a peer speaking another version can still read
//! why it was refused.
//!
//! Integers are unsigned LEB128 varints unless stated; fingerprints and item hashes are
//! 8 bytes little-endian; document IDs are their 16 raw bytes. A turn message is:
//!
//! ```text
//! seq varint | flags u8 (1 = more messages follow in this turn, 2 = hello present,
//!                        4 = named present)
//! [hello: workspace id (len varint, UTF-8)]
//! [named: count, each id[16], item hash u64]   only in each side's first message:
//!          documents the sender changed since its last finished sync with this peer
//! actors:  count, each (len varint, bytes)          appended to the sender's actor table
//! ranges:  count, each depth u8, prefix varint, body
//!          body = 0 fingerprint u64 | 1 split 16 x 48-bit fingerprints (6 bytes)
//!                 | 2 items: count, each hash u64
//!                 | 3 unmatched: count, each index varint into the peer's item list
//! clocks:  count, each id[16], want u8, n, n x (actor index varint, seq varint)
//! changes: count, each id[16], 0 (n, n x (len, change chunk, signature[64]))
//!          | 1 (len, whole document, m, m x (change hash[32], signature[64]))
//! refused: count, each id[16], reason (len, UTF-8)
//! acked:   varint (documents of the peer's previous turn durably saved)
//! ```

use automerge::ChangeHash;
use fieldcrm_model::Signature;

use crate::recon::RawId;
use crate::{DecodeError, PROTOCOL_VERSION};

/// Frame kind of a turn message.
const KIND_TURN: u8 = 1;
/// Frame kind of an error message.
const KIND_ERROR: u8 = 2;

/// Bytes of each child fingerprint in a split: 48 bits. A differing range is missed only if
/// 48-bit sums collide (2^-48 per comparison); it saves a quarter of reconciliation bytes.
pub(crate) const SPLIT_FP_BYTES: usize = 6;
/// The bits of a fingerprint a split carries.
pub(crate) const SPLIT_FP_MASK: u64 = (1 << (8 * SPLIT_FP_BYTES)) - 1;

const FLAG_MORE: u8 = 1;
const FLAG_HELLO: u8 = 2;
const FLAG_NAMED: u8 = 4;

/// Longest accepted workspace ID, actor ID or refusal reason, in bytes.
const MAX_SHORT: usize = 4096;

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Turn(Turn),
    Error { code: u8, message: String },
}

/// One message of a turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Turn {
    pub(crate) seq: u64,
    pub(crate) more: bool,
    pub(crate) hello: Option<String>,
    /// The documents the sender names as changed since its last finished sync with this
    /// peer, with their item hashes (each side's first message only).
    pub(crate) named: Option<Vec<(RawId, u64)>>,
    pub(crate) actors: Vec<Vec<u8>>,
    pub(crate) ranges: Vec<RangePart>,
    pub(crate) clocks: Vec<ClockPart>,
    pub(crate) changes: Vec<ChangesPart>,
    pub(crate) refused: Vec<Refusal>,
    pub(crate) acked: u64,
}

impl Turn {
    /// Whether the message asks anything of the peer (ranges, clocks or changes).
    pub(crate) fn has_content(&self) -> bool {
        !(self.ranges.is_empty()
            && self.clocks.is_empty()
            && self.changes.is_empty()
            && self.named.as_ref().is_none_or(Vec::is_empty))
    }
}

/// A range of the document-ID space: IDs whose first `depth` hex digits are `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangePart {
    pub(crate) depth: u8,
    pub(crate) prefix: u128,
    pub(crate) body: RangeBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeBody {
    /// The fingerprint of the whole range.
    Fingerprint(u64),
    /// The fingerprints of the 16 child ranges (one more hex digit).
    Split(Box<[u64; 16]>),
    /// The hash of every item the sender has in the range, in ID order.
    Items(Vec<u64>),
    /// Answer to [`RangeBody::Items`]: the positions in that list that matched nothing here.
    Unmatched(Vec<u64>),
}

/// "This is my version of the document": a vector clock over the sender's actor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClockPart {
    pub(crate) id: RawId,
    pub(crate) want: bool,
    pub(crate) clock: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangesPart {
    /// Automerge change chunks, in causal order, each with its author's signature.
    Changes {
        id: RawId,
        chunks: Vec<(Vec<u8>, Signature)>,
    },
    /// A whole saved Automerge document, for a peer that has none of it, with the
    /// signatures of its changes.
    Whole {
        id: RawId,
        bytes: Vec<u8>,
        sigs: Vec<(ChangeHash, Signature)>,
    },
}

impl ChangesPart {
    pub(crate) fn id(&self) -> &RawId {
        match self {
            ChangesPart::Changes { id, .. } | ChangesPart::Whole { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) id: RawId,
    pub(crate) reason: String,
}

// ---------------------------------------------------------------------------------------
// Encoding

fn put_uvarint(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_u(out: &mut Vec<u8>, v: u64) {
    put_uvarint(out, v as u128);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encoded size of a varint, for message-size accounting.
pub(crate) fn uvarint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn encode_turn(t: &Turn) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(PROTOCOL_VERSION);
    out.push(KIND_TURN);
    put_u(&mut out, t.seq);
    let mut flags = 0;
    if t.more {
        flags |= FLAG_MORE;
    }
    if t.hello.is_some() {
        flags |= FLAG_HELLO;
    }
    if t.named.is_some() {
        flags |= FLAG_NAMED;
    }
    out.push(flags);
    if let Some(w) = &t.hello {
        put_bytes(&mut out, w.as_bytes());
    }
    if let Some(named) = &t.named {
        put_u(&mut out, named.len() as u64);
        for (id, h) in named {
            out.extend_from_slice(id);
            out.extend_from_slice(&h.to_le_bytes());
        }
    }
    put_u(&mut out, t.actors.len() as u64);
    for a in &t.actors {
        put_bytes(&mut out, a);
    }
    put_u(&mut out, t.ranges.len() as u64);
    for r in &t.ranges {
        out.push(r.depth);
        put_uvarint(&mut out, r.prefix);
        match &r.body {
            RangeBody::Fingerprint(f) => {
                out.push(0);
                out.extend_from_slice(&f.to_le_bytes());
            }
            RangeBody::Split(fs) => {
                out.push(1);
                for f in fs.iter() {
                    out.extend_from_slice(&f.to_le_bytes()[..SPLIT_FP_BYTES]);
                }
            }
            RangeBody::Items(items) => {
                out.push(2);
                put_u(&mut out, items.len() as u64);
                for h in items {
                    out.extend_from_slice(&h.to_le_bytes());
                }
            }
            RangeBody::Unmatched(ix) => {
                out.push(3);
                put_u(&mut out, ix.len() as u64);
                for i in ix {
                    put_u(&mut out, *i);
                }
            }
        }
    }
    put_u(&mut out, t.clocks.len() as u64);
    for c in &t.clocks {
        out.extend_from_slice(&c.id);
        out.push(u8::from(c.want));
        put_u(&mut out, c.clock.len() as u64);
        for (a, s) in &c.clock {
            put_u(&mut out, *a);
            put_u(&mut out, *s);
        }
    }
    put_u(&mut out, t.changes.len() as u64);
    for c in &t.changes {
        match c {
            ChangesPart::Changes { id, chunks } => {
                out.extend_from_slice(id);
                out.push(0);
                put_u(&mut out, chunks.len() as u64);
                for (ch, sig) in chunks {
                    put_bytes(&mut out, ch);
                    out.extend_from_slice(sig);
                }
            }
            ChangesPart::Whole { id, bytes, sigs } => {
                out.extend_from_slice(id);
                out.push(1);
                put_bytes(&mut out, bytes);
                put_u(&mut out, sigs.len() as u64);
                for (hash, sig) in sigs {
                    out.extend_from_slice(&hash.0);
                    out.extend_from_slice(sig);
                }
            }
        }
    }
    put_u(&mut out, t.refused.len() as u64);
    for r in &t.refused {
        out.extend_from_slice(&r.id);
        put_bytes(&mut out, r.reason.as_bytes());
    }
    put_u(&mut out, t.acked);
    out
}

pub(crate) fn encode_error(code: u8, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + message.len());
    out.push(PROTOCOL_VERSION);
    out.push(KIND_ERROR);
    out.push(code);
    out.extend_from_slice(message.as_bytes());
    out
}

// ---------------------------------------------------------------------------------------
// Decoding

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Everything not read yet.
    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError::Truncated { what })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(DecodeError::Truncated { what })?;
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let (a, _) = self
            .take(N, what)?
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated { what })?;
        Ok(*a)
    }

    fn uvarint(&mut self, what: &'static str, max_bits: u32) -> Result<u128, DecodeError> {
        let mut v: u128 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8(what)?;
            let part = (b & 0x7f) as u128;
            if shift >= max_bits || (shift + 7 > max_bits && part >> (max_bits - shift) != 0) {
                return Err(DecodeError::BadVarint { what });
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                // Canonical encodings only: no trailing zero groups.
                if shift > 0 && b == 0 {
                    return Err(DecodeError::BadVarint { what });
                }
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(self.uvarint(what, 64)? as u64)
    }

    /// A count of elements that each take at least `min_size` bytes: bounded by what is left.
    fn count(&mut self, what: &'static str, min_size: usize) -> Result<usize, DecodeError> {
        let n = self.u64(what)?;
        if n > (self.remaining() / min_size.max(1)) as u64 {
            return Err(DecodeError::Truncated { what });
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.count(what, 1)?;
        self.take(n, what)
    }

    fn short_text(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let b = self.bytes(what)?;
        if b.len() > MAX_SHORT {
            return Err(DecodeError::TooLong { what });
        }
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::NotUtf8 { what })
    }

    fn id(&mut self, what: &'static str) -> Result<RawId, DecodeError> {
        self.array(what)
    }

    fn fp(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array(what).map(u64::from_le_bytes)
    }
}

/// The protocol version a frame claims, if it has a first byte.
pub(crate) fn frame_version(bytes: &[u8]) -> Option<u8> {
    bytes.first().copied()
}

/// Decode a frame whose version byte has already been checked.
pub(crate) fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let _version = r.u8("version")?;
    match r.u8("frame kind")? {
        KIND_TURN => decode_turn(&mut r).map(Frame::Turn),
        KIND_ERROR => {
            let code = r.u8("error code")?;
            let rest = r.rest();
            let message =
                String::from_utf8_lossy(rest.get(..MAX_SHORT).unwrap_or(rest)).into_owned();
            Ok(Frame::Error { code, message })
        }
        k => Err(DecodeError::UnknownKind { kind: k }),
    }
}

fn decode_turn(r: &mut Reader<'_>) -> Result<Turn, DecodeError> {
    let mut t = Turn {
        seq: r.u64("sequence number")?,
        ..Turn::default()
    };
    let flags = r.u8("flags")?;
    if flags & !(FLAG_MORE | FLAG_HELLO | FLAG_NAMED) != 0 {
        return Err(DecodeError::BadFlags { flags });
    }
    t.more = flags & FLAG_MORE != 0;
    if flags & FLAG_HELLO != 0 {
        t.hello = Some(r.short_text("workspace ID")?);
    }
    if flags & FLAG_NAMED != 0 {
        let n = r.count("named count", 24)?;
        let mut named = Vec::with_capacity(n);
        for _ in 0..n {
            named.push((r.id("named document ID")?, r.fp("named item hash")?));
        }
        t.named = Some(named);
    }
    let n = r.count("actor count", 1)?;
    for _ in 0..n {
        let a = r.bytes("actor ID")?;
        if a.len() > MAX_SHORT {
            return Err(DecodeError::TooLong { what: "actor ID" });
        }
        t.actors.push(a.to_vec());
    }
    let n = r.count("range count", 3)?;
    for _ in 0..n {
        let depth = r.u8("range depth")?;
        if depth > 32 {
            return Err(DecodeError::BadRange);
        }
        let prefix = r.uvarint("range prefix", 128)?;
        if depth < 32 && prefix >> (4 * depth as u32) != 0 {
            return Err(DecodeError::BadRange);
        }
        let body = match r.u8("range kind")? {
            0 => RangeBody::Fingerprint(r.fp("fingerprint")?),
            1 => {
                if depth >= 32 {
                    return Err(DecodeError::BadRange);
                }
                let mut fs = Box::new([0u64; 16]);
                for f in fs.iter_mut() {
                    let part: [u8; SPLIT_FP_BYTES] = r.array("fingerprint")?;
                    let mut b = [0u8; 8];
                    for (d, s) in b.iter_mut().zip(part) {
                        *d = s;
                    }
                    *f = u64::from_le_bytes(b);
                }
                RangeBody::Split(fs)
            }
            2 => {
                let n = r.count("item count", 8)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(r.fp("item hash")?);
                }
                RangeBody::Items(items)
            }
            3 => {
                let n = r.count("unmatched count", 1)?;
                let mut ix = Vec::with_capacity(n);
                for _ in 0..n {
                    ix.push(r.u64("unmatched index")?);
                }
                RangeBody::Unmatched(ix)
            }
            k => {
                return Err(DecodeError::UnknownPart {
                    what: "range",
                    kind: k,
                });
            }
        };
        t.ranges.push(RangePart {
            depth,
            prefix,
            body,
        });
    }
    let n = r.count("clock count", 18)?;
    for _ in 0..n {
        let id = r.id("document ID")?;
        let want = match r.u8("want flag")? {
            0 => false,
            1 => true,
            k => {
                return Err(DecodeError::UnknownPart {
                    what: "want flag",
                    kind: k,
                });
            }
        };
        let m = r.count("clock length", 2)?;
        let mut clock = Vec::with_capacity(m);
        for _ in 0..m {
            clock.push((r.u64("actor index")?, r.u64("sequence number")?));
        }
        t.clocks.push(ClockPart { id, want, clock });
    }
    let n = r.count("changes count", 18)?;
    for _ in 0..n {
        let id = r.id("document ID")?;
        match r.u8("changes kind")? {
            0 => {
                let m = r.count("change count", 65)?;
                let mut chunks = Vec::with_capacity(m);
                for _ in 0..m {
                    let change = r.bytes("change")?.to_vec();
                    let sig: Signature = r.array("change signature")?;
                    chunks.push((change, sig));
                }
                t.changes.push(ChangesPart::Changes { id, chunks });
            }
            1 => {
                let bytes = r.bytes("document")?.to_vec();
                let m = r.count("signature count", 96)?;
                let mut sigs = Vec::with_capacity(m);
                for _ in 0..m {
                    let hash: [u8; 32] = r.array("change hash")?;
                    let sig: Signature = r.array("change signature")?;
                    sigs.push((ChangeHash(hash), sig));
                }
                t.changes.push(ChangesPart::Whole { id, bytes, sigs });
            }
            k => {
                return Err(DecodeError::UnknownPart {
                    what: "changes",
                    kind: k,
                });
            }
        }
    }
    let n = r.count("refusal count", 17)?;
    for _ in 0..n {
        let id = r.id("document ID")?;
        let reason = r.short_text("refusal reason")?;
        t.refused.push(Refusal { id, reason });
    }
    t.acked = r.u64("ack count")?;
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes {
            count: r.remaining(),
        });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Turn {
        Turn {
            seq: 300,
            more: true,
            hello: Some("ws-1".into()),
            named: Some(vec![([1; 16], 5), ([2; 16], u64::MAX)]),
            actors: vec![vec![7; 32]],
            ranges: vec![
                RangePart {
                    depth: 0,
                    prefix: 0,
                    body: RangeBody::Fingerprint(u64::MAX),
                },
                RangePart {
                    depth: 2,
                    prefix: 0xab,
                    body: RangeBody::Split(Box::new([SPLIT_FP_MASK; 16])),
                },
                RangePart {
                    depth: 32,
                    prefix: u128::MAX,
                    body: RangeBody::Items(vec![9, 10]),
                },
                RangePart {
                    depth: 3,
                    prefix: 0xfff,
                    body: RangeBody::Unmatched(vec![0, 300]),
                },
            ],
            clocks: vec![ClockPart {
                id: [4; 16],
                want: true,
                clock: vec![(0, 1), (1, 1 << 40)],
            }],
            changes: vec![
                ChangesPart::Changes {
                    id: [5; 16],
                    chunks: vec![(vec![1, 2, 3], [7; 64]), (vec![], [8; 64])],
                },
                ChangesPart::Whole {
                    id: [6; 16],
                    bytes: vec![9; 200],
                    sigs: vec![(ChangeHash([3; 32]), [4; 64])],
                },
            ],
            refused: vec![Refusal {
                id: [8; 16],
                reason: "你不能写".into(),
            }],
            acked: 12,
        }
    }

    #[test]
    fn turn_round_trips() {
        let t = sample();
        let bytes = encode_turn(&t);
        assert_eq!(decode(&bytes).unwrap(), Frame::Turn(t));
    }

    #[test]
    fn an_empty_named_list_is_not_no_list() {
        let mut t = sample();
        t.named = Some(Vec::new());
        assert_eq!(decode(&encode_turn(&t)).unwrap(), Frame::Turn(t.clone()));
        t.named = None;
        assert_eq!(decode(&encode_turn(&t)).unwrap(), Frame::Turn(t));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_turn(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode(&long),
            Err(DecodeError::TrailingBytes { count: 1 })
        ));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        // version, turn, seq 0, flags 0, actor count = 2^62
        let mut bytes = vec![PROTOCOL_VERSION, KIND_TURN, 0, 0];
        put_u(&mut bytes, 1 << 62);
        assert!(matches!(decode(&bytes), Err(DecodeError::Truncated { .. })));
        // an over-long varint
        let bytes = [
            PROTOCOL_VERSION,
            KIND_TURN,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ];
        assert!(matches!(decode(&bytes), Err(DecodeError::BadVarint { .. })));
    }

    #[test]
    fn error_frames_are_readable() {
        let b = encode_error(2, "wrong workspace");
        assert_eq!(
            decode(&b).unwrap(),
            Frame::Error {
                code: 2,
                message: "wrong workspace".into()
            }
        );
    }

    #[test]
    fn varint_len_matches_encoding() {
        for v in [0u64, 1, 127, 128, 16383, 16384, u64::MAX] {
            let mut out = vec![];
            put_u(&mut out, v);
            assert_eq!(out.len(), uvarint_len(v), "{v}");
        }
    }
}
