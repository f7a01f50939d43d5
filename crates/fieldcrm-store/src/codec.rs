//! Compact binary encodings of the rows the store writes beside each document.
//!
//! Every row starts with a one-byte row version so a later build can change the layout
//! without a new table. Integers are LEB128 varints; strings are a varint length then
//! UTF-8 bytes; an optional string is `0` for none or `len + 1` then the bytes.

use automerge::ChangeHash;
use fieldcrm_model::{DocKind, Summary};

/// Version byte of a summary row.
const SUMMARY_ROW_V1: u8 = 1;
/// V1 plus a trailing flags byte (bit 0: archived). Written only for archived documents,
/// so every other row stays byte-identical to V1.
const SUMMARY_ROW_V2: u8 = 2;
const FLAG_ARCHIVED: u8 = 1;
/// Version byte of a document-state row.
const STATE_ROW_V1: u8 = 1;

/// A row that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRow(pub(crate) &'static str);

/// Bookkeeping kept beside each document (table `state-v1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DocState {
    /// The document's heads as stored (snapshot plus change rows).
    pub(crate) heads: Vec<ChangeHash>,
    /// Sequence number the next change row gets.
    pub(crate) next_seq: u64,
    /// How many change rows are waiting to be folded into the snapshot.
    pub(crate) pending_changes: u64,
    /// Their total size in bytes.
    pub(crate) pending_bytes: u64,
    /// Size of the snapshot row in bytes.
    pub(crate) snapshot_bytes: u64,
}

impl DocState {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 32 * self.heads.len());
        out.push(STATE_ROW_V1);
        put_varint(&mut out, self.next_seq);
        put_varint(&mut out, self.pending_changes);
        put_varint(&mut out, self.pending_bytes);
        put_varint(&mut out, self.snapshot_bytes);
        put_varint(&mut out, self.heads.len() as u64);
        for h in &self.heads {
            out.extend_from_slice(&h.0);
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, BadRow> {
        let mut r = Reader(bytes);
        if r.byte()? != STATE_ROW_V1 {
            return Err(BadRow("unknown state row version"));
        }
        let next_seq = r.varint()?;
        let pending_changes = r.varint()?;
        let pending_bytes = r.varint()?;
        let snapshot_bytes = r.varint()?;
        let heads = decode_heads_from(&mut r)?;
        r.end()?;
        Ok(DocState {
            heads,
            next_seq,
            pending_changes,
            pending_bytes,
            snapshot_bytes,
        })
    }

    /// Only the heads, without decoding the rest (for the sync engine's scan).
    pub(crate) fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, BadRow> {
        let mut r = Reader(bytes);
        if r.byte()? != STATE_ROW_V1 {
            return Err(BadRow("unknown state row version"));
        }
        for _ in 0..4 {
            r.varint()?;
        }
        decode_heads_from(&mut r)
    }
}

fn decode_heads_from(r: &mut Reader<'_>) -> Result<Vec<ChangeHash>, BadRow> {
    let n = r.varint()?;
    if n > (r.0.len() / 32) as u64 {
        return Err(BadRow("head count exceeds row"));
    }
    (0..n)
        .map(|_| {
            let b = r.take(32)?;
            let mut h = [0u8; 32];
            h.copy_from_slice(b);
            Ok(ChangeHash(h))
        })
        .collect()
}

/// Encode a summary-index row.
pub(crate) fn encode_summary(s: &Summary) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + s.name.len());
    out.push(if s.archived {
        SUMMARY_ROW_V2
    } else {
        SUMMARY_ROW_V1
    });
    put_str(&mut out, s.kind.as_str());
    put_str(&mut out, &s.name);
    for o in [
        &s.class,
        &s.owner,
        &s.team,
        &s.status,
        &s.region,
        &s.merged_into,
    ] {
        put_opt(&mut out, o.as_deref());
    }
    put_varint(&mut out, zigzag(s.updated_at));
    if s.archived {
        out.push(FLAG_ARCHIVED);
    }
    out
}

/// A summary row borrowed from the stored bytes, so filters allocate nothing for the
/// rows they reject, and a long listing can keep only the columns it prints
/// ([`crate::Store::list_map`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRef<'a> {
    /// [`Summary::kind`], as stored.
    pub kind: &'a str,
    /// [`Summary::name`].
    pub name: &'a str,
    /// [`Summary::class`].
    pub class: Option<&'a str>,
    /// [`Summary::owner`].
    pub owner: Option<&'a str>,
    /// [`Summary::team`].
    pub team: Option<&'a str>,
    /// [`Summary::status`].
    pub status: Option<&'a str>,
    /// [`Summary::region`].
    pub region: Option<&'a str>,
    /// [`Summary::merged_into`].
    pub merged_into: Option<&'a str>,
    /// [`Summary::archived`].
    pub archived: bool,
    /// [`Summary::updated_at`].
    pub updated_at: i64,
}

impl<'a> SummaryRef<'a> {
    /// The borrowed view of a summary already in memory.
    pub fn of(s: &'a Summary) -> Self {
        SummaryRef {
            kind: s.kind.as_str(),
            name: &s.name,
            class: s.class.as_deref(),
            owner: s.owner.as_deref(),
            team: s.team.as_deref(),
            status: s.status.as_deref(),
            region: s.region.as_deref(),
            merged_into: s.merged_into.as_deref(),
            archived: s.archived,
            updated_at: s.updated_at,
        }
    }
}

impl SummaryRef<'_> {
    /// The owned summary.
    pub fn to_summary(self) -> Summary {
        let owned = |o: Option<&str>| o.map(str::to_string);
        Summary {
            kind: self
                .kind
                .parse::<DocKind>()
                .ok()
                .filter(|k| k.as_str() == self.kind)
                .unwrap_or_else(|| DocKind::Unknown(self.kind.to_string())),
            name: self.name.to_string(),
            class: owned(self.class),
            owner: owned(self.owner),
            team: owned(self.team),
            status: owned(self.status),
            region: owned(self.region),
            merged_into: owned(self.merged_into),
            archived: self.archived,
            updated_at: self.updated_at,
        }
    }
}

/// Decode a summary-index row without copying its text.
pub(crate) fn decode_summary_ref(bytes: &[u8]) -> Result<SummaryRef<'_>, BadRow> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != SUMMARY_ROW_V1 && version != SUMMARY_ROW_V2 {
        return Err(BadRow("unknown summary row version"));
    }
    let kind = r.str()?;
    let name = r.str()?;
    let mut opts: [Option<&str>; 6] = Default::default();
    for o in &mut opts {
        *o = r.opt()?;
    }
    let updated_at = unzigzag(r.varint()?);
    let archived = version == SUMMARY_ROW_V2 && r.byte()? & FLAG_ARCHIVED != 0;
    r.end()?;
    let [class, owner, team, status, region, merged_into] = opts;
    Ok(SummaryRef {
        kind,
        name,
        class,
        owner,
        team,
        status,
        region,
        merged_into,
        archived,
        updated_at,
    })
}

/// Decode a summary-index row.
pub(crate) fn decode_summary(bytes: &[u8]) -> Result<Summary, BadRow> {
    decode_summary_ref(bytes).map(SummaryRef::to_summary)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            put_varint(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BadRow> {
        let (&b, rest) = self.0.split_first().ok_or(BadRow("row is truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BadRow> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(BadRow("row is truncated"))?;
        self.0 = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64, BadRow> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(BadRow("varint is too long"))
    }

    fn len(&mut self) -> Result<usize, BadRow> {
        usize::try_from(self.varint()?).map_err(|_| BadRow("length is too large"))
    }

    fn str(&mut self) -> Result<&'a str, BadRow> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| BadRow("text is not UTF-8"))
    }

    fn opt(&mut self) -> Result<Option<&'a str>, BadRow> {
        match self.len()? {
            0 => Ok(None),
            n => std::str::from_utf8(self.take(n - 1)?)
                .map(Some)
                .map_err(|_| BadRow("text is not UTF-8")),
        }
    }

    fn end(&self) -> Result<(), BadRow> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(BadRow("trailing bytes in row"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            kind: DocKind::Customer,
            name: "华东机械有限公司".into(),
            class: Some("key".into()),
            owner: None,
            team: Some("华东".into()),
            status: None,
            region: Some("上海".into()),
            merged_into: None,
            archived: false,
            updated_at: -5,
        }
    }

    #[test]
    fn summary_round_trips_and_is_compact() {
        let s = summary();
        let bytes = encode_summary(&s);
        assert_eq!(decode_summary(&bytes).unwrap(), s);
        let json = serde_json::to_vec(&s).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        let mut unknown = s.clone();
        unknown.kind = DocKind::Unknown("spaceship".into());
        unknown.updated_at = i64::MAX;
        assert_eq!(decode_summary(&encode_summary(&unknown)).unwrap(), unknown);
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        let bytes = encode_summary(&summary());
        for n in 0..bytes.len() {
            assert!(decode_summary(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_summary(&extra).is_err());
        assert!(decode_summary(&[9]).is_err());
        assert!(DocState::decode(&[1, 0, 0, 0, 0, 200, 1]).is_err());
    }

    #[test]
    fn state_round_trips() {
        let st = DocState {
            heads: vec![ChangeHash([3; 32]), ChangeHash([200; 32])],
            next_seq: 300,
            pending_changes: 2,
            pending_bytes: 1 << 40,
            snapshot_bytes: 77,
        };
        let bytes = st.encode();
        assert_eq!(DocState::decode(&bytes).unwrap(), st);
        assert_eq!(DocState::decode_heads(&bytes).unwrap(), st.heads);
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, i64::MIN, i64::MAX, 1_700_000_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
