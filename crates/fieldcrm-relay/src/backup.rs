//! Backups of the relay's data and restoring one into an empty data directory.
//!
//! A backup is a directory: `relay.redb` (every table of the store as of one redb read
//! transaction — documents, signatures, and the relay's identity: workspace ID, admin
//! device and iroh secret key live in its meta rows), `audit.jsonl` (the audit log up to
//! where it stood just after that transaction began, so every stored change has its
//! row) and `manifest.json` (time, workspace, counts, size and SHA-256 of each file). It
//! is written under a temporary name beside its destination and renamed into place once
//! complete and synced; an existing backup is never overwritten. Files are 0600 and the
//! directory 0700: the store holds the relay's secret key.
//!
//! The running relay makes it (redb lets one process open the file): see `admin.rs`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use fieldcrm_store::{Store, StoreOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::relay::{AUDIT_FILE, META_LAST_BACKUP, META_WORKSPACE, Relay, STORE_FILE};

/// The manifest's file name inside a backup.
pub const MANIFEST_FILE: &str = "manifest.json";
const FORMAT: &str = "fieldcrm-relay-backup";
const VERSION: u64 = 1;
/// A manifest larger than this is not one.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// `manifest.json` of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `fieldcrm-relay-backup`.
    pub format: String,
    /// Manifest version (1).
    pub version: u64,
    /// When the backup was taken (RFC 3339, UTC).
    pub created_at: String,
    /// The same in UTC milliseconds.
    pub created_at_ms: i64,
    /// The workspace the relay serves.
    pub workspace_id: String,
    /// Documents in the store copy.
    pub documents: u64,
    /// Rows in the audit log copy.
    pub audit_rows: u64,
    /// Version of the relay that wrote it.
    pub relay_version: String,
    /// Every file of the backup but the manifest, by name.
    pub files: BTreeMap<String, FileEntry>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its content (hex).
    pub sha256: String,
}

/// A backup or restore that failed; nothing was left half written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The destination already holds something: backups are never overwritten.
    #[error(
        "{0} already exists; a backup never overwrites: choose a new name or an existing directory to put it in"
    )]
    Exists(PathBuf),
    /// The directory the backup would go into does not exist.
    #[error("{0} does not exist: create it first")]
    NoDirectory(PathBuf),
    /// Restore into a data directory that is not empty.
    #[error(
        "{dir} is not empty (it holds {entries}): restore only into an empty or new data directory, so nothing there is overwritten; move its contents away first"
    )]
    NotEmpty {
        /// The data directory.
        dir: PathBuf,
        /// Some of what it holds.
        entries: String,
    },
    /// No manifest where a backup should be.
    #[error("{0} is not a relay backup: it has no readable manifest.json ({1})")]
    NoManifest(PathBuf, String),
    /// The manifest does not describe a backup this relay can restore.
    #[error("{path}: {detail}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file does not match the manifest: the backup is damaged.
    #[error("the backup is damaged: {file}: {detail}")]
    Mismatch {
        /// The file.
        file: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The store failed (reading the relay's, or checking the copy).
    #[error("{0}")]
    Store(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A finished backup: where it is and its manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupDone {
    /// The backup directory.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// Where a backup asked for at `out` goes: into `out` if that is an existing directory
/// (as `relay-backup-<UTC time>`) but not itself a backup, else at `out` itself, which
/// must not exist yet.
pub fn backup_target(out: &Path, now_ms: i64) -> Result<PathBuf, BackupError> {
    if out.join(MANIFEST_FILE).exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    if out.is_dir() {
        let stamp = jiff::Timestamp::from_millisecond(now_ms)
            .map(|t| t.strftime("%Y%m%dT%H%M%S%.3fZ").to_string())
            .unwrap_or_else(|_| now_ms.to_string());
        let target = out.join(format!("relay-backup-{stamp}"));
        if target.exists() {
            return Err(BackupError::Exists(target));
        }
        return Ok(target);
    }
    if out.exists() || out.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    match out.parent() {
        Some(p) if p.as_os_str().is_empty() || p.is_dir() => Ok(out.to_path_buf()),
        Some(p) => Err(BackupError::NoDirectory(p.to_path_buf())),
        None => Err(BackupError::NoDirectory(out.to_path_buf())),
    }
}

impl Relay {
    /// Backs the relay's data up to `out` (see [`backup_target`]) while it keeps serving.
    /// One backup at a time; counted in the metrics, and the time of the last good one is
    /// kept in the store.
    pub fn backup(&self, out: &Path) -> Result<BackupDone, BackupError> {
        let _one = self.backup_lock();
        let now = self.now_ms();
        let result = backup_target(out, now).and_then(|target| {
            let manifest = self.write_backup(&target, now)?;
            Ok(BackupDone {
                path: target,
                manifest,
            })
        });
        self.metrics().backup(result.is_ok());
        match &result {
            Ok(done) => {
                let _ = self
                    .store()
                    .set_meta_str(META_LAST_BACKUP, &now.to_string());
                tracing::info!(
                    path = %done.path.display(),
                    documents = done.manifest.documents,
                    audit_rows = done.manifest.audit_rows,
                    "backup written"
                );
            }
            Err(e) => tracing::error!(out = %out.display(), error = %e, "backup failed"),
        }
        result
    }

    fn write_backup(&self, target: &Path, now: i64) -> Result<Manifest, BackupError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "relay-backup".into());
        let parent = target.parent().unwrap_or_else(|| Path::new("."));
        let tmp = parent.join(format!(".{name}.tmp-{:016x}", rand::random::<u64>()));
        create_private_dir(&tmp)?;
        let written = self.fill_backup(&tmp, now).and_then(|m| {
            sync_dir(&tmp)?;
            // rename(2) does not replace a non-empty directory, and a file only by error.
            fs::rename(&tmp, target).map_err(|e| match target.exists() {
                true => BackupError::Exists(target.to_path_buf()),
                false => io(target)(e),
            })?;
            sync_dir(parent)?;
            Ok(m)
        });
        if written.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        written
    }

    fn fill_backup(&self, dir: &Path, now: i64) -> Result<Manifest, BackupError> {
        // The store first, then the audit log's length: every change in the snapshot had
        // its audit row appended before it was committed, so the copy has it.
        let snapshot = self
            .store()
            .snapshot()
            .map_err(|e| BackupError::Store(e.to_string()))?;
        let audit_len = self.audit().len_now().map_err(io(self.audit().path()))?;
        let store_copy = dir.join(STORE_FILE);
        let stats = snapshot
            .write_to(&store_copy)
            .map_err(|e| BackupError::Store(e.to_string()))?;
        drop(snapshot);
        restrict(&store_copy)?;
        let store_entry = hash_file(&store_copy)?;
        let audit_copy = dir.join(AUDIT_FILE);
        let (audit_entry, audit_rows) =
            copy_hashed(self.audit().path(), &audit_copy, Some(audit_len))?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            created_at: jiff::Timestamp::from_millisecond(now)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            created_at_ms: now,
            workspace_id: self.workspace_id().to_string(),
            documents: stats.documents,
            audit_rows,
            relay_version: env!("CARGO_PKG_VERSION").into(),
            files: BTreeMap::from([
                (STORE_FILE.to_string(), store_entry),
                (AUDIT_FILE.to_string(), audit_entry),
            ]),
        };
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| BackupError::Store(format!("manifest: {e}")))?;
        let path = dir.join(MANIFEST_FILE);
        let mut f = create_private_file(&path)?;
        f.write_all(text.as_bytes()).map_err(io(&path))?;
        f.write_all(b"\n").map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        Ok(manifest)
    }
}

/// Reads a backup's manifest and checks every file against it (size and SHA-256).
pub fn verify_backup(from: &Path) -> Result<(PathBuf, Manifest), BackupError> {
    let dir = if from.file_name().is_some_and(|n| n == MANIFEST_FILE) && from.is_file() {
        from.parent()
            .unwrap_or_else(|| Path::new("."))
            .to_path_buf()
    } else {
        from.to_path_buf()
    };
    let path = dir.join(MANIFEST_FILE);
    let text = File::open(&path)
        .and_then(|f| {
            let mut s = String::new();
            f.take(MAX_MANIFEST_BYTES).read_to_string(&mut s)?;
            Ok(s)
        })
        .map_err(|e| BackupError::NoManifest(dir.clone(), e.to_string()))?;
    let bad = |detail: String| BackupError::BadManifest {
        path: path.clone(),
        detail,
    };
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a backup manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(bad(format!(
            "format `{}`, expected `{FORMAT}`",
            manifest.format
        )));
    }
    if manifest.version > VERSION {
        return Err(bad(format!(
            "manifest version {} is newer than this relay reads ({VERSION}): upgrade fieldcrm-relay",
            manifest.version
        )));
    }
    let names: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    if names != [AUDIT_FILE, STORE_FILE] {
        return Err(bad(format!(
            "lists files {names:?}, expected exactly {AUDIT_FILE} and {STORE_FILE}"
        )));
    }
    for (name, want) in &manifest.files {
        let file = dir.join(name);
        let got = hash_file(&file).map_err(|e| BackupError::Mismatch {
            file: file.clone(),
            detail: format!("cannot be read: {e}"),
        })?;
        check_entry(&file, &got, want)?;
    }
    Ok((dir, manifest))
}

fn check_entry(file: &Path, got: &FileEntry, want: &FileEntry) -> Result<(), BackupError> {
    if got.bytes != want.bytes {
        return Err(BackupError::Mismatch {
            file: file.to_path_buf(),
            detail: format!("{} bytes, the manifest says {}", got.bytes, want.bytes),
        });
    }
    if got.sha256 != want.sha256 {
        return Err(BackupError::Mismatch {
            file: file.to_path_buf(),
            detail: format!("SHA-256 {}, the manifest says {}", got.sha256, want.sha256),
        });
    }
    Ok(())
}

/// Restores the backup at `from` into `data_dir`, which must be empty or absent: checks
/// every file against the manifest, copies them under temporary names, checks the store
/// copy opens whole and is the manifest's workspace with its document count, then renames
/// them into place (the store last: a data directory without it holds no relay).
pub fn restore(from: &Path, data_dir: &Path) -> Result<Manifest, BackupError> {
    let (dir, manifest) = verify_backup(from)?;
    let created = prepare_empty_dir(data_dir)?;
    let result = restore_into(&dir, &manifest, data_dir);
    if result.is_err() && created {
        let _ = fs::remove_dir(data_dir);
    }
    result.map(|()| manifest)
}

fn restore_into(dir: &Path, manifest: &Manifest, data_dir: &Path) -> Result<(), BackupError> {
    let tmp = |name: &str| data_dir.join(format!(".restore-{name}.tmp"));
    let names = [AUDIT_FILE, STORE_FILE];
    let copied = (|| {
        for name in names {
            let want = manifest
                .files
                .get(name)
                .ok_or_else(|| BackupError::Store(format!("{name} missing from the manifest")))?;
            let (got, _) = copy_hashed(&dir.join(name), &tmp(name), None)?;
            check_entry(&dir.join(name), &got, want)?;
        }
        check_store(&tmp(STORE_FILE), manifest)?;
        for name in names {
            fs::rename(tmp(name), data_dir.join(name)).map_err(io(&data_dir.join(name)))?;
        }
        sync_dir(data_dir)
    })();
    if copied.is_err() {
        for name in names {
            let _ = fs::remove_file(tmp(name));
        }
    }
    copied
}

/// The store copy opens with every page checked, and is what the manifest says.
fn check_store(path: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let damaged = |detail: String| BackupError::Mismatch {
        file: path.to_path_buf(),
        detail,
    };
    let store = Store::open_with(path, StoreOptions::default().verify_on_open(true))
        .map_err(|e| damaged(e.to_string()))?;
    let ws = store
        .get_meta_str(META_WORKSPACE)
        .map_err(|e| damaged(e.to_string()))?
        .unwrap_or_default();
    if ws != manifest.workspace_id {
        return Err(damaged(format!(
            "holds workspace `{ws}`, the manifest says `{}`",
            manifest.workspace_id
        )));
    }
    let docs = store.len().map_err(|e| damaged(e.to_string()))?;
    if docs != manifest.documents {
        return Err(damaged(format!(
            "holds {docs} documents, the manifest says {}",
            manifest.documents
        )));
    }
    Ok(())
}

/// Makes sure `dir` exists and is empty; whether it was created here.
fn prepare_empty_dir(dir: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if names.is_empty() {
                return Ok(false);
            }
            let mut shown: Vec<String> = names.iter().take(5).cloned().collect();
            shown.sort();
            let mut entries = shown.join(", ");
            if names.len() > 5 {
                entries.push_str(&format!(" and {} more", names.len() - 5));
            }
            Err(BackupError::NotEmpty {
                dir: dir.to_path_buf(),
                entries,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(p) = dir.parent()
                && !p.as_os_str().is_empty()
            {
                fs::create_dir_all(p).map_err(io(p))?;
            }
            create_private_dir(dir)?;
            Ok(true)
        }
        Err(e) if dir.is_file() => Err(BackupError::NotEmpty {
            dir: dir.to_path_buf(),
            entries: format!("it is a file, not a directory ({e})"),
        }),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Copies `from` (its first `limit` bytes, if given) to a new private file `to`, synced;
/// the copy's size and hash, and its line count.
fn copy_hashed(
    from: &Path,
    to: &Path,
    limit: Option<u64>,
) -> Result<(FileEntry, u64), BackupError> {
    let src = File::open(from).map_err(io(from))?;
    let mut src: Box<dyn Read> = match limit {
        Some(n) => Box::new(src.take(n)),
        None => Box::new(src),
    };
    let mut dst = create_private_file(to)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = src.read(&mut buf).map_err(io(from))?;
        let Some(chunk) = buf.get(..n) else { break };
        if chunk.is_empty() {
            break;
        }
        hasher.update(chunk);
        dst.write_all(chunk).map_err(io(to))?;
        bytes += n as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    if let Some(n) = limit
        && bytes != n
    {
        return Err(BackupError::Io {
            path: from.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{bytes} bytes read, {n} expected"),
            ),
        });
    }
    dst.sync_all().map_err(io(to))?;
    Ok((
        FileEntry {
            bytes,
            sha256: fieldcrm_model::hex(&hasher.finalize()),
        },
        lines,
    ))
}

fn hash_file(path: &Path) -> Result<FileEntry, BackupError> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        let Some(chunk) = buf.get(..n) else { break };
        if chunk.is_empty() {
            break;
        }
        hasher.update(chunk);
        bytes += n as u64;
    }
    Ok(FileEntry {
        bytes,
        sha256: fieldcrm_model::hex(&hasher.finalize()),
    })
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io(dir))
}

fn create_private_file(path: &Path) -> Result<File, BackupError> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(io(path))
}

/// Owner-only permissions on a file another library created.
fn restrict(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    let _ = path;
    Ok(())
}

/// Syncs a directory's entries (a rename into it) to disk; a no-op where directories
/// cannot be opened.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    let _ = dir;
    Ok(())
}
