//! Errors, one `#[non_exhaustive]` enum per family of operations, all converting into
//! [`Error`]. Every message names the store file, the document, or both.

use std::fmt;
use std::path::{Path, PathBuf};

use fieldcrm_model::{DocError, DocId, DocKind};

/// A failure inside redb (I/O, a damaged page, a full disk ...), with the file it hit.
#[derive(Debug, thiserror::Error)]
#[error("workspace store {}: {source}", path.display())]
pub struct DbError {
    /// The store file.
    pub path: PathBuf,
    /// What redb said.
    #[source]
    pub source: Box<redb::Error>,
}

impl DbError {
    pub(crate) fn new(path: &Path, source: impl Into<redb::Error>) -> Self {
        DbError {
            path: path.to_path_buf(),
            source: Box::new(source.into()),
        }
    }
}

/// A row the store wrote that no longer decodes (damaged file or a bug).
#[derive(Debug, thiserror::Error)]
#[error("workspace store {}: the {table} row of {key} is damaged: {detail}", path.display())]
pub struct DamagedRow {
    /// The store file.
    pub path: PathBuf,
    /// Which table.
    pub table: &'static str,
    /// The row key (usually a document ID).
    pub key: String,
    /// What is wrong with it.
    pub detail: String,
}

/// Opening or creating a store file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No file at the path.
    #[error("no workspace store at {}", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// `create` found a file already there (it never overwrites).
    #[error("{} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The path given.
        path: PathBuf,
    },
    /// Another process has the store open.
    #[error(
        "workspace store {} is in use by another fieldcrm process; close it and try again",
        path.display()
    )]
    InUse {
        /// The store file.
        path: PathBuf,
    },
    /// The file is not a fieldcrm store (a text file, another program's database ...).
    #[error("{} is not a fieldcrm workspace store: {reason}", path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// Written by a newer fieldcrm with a file format this build does not read.
    #[error(
        "workspace store {} has format version {found}; this fieldcrm reads up to {supported}: upgrade fieldcrm",
        path.display()
    )]
    TooNew {
        /// The store file.
        path: PathBuf,
        /// Version in the file.
        found: u64,
        /// Highest version this build reads.
        supported: u64,
    },
    /// The file is a fieldcrm store (or looks like one) but is damaged or truncated.
    #[error("workspace store {} is damaged: {detail}", path.display())]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// The file could not be read or created.
    #[error("could not open {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Reading or writing a meta key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// Keys starting with `fieldcrm.store.` belong to the store itself.
    #[error("meta key `{key}` is reserved for the store")]
    Reserved {
        /// The key.
        key: String,
    },
    /// `get_meta_str` found bytes that are not UTF-8.
    #[error("workspace store {}: meta key `{key}` is not text", path.display())]
    NotText {
        /// The store file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Saving, deleting or compacting documents failed; nothing of the operation was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The document could not be read or does not match the model.
    #[error("could not save to {}: {source}", path.display())]
    Doc {
        /// The store file.
        path: PathBuf,
        /// What the model said (names the document).
        source: Box<DocError>,
    },
    /// A stored row is damaged.
    #[error(transparent)]
    Damaged(#[from] DamagedRow),
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Loading a document or its bookkeeping failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// No document with that ID in the store.
    #[error("workspace store {} has no document {id}", path.display())]
    NotFound {
        /// The store file.
        path: PathBuf,
        /// The ID asked for.
        id: DocId,
    },
    /// The stored bytes do not load as a document of the model.
    #[error("could not load from {}: {source}", path.display())]
    Doc {
        /// The store file.
        path: PathBuf,
        /// What the model said (names the document).
        source: Box<DocError>,
    },
    /// A stored row is damaged.
    #[error(transparent)]
    Damaged(#[from] DamagedRow),
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Applying changes received from a peer failed; nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The bytes are not Automerge changes, or Automerge failed on them.
    #[error("workspace store {}: changes for document {id} were rejected: {detail}", path.display())]
    Rejected {
        /// The store file.
        path: PathBuf,
        /// The document.
        id: DocId,
        /// What went wrong.
        detail: String,
    },
    /// The document with the changes applied does not match the model.
    #[error("could not apply changes in {}: {source}", path.display())]
    Doc {
        /// The store file.
        path: PathBuf,
        /// What the model said (names the document).
        source: Box<DocError>,
    },
    /// A stored row is damaged.
    #[error(transparent)]
    Damaged(#[from] DamagedRow),
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<SaveError> for ApplyError {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Doc { path, source } => ApplyError::Doc { path, source },
            SaveError::Damaged(d) => ApplyError::Damaged(d),
            SaveError::Db(d) => ApplyError::Db(d),
        }
    }
}

impl From<LoadError> for ApplyError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Damaged(d) => ApplyError::Damaged(d),
            LoadError::Db(d) => ApplyError::Db(d),
            LoadError::Doc { path, source } => ApplyError::Doc { path, source },
            LoadError::NotFound { path, id } => ApplyError::Rejected {
                path,
                id,
                detail: "document vanished".into(),
            },
        }
    }
}

/// Listing the summary index failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// A stored row is damaged.
    #[error(transparent)]
    Damaged(#[from] DamagedRow),
    /// redb failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One of several documents a typed ID could mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The document.
    pub id: DocId,
    /// Its kind.
    pub kind: DocKind,
    /// Its display name.
    pub name: String,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.id.short(), self.name, self.kind)
    }
}

/// A user-typed document reference did not name exactly one document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No document has that ID prefix or name.
    #[error("no {} matches `{text}` (give at least {} hex characters of an ID, or the exact name)",
        kind.as_ref().map_or("document", |k| k.as_str()), crate::MIN_PREFIX)]
    NotFound {
        /// What was typed.
        text: String,
        /// The kind looked for, if any.
        kind: Option<DocKind>,
    },
    /// Several documents match.
    #[error("`{text}` is ambiguous; it could be: {}",
        candidates.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// What was typed.
        text: String,
        /// Every match, sorted by name.
        candidates: Vec<Candidate>,
    },
    /// The index could not be read.
    #[error(transparent)]
    List(#[from] ListError),
}

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`OpenError`].
    #[error(transparent)]
    Open(#[from] OpenError),
    /// See [`MetaError`].
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// See [`SaveError`].
    #[error(transparent)]
    Save(#[from] SaveError),
    /// See [`LoadError`].
    #[error(transparent)]
    Load(#[from] LoadError),
    /// See [`ApplyError`].
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// See [`ListError`].
    #[error(transparent)]
    List(#[from] ListError),
    /// See [`ResolveError`].
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

/// Maps redb results into a family error carrying the store path.
pub(crate) trait DbResultExt<T> {
    fn db(self, path: &Path) -> Result<T, DbError>;
}

impl<T, E: Into<redb::Error>> DbResultExt<T> for Result<T, E> {
    fn db(self, path: &Path) -> Result<T, DbError> {
        self.map_err(|e| DbError::new(path, e))
    }
}
