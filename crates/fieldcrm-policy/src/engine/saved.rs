//! An engine's state as data ([`SavedEngine`]), so that a process that checks once (the
//! `check` command) starts where the last one left off and evaluates only what changed
//! since, instead of reading and evaluating every document again.
//!
//! What is kept: each document's findings, wake time and what the cross-document rules
//! index (never its snapshot); the workspace documents as the engine holds them (a lean
//! engine's Sales document without its claims); the cross-document findings; and the
//! claim state, its strings written once and named by number. The hash indexes are made
//! again from these when the engine is restored. The caller keeps the state with the
//! state of the store it was computed from, and gives the restored engine what changed
//! since ([`Engine::update_from`]), exactly as it would a long-lived one.

use std::borrow::{Borrow, Cow};
use std::cell::RefCell;

use fieldcrm_model::{DeviceKey, DocId, Millis, Snapshot};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::claim_table::{Owners, Table};
use super::claims::ClaimState;
use super::{Cross, Engine, Entry, ordered};
use crate::config::Config;
use crate::ctx::{Ctx, WsDocs};
use crate::finding::Finding;
use crate::rules::{DocEval, Extract};

/// An engine's state: written from an engine ([`Engine::saved`]) once, straight from
/// its maps, and read back as an owned value given to [`Engine::restore`]. Encode it
/// with any serde format; the caller tells states of another build apart (this type's
/// layout is not versioned).
#[derive(Serialize, Deserialize)]
pub struct SavedEngine<'a> {
    holder: Option<Cow<'a, str>>,
    now: Option<Millis>,
    ws: Vec<Cow<'a, Snapshot>>,
    sales_slim: bool,
    docs: Seq<'a, SavedDoc<'a>>,
    ws_findings: Cow<'a, [Finding]>,
    ws_wake: Millis,
    pairs: Vec<(Id<'a>, Id<'a>, Cow<'a, [Finding]>)>,
    sale_findings: Vec<(Id<'a>, Cow<'a, [Finding]>)>,
    claims: SavedClaims<'a>,
}

#[derive(Serialize, Deserialize)]
struct SavedDoc<'a> {
    id: Id<'a>,
    record: bool,
    findings: Cow<'a, [Finding]>,
    wake: Millis,
    extract: Cow<'a, Extract>,
}

/// The claim state: the owners its claims name (numbered by their place here) and its
/// two tables as bytes ([`Table::write`]).
#[derive(Serialize, Deserialize)]
struct SavedClaims<'a> {
    owners: Vec<Cow<'a, str>>,
    counted: SavedTable,
    own: SavedTable,
    notices: Vec<(Id<'a>, Cow<'a, [Finding]>)>,
}

#[derive(Serialize, Deserialize)]
struct SavedTable {
    #[serde(with = "serde_bytes")]
    recs: Vec<u8>,
    #[serde(with = "serde_bytes")]
    keys: Vec<u8>,
}

/// A document ID, written as its 16 bytes.
struct Id<'a>(Cow<'a, DocId>);

impl Serialize for Id<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = fieldcrm_model::hex16(self.0.as_str())
            .ok_or_else(|| S::Error::custom("a document ID that is not hex"))?;
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Id<'_> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Read from the bytes where the format holds them (no list of them made first:
        /// a state holds hundreds of thousands of IDs).
        struct Bytes;
        impl<'de> serde::de::Visitor<'de> for Bytes {
            type Value = DocId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a document ID as its bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<DocId, E> {
                <&[u8; 16]>::try_from(v)
                    .map(DocId::from_bytes)
                    .map_err(|_| E::custom("a document ID of another length than 16 bytes"))
            }
            // Formats without a bytes type write them as a list of numbers.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DocId, A::Error> {
                let mut bytes = Vec::with_capacity(16);
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                self.visit_bytes(&bytes)
            }
        }
        d.deserialize_bytes(Bytes).map(|id| Id(Cow::Owned(id)))
    }
}

impl Id<'_> {
    fn into_owned(self) -> DocId {
        self.0.into_owned()
    }
}

/// A sequence written straight from the engine's maps, one item at a time (no list of
/// them made first: at 100,000 documents that list was tens of megabytes), and read
/// back as a list.
enum Seq<'a, T> {
    Read(Vec<T>),
    /// The items, once, and how many there are.
    Write(RefCell<Option<Box<dyn Iterator<Item = T> + 'a>>>, usize),
}

impl<'a, T> Seq<'a, T> {
    fn of<I: ExactSizeIterator<Item = T> + 'a>(items: I) -> Self {
        let len = items.len();
        Seq::Write(RefCell::new(Some(Box::new(items))), len)
    }

    fn into_vec(self) -> Vec<T> {
        match self {
            Seq::Read(v) => v,
            Seq::Write(items, _) => items.into_inner().into_iter().flatten().collect(),
        }
    }
}

impl<T: Serialize> Serialize for Seq<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Seq::Read(v) => v.serialize(s),
            Seq::Write(items, len) => {
                let items = items
                    .borrow_mut()
                    .take()
                    .ok_or_else(|| S::Error::custom("a saved engine is written once"))?;
                let mut seq = s.serialize_seq(Some(*len))?;
                let mut written = 0;
                for item in items {
                    seq.serialize_element(&item)?;
                    written += 1;
                }
                if written != *len {
                    return Err(S::Error::custom("the engine changed while it was written"));
                }
                seq.end()
            }
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Seq<'_, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::deserialize(d).map(Seq::Read)
    }
}

fn borrowed<'a>(id: &'a DocId) -> Id<'a> {
    Id(Cow::Borrowed(id))
}

impl<S: Borrow<Snapshot> + Send> Engine<S> {
    /// The engine's state, borrowed from it, to be written once and later given to
    /// [`Engine::restore`].
    pub fn saved(&self) -> SavedEngine<'_> {
        let docs = self.docs.iter().map(|(id, e)| SavedDoc {
            id: borrowed(id),
            record: e.record,
            findings: Cow::Borrowed(&e.eval.findings),
            wake: e.eval.wake,
            extract: Cow::Borrowed(&e.eval.extract),
        });
        let c = &self.x.claims;
        // Owners no claim names any more are left out, and the rest numbered again.
        let (owners, renumbered) = c.owners.in_use(&[&c.counted, &c.own]);
        let table = |t: &Table| {
            let (recs, keys) = t.write(|n| renumbered.get(n as usize).copied().unwrap_or(u32::MAX));
            SavedTable { recs, keys }
        };
        SavedEngine {
            holder: self.holder.as_deref().map(Cow::Borrowed),
            now: self.now,
            ws: self
                .workspace_docs()
                .map(|s| Cow::Borrowed(s.borrow()))
                .collect(),
            sales_slim: self.sales_slim,
            docs: Seq::of(docs),
            ws_findings: Cow::Borrowed(&self.ws_findings),
            ws_wake: self.ws_wake,
            pairs: self
                .x
                .pairs
                .iter()
                .map(|((a, b), f)| (borrowed(a), borrowed(b), Cow::Borrowed(&f[..])))
                .collect(),
            sale_findings: self
                .x
                .sale_findings
                .iter()
                .map(|(id, f)| (borrowed(id), Cow::Borrowed(&f[..])))
                .collect(),
            claims: SavedClaims {
                owners: owners.into_iter().map(Cow::Borrowed).collect(),
                counted: table(&c.counted),
                own: table(&c.own),
                notices: c
                    .notices
                    .iter()
                    .map(|(id, f)| (borrowed(id), Cow::Borrowed(&f[..])))
                    .collect(),
            },
        }
    }
}

impl<S: Borrow<Snapshot> + From<Snapshot> + Send> Engine<S> {
    /// A lean engine ([`Engine::lean`]) in the state `saved`, checking with the base
    /// configuration `config` for the holding device `holder`, as the saved one did:
    /// `None` when the state was saved for another holder or is damaged (a string
    /// number out of range). The configuration is the caller's to keep the same.
    pub fn restore(
        config: Config,
        holder: Option<&DeviceKey>,
        saved: SavedEngine<'_>,
    ) -> Option<Engine<S>> {
        let holder = holder.map(DeviceKey::to_hex);
        if saved.holder.as_deref() != holder.as_deref() {
            return None;
        }
        let mut e = Engine::new(config).lean();
        e.holder = holder;
        let mut ws = WsDocs::default();
        for s in saved.ws {
            // Anything but a workspace document is not held there: a damaged state.
            if ws.slot(S::from(s.into_owned())).is_some() {
                return None;
            }
        }
        e.ctx = Ctx::build(&e.base, &ws, e.holder.as_deref());
        e.ws = ws;
        e.sales_slim = saved.sales_slim;
        e.now = saved.now;
        e.ws_findings = saved.ws_findings.into_owned();
        e.ws_wake = saved.ws_wake;
        let mut x = Cross::default();
        let docs = saved.docs.into_vec();
        e.docs.reserve(docs.len());
        for d in docs {
            let id = d.id.into_owned();
            let eval = DocEval {
                findings: d.findings.into_owned(),
                wake: d.wake,
                extract: d.extract.into_owned(),
            };
            x.index(&id, &eval.extract);
            if eval.wake != Millis::MAX {
                e.wake_queue.entry(eval.wake).or_default().push(id.clone());
            }
            let mut entry = Entry::new(None);
            entry.eval = eval;
            entry.record = d.record;
            e.docs.insert(id, entry);
        }
        for (a, b, f) in saved.pairs {
            let (a, b) = ordered(&a.into_owned(), &b.into_owned());
            x.partners.entry(a.clone()).or_default().insert(b.clone());
            x.partners.entry(b.clone()).or_default().insert(a.clone());
            x.pairs.insert((a, b), f.into_owned());
        }
        x.sale_findings = saved
            .sale_findings
            .into_iter()
            .map(|(id, f)| (id.into_owned(), f.into_owned()))
            .collect();
        x.claims = restore_claims(saved.claims)?;
        e.x = x;
        Some(e)
    }
}

fn restore_claims(saved: SavedClaims<'_>) -> Option<ClaimState> {
    let owners = Owners::read(saved.owners.iter().map(|s| &**s))?;
    let counted = Table::read(&saved.counted.recs, &saved.counted.keys, owners.len())?;
    let own = Table::read(&saved.own.recs, &saved.own.keys, owners.len())?;
    let notices = saved
        .notices
        .into_iter()
        .map(|(id, f)| (id.into_owned(), f.into_owned()))
        .collect();
    Some(ClaimState {
        owners,
        counted,
        own,
        notices,
    })
}
