//! The device identity: an ed25519 key pair of the kind iroh uses as an endpoint ID (the
//! type and the change signatures live in `fieldcrm_model::sig`), and who a new
//! workspace's first device is.

use fieldcrm_model::Role;
pub use fieldcrm_model::sig::{DeviceSecret, verify};

/// What `fieldcrm init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The first user's display name.
    pub user: String,
    /// Their role (usually admin or manager).
    pub role: Role,
    /// Their team.
    pub team: Option<String>,
    /// Their region.
    pub region: Option<String>,
    /// Company name.
    pub company: String,
    /// Label of this device.
    pub device_label: String,
}

impl InitOptions {
    /// An admin with no team or region: how a company's first device starts.
    pub fn admin(user: &str, company: &str, device_label: &str) -> Self {
        InitOptions {
            user: user.into(),
            role: Role::Admin,
            team: None,
            region: None,
            company: company.into(),
            device_label: device_label.into(),
        }
    }
}

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
