//! A document: an Automerge CRDT with a kind, a schema version and typed edits.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::{
    Catalog, Channel, Customer, DeviceKey, DocId, DocKind, Millis, PolicySettings, Roster,
    SCHEMA_VERSION, Sales,
};

/// Errors from reading or editing a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// The bytes are not an Automerge document.
    #[error("document {id} is damaged: {source}")]
    Load {
        /// Which document.
        id: String,
        /// What Automerge said.
        source: Box<automerge::AutomergeError>,
    },
    /// The document has no `kind`, or one this build does not know.
    #[error("document {id} has unknown kind `{kind}`")]
    UnknownKind {
        /// Which document.
        id: String,
        /// The kind found (empty if none).
        kind: String,
    },
    /// Written by a newer fieldcrm than this one.
    #[error(
        "document {id} has schema version {found}; this fieldcrm reads up to {supported}: upgrade fieldcrm"
    )]
    TooNew {
        /// Which document.
        id: String,
        /// Version found.
        found: u64,
        /// Highest supported.
        supported: u64,
    },
    /// The document does not match the model.
    #[error("document {id} does not match the {kind} model: {source}")]
    Hydrate {
        /// Which document.
        id: String,
        /// Which kind was expected.
        kind: &'static str,
        /// Details.
        source: Box<autosurgeon::HydrateError>,
    },
    /// A write failed.
    #[error("could not write to document {id}: {detail}")]
    Write {
        /// Which document.
        id: String,
        /// Details.
        detail: String,
    },
    /// A path names something that is not there.
    #[error("document {id} has no `{path}`")]
    NoSuchPath {
        /// Which document.
        id: String,
        /// The path, `/`-separated.
        path: String,
    },
}

/// The typed content of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind_body", content = "body", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// A customer file.
    Customer(Customer),
    /// A channel record.
    Channel(Channel),
    /// The roster.
    Roster(Roster),
    /// Catalog and price policy.
    Catalog(Catalog),
    /// Rule configuration.
    Policy(PolicySettings),
    /// Targets and reports.
    Sales(Sales),
}

impl Customer {
    /// The summary-index row of this customer file, updated at `updated_at` (what
    /// [`Document::summary`] reads back from a document made of it).
    pub fn summary(&self, updated_at: Millis) -> Summary {
        Summary {
            kind: DocKind::Customer,
            name: self.name.clone(),
            class: self.class.as_ref().map(|k| k.to_string()),
            owner: self.owner.clone(),
            team: self.team.clone(),
            status: None,
            region: self.region.clone(),
            merged_into: self.merged_into.clone(),
            archived: self.archived.is_some(),
            updated_at,
        }
    }
}

impl Body {
    /// The summary-index row of this content, updated at `updated_at`.
    pub fn summary(&self, updated_at: Millis) -> Summary {
        match self {
            Body::Customer(c) => c.summary(updated_at),
            Body::Channel(c) => Summary {
                kind: DocKind::Channel,
                name: c.name.clone(),
                class: Some(c.channel_kind.to_string()),
                owner: c.owner.clone(),
                team: None,
                status: Some(c.status.to_string()),
                region: c.region.clone(),
                merged_into: c.merged_into.clone(),
                archived: c.archived.is_some(),
                updated_at,
            },
            Body::Roster(r) => singleton(DocKind::Roster, r.workspace_name.clone(), updated_at),
            Body::Catalog(_) => singleton(DocKind::Catalog, "catalog".into(), updated_at),
            Body::Policy(_) => singleton(DocKind::Policy, "policy".into(), updated_at),
            Body::Sales(_) => singleton(DocKind::Sales, "sales".into(), updated_at),
        }
    }
}

/// A row of the summary index kept beside each document, so that listing and filtering
/// never load a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Document kind.
    pub kind: DocKind,
    /// Display name.
    pub name: String,
    /// Customer class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Owning user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Channel status or channel kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Survivor doc ID when this document was merged away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Archived (out of lists until restored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    /// Time of the latest change (UTC ms, from change metadata).
    pub updated_at: Millis,
}

/// What the policy engine reads of a document: its typed content plus the state of its
/// deciding fields (every concurrent value and the device that wrote it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Document ID.
    pub id: DocId,
    /// Typed content (winning values).
    pub body: Body,
    /// Deciding fields by path (see [`crate::fields::deciding_paths`]).
    pub fields: std::collections::BTreeMap<String, crate::Field>,
    /// The Sales document's: who wrote each claim's values (instead of a field state
    /// for each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_hands: Option<crate::claims_walk::ClaimHands>,
}

impl Snapshot {
    /// The summary row (what read scope is decided on); `updated_at` is 0 because a
    /// snapshot does not carry change times.
    pub fn summary(&self) -> Summary {
        self.body.summary(0)
    }

    /// The document kind.
    pub fn kind(&self) -> DocKind {
        match &self.body {
            Body::Customer(_) => DocKind::Customer,
            Body::Channel(_) => DocKind::Channel,
            Body::Roster(_) => DocKind::Roster,
            Body::Catalog(_) => DocKind::Catalog,
            Body::Policy(_) => DocKind::Policy,
            Body::Sales(_) => DocKind::Sales,
        }
    }

    /// The device that wrote the current (winning) value at `path`, if any.
    pub fn author(&self, path: &str) -> Option<crate::DeviceKey> {
        self.fields.get(path)?.values.first()?.device()
    }
}

/// What [`Document`]'s check found of a document (its kind, and a schema version this
/// build reads), kept apart from it for a while ([`Document::into_checked`]). Made only
/// by a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    kind: DocKind,
}

/// An Automerge document with its fieldcrm ID.
#[derive(Debug, Clone)]
pub struct Document {
    id: DocId,
    doc: AutoCommit,
    /// The kind [`Document::check`] read, until the next edit: reading one root key of
    /// a freshly loaded document costs Automerge a seek through its columns, and a
    /// received file's kind was read four times (a tenth of a first sync's CPU).
    kind: Option<DocKind>,
}

/// The largest document [`Document::save`] leaves undeflated (a customer file is about
/// a kilobyte).
pub(crate) const SAVE_PLAIN_MAX: usize = 64 * 1024;

impl Document {
    /// Create a new document from its initial content, written by `device` at `now`.
    ///
    /// The initial change creates every collection map, so later concurrent additions
    /// on different devices land in the same map object.
    pub fn create<T: Reconcile>(
        id: DocId,
        device: &DeviceKey,
        now: Millis,
        content: &T,
        message: &str,
    ) -> Result<Self, DocError> {
        let mut doc = AutoCommit::new().with_actor(device.actor());
        autosurgeon::reconcile(&mut doc, content).map_err(|e| DocError::Write {
            id: id.to_string(),
            detail: e.to_string(),
        })?;
        let mut d = Document {
            id,
            doc,
            kind: None,
        };
        d.commit(now, message);
        d.check()?;
        Ok(d)
    }

    /// Load a saved document; edits will be attributed to `device`.
    pub fn load(id: DocId, bytes: &[u8], device: &DeviceKey) -> Result<Self, DocError> {
        let doc = AutoCommit::load(bytes)
            .map_err(|source| DocError::Load {
                id: id.to_string(),
                source: Box::new(source),
            })?
            .with_actor(device.actor());
        let mut d = Document {
            id,
            doc,
            kind: None,
        };
        d.check()?;
        Ok(d)
    }

    /// Wrap an Automerge document (e.g. one built by sync); checks kind and version.
    pub fn from_automerge(id: DocId, doc: AutoCommit) -> Result<Self, DocError> {
        Self::wrap(id, doc).map_err(|b| b.0)
    }

    /// [`Document::from_automerge`], giving the Automerge document back when it is
    /// refused (for a caller that only borrows it).
    pub fn wrap(id: DocId, doc: AutoCommit) -> Result<Self, Box<(DocError, AutoCommit)>> {
        let mut d = Document {
            id,
            doc,
            kind: None,
        };
        match d.check() {
            Ok(()) => Ok(d),
            Err(e) => Err(Box::new((e, d.doc))),
        }
    }

    /// The Automerge document inside.
    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    /// The Automerge document inside, with what its check found, to wrap it again
    /// without reading its kind and schema version again ([`Document::from_checked`]);
    /// `None` once it was edited (an edit may change them).
    pub fn into_checked(self) -> (AutoCommit, Option<Checked>) {
        let checked = self.kind.map(|kind| Checked { kind });
        (self.doc, checked)
    }

    /// `doc` as the document [`Document::into_checked`] gave it back with `checked`,
    /// not edited since: wrapped without reading its kind and schema version again (a
    /// sync session checks a received document to judge it, and the store takes it from
    /// the session to save it; those two reads were 2% of a first sync).
    pub fn from_checked(id: DocId, doc: AutoCommit, checked: Checked) -> Self {
        Document {
            id,
            doc,
            kind: Some(checked.kind),
        }
    }

    fn check(&mut self) -> Result<(), DocError> {
        self.kind = None;
        let kind = self.kind()?;
        let v = self.schema_version();
        if v > SCHEMA_VERSION {
            return Err(DocError::TooNew {
                id: self.id.to_string(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        self.kind = Some(kind);
        Ok(())
    }

    /// The document ID.
    pub fn id(&self) -> &DocId {
        &self.id
    }

    /// The underlying Automerge document.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The underlying Automerge document, mutably (sync applies changes through this).
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        self.kind = None;
        &mut self.doc
    }

    /// The document kind, read from the root `kind` key.
    pub fn kind(&self) -> Result<DocKind, DocError> {
        if let Some(k) = &self.kind {
            return Ok(k.clone());
        }
        let s = root_str(&self.doc, "kind").unwrap_or_default();
        match s.parse::<DocKind>() {
            Ok(k) if k.as_str() == s => Ok(k),
            _ => Err(DocError::UnknownKind {
                id: self.id.to_string(),
                kind: s,
            }),
        }
    }

    /// The schema version recorded in the document.
    pub fn schema_version(&self) -> u64 {
        match self.doc.get(automerge::ROOT, "schema_version") {
            Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
                ScalarValue::Uint(u) => *u,
                ScalarValue::Int(i) => (*i).max(0) as u64,
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Hydrate the document as `T`.
    pub fn hydrate<T: Hydrate + 'static>(&self) -> Result<T, DocError> {
        match self.sales_in_one_pass::<T>() {
            Some(sales) => Ok(sales),
            None => self.hydrate_each(),
        }
    }

    /// [`Document::hydrate`] field by field, through [`crate::quick::Quick`].
    fn hydrate_each<T: Hydrate>(&self) -> Result<T, DocError> {
        hydrate_at(&self.doc, &[])
            .and_then(|t| {
                t.ok_or_else(|| autosurgeon::HydrateError::unexpected("a map", "nothing".into()))
            })
            .map_err(|source| DocError::Hydrate {
                id: self.id.to_string(),
                kind: std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("document"),
                source: Box::new(source),
            })
    }

    /// When `T` is [`crate::Sales`] and its claims have the usual shape: the Sales
    /// document with its claims read in one pass over them ([`crate::claims_walk`]), the
    /// same value hydration gives. `None` otherwise: the caller hydrates it the usual way.
    fn sales_in_one_pass<T: 'static>(&self) -> Option<T> {
        use std::any::{Any, TypeId};
        if TypeId::of::<T>() != TypeId::of::<crate::Sales>() {
            return None;
        }
        let sales: Box<dyn Any> =
            Box::new(self.sales_with(crate::claims_walk::claims(&self.doc)?)?);
        sales.downcast::<T>().ok().map(|s| *s)
    }

    /// The Sales document with `claims` (read in one pass) as its claims, the rest
    /// hydrated; `None` when the rest does not hydrate so (the caller hydrates it all
    /// the usual way, with its usual errors).
    fn sales_with(
        &self,
        claims: std::collections::BTreeMap<String, crate::workspace_docs::Claim>,
    ) -> Option<crate::Sales> {
        let mut sales: crate::Sales =
            autosurgeon::hydrate(&crate::quick::Quick::hiding(&self.doc, "claims")).ok()?;
        sales.claims = claims;
        Some(sales)
    }

    /// The typed content; for the Sales document, who wrote each claim's values, from
    /// one pass over the claims ([`crate::claims_walk::claims_and_hands`]), and whether
    /// its claims were read in the shape fieldcrm writes (each an `owner` string, a
    /// `since` integer and a map of key strings; `false` for any other shape, then
    /// hydrated as usual, and for other kinds).
    fn body_and_hands(
        &self,
    ) -> Result<(Body, Option<crate::claims_walk::ClaimHands>, bool), DocError> {
        if self.kind()? != DocKind::Sales {
            return Ok((self.body()?, None, false));
        }
        let (claims, hands) = crate::claims_walk::claims_and_hands(&self.doc);
        let (sales, usual) = match claims.and_then(|c| self.sales_with(c)) {
            Some(sales) => (sales, true),
            // Not the usual shape: read it all as usual (not walked again).
            None => (self.hydrate_each::<crate::Sales>()?, false),
        };
        Ok((Body::Sales(sales.without_removed()), Some(hands), usual))
    }

    /// The typed content.
    pub fn body(&self) -> Result<Body, DocError> {
        Ok(match self.kind()? {
            DocKind::Customer => {
                Body::Customer(self.hydrate::<crate::Customer>()?.without_removed())
            }
            DocKind::Channel => Body::Channel(self.hydrate::<crate::Channel>()?.without_removed()),
            DocKind::Roster => Body::Roster(self.hydrate()?),
            DocKind::Catalog => Body::Catalog(self.hydrate()?),
            DocKind::Policy => Body::Policy(self.hydrate()?),
            DocKind::Sales => Body::Sales(self.hydrate::<crate::Sales>()?.without_removed()),
            DocKind::Unknown(k) => {
                return Err(DocError::UnknownKind {
                    id: self.id.to_string(),
                    kind: k,
                });
            }
        })
    }

    /// The object at a path of map keys, if it exists and is a map.
    pub fn map_at(&self, path: &[&str]) -> Option<ObjId> {
        let mut obj = automerge::ROOT;
        for key in path {
            match self.doc.get(&obj, *key).ok()?? {
                (Value::Object(ObjType::Map), id) => obj = id,
                _ => return None,
            }
        }
        Some(obj)
    }

    /// The last key of a non-empty path and the keys before it.
    fn split_path<'p, 'a>(
        &self,
        path: &'p [&'a str],
    ) -> Result<(&'p &'a str, &'p [&'a str]), DocError> {
        path.split_last().ok_or_else(|| DocError::NoSuchPath {
            id: self.id.to_string(),
            path: String::new(),
        })
    }

    /// Write `value` at `path` (map keys; the last one is the key to set). Every map on the
    /// way must exist. Only the written value changes; the rest of the document is untouched.
    pub fn put<T: Reconcile>(&mut self, path: &[&str], value: &T) -> Result<(), DocError> {
        self.kind = None;
        let (key, parents) = self.split_path(path)?;
        let obj = self.map_at(parents).ok_or_else(|| DocError::NoSuchPath {
            id: self.id.to_string(),
            path: parents.join("/"),
        })?;
        autosurgeon::reconcile_prop(&mut self.doc, obj, *key, value).map_err(|e| DocError::Write {
            id: self.id.to_string(),
            detail: e.to_string(),
        })
    }

    /// Write a fresh object at `path`, replacing (not merging into) any existing one.
    ///
    /// Used for approvals and reviews: a new sign-off is a new object whose Automerge author
    /// is the signer, and two concurrent sign-offs show as a conflict on that key.
    pub fn put_new_object<T: Reconcile>(
        &mut self,
        path: &[&str],
        value: &T,
    ) -> Result<(), DocError> {
        self.kind = None;
        let (key, parents) = self.split_path(path)?;
        let obj = self.map_at(parents).ok_or_else(|| DocError::NoSuchPath {
            id: self.id.to_string(),
            path: parents.join("/"),
        })?;
        let write = |e: automerge::AutomergeError| DocError::Write {
            id: self.id.to_string(),
            detail: e.to_string(),
        };
        self.doc
            .put_object(&obj, *key, ObjType::Map)
            .map_err(write)?;
        autosurgeon::reconcile_prop(&mut self.doc, obj, *key, value).map_err(|e| DocError::Write {
            id: self.id.to_string(),
            detail: e.to_string(),
        })
    }

    /// Delete the key at `path`.
    pub fn delete(&mut self, path: &[&str]) -> Result<(), DocError> {
        self.kind = None;
        let (key, parents) = self.split_path(path)?;
        let obj = self.map_at(parents).ok_or_else(|| DocError::NoSuchPath {
            id: self.id.to_string(),
            path: parents.join("/"),
        })?;
        self.doc.delete(&obj, *key).map_err(|e| DocError::Write {
            id: self.id.to_string(),
            detail: e.to_string(),
        })
    }

    /// Commit pending edits as one change with a time (UTC ms, stored in seconds as
    /// Automerge defines change times) and a one-line message.
    pub fn commit(&mut self, now: Millis, message: &str) -> Option<ChangeHash> {
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(change_time_raw(now)),
        )
    }

    /// Current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Full compacted save; a document of up to [`SAVE_PLAIN_MAX`] bytes with its
    /// columns not deflated. Automerge deflates each column over 256 bytes with a fresh
    /// compressor, whose set-up (clearing some 300 KB) cost more than the few bytes it
    /// saves on a customer file (a profile of importing 100,000 customers: 16% of the
    /// time in compressing, a third of that in set-up). A larger document (the Sales
    /// document of many claims) is deflated: it is saved rarely, and its size counts
    /// against the sync's limit. Either form loads.
    pub fn save(&mut self) -> Vec<u8> {
        let plain = self.doc.save_nocompress();
        if plain.len() <= SAVE_PLAIN_MAX {
            return plain;
        }
        self.doc.save()
    }

    /// Changes since the last `save`/`save_incremental` (what a small edit appends).
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// What a document received whole is judged and cached by, read in one pass: its
    /// summary and, for every kind but the Sales document (whose snapshot holds every
    /// claim), its policy snapshot, the summary taken from the snapshot's content. A
    /// document whose whole content does not read still has the summary of its own
    /// fields ([`Document::summary`]), and no snapshot.
    pub fn summary_and_snapshot(&mut self) -> Result<(Summary, Option<Snapshot>), DocError> {
        if self.kind()? != DocKind::Sales
            && let Ok(snap) = self.snapshot()
        {
            let summary = snap.body.summary(self.latest_change_time());
            return Ok((summary, Some(snap)));
        }
        Ok((self.summary()?, None))
    }

    /// The summary-index row for this document.
    pub fn summary(&mut self) -> Result<Summary, DocError> {
        let updated_at = self.latest_change_time();
        // Customer files and channels: only the summary's own fields are read. The
        // Sales document's row names only its kind: its content (a claim per customer
        // file, 100,000 of them) is not read for it, where a whole reading of it cost a
        // new device's first sync 1.4 s and every saved change to it as much again.
        Ok(match self.kind()? {
            DocKind::Sales => singleton(DocKind::Sales, "sales".into(), updated_at),
            DocKind::Customer => self
                .hydrate::<crate::summary_fields::CustomerHead>()?
                .summary(updated_at),
            DocKind::Channel => self
                .hydrate::<crate::summary_fields::ChannelHead>()?
                .summary(updated_at),
            _ => self.body()?.summary(updated_at),
        })
    }

    /// The latest timestamp among the head changes.
    pub fn latest_change_time(&mut self) -> Millis {
        let heads = self.doc.get_heads();
        heads
            .iter()
            .filter_map(|h| {
                self.doc
                    .get_change_meta_by_hash(h)
                    .map(|m| change_time_ms(m.timestamp))
            })
            .max()
            .unwrap_or(0)
    }

    /// The policy engine's view of this document.
    pub fn snapshot(&self) -> Result<Snapshot, DocError> {
        self.snapshot_and_shape().map(|(snap, _)| snap)
    }

    /// [`Document::snapshot`], and whether the Sales document's claims in it were read
    /// in the shape fieldcrm writes: then every claim of the body is there as written,
    /// with the writers of its owner, date and keys in the claim hands (`false` for any
    /// other shape, and for other kinds).
    pub fn snapshot_and_shape(&self) -> Result<(Snapshot, bool), DocError> {
        let kind = self.kind()?;
        let (body, claim_hands, usual) = self.body_and_hands()?;
        let snap = Snapshot {
            id: self.id.clone(),
            body,
            fields: crate::fields::field_states(&self.doc, crate::fields::deciding_paths(&kind)),
            claim_hands,
        };
        Ok((snap, usual))
    }

    /// The whole document as JSON (winning values only).
    pub fn to_json(&self) -> serde_json::Value {
        crate::fields::object_json(&self.doc, &automerge::ROOT)
    }
}

fn singleton(kind: DocKind, name: String, updated_at: Millis) -> Summary {
    Summary {
        kind,
        name,
        class: None,
        owner: None,
        team: None,
        status: None,
        region: None,
        merged_into: None,
        archived: false,
        updated_at,
    }
}

fn root_str(doc: &AutoCommit, key: &str) -> Option<String> {
    match doc.get(automerge::ROOT, key).ok()?? {
        (Value::Scalar(v), _) => match v.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// `T` at `path` from the root of `doc` (the whole document for an empty path), read
/// through [`crate::quick::Quick`]; `None` if something on the path is not there. When
/// that fails and the document holds strings written as text objects (other Automerge
/// clients, the JS one by default, write them so), it is read again with those as the
/// strings they hold.
pub(crate) fn hydrate_at<T: Hydrate>(
    doc: &AutoCommit,
    path: &[&str],
) -> Result<Option<T>, autosurgeon::HydrateError> {
    fn at<D: autosurgeon::ReadDoc, T: Hydrate>(
        d: &D,
        path: &[&str],
    ) -> Result<Option<T>, autosurgeon::HydrateError> {
        let Some((last, before)) = path.split_last() else {
            return autosurgeon::hydrate(d).map(Some);
        };
        let mut obj = automerge::ROOT;
        for key in before {
            match d.get(&obj, *key)? {
                Some((automerge::Value::Object(_), id)) => obj = id,
                _ => return Ok(None),
            }
        }
        if d.get(&obj, *last)?.is_none() {
            return Ok(None);
        }
        autosurgeon::hydrate_prop(d, &obj, *last).map(Some)
    }
    at(&crate::quick::Quick::new(doc), path).or_else(|first| match with_text_as_strings(doc) {
        Some(plain) => at(&plain, path).map_err(|_| first),
        None => Err(first),
    })
}

/// A throwaway copy of `doc` in which every text object is replaced by the string it
/// holds, or `None` if `doc` has no text object. Never saved: only read.
fn with_text_as_strings(doc: &AutoCommit) -> Option<AutoCommit> {
    fn walk(doc: &AutoCommit, obj: &ObjId, found: &mut Vec<(ObjId, automerge::Prop, String)>) {
        let props: Vec<automerge::Prop> = match doc.object_type(obj) {
            Ok(ObjType::Map) | Ok(ObjType::Table) => {
                doc.keys(obj).map(automerge::Prop::from).collect()
            }
            Ok(ObjType::List) => (0..doc.length(obj)).map(automerge::Prop::from).collect(),
            _ => return,
        };
        for prop in props {
            match doc.get(obj, prop.clone()) {
                Ok(Some((Value::Object(ObjType::Text), id))) => {
                    found.push((obj.clone(), prop, doc.text(&id).unwrap_or_default()));
                }
                Ok(Some((Value::Object(_), id))) => walk(doc, &id, found),
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(doc, &automerge::ROOT, &mut found);
    if found.is_empty() {
        return None;
    }
    // A clone keeps the actor, which is harmless here: the copy is never saved.
    let mut copy = doc.clone();
    for (obj, prop, text) in found {
        copy.put(&obj, prop, text).ok()?;
    }
    Some(copy)
}

/// The stored time of a change committed at `now` (UTC ms): whole seconds since the Unix
/// epoch, as Automerge defines change times, so other Automerge clients (the JS one, for
/// example) show today's date.
pub fn change_time_raw(now: Millis) -> i64 {
    now.div_euclid(1000)
}

/// A change's time in UTC ms. Changes written by earlier fieldcrm builds hold
/// milliseconds; every real time in seconds is below 10^11 (the year 5138), every time in
/// milliseconds since 1973 is above it, so both read right.
pub fn change_time_ms(raw: i64) -> Millis {
    if raw.unsigned_abs() >= 100_000_000_000 {
        raw
    } else {
        raw.saturating_mul(1000)
    }
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
