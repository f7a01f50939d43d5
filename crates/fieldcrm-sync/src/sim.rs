//! Test support (feature `test-support`): an in-memory host of a signing device (it
//! signs the changes it makes and keeps every change's signature beside it, as the real
//! store does) and a simulated network that drops, duplicates and reorders messages.
//!
//! Not compiled into release builds and never fed peer or file input: its fixtures build
//! documents the tests control, and an `expect` here fails a test that set up a broken
//! scenario, which is what a test helper should do. Hence the module-wide allow below.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::{DeviceKey, DeviceSecret, DocId, Document, Signature};

use crate::session::{Host, LoadedDoc, SaveDoc, Session, SessionRole, Status};
use crate::{HostError, Items, Report, Scope, SyncError};

/// The test device secret number `n` (the secret key is 32 bytes of `n`).
pub fn secret(n: u8) -> DeviceSecret {
    DeviceSecret::from_bytes(&[n; 32]).expect("32 bytes")
}

/// The public key of [`secret`]`(n)`: a real device key, whose signatures verify.
pub fn device(n: u8) -> DeviceKey {
    secret(n).public()
}

/// A document as the in-memory host stores it: saved bytes, current heads, and the
/// signatures of its changes (beside them, as the real store keeps them).
#[derive(Debug, Clone)]
struct Stored {
    bytes: Vec<u8>,
    heads: Vec<ChangeHash>,
    sigs: BTreeMap<ChangeHash, Signature>,
}

/// An in-memory store of one signing device: saved bytes and signatures per document,
/// and a heads index.
#[derive(Debug, Clone)]
pub struct MemoryHost {
    secret: DeviceSecret,
    device: DeviceKey,
    docs: BTreeMap<DocId, Stored>,
    /// Make every save fail (to test that failures leave the store unchanged).
    pub fail_saves: bool,
    /// Transactions committed.
    pub commits: u64,
    /// Documents loaded.
    pub loads: u64,
    /// What this host names in its next session (documents it changed since its last
    /// finished one, as a real host reads from its change log): [`MemoryHost::edit`]
    /// adds to it, a finished [`sync_pair`] session empties it. Tests may set it to
    /// anything; wrong names cost bytes, never correctness.
    pub named: Vec<DocId>,
}

impl MemoryHost {
    /// An empty store of the device with this secret key.
    pub fn new(secret: DeviceSecret) -> Self {
        MemoryHost {
            device: secret.public(),
            secret,
            docs: BTreeMap::new(),
            fail_saves: false,
            commits: 0,
            loads: 0,
            named: Vec::new(),
        }
    }

    /// The device whose store this is.
    pub fn device(&self) -> DeviceKey {
        self.device
    }

    /// The secret key of the device whose store this is.
    pub fn secret(&self) -> &DeviceSecret {
        &self.secret
    }

    /// Store a document (replacing any stored one), signing every change this device
    /// made that has no signature yet. Signatures of other devices' changes are kept if
    /// already stored (see [`MemoryHost::copy_from`] to bring them along).
    pub fn put(&mut self, doc: &mut Document) {
        let heads = doc.heads();
        let bytes = doc.save();
        let sigs = self
            .docs
            .remove(doc.id())
            .map(|s| s.sigs)
            .unwrap_or_default();
        let sigs = self.sign_own(doc.automerge_mut(), sigs);
        self.docs
            .insert(doc.id().clone(), Stored { bytes, heads, sigs });
    }

    /// Store saved bytes of a document (keeping stored signatures and signing this
    /// device's unsigned changes, as [`MemoryHost::put`] does).
    pub fn put_bytes(&mut self, id: DocId, bytes: Vec<u8>) -> Result<(), HostError> {
        let mut doc = AutoCommit::load(&bytes).map_err(|e| HostError(e.to_string()))?;
        let heads = doc.get_heads();
        let sigs = self.docs.remove(&id).map(|s| s.sigs).unwrap_or_default();
        let sigs = self.sign_own(&mut doc, sigs);
        self.docs.insert(id, Stored { bytes, heads, sigs });
        Ok(())
    }

    /// Store a raw Automerge document as it is (whoever its actors are, for forgeries),
    /// keeping stored signatures and signing this device's unsigned changes.
    pub fn put_automerge(&mut self, id: DocId, doc: &mut AutoCommit) {
        let bytes = doc.save();
        self.put_bytes(id, bytes)
            .expect("a document just saved loads");
    }

    /// Copy a document with its signatures from another host (as a sync would).
    pub fn copy_from(&mut self, other: &MemoryHost, id: &DocId) {
        let s = other.docs.get(id).expect("document is stored there");
        let mut s = s.clone();
        if let Some(mine) = self.docs.get(id) {
            for (h, sig) in &mine.sigs {
                s.sigs.entry(*h).or_insert(*sig);
            }
        }
        self.docs.insert(id.clone(), s);
    }

    /// Set (or replace) the stored signature of one change (to forge or damage it).
    pub fn set_sig(&mut self, id: &DocId, hash: ChangeHash, sig: Signature) {
        let s = self.docs.get_mut(id).expect("document is stored");
        s.sigs.insert(hash, sig);
    }

    /// Forget the stored signature of one change.
    pub fn remove_sig(&mut self, id: &DocId, hash: &ChangeHash) {
        if let Some(s) = self.docs.get_mut(id) {
            s.sigs.remove(hash);
        }
    }

    /// The stored signatures of a document's changes.
    pub fn sigs(&self, id: &DocId) -> BTreeMap<ChangeHash, Signature> {
        self.docs
            .get(id)
            .map(|s| s.sigs.clone())
            .unwrap_or_default()
    }

    /// Every stored change whose stored signature is missing or does not verify under
    /// the device its actor ID names (empty for an honest store).
    pub fn bad_signatures(&self) -> Vec<(DocId, ChangeHash)> {
        let mut out = Vec::new();
        for (id, s) in &self.docs {
            let mut doc = AutoCommit::load(&s.bytes).expect("stored documents load");
            for m in doc.get_changes_meta(&[]) {
                if fieldcrm_model::sig::verify_change(&m.actor, &m.hash, s.sigs.get(&m.hash))
                    .is_err()
                {
                    out.push((id.clone(), m.hash));
                }
            }
        }
        out
    }

    fn sign_own(
        &self,
        doc: &mut AutoCommit,
        mut sigs: BTreeMap<ChangeHash, Signature>,
    ) -> BTreeMap<ChangeHash, Signature> {
        let me = self.device.actor();
        for m in doc.get_changes_meta(&[]) {
            if *m.actor == me && !sigs.contains_key(&m.hash) {
                sigs.insert(m.hash, self.secret.sign_change(&m.hash));
            }
        }
        sigs
    }

    /// The stored bytes of a document.
    pub fn bytes(&self, id: &DocId) -> Option<&[u8]> {
        self.docs.get(id).map(|s| s.bytes.as_slice())
    }

    /// A stored document, opened for editing by this device.
    pub fn document(&self, id: &DocId) -> Option<Document> {
        let s = self.docs.get(id)?;
        Document::load(id.clone(), &s.bytes, &self.device).ok()
    }

    /// Edit a stored document and store the result (the new changes signed).
    pub fn edit(&mut self, id: &DocId, f: impl FnOnce(&mut Document)) {
        let mut d = self.document(id).expect("document is stored");
        f(&mut d);
        self.put(&mut d);
        self.named.push(id.clone());
    }

    /// The heads index the session starts from.
    pub fn index(&self) -> Vec<(DocId, Vec<ChangeHash>)> {
        self.docs
            .iter()
            .map(|(id, s)| (id.clone(), s.heads.clone()))
            .collect()
    }

    /// Stored document IDs.
    pub fn ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Number of stored documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Every document's heads, for comparing replicas.
    pub fn heads(&self) -> BTreeMap<DocId, Vec<ChangeHash>> {
        self.docs
            .iter()
            .map(|(id, s)| (id.clone(), s.heads.clone()))
            .collect()
    }
}

impl Host for MemoryHost {
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
        self.loads += ids.len() as u64;
        Ok(ids
            .iter()
            .map(|id| LoadedDoc {
                id: id.clone(),
                bytes: self.docs.get(id).map(|s| s.bytes.clone()),
                sigs: self
                    .docs
                    .get(id)
                    .map(|s| s.sigs.iter().map(|(h, sig)| (*h, *sig)).collect())
                    .unwrap_or_default(),
            })
            .collect())
    }

    fn save(&mut self, docs: Vec<SaveDoc>) -> Result<(), HostError> {
        if self.fail_saves {
            return Err(HostError("disk full (simulated)".into()));
        }
        // Apply everything first, then commit all at once: one transaction.
        let mut staged: BTreeMap<DocId, Stored> = BTreeMap::new();
        for d in docs {
            let stored = match staged.get(&d.id).or_else(|| self.docs.get(&d.id)) {
                Some(s) => {
                    let mut doc =
                        AutoCommit::load(&s.bytes).map_err(|e| HostError(e.to_string()))?;
                    doc.load_incremental(&d.data)
                        .map_err(|e| HostError(format!("{}: {e}", d.id)))?;
                    let mut sigs = s.sigs.clone();
                    sigs.extend(d.sigs.iter().copied());
                    Stored {
                        heads: doc.get_heads(),
                        bytes: doc.save(),
                        sigs,
                    }
                }
                None => match d.whole_heads {
                    Some(heads) => Stored {
                        bytes: d.data,
                        heads,
                        sigs: d.sigs.iter().copied().collect(),
                    },
                    None => {
                        let mut doc =
                            AutoCommit::load(&d.data).map_err(|e| HostError(e.to_string()))?;
                        Stored {
                            heads: doc.get_heads(),
                            bytes: doc.save(),
                            sigs: d.sigs.iter().copied().collect(),
                        }
                    }
                },
            };
            staged.insert(d.id, stored);
        }
        for (id, s) in staged {
            self.docs.insert(id, s);
        }
        self.commits += 1;
        Ok(())
    }
}

/// A small deterministic RNG (splitmix64) so the library needs no `rand`.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}

/// Per-message fault probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Drop the message.
    pub drop: f64,
    /// Deliver it twice.
    pub duplicate: f64,
    /// Deliver it before the message queued ahead of it.
    pub reorder: f64,
}

impl Faults {
    /// A healed network.
    pub const NONE: Faults = Faults {
        drop: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
    };
}

/// What happened in one simulated session pair.
#[derive(Debug, Clone)]
pub struct PairOutcome {
    /// The initiator's final status.
    pub initiator: Status,
    /// The responder's final status.
    pub responder: Status,
    /// The initiator's error, if it failed.
    pub initiator_error: Option<SyncError>,
    /// The responder's error, if it failed.
    pub responder_error: Option<SyncError>,
    /// The initiator's counters.
    pub initiator_report: Report,
    /// The responder's counters.
    pub responder_report: Report,
    /// Round trips: runs of messages in one direction, halved and rounded up.
    pub round_trips: u64,
    /// Frames delivered (both ways).
    pub messages: u64,
    /// Bytes delivered (both ways).
    pub bytes: u64,
}

impl PairOutcome {
    /// Whether both sides finished.
    pub fn finished(&self) -> bool {
        self.initiator == Status::Finished && self.responder == Status::Finished
    }
}

/// A hook that sees every frame (`true` = sent by the initiator) and may change or drop it.
pub type Tamper<'a> = &'a mut dyn FnMut(bool, Vec<u8>) -> Option<Vec<u8>>;

/// Run one session between two hosts over a simulated network until both sides stop or
/// the network stalls (a dropped message: both sides then see the connection close, as a
/// transport's idle timeout would make them).
#[allow(clippy::too_many_arguments)]
pub fn sync_pair<SA: Scope, SB: Scope>(
    workspace: &str,
    a: &mut MemoryHost,
    scope_a: SA,
    b: &mut MemoryHost,
    scope_b: SB,
    faults: Faults,
    rng: &mut SimRng,
    tamper: Option<Tamper<'_>>,
) -> PairOutcome {
    let (items_a, items_b) = (
        Items::build(&scope_a, a.index()),
        Items::build(&scope_b, b.index()),
    );
    let (named_a, named_b) = (a.named.clone(), b.named.clone());
    let mut sa = Session::with_recent(SessionRole::Initiator, workspace, scope_a, items_a, named_a);
    let mut sb = Session::with_recent(SessionRole::Responder, workspace, scope_b, items_b, named_b);
    let mut tamper = tamper;
    let mut to_b: VecDeque<Vec<u8>> = VecDeque::new();
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut messages, mut bytes, mut runs) = (0u64, 0u64, 0u64);
    let mut last_dir: Option<bool> = None;
    let mut steps = 0u64;
    loop {
        steps += 1;
        for (from_a, frames) in [(true, sa.run_host(a)), (false, sb.run_host(b))] {
            let q = if from_a { &mut to_b } else { &mut to_a };
            for f in frames {
                let f = match tamper.as_mut() {
                    Some(t) => match t(from_a, f) {
                        Some(f) => f,
                        None => continue,
                    },
                    None => f,
                };
                if rng.chance(faults.drop) {
                    continue;
                }
                let dup = rng.chance(faults.duplicate);
                if rng.chance(faults.reorder) && !q.is_empty() {
                    let at = q.len() - 1;
                    q.insert(at, f.clone());
                } else {
                    q.push_back(f.clone());
                }
                if dup {
                    q.push_back(f);
                }
            }
        }
        let running = sa.status() == Status::Running || sb.status() == Status::Running;
        let deliver_a_first = rng.next_u64() & 1 == 0;
        let mut delivered = false;
        for to_a_side in [deliver_a_first, !deliver_a_first] {
            let (q, s_is_a) = if to_a_side {
                (&mut to_a, true)
            } else {
                (&mut to_b, false)
            };
            if let Some(f) = q.pop_front() {
                delivered = true;
                messages += 1;
                bytes += f.len() as u64;
                let dir = !s_is_a;
                if last_dir != Some(dir) {
                    runs += 1;
                    last_dir = Some(dir);
                }
                if s_is_a {
                    sa.receive(&f);
                } else {
                    sb.receive(&f);
                }
            }
        }
        if !delivered {
            if running {
                // Stalled: the transports time out.
                sa.closed();
                sb.closed();
            }
            break;
        }
        assert!(steps < 1_000_000, "simulated session did not end");
    }
    // Carry out anything the failure paths queued (error frames go nowhere now).
    sa.run_host(a);
    sb.run_host(b);
    for (host, s) in [(&mut *a, sa.status()), (&mut *b, sb.status())] {
        if s == Status::Finished {
            host.named.clear();
        }
    }
    PairOutcome {
        initiator: sa.status(),
        responder: sb.status(),
        initiator_error: sa.error().cloned(),
        responder_error: sb.error().cloned(),
        initiator_report: sa.report().clone(),
        responder_report: sb.report().clone(),
        round_trips: runs.div_ceil(2),
        messages,
        bytes,
    }
}

/// Generated workspaces of realistic customer files.
pub mod fixtures {
    use fieldcrm_model::{
        Contact, Customer, CustomerClass, DeviceKey, DocId, Document, Interaction, InteractionKind,
        Millis, hex,
    };

    use super::{MemoryHost, SimRng, secret};

    /// The host of test device `n_device` holding `n` generated customer files of rep1.
    pub fn host_with(rng: &mut SimRng, n_device: u8, n: usize) -> MemoryHost {
        let mut h = MemoryHost::new(secret(n_device));
        let device = h.device();
        for i in 0..n {
            let mut d = customer(rng, &device, "rep1", 1_000 + i as i64);
            h.put(&mut d);
        }
        h
    }

    const COMPANIES: &[&str] = &[
        "华东机械有限公司",
        "江南精密仪器厂",
        "北方重工集团",
        "深圳创新电子科技",
        "成都天府食品有限公司",
        "武汉光谷医疗器械",
    ];
    const PEOPLE: &[&str] = &["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏"];
    const NOTES: &[&str] = &[
        "拜访采购部，讨论明年框架协议，对方希望价格下调 5%",
        "电话跟进样品测试结果，技术部反馈良好",
        "参加客户年度供应商大会，介绍新产品线",
        "处理交货延迟问题，承诺下周三前补发",
        "与财务确认回款计划，预计月底到账",
    ];

    /// A random document ID from the RNG (deterministic per seed).
    pub fn doc_id(rng: &mut SimRng) -> DocId {
        entity(rng).parse().expect("32 hex digits")
    }

    /// A random entity ID from the RNG.
    pub fn entity(rng: &mut SimRng) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        hex(&b)
    }

    fn pick<'a>(rng: &mut SimRng, xs: &[&'a str]) -> &'a str {
        let i = rng.next_u64() % xs.len().max(1) as u64;
        xs.get(i as usize).copied().unwrap_or_default()
    }

    fn contact(rng: &mut SimRng, now: Millis) -> Contact {
        Contact {
            name: pick(rng, PEOPLE).into(),
            title: Some("采购经理".into()),
            phone: Some(format!("138{:08}", rng.next_u64() % 100_000_000)),
            email: None,
            created_at: now,
        }
    }

    fn interaction(rng: &mut SimRng, now: Millis, by: &str) -> Interaction {
        let kind = match rng.next_u64() % 4 {
            0 => InteractionKind::Visit,
            1 => InteractionKind::Call,
            2 => InteractionKind::Email,
            _ => InteractionKind::Meeting,
        };
        Interaction {
            kind,
            occurred_at: now - 3_600_000,
            recorded_at: now,
            summary: pick(rng, NOTES).into(),
            by: by.into(),
            contact: None,
        }
    }

    /// A customer file owned by `owner` with 2–4 contacts and 2–4 interactions, created
    /// in one change by `device`.
    pub fn customer(rng: &mut SimRng, device: &DeviceKey, owner: &str, now: Millis) -> Document {
        let mut c = Customer::new(pick(rng, COMPANIES), now);
        c.owner = Some(owner.into());
        c.team = Some("east".into());
        c.region = Some("华东".into());
        c.class = Some(CustomerClass::General);
        for _ in 0..2 + rng.next_u64() % 3 {
            c.contacts.insert(entity(rng), contact(rng, now));
        }
        for _ in 0..2 + rng.next_u64() % 3 {
            c.interactions
                .insert(entity(rng), interaction(rng, now, owner));
        }
        Document::create(doc_id(rng), device, now, &c, "new customer").expect("valid customer")
    }

    /// A typical edit of a day in the field: record a visit, add a contact, change the
    /// class or a value, or (concurrently with others) rename. Committed as one change
    /// (an edit that would change nothing is retried with another one).
    pub fn edit(rng: &mut SimRng, doc: &mut Document, by: &str, now: Millis) {
        while !try_edit(rng, doc, by, now) {}
    }

    fn try_edit(rng: &mut SimRng, doc: &mut Document, by: &str, now: Millis) -> bool {
        match rng.next_u64() % 6 {
            0 | 1 => {
                let i = interaction(rng, now, by);
                doc.put(&["interactions", &entity(rng)], &i)
                    .expect("interactions map");
            }
            2 => {
                let c = contact(rng, now);
                doc.put(&["contacts", &entity(rng)], &c)
                    .expect("contacts map");
            }
            3 => {
                let class = match rng.next_u64() % 3 {
                    0 => CustomerClass::Key,
                    1 => CustomerClass::General,
                    _ => CustomerClass::Potential,
                };
                doc.put(&["class"], &Some(class)).expect("class");
            }
            4 => {
                let v = (rng.next_u64() % 1_000_000) as i64 * 100;
                doc.put(&["annual_value"], &Some(v)).expect("annual value");
            }
            _ => {
                let name = format!("{}（{}）", pick(rng, COMPANIES), rng.next_u64() % 100);
                doc.put(&["name"], &name).expect("name");
            }
        }
        doc.commit(now, "edit").is_some()
    }
}
