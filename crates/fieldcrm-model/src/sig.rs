//! Signed changes: every Automerge change is signed by the device that made it.
//!
//! A device's actor ID is its ed25519 public key ([`DeviceKey::actor`]), and each change
//! it commits is signed with its secret key over the change hash (which covers the
//! actor, its dependencies, operations, time and message). A receiver checks the
//! signature against the change's own actor ID, so nobody can write under another
//! device's actor ID without its secret key, whatever Automerge client they use.
//!
//! The signature travels beside the change (the store's `sigs-v1` table, the sync wire,
//! bundles), never inside it: the hash a signature covers cannot contain it.

use automerge::{ActorId, ChangeHash};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

use crate::DeviceKey;

/// What a change signature signs: a fixed label, then the 32-byte change hash. The label
/// keeps a change signature from ever passing as a relay challenge or any other message.
const CHANGE_LABEL: &[u8] = b"fieldcrm change v1\0";

/// What a workspace ID is derived from: a fixed label, then the founding device key.
const WORKSPACE_LABEL: &[u8] = b"fieldcrm workspace v1\0";

/// An ed25519 signature (64 bytes).
pub type Signature = [u8; 64];

/// A device's secret key (32 bytes). Its public key is the device key.
#[derive(Clone)]
pub struct DeviceSecret(SigningKey);

impl DeviceSecret {
    /// From the 32 stored bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(DeviceSecret(SigningKey::from_bytes(&arr)))
    }

    /// The 32 secret bytes (same form as `iroh::SecretKey::from_bytes`).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public device key.
    pub fn public(&self) -> DeviceKey {
        DeviceKey(self.0.verifying_key().to_bytes())
    }

    /// Sign a message (relay challenges, signed requests).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        self.0.sign(msg).to_bytes()
    }

    /// Sign a change this device made.
    pub fn sign_change(&self, hash: &ChangeHash) -> Signature {
        self.sign(&change_message(hash))
    }
}

impl std::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceSecret(for {:?})", self.public())
    }
}

fn change_message(hash: &ChangeHash) -> [u8; 51] {
    let mut m = [0u8; 51];
    let (label, rest) = m.split_at_mut(CHANGE_LABEL.len());
    label.copy_from_slice(CHANGE_LABEL);
    rest.copy_from_slice(&hash.0);
    m
}

/// Verify a signature made by `key` over `msg`.
pub fn verify(key: &DeviceKey, msg: &[u8], sig: &Signature) -> bool {
    let Some(vk) = verifying_key(key) else {
        return false;
    };
    vk.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .is_ok()
}

/// How many devices' decoded keys a thread keeps (a workspace has a few devices per
/// user; a sync checks the signatures of every change of 100,000 files, made by a few).
const KEYS_KEPT: usize = 256;

thread_local! {
    /// Keys decoded on this thread, by their bytes: decoding one (a point
    /// decompression) was an eighth of checking a signature.
    static KEYS: std::cell::RefCell<std::collections::HashMap<[u8; 32], VerifyingKey>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The decoded key of device `key`, if it is a valid ed25519 key.
fn verifying_key(key: &DeviceKey) -> Option<VerifyingKey> {
    let kept = KEYS.with(|k| k.try_borrow().ok()?.get(&key.0).copied());
    if kept.is_some() {
        return kept;
    }
    let vk = VerifyingKey::from_bytes(&key.0).ok()?;
    KEYS.with(|k| {
        if let Ok(mut k) = k.try_borrow_mut() {
            if k.len() >= KEYS_KEPT {
                k.clear();
            }
            k.insert(key.0, vk);
        }
    });
    Some(vk)
}

/// Why a change's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    /// The change carries no signature.
    #[error("the change is not signed")]
    Missing,
    /// The actor ID is not a device key (32 bytes).
    #[error("its actor ID is not a fieldcrm device key")]
    NotADevice,
    /// The signature does not verify under the actor's key.
    #[error("its signature does not verify under the key of the device it names")]
    Invalid,
}

/// Check that `sig` is the signature of the device named by `actor` over the change
/// `hash`.
pub fn verify_change(
    actor: &ActorId,
    hash: &ChangeHash,
    sig: Option<&Signature>,
) -> Result<DeviceKey, BadSignature> {
    let sig = sig.ok_or(BadSignature::Missing)?;
    let key = DeviceKey::from_actor(actor).ok_or(BadSignature::NotADevice)?;
    if verify(&key, &change_message(hash), sig) {
        Ok(key)
    } else {
        Err(BadSignature::Invalid)
    }
}

/// The workspace ID a founding device key stands for: 32 hex characters of
/// SHA-512(label ‖ key). A receiver checks that the roster's first change was made by
/// the key the workspace ID commits to, so a roster cannot be founded by anyone else.
pub fn workspace_id_for(founder: &DeviceKey) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha512::new();
    h.update(WORKSPACE_LABEL);
    h.update(founder.0);
    let digest = h.finalize();
    crate::hex(digest.get(..16).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(n: u8) -> DeviceSecret {
        DeviceSecret::from_bytes(&[n; 32]).unwrap()
    }

    #[test]
    fn a_change_signature_verifies_only_for_its_hash_and_its_author() {
        let (a, b) = (secret(1), secret(2));
        let h = ChangeHash([7; 32]);
        let sig = a.sign_change(&h);
        assert_eq!(
            verify_change(&a.public().actor(), &h, Some(&sig)),
            Ok(a.public())
        );
        assert_eq!(
            verify_change(&b.public().actor(), &h, Some(&sig)),
            Err(BadSignature::Invalid)
        );
        assert_eq!(
            verify_change(&a.public().actor(), &ChangeHash([8; 32]), Some(&sig)),
            Err(BadSignature::Invalid)
        );
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert_eq!(
            verify_change(&a.public().actor(), &h, Some(&flipped)),
            Err(BadSignature::Invalid)
        );
        assert_eq!(
            verify_change(&a.public().actor(), &h, None),
            Err(BadSignature::Missing)
        );
        assert_eq!(
            verify_change(&ActorId::from(&[1u8; 16][..]), &h, Some(&sig)),
            Err(BadSignature::NotADevice)
        );
        // A change signature is not a signature of the bare hash (domain separation).
        assert!(!verify(&a.public(), &h.0, &sig));
    }

    /// Keys decoded once are kept per thread: more signers than are kept, each checked
    /// twice, and a key that is no curve point, are judged as when each is decoded anew.
    #[test]
    fn signatures_check_the_same_with_keys_kept_or_let_go() {
        let h = ChangeHash([3; 32]);
        let signers: Vec<DeviceSecret> = (0..KEYS_KEPT + 44)
            .map(|i| {
                DeviceSecret::from_bytes(&[
                    (i % 251) as u8,
                    (i / 251) as u8,
                    7,
                    9,
                    1,
                    2,
                    3,
                    4,
                    5,
                    6,
                    7,
                    8,
                    9,
                    10,
                    11,
                    12,
                    13,
                    14,
                    15,
                    16,
                    17,
                    18,
                    19,
                    20,
                    21,
                    22,
                    23,
                    24,
                    25,
                    26,
                    27,
                    28,
                ])
                .unwrap()
            })
            .collect();
        for _ in 0..2 {
            for (i, s) in signers.iter().enumerate() {
                let sig = s.sign_change(&h);
                assert_eq!(
                    verify_change(&s.public().actor(), &h, Some(&sig)),
                    Ok(s.public())
                );
                let other = &signers[(i + 1) % signers.len()];
                assert_eq!(
                    verify_change(&other.public().actor(), &h, Some(&sig)),
                    Err(BadSignature::Invalid)
                );
            }
        }
        // Not a point on the curve: refused, and never kept.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert!(VerifyingKey::from_bytes(&not_a_point).is_err());
        let sig = signers[0].sign_change(&h);
        for _ in 0..2 {
            assert!(!verify(&DeviceKey(not_a_point), &change_message(&h), &sig));
        }
    }

    #[test]
    fn workspace_ids_commit_to_the_founder() {
        let id = workspace_id_for(&secret(1).public());
        assert_eq!(id.len(), 32);
        assert_eq!(id, workspace_id_for(&secret(1).public()));
        assert_ne!(id, workspace_id_for(&secret(2).public()));
    }
}
