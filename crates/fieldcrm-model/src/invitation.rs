//! Invitations: an admin's signed offer of one device enrolment, redeemed with a one-time
//! code read over the phone.
//!
//! - The **code** is 8 Crockford base32 characters (40 bits), shown `ABCD-EFGH` and read
//!   case-insensitively, with or without the dash, `I`/`L` as `1` and `O` as `0`
//!   ([`InviteCode`]).
//! - The code never travels and is never stored: both ends derive a **code key** from it
//!   ([`code_secret`]: a stretched SHA-256 of the code and the workspace ID, used as an
//!   ed25519 secret). The invitation carries only the public code key; the new device
//!   proves it knows the code by signing with the code key — to the relay when it redeems
//!   the invitation, and in the roster, where its enrolment carries a signature of its own
//!   device key ([`enrolment_message`]). So a reader of the roster (or the relay) cannot
//!   reuse a used invitation for another device without finding the code by brute force
//!   through the stretching.
//! - The **invitation** ([`Invitation`]) is signed by the admin's device over
//!   [`Invitation::signed_bytes`]: workspace, invitation ID, user ID, name, role, team,
//!   whether the user is new, creation and expiry times, the code key and the signing
//!   device.
//!
//! Whether a roster change that enrols a device by invitation counts is judged in
//! `fieldcrm_sync` (the roster's chain of authority), from these pieces.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sig::{DeviceSecret, Signature, verify};
use crate::{DeviceKey, Millis, Role, hex, unhex};

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of a code.
pub const CODE_LEN: usize = 8;

/// Rounds of SHA-256 that stretch a code into its key (see [`code_secret`]).
pub const CODE_ROUNDS: u32 = 100_000;

/// The longest an invitation may be valid (30 days).
pub const MAX_VALID_MS: Millis = 30 * 24 * 3_600_000;

/// What an invitation signature signs: this label, then [`Invitation::signed_bytes`].
const INVITATION_LABEL: &[u8] = b"fieldcrm invitation v1\0";
/// What an enrolment proof signs (see [`enrolment_message`]).
const ENROLMENT_LABEL: &[u8] = b"fieldcrm invitation enrolment v1\0";
/// What the code key is derived from.
const CODE_LABEL: &[u8] = b"fieldcrm invitation code v1\0";

/// A one-time invitation code: 8 characters of Crockford base32.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InviteCode([u8; CODE_LEN]);

/// Why a text is not an invitation code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadCode {
    /// Not 8 characters once dashes and spaces are removed.
    #[error("an invitation code has 8 characters (like ABCD-EFGH); this has {0}")]
    Length(usize),
    /// A character outside the code's alphabet.
    #[error("`{0}` cannot be in an invitation code (letters and digits, no U)")]
    Character(char),
}

impl InviteCode {
    /// The code of 40 random bits (the caller supplies them: this crate reads no
    /// randomness).
    pub fn from_random(bytes: [u8; 5]) -> InviteCode {
        let mut n: u64 = 0;
        for b in bytes {
            n = (n << 8) | u64::from(b);
        }
        let mut out = [b'0'; CODE_LEN];
        for (i, c) in out.iter_mut().enumerate() {
            let shift = 5 * (CODE_LEN - 1 - i);
            let idx = ((n >> shift) & 31) as usize;
            *c = ALPHABET.get(idx).copied().unwrap_or(b'0');
        }
        InviteCode(out)
    }

    /// Parse what a person typed: case-insensitive, dashes and spaces anywhere ignored,
    /// `I`/`L` read as `1`, `O` as `0`.
    pub fn parse(text: &str) -> Result<InviteCode, BadCode> {
        let mut out = [b'0'; CODE_LEN];
        let mut n = 0usize;
        for ch in text.chars() {
            if ch == '-' || ch.is_whitespace() {
                continue;
            }
            let up = match ch.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !up.is_ascii() || !ALPHABET.contains(&(up as u8)) {
                return Err(BadCode::Character(ch));
            }
            if let Some(slot) = out.get_mut(n) {
                *slot = up as u8;
            }
            n += 1;
        }
        if n != CODE_LEN {
            return Err(BadCode::Length(n));
        }
        Ok(InviteCode(out))
    }

    /// The 8 characters without the dash (`ABCDEFGH`).
    pub fn compact(&self) -> String {
        self.0.iter().map(|b| char::from(*b)).collect()
    }
}

impl std::fmt::Display for InviteCode {
    /// `ABCD-EFGH`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.compact();
        let (a, b) = s.split_at_checked(CODE_LEN / 2).unwrap_or((&s, ""));
        write!(f, "{a}-{b}")
    }
}

impl std::fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteCode(…)")
    }
}

impl std::str::FromStr for InviteCode {
    type Err = BadCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InviteCode::parse(s)
    }
}

/// The ed25519 secret a code stands for in `workspace_id`: SHA-256 of a label, the
/// workspace ID and the code, then [`CODE_ROUNDS`] more rounds over the previous hash and
/// the code (so each guess of a 40-bit code costs that much work).
pub fn code_secret(code: &InviteCode, workspace_id: &str) -> DeviceSecret {
    let mut h = Sha256::new();
    h.update(CODE_LABEL);
    h.update(workspace_id.as_bytes());
    h.update([0]);
    h.update(code.0);
    let mut d: [u8; 32] = h.finalize().into();
    for _ in 0..CODE_ROUNDS {
        let mut h = Sha256::new();
        h.update(d);
        h.update(code.0);
        d = h.finalize().into();
    }
    // 32 bytes are always an ed25519 secret.
    DeviceSecret::from_bytes(&d).unwrap_or_else(|| unreachable!())
}

/// The bytes an enrolling device's code key signs: the label, the workspace, the
/// invitation ID and the new device's key. Binds the code to that one device.
pub fn enrolment_message(workspace_id: &str, invitation_id: &str, device: &DeviceKey) -> Vec<u8> {
    let mut m = ENROLMENT_LABEL.to_vec();
    push_field(&mut m, workspace_id.as_bytes());
    push_field(&mut m, invitation_id.as_bytes());
    push_field(&mut m, &device.0);
    m
}

fn push_field(m: &mut Vec<u8>, bytes: &[u8]) {
    m.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    m.extend_from_slice(bytes);
}

/// An admin's signed invitation for one device of one user.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Invitation {
    /// The workspace ID.
    pub workspace_id: String,
    /// The invitation ID (32 hex).
    pub id: String,
    /// The user the device will belong to (user ID, 32 hex).
    pub user: String,
    /// Whether the invitation creates that user (else the user exists and gets another
    /// device).
    pub new_user: bool,
    /// The user's name.
    pub name: String,
    /// The user's role.
    pub role: Role,
    /// The user's team.
    pub team: Option<String>,
    /// When the admin made it (UTC ms).
    pub created_at: Millis,
    /// Until when it may be used (UTC ms).
    pub expires_at: Millis,
    /// The public code key (64 hex, see [`code_secret`]).
    pub code_key: String,
    /// The admin's device that signed it (64 hex).
    pub created_by: String,
    /// Its signature (128 hex) of [`Invitation::signed_bytes`].
    pub signature: String,
}

impl Invitation {
    /// What the signature covers: the label and every field but the signature, each
    /// length-prefixed.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut m = INVITATION_LABEL.to_vec();
        for f in [
            self.workspace_id.as_bytes(),
            self.id.as_bytes(),
            self.user.as_bytes(),
            if self.new_user { b"new" } else { b"existing" },
            self.name.as_bytes(),
            self.role.as_str().as_bytes(),
            self.team.as_deref().map_or(&b"\x00none"[..], str::as_bytes),
            &self.created_at.to_be_bytes(),
            &self.expires_at.to_be_bytes(),
            self.code_key.as_bytes(),
            self.created_by.as_bytes(),
        ] {
            push_field(&mut m, f);
        }
        m
    }

    /// Sign it with `secret` (the admin's device), setting `created_by` and `signature`.
    pub fn sign(&mut self, secret: &DeviceSecret) {
        self.created_by = secret.public().to_hex();
        self.signature = hex(&secret.sign(&self.signed_bytes()));
    }

    /// The signing device, when `created_by` is a device key.
    pub fn signer(&self) -> Option<DeviceKey> {
        self.created_by.parse().ok()
    }

    /// The code key, when it is a key.
    pub fn code_key(&self) -> Option<DeviceKey> {
        self.code_key.parse().ok()
    }

    /// The user record an invitation for a new user creates: its name, role and team,
    /// active, no region, created when the invitation was. The enrolment must write
    /// exactly this, and every receiver's roster chain checks that it did.
    pub fn new_user_record(&self) -> crate::User {
        crate::User {
            name: self.name.clone(),
            role: self.role.clone(),
            team: self.team.clone(),
            region: None,
            active: true,
            created_at: self.created_at,
        }
    }

    /// Whether the signature verifies under `created_by`.
    pub fn signature_verifies(&self) -> bool {
        let (Some(key), Some(sig)) = (self.signer(), parse_signature(&self.signature)) else {
            return false;
        };
        verify(&key, &self.signed_bytes(), &sig)
    }

    /// Whether `proof` (hex) is the code key's signature binding the invitation to
    /// `device`.
    pub fn proof_verifies(&self, device: &DeviceKey, proof: &str) -> bool {
        let (Some(key), Some(sig)) = (self.code_key(), parse_signature(proof)) else {
            return false;
        };
        verify(
            &key,
            &enrolment_message(&self.workspace_id, &self.id, device),
            &sig,
        )
    }
}

/// A hex signature (128 hex characters), if it is one.
pub fn parse_signature(text: &str) -> Option<Signature> {
    unhex(text.trim()).and_then(|b| <[u8; 64]>::try_from(b).ok())
}

/// How a device enrolled itself: the admin's invitation and the code key's signature of
/// the device key ([`enrolment_message`]). Kept in the roster on the device's entry.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Enrolment {
    /// The invitation, as the admin signed it.
    pub invitation: Invitation,
    /// The code key's signature (128 hex) of [`enrolment_message`] for this device.
    pub proof: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(n: u8) -> DeviceSecret {
        DeviceSecret::from_bytes(&[n; 32]).unwrap()
    }

    #[test]
    fn codes_read_as_people_type_them() {
        let c = InviteCode::parse("abcd-efgh").unwrap();
        assert_eq!(c.to_string(), "ABCD-EFGH");
        assert_eq!(c.compact(), "ABCDEFGH");
        assert_eq!(InviteCode::parse("ABCDEFGH").unwrap(), c);
        assert_eq!(InviteCode::parse(" ab cd-ef gh ").unwrap(), c);
        // I and L read as 1, O as 0.
        assert_eq!(
            InviteCode::parse("ilo0-1L1O").unwrap().to_string(),
            "1100-1110"
        );
        assert_eq!(InviteCode::parse("ABC"), Err(BadCode::Length(3)));
        assert_eq!(InviteCode::parse("ABCD-EFGHJ"), Err(BadCode::Length(9)));
        assert_eq!(InviteCode::parse("ABCD-EFGU"), Err(BadCode::Character('U')));
        assert_eq!(
            InviteCode::parse("ABCD-EFG张"),
            Err(BadCode::Character('张'))
        );
        assert_eq!(
            InviteCode::from_random([0, 0, 0, 0, 0]).to_string(),
            "0000-0000"
        );
        assert_eq!(InviteCode::from_random([255; 5]).to_string(), "ZZZZ-ZZZZ");
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(s in ".{0,40}") {
            let _ = InviteCode::parse(&s);
        }

        #[test]
        fn every_code_reads_back_in_any_case_with_or_without_the_dash(bytes in any::<[u8; 5]>()) {
            let c = InviteCode::from_random(bytes);
            prop_assert_eq!(InviteCode::parse(&c.to_string()).unwrap(), c.clone());
            prop_assert_eq!(InviteCode::parse(&c.compact().to_lowercase()).unwrap(), c.clone());
            let swapped: String = c.compact().chars().map(|ch| match ch {
                '1' => 'l',
                '0' => 'O',
                other => other,
            }).collect();
            prop_assert_eq!(InviteCode::parse(&swapped).unwrap(), c);
        }
    }

    fn invitation(admin: &DeviceSecret, code: &InviteCode) -> Invitation {
        let mut inv = Invitation {
            workspace_id: "ws".into(),
            id: "i1".into(),
            user: "u1".into(),
            new_user: true,
            name: "张三".into(),
            role: Role::Rep,
            team: Some("华东".into()),
            created_at: 1_000,
            expires_at: 2_000,
            code_key: code_secret(code, "ws").public().to_hex(),
            created_by: String::new(),
            signature: String::new(),
        };
        inv.sign(admin);
        inv
    }

    #[test]
    fn an_invitation_verifies_only_as_signed_and_a_proof_only_for_its_device() {
        let code = InviteCode::parse("ABCD-EFGH").unwrap();
        let inv = invitation(&secret(1), &code);
        assert!(inv.signature_verifies());
        let mut tampered = inv.clone();
        tampered.role = Role::Admin;
        assert!(!tampered.signature_verifies());
        let mut other_signer = inv.clone();
        other_signer.created_by = secret(2).public().to_hex();
        assert!(!other_signer.signature_verifies());
        let mut team = inv.clone();
        team.team = None;
        assert!(!team.signature_verifies());

        let dev = secret(3).public();
        let key = code_secret(&code, "ws");
        let proof = hex(&key.sign(&enrolment_message("ws", "i1", &dev)));
        assert!(inv.proof_verifies(&dev, &proof));
        assert!(!inv.proof_verifies(&secret(4).public(), &proof));
        let wrong = code_secret(&InviteCode::parse("ABCD-EFGJ").unwrap(), "ws");
        let bad = hex(&wrong.sign(&enrolment_message("ws", "i1", &dev)));
        assert!(!inv.proof_verifies(&dev, &bad));
        assert!(!inv.proof_verifies(&dev, "zz"));
        // The same code stands for another key in another workspace.
        assert_ne!(
            code_secret(&code, "ws").public(),
            code_secret(&code, "other").public()
        );
    }
}
