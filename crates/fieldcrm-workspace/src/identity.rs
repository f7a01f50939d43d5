//! The device identity: an ed25519 key pair of the kind iroh uses as an endpoint ID. The
//! type and the change signatures live in `fieldcrm_model::sig`.

pub use fieldcrm_model::sig::{DeviceSecret, verify};

/// A fresh random device secret.
pub fn generate_secret() -> DeviceSecret {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // 32 bytes are always a valid ed25519 secret.
    DeviceSecret::from_bytes(&bytes).unwrap_or_else(|| unreachable!())
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
