//! Identifiers: documents, entities inside documents, devices and actors.

use std::fmt;
use std::str::FromStr;

/// Length in hex characters of a full document or entity ID.
pub const ID_HEX_LEN: usize = 32;
/// How many characters of an ID are shown by default (git-style short ID).
pub const SHORT_LEN: usize = 8;

/// The short display form of any ID text: its first [`SHORT_LEN`] characters (fewer if
/// it is shorter). Char-safe, so an ID of any shape a peer sends renders without panic.
/// The one short-ID rendering every crate uses.
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(SHORT_LEN) {
        Some((end, _)) => id.get(..end).unwrap_or(id),
        None => id,
    }
}

/// An ID string that is not 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a document ID (expected 32 hex characters)")]
pub struct BadId(pub String);

/// A document's ID: 128 random bits as 32 lowercase hex characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

impl DocId {
    /// A fresh random ID.
    pub fn random() -> Self {
        DocId(new_entity_id())
    }

    /// The well-known ID of a workspace-wide singleton document.
    ///
    /// Workspace documents are created once by `init` and replicated; their IDs are fixed
    /// so every device refers to the same document.
    pub fn workspace(kind: &crate::DocKind) -> Self {
        let n = match kind {
            crate::DocKind::Roster => 1,
            crate::DocKind::Catalog => 2,
            crate::DocKind::Policy => 3,
            crate::DocKind::Sales => 4,
            _ => panic!("{kind} is not a workspace document"),
        };
        DocId(format!("{n:032x}"))
    }

    /// Whether this is the ID of a workspace-wide singleton document
    /// ([`DocId::workspace`]).
    pub fn is_workspace(&self) -> bool {
        match self.0.as_bytes().split_last() {
            Some((last, zeros)) => {
                zeros.len() == ID_HEX_LEN - 1
                    && zeros.iter().all(|b| *b == b'0')
                    && (b'1'..=b'4').contains(last)
            }
            None => false,
        }
    }

    /// The ID these 16 bytes spell (the bytes [`crate::hex16`] reads from an ID).
    pub fn from_bytes(bytes: &[u8; 16]) -> DocId {
        DocId(crate::hex(bytes))
    }

    /// The full 32-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short display form.
    pub fn short(&self) -> &str {
        short_id(&self.0)
    }
}

impl FromStr for DocId {
    type Err = BadId;
    fn from_str(s: &str) -> Result<Self, BadId> {
        if s.len() == ID_HEX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(DocId(s.to_string()))
        } else {
            Err(BadId(s.to_string()))
        }
    }
}

impl TryFrom<String> for DocId {
    type Error = BadId;
    fn try_from(s: String) -> Result<Self, BadId> {
        s.parse()
    }
}

impl From<DocId> for String {
    fn from(d: DocId) -> String {
        d.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fresh random ID for an entity inside a document (contact, complaint, order ...).
///
/// Collections that two devices may add to offline are maps keyed by these IDs, so
/// concurrent additions merge instead of fighting over list positions.
pub fn new_entity_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A device's public key (ed25519, 32 bytes), which is also its Automerge actor ID.
///
/// Using the device key as the actor ID means every operation in every document names
/// the device that wrote it; the roster maps devices to users and roles.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceKey(pub [u8; 32]);

impl DeviceKey {
    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The Automerge actor ID this device writes with.
    pub fn actor(&self) -> automerge::ActorId {
        automerge::ActorId::from(&self.0[..])
    }

    /// The device key an actor ID stands for, if it is one (32 bytes).
    pub fn from_actor(actor: &automerge::ActorId) -> Option<Self> {
        <[u8; 32]>::try_from(actor.to_bytes()).ok().map(DeviceKey)
    }
}

impl FromStr for DeviceKey {
    type Err = BadDeviceKey;
    fn from_str(s: &str) -> Result<Self, BadDeviceKey> {
        let bytes = unhex(s.trim()).ok_or_else(|| BadDeviceKey(s.to_string()))?;
        <[u8; 32]>::try_from(bytes)
            .map(DeviceKey)
            .map_err(|_| BadDeviceKey(s.to_string()))
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({})", short_id(&self.to_hex()))
    }
}

/// Text that is not a 64-hex-character device key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a device key (expected 64 hex characters)")]
pub struct BadDeviceKey(pub String);

/// The hex digits, by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    // Called for every ID a check's saved state and Sales snapshot hold (some 400,000):
    // bytes by table, checked as text once at the end.
    let digit = |n: u8| HEX_DIGITS.get(usize::from(n)).copied().unwrap_or(b'0');
    let mut s = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 15));
    }
    String::from_utf8(s).unwrap_or_default()
}

/// The value of one hex digit (either case).
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Bytes from hex (either case); `None` if not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes().chunks_exact(2);
    if !digits.remainder().is_empty() {
        return None;
    }
    digits
        .map(|d| match d {
            [hi, lo] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
            _ => None,
        })
        .collect()
}

/// Each byte's value as a lowercase hex digit; 16 for any other byte.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated as the crate builds: an index out of range fails the build"
)]
const LOWER_HEX: [u8; 256] = {
    let mut t = [16u8; 256];
    let mut d = 0u8;
    while d < 16 {
        let c = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        t[c as usize] = d;
        d += 1;
    }
    t
};

/// The 16 bytes that 32 lowercase hex characters spell (a document ID, a claim ID, a
/// claim key's hash); `None` for anything else, uppercase included (those are other
/// IDs, as text). By table: a check reads some 300,000 of them.
pub fn hex16(s: &str) -> Option<[u8; 16]> {
    let digits: &[u8; 32] = s.as_bytes().try_into().ok()?;
    let value = |c: u8| LOWER_HEX.get(usize::from(c)).copied().unwrap_or(16);
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = match pair {
            [hi, lo] => (value(*hi), value(*lo)),
            _ => (16, 16),
        };
        bad |= hi | lo;
        *o = hi << 4 | lo;
    }
    // Only a byte that is not a digit has the bit of 16.
    (bad & 16 == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_unhex_rejects_what_is_not_hex() {
        let all: Vec<u8> = (0..=255).collect();
        let h = hex(&all);
        assert_eq!(h.len(), 512);
        assert!(h.starts_with("000102") && h.ends_with("fdfeff"));
        assert_eq!(unhex(&h), Some(all.clone()));
        assert_eq!(unhex(&h.to_uppercase()), Some(all));
        assert_eq!(unhex(""), Some(vec![]));
        for junk in [
            "0", "é", "+f", "-1", "g0", "0x", " 1", "é0", "汉字", "ab\u{0}",
        ] {
            assert_eq!(unhex(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn doc_ids_round_trip_and_reject_junk() {
        let id = DocId::random();
        assert_eq!(id.as_str().parse::<DocId>().unwrap(), id);
        assert_eq!(id.short().len(), SHORT_LEN);
        assert!("xyz".parse::<DocId>().is_err());
        assert!("ABCDEF0123456789abcdef0123456789".parse::<DocId>().is_err());
    }

    #[test]
    fn workspace_ids_are_known_by_their_form() {
        use crate::DocKind;
        for k in [
            DocKind::Roster,
            DocKind::Catalog,
            DocKind::Policy,
            DocKind::Sales,
        ] {
            assert!(DocId::workspace(&k).is_workspace(), "{k}");
        }
        for not in [
            "00000000000000000000000000000000",
            "00000000000000000000000000000005",
            "10000000000000000000000000000001",
        ] {
            assert!(!not.parse::<DocId>().unwrap().is_workspace(), "{not}");
        }
    }

    #[test]
    fn device_key_is_actor() {
        let k = DeviceKey([7; 32]);
        assert_eq!(DeviceKey::from_actor(&k.actor()), Some(k));
        assert_eq!(k.to_hex().parse::<DeviceKey>().unwrap(), k);
        assert!("00ff".parse::<DeviceKey>().is_err());
    }
}
