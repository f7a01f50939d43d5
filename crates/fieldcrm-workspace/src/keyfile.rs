//! The device's secret key at rest: `device.key` beside the store, never inside it.
//!
//! The store file (`workspace.redb`) is what people copy, back up and hand to support; the
//! key that makes every change this device's must not travel with it. The key file is
//! created with mode 0600 in a 0700 home directory, and (as ssh does) a key file that
//! other users could read is refused with the command that fixes it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{DeviceSecret, Error, Msg, Result};

/// File name of the device key inside the workspace home.
pub const KEY_FILE: &str = "device.key";

/// The key file of a workspace home.
pub fn key_path(home: &Path) -> PathBuf {
    home.join(KEY_FILE)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Make `home` private to this user (0700) where the platform has modes.
pub(crate) fn private_dir(home: &Path) -> Result<()> {
    std::fs::create_dir_all(home).map_err(io(home))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700)).map_err(io(home))?;
    }
    Ok(())
}

/// Write the key (replacing a leftover of an interrupted `init`), readable by this user
/// only, durably.
pub(crate) fn write(home: &Path, secret: &DeviceSecret) -> Result<()> {
    let path = key_path(home);
    let tmp = home.join(format!("{KEY_FILE}.partial"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(hex(&secret.to_bytes()).as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// Read the key, refusing a file other users could read.
pub(crate) fn read(home: &Path) -> Result<Option<DeviceSecret>> {
    let path = key_path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    check_private(&path)?;
    let bytes = unhex(text.trim()).ok_or_else(|| {
        Error::Corrupt(format!(
            "{}: not a device key (64 hex characters)",
            path.display()
        ))
    })?;
    DeviceSecret::from_bytes(&bytes)
        .map(Some)
        .ok_or_else(|| Error::Corrupt(format!("{}: not a device key", path.display())))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        let p = path.display();
        return Err(Error::Permission(Msg::new(
            format!(
                "设备密钥 {p} 的权限为 {:o}，其他用户可以读取；请运行 `chmod 600 {p}` 后再试",
                mode & 0o777
            ),
            format!(
                "the device key {p} has mode {:o}: other users can read it. Run `chmod 600 {p}` and try again",
                mode & 0o777
            ),
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_private_read_back_and_refused_when_exposed() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("ws");
        private_dir(&home).unwrap();
        let secret = crate::generate_secret();
        write(&home, &secret).unwrap();
        let back = read(&home).unwrap().unwrap();
        assert_eq!(back.to_bytes(), secret.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key_path(&home)), 0o600);
            assert_eq!(mode(&home), 0o700);
            std::fs::set_permissions(key_path(&home), std::fs::Permissions::from_mode(0o644))
                .unwrap();
            let Err(e) = read(&home) else {
                panic!("an exposed key was read")
            };
            assert_eq!(e.code(), "permission-denied");
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        std::fs::write(key_path(&home), "not hex").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(key_path(&home), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        assert!(read(&home).is_err());
        assert!(read(&dir.path().join("nowhere")).unwrap().is_none());
    }
}
