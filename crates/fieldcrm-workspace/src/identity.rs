//! The device identity: an ed25519 key pair of the kind iroh uses as an endpoint ID.

use ed25519_dalek::SigningKey;
use fieldcrm_model::DeviceKey;

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

    /// Sign a message (used for relay challenges).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(msg).to_bytes()
    }
}

/// Verify a signature made by `key`.
pub fn verify(key: &DeviceKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    use ed25519_dalek::Verifier;
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&key.0) else {
        return false;
    };
    vk.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .is_ok()
}

/// A fresh random device secret.
pub fn generate_secret() -> DeviceSecret {
    DeviceSecret(SigningKey::generate(&mut rand::rngs::OsRng))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let s = generate_secret();
        let again = DeviceSecret::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(again.public(), s.public());
        let sig = s.sign(b"challenge");
        assert!(verify(&s.public(), b"challenge", &sig));
        assert!(!verify(&s.public(), b"other", &sig));
    }
}
