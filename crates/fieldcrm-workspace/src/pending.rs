//! Changes waiting to go to a remote (the office relay): the documents whose heads differ
//! from the heads that remote held at the end of this device's last successful sync with
//! it.
//!
//! A sync session ends when both sides hold the same changes of every shared document,
//! so the heads this device holds when a relay session finishes are the heads the relay
//! acknowledged — except for the documents the relay refused or that were too large to
//! send, which keep their previous acknowledged heads. [`Workspace::note_synced`] records
//! that as the store generation at the end of the sync plus those exceptions (one blob
//! per remote URL, `sync.acked/URL`), so noting a sync costs nothing per held document.
//! [`Workspace::waiting`] reads the store's change log since that generation: a local
//! edit, a document made here, or changes received from a peer device since then are
//! waiting to go, judged against the document's heads at that generation. Changes are
//! counted (by loading the documents) only when few documents wait.
//!
//! A record made before the change log (every document's acknowledged heads) is still
//! read. When the log no longer reaches back to a record's generation, every held
//! document counts as waiting until the next sync.

use std::collections::HashMap;

use automerge::{ChangeHash, ReadDoc};
use fieldcrm_model::{DocId, DocKind, Millis};

use crate::{Result, Workspace};

/// Meta key prefix of the heads a remote acknowledged (followed by the remote's URL).
const META_ACKED: &str = "sync.acked/";
/// Meta key of the latest finished sync with any remote or peer device, in the same
/// format: what [`Workspace::changed_for`] names to a peer never synced with before.
const META_LATEST: &str = "sync.latest";
/// Format marker of the record of every document's acknowledged heads (before the log).
const FORMAT: u8 = 1;
/// Format marker of the record by generation: `[2][generation u64]` then the exceptions
/// in the rows of [`encode`].
const FORMAT_GENERATION: u8 = 2;
/// Changes are counted only when at most this many documents wait (each is loaded).
pub const COUNT_CHANGES_UP_TO: usize = 200;

/// What waits to go to one remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Documents changed on this device since the last successful sync.
    pub docs: usize,
    /// Their changes (Automerge changes the remote has not acknowledged), when at most
    /// [`COUNT_CHANGES_UP_TO`] documents wait.
    pub changes: Option<usize>,
    /// The most recently changed of them, newest first.
    pub latest: Vec<WaitingDoc>,
    /// Whether a successful sync with this remote is recorded at all.
    pub synced_before: bool,
}

/// One document waiting to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingDoc {
    /// Its ID.
    pub id: DocId,
    /// Its kind.
    pub kind: DocKind,
    /// Its name (a customer's or channel's name; empty for workspace documents).
    pub name: String,
    /// Time of its latest change, UTC ms.
    pub updated_at: Millis,
    /// Its changes waiting to go, when counted.
    pub changes: Option<usize>,
}

type Heads = HashMap<DocId, Vec<ChangeHash>>;

/// What a remote acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Acked {
    /// Every document's heads at this store generation, except `except`, which the
    /// remote holds at the heads given (none: not at all).
    At { generation: u64, except: Heads },
    /// Every document's acknowledged heads (a record made before the change log).
    All(Heads),
}

fn encode_acked(generation: u64, except: &Heads) -> Vec<u8> {
    let mut out = vec![FORMAT_GENERATION];
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(encode(except).get(1..).unwrap_or_default());
    out
}

fn decode_acked(bytes: &[u8]) -> Acked {
    match bytes.split_first() {
        Some((&FORMAT_GENERATION, rest)) => match rest.split_first_chunk::<8>() {
            Some((g, rows)) => {
                let mut v = vec![FORMAT];
                v.extend_from_slice(rows);
                Acked::At {
                    generation: u64::from_le_bytes(*g),
                    except: decode(&v),
                }
            }
            // Damaged: nothing counts as acknowledged.
            None => Acked::All(Heads::new()),
        },
        _ => Acked::All(decode(bytes)),
    }
}

/// The name under which syncs with a peer device are recorded (as a relay is by its URL).
pub fn peer_remote(device: &fieldcrm_model::DeviceKey) -> String {
    format!("device:{}", device.to_hex())
}

fn meta_key(remote: &str) -> String {
    format!("{META_ACKED}{}", remote.trim())
}

/// `[FORMAT] ([id len][id][head count][32 bytes per head])*`.
fn encode(heads: &Heads) -> Vec<u8> {
    let mut out = vec![FORMAT];
    for (id, hs) in heads {
        let (Ok(n), Ok(h)) = (u8::try_from(id.as_str().len()), u8::try_from(hs.len())) else {
            continue; // never for real IDs and heads; such a document just counts as waiting
        };
        out.push(n);
        out.extend_from_slice(id.as_str().as_bytes());
        out.push(h);
        for head in hs {
            out.extend_from_slice(&head.0);
        }
    }
    out
}

/// The rows of [`encode`]; a damaged row ends the reading (what follows counts as waiting).
fn decode(bytes: &[u8]) -> Heads {
    let mut out = Heads::new();
    let Some((&FORMAT, mut rest)) = bytes.split_first() else {
        return out;
    };
    let take = |rest: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        let (a, b) = rest.split_at_checked(n)?;
        *rest = b;
        Some(a.to_vec())
    };
    while let Some((&n, r)) = rest.split_first() {
        rest = r;
        let Some(id) = take(&mut rest, n as usize)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<DocId>().ok())
        else {
            break;
        };
        let Some((&h, r)) = rest.split_first() else {
            break;
        };
        rest = r;
        let mut hs = Vec::with_capacity(h as usize);
        for _ in 0..h {
            match take(&mut rest, 32).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
                Some(b) => hs.push(ChangeHash(b)),
                None => return out,
            }
        }
        out.insert(id, hs);
    }
    out
}

fn sorted(mut hs: Vec<ChangeHash>) -> Vec<ChangeHash> {
    hs.sort();
    hs
}

impl Workspace {
    fn all_heads_map(&self) -> Result<Heads> {
        Ok(self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?
            .into_iter()
            .map(|(id, hs)| (id, sorted(hs)))
            .collect())
    }

    fn acked(&self, remote: &str) -> Result<Option<Acked>> {
        self.acked_at(&meta_key(remote))
    }

    fn acked_at(&self, key: &str) -> Result<Option<Acked>> {
        let meta = |e: fieldcrm_store::MetaError| fieldcrm_store::Error::from(e);
        Ok(self
            .store()
            .get_blob(key)
            .map_err(meta)?
            .map(|b| decode_acked(&b)))
    }

    /// Every held document whose heads differ from what `acked` says the remote holds,
    /// with what it holds (`None`: nothing).
    fn unacked(&self, acked: Option<&Acked>) -> Result<Vec<(DocId, Option<Vec<ChangeHash>>)>> {
        let everything = |acked: &Heads| -> Result<Vec<_>> {
            Ok(self
                .all_heads_map()?
                .into_iter()
                .filter(|(id, hs)| acked.get(id) != Some(hs))
                .map(|(id, _)| {
                    let was = acked.get(&id).cloned();
                    (id, was)
                })
                .collect())
        };
        let (generation, except) = match acked {
            None => return everything(&Heads::new()),
            Some(Acked::All(all)) => return everything(all),
            Some(Acked::At { generation, except }) => (*generation, except),
        };
        let Some(changed) = self
            .store()
            .changed_since(generation)
            .map_err(fieldcrm_store::Error::from)?
        else {
            return everything(&Heads::new());
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for d in changed.docs {
            seen.insert(d.id.clone());
            let Some(now) = d.heads.map(sorted) else {
                continue;
            };
            let was = match except.get(&d.id) {
                Some(hs) => Some(hs.clone()),
                None => Some(sorted(d.before)).filter(|b| !b.is_empty()),
            };
            if was.as_ref() != Some(&now) {
                out.push((d.id, was));
            }
        }
        for (id, was) in except {
            if seen.contains(id) {
                continue;
            }
            let now = self
                .store()
                .heads(id)
                .map_err(fieldcrm_store::Error::from)?
                .map(sorted);
            if now.is_some() && now.as_ref() != Some(was) {
                out.push((id.clone(), Some(was.clone()).filter(|w| !w.is_empty())));
            }
        }
        Ok(out)
    }

    /// The documents to name in the next session with `remote` (a relay URL, or
    /// [`peer_remote`] of a device): changed here since the last finished sync with it,
    /// read from the change log. Empty when no sync with it is recorded by generation,
    /// or when more than [`fieldcrm_sync::MAX_NAMED`] changed: the session's ranges then
    /// find everything.
    pub fn changed_for(&self, remote: &str) -> Result<Vec<DocId>> {
        // A peer never synced with is named what changed since the latest sync with
        // anyone: when both sides synced with the office since, that is what differs.
        let acked = match self.acked(remote)? {
            Some(a @ Acked::At { .. }) => a,
            Some(Acked::All(_)) => return Ok(Vec::new()),
            None => match self.acked_at(META_LATEST)? {
                Some(a @ Acked::At { .. }) => a,
                _ => return Ok(Vec::new()),
            },
        };
        let ids = self.unacked(Some(&acked))?;
        if ids.len() > fieldcrm_sync::MAX_NAMED {
            return Ok(Vec::new());
        }
        Ok(ids.into_iter().map(|(id, _)| id).collect())
    }

    /// Record that a sync with `remote` (its URL) just finished: every document's heads
    /// now are acknowledged by it, except those of `not_acked` (refused by the remote or
    /// too large to send), which keep what it acknowledged before. Call it when the
    /// session ends, before anything else writes.
    pub fn note_synced(&self, remote: &str, not_acked: &[DocId]) -> Result<()> {
        let generation = self
            .store()
            .generation()
            .map_err(fieldcrm_store::Error::from)?;
        let mut except = Heads::new();
        if !not_acked.is_empty() {
            let before = self.acked(remote)?;
            let unacked: HashMap<DocId, Option<Vec<ChangeHash>>> =
                self.unacked(before.as_ref())?.into_iter().collect();
            for id in not_acked {
                let was = match unacked.get(id) {
                    Some(was) => was.clone().unwrap_or_default(),
                    // Not waiting before this sync: the remote held it as it is now
                    // (or it is not held here).
                    None => match self
                        .store()
                        .heads(id)
                        .map_err(fieldcrm_store::Error::from)?
                    {
                        Some(hs) => sorted(hs),
                        None => continue,
                    },
                };
                except.insert(id.clone(), was);
            }
        }
        let meta = |e: fieldcrm_store::MetaError| fieldcrm_store::Error::from(e);
        let record = encode_acked(generation, &except);
        self.store()
            .set_blob(&meta_key(remote), &record)
            .map_err(meta)?;
        self.store().set_blob(META_LATEST, &record).map_err(meta)?;
        Ok(())
    }

    /// What waits to go to `remote` (its URL): documents changed here since the last
    /// successful sync with it, their changes when cheaply known, and the `show` most
    /// recently changed of them by name.
    pub fn waiting(&self, remote: &str, show: usize) -> Result<Waiting> {
        let acked = self.acked(remote)?;
        let synced_before = acked.is_some();
        let ids = self.unacked(acked.as_ref())?;
        let count = ids.len() <= COUNT_CHANGES_UP_TO;
        let mut docs = Vec::with_capacity(ids.len());
        let mut total = 0usize;
        for (id, was) in ids {
            let Some(s) = self.summary(&id)? else {
                continue;
            };
            let changes = if count {
                let n = self.changes_since(&id, was.as_deref().unwrap_or_default())?;
                total += n;
                Some(n)
            } else {
                None
            };
            docs.push(WaitingDoc {
                id,
                kind: s.kind,
                name: s.name,
                updated_at: s.updated_at,
                changes,
            });
        }
        docs.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
        let n = docs.len();
        docs.truncate(show);
        Ok(Waiting {
            docs: n,
            changes: count.then_some(total),
            latest: docs,
            synced_before,
        })
    }

    /// How many changes document `id` has beyond `heads` (all of them when it lacks one
    /// of `heads`).
    fn changes_since(&self, id: &DocId, heads: &[ChangeHash]) -> Result<usize> {
        let bytes = self
            .store()
            .load_bytes(id)
            .map_err(fieldcrm_store::Error::from)?;
        let am = automerge::Automerge::load(&bytes)
            .map_err(|e| crate::Error::Corrupt(format!("document {id} does not load: {e}")))?;
        let since: &[ChangeHash] = if am.get_missing_deps(heads).is_empty() {
            heads
        } else {
            &[]
        };
        Ok(am.get_changes_meta(since).len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewCustomer;

    const REMOTE: &str = "ws://127.0.0.1:9/";

    fn ws(dir: &std::path::Path) -> Workspace {
        Workspace::init(dir, &crate::tests::admin_opts(), 1_000).unwrap()
    }

    #[test]
    fn rows_round_trip_and_damage_stops_reading() {
        let mut h = Heads::new();
        h.insert(
            DocId::random(),
            vec![ChangeHash([7; 32]), ChangeHash([1; 32])],
        );
        h.insert(DocId::random(), vec![]);
        let bytes = encode(&h);
        assert_eq!(decode(&bytes), h);
        assert!(decode(&bytes[..bytes.len() - 1]).len() < 2);
        assert!(decode(&[]).is_empty());
        assert!(decode(&[9, 1, 2]).is_empty());
    }

    #[test]
    fn edits_wait_until_a_sync_is_noted_and_refused_documents_keep_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let ws = ws(dir.path());
        let before = ws.waiting(REMOTE, 5).unwrap();
        assert!(!before.synced_before);
        assert_eq!(before.docs, 4, "the four workspace documents made by init");
        ws.note_synced(REMOTE, &[]).unwrap();
        assert_eq!(ws.waiting(REMOTE, 5).unwrap().docs, 0);

        let add = |name: &str, at| {
            ws.add_customer(
                NewCustomer {
                    name: name.into(),
                    ..Default::default()
                },
                at,
            )
            .unwrap()
        };
        let a = add("甲公司", 2_000);
        let b = add("乙公司", 3_000);
        ws.add_contact(
            &a,
            fieldcrm_model::Contact {
                name: "张伟".into(),
                title: None,
                phone: None,
                email: None,
                created_at: 4_000,
            },
            4_000,
        )
        .unwrap();
        let w = ws.waiting(REMOTE, 1).unwrap();
        assert!(w.synced_before);
        assert_eq!(w.docs, 2);
        assert_eq!(w.changes, Some(3), "two creations and one edit");
        assert_eq!(w.latest.len(), 1);
        assert_eq!(w.latest[0].name, "甲公司", "the latest change first");
        assert_eq!(w.latest[0].changes, Some(2));
        // Another remote has acknowledged nothing.
        assert_eq!(ws.waiting("ws://elsewhere/", 0).unwrap().docs, 6);

        // 乙 was refused: it keeps waiting, 甲 went.
        ws.note_synced(REMOTE, std::slice::from_ref(&b)).unwrap();
        let w = ws.waiting(REMOTE, 5).unwrap();
        assert_eq!(w.docs, 1);
        assert_eq!(w.latest[0].id, b);
        ws.note_synced(REMOTE, &[]).unwrap();
        assert_eq!(
            ws.waiting(REMOTE, 5).unwrap(),
            Waiting {
                synced_before: true,
                changes: Some(0),
                ..Waiting::default()
            }
        );
    }

    #[test]
    fn a_record_of_every_documents_heads_from_before_the_log_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let ws = ws(dir.path());
        // An older version's record: every document's heads, one changed since.
        let a = ws
            .add_customer(
                NewCustomer {
                    name: "丙公司 🚜".into(),
                    ..Default::default()
                },
                2_000,
            )
            .unwrap();
        let mut all = ws.all_heads_map().unwrap();
        all.insert(a.clone(), vec![ChangeHash([3; 32])]);
        ws.store()
            .set_blob(&meta_key(REMOTE), &encode(&all))
            .unwrap();
        let w = ws.waiting(REMOTE, 5).unwrap();
        assert!(w.synced_before);
        assert_eq!(w.docs, 1);
        assert_eq!(w.latest[0].id, a);
        // Noting a sync with that record in place keeps a refused document waiting.
        ws.note_synced(REMOTE, std::slice::from_ref(&a)).unwrap();
        let w = ws.waiting(REMOTE, 5).unwrap();
        assert_eq!((w.docs, w.latest[0].id.clone()), (1, a));
        ws.note_synced(REMOTE, &[]).unwrap();
        assert_eq!(ws.waiting(REMOTE, 5).unwrap().docs, 0);
    }
}
