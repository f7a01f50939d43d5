//! The audit log: one JSON line per document a device delivered, appended and synced to
//! disk before the delivery is acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// One delivery: which device delivered changes to which document, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// When the relay received it (UTC milliseconds, read at the edge).
    pub at_ms: i64,
    /// The delivering device key (hex).
    pub device: String,
    /// Its user ID.
    pub user: String,
    /// `ws` or `iroh`.
    pub transport: String,
    /// The document ID.
    pub doc: String,
    /// Whether the whole document was delivered (else incremental changes).
    pub whole: bool,
    /// Bytes delivered.
    pub bytes: u64,
    /// Actor IDs (hex) that wrote the delivered changes.
    pub authors: Vec<String>,
}

/// The append-only audit file.
pub(crate) struct Audit {
    file: Mutex<File>,
    rows: AtomicU64,
    path: PathBuf,
}

impl Audit {
    pub(crate) fn open(path: &Path) -> std::io::Result<Audit> {
        let rows = match File::open(path) {
            Ok(f) => std::io::BufReader::new(f).lines().count() as u64,
            Err(_) => 0,
        };
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Audit {
            file: Mutex::new(file),
            rows: AtomicU64::new(rows),
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length now, taken between appends: every row appended before this call
    /// lies whole within it (a backup copies this prefix).
    pub(crate) fn len_now(&self) -> std::io::Result<u64> {
        let f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f.metadata()?.len())
    }

    pub(crate) fn append(&self, rows: &[AuditRow]) -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for r in rows {
            text.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(text.as_bytes())?;
        f.sync_data()?;
        self.rows.fetch_add(rows.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }
}

/// Reads an audit log (for tools and tests).
pub fn read_audit(path: &Path) -> std::io::Result<Vec<AuditRow>> {
    let f = File::open(path)?;
    std::io::BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l?).map_err(std::io::Error::other))
        .collect()
}
