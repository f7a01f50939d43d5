//! The incremental engine: per-document findings, cross-document indexes, and re-checks
//! that cost O(changed documents + the index keys they touch).
//!
//! What makes a document's findings change:
//! - the document itself (re-evaluated when it is passed to [`Engine::update`]);
//! - the context (roster, catalog, policy settings): any change to one of them
//!   re-evaluates everything, since roles, allowances and parameters feed every rule;
//! - the Sales document: its reports feed the workspace findings, recomputed on every
//!   change, and its claims the 撞单 notices, recomputed for the customer files that hold
//!   a key of a claim that changed (`claims.rs`);
//! - the clock: each evaluation records the earliest future instant at which one of its
//!   time comparisons would flip (its wake time); when `now` passes it, the document is
//!   re-evaluated. Moving `now` backwards re-evaluates everything.
//!
//! Cross-document findings are kept per pair of documents (CUST-DUPLICATE,
//! CHANNEL-TERRITORY-CONFLICT) or per customer (CHANNEL-UNAUTHORIZED-SALE), and
//! recomputed only for pairs and customers that involve a changed document, found through
//! hash indexes keyed by normalised credit code / name / phone / email, by (region,
//! product line), and by channel ID.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

use fieldcrm_model::{Body, DeviceKey, DocId, Millis, Snapshot};

use crate::claims::Hash;
use crate::config::{Config, ConfigError};
use crate::ctx::{Ctx, WsDocs, roster_id, sales_doc, workspace_static_findings};
use crate::finding::{Finding, sort_findings};
use crate::rules::channel::ChannelExtract;
use crate::rules::customer::CustomerExtract;
use crate::rules::{DocEval, Extract, workspace};

mod claim_table;
mod claims;
mod cross;
mod lean;
mod saved;

pub use lean::Loader;
pub use saved::SavedEngine;

/// A small, fast, deterministic hasher (FxHash) for the engine's internal maps; their
/// iteration order never reaches the output (findings are sorted).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        // Final avalanche (murmur3 fmix64), so keys that differ only in their last bytes
        // (IDs with a common prefix) still spread over the low bits hash tables use.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fx>>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<Fx>>;

struct Entry<S> {
    /// The snapshot: always held, unless the engine is lean ([`Engine::lean`]); then
    /// only from when it is given until it is evaluated.
    snap: Option<S>,
    eval: DocEval,
    /// A customer file or channel record (every held document is one, tombstones too).
    record: bool,
    /// The file's own claim material from its last evaluation, until the claim state
    /// takes it (the snapshot may be gone by then).
    own: Option<Box<claims::Own>>,
}

impl<S> Entry<S> {
    fn new(snap: Option<S>) -> Self {
        Entry {
            snap,
            eval: DocEval::default(),
            record: true,
            own: None,
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recheck {
    /// Whether everything was re-evaluated (context changed, first run, clock moved back).
    pub full: bool,
    /// How many documents were evaluated.
    pub evaluated: usize,
}

/// The incremental rule engine over snapshots `S` (owned [`Snapshot`]s, or `&Snapshot`).
pub struct Engine<S = Snapshot> {
    base: Config,
    /// Whether each document's snapshot is kept after it is evaluated.
    retain: bool,
    /// Whether a lean engine's loader reads the next batch on its own thread while this
    /// one is evaluated ([`Engine::reading_ahead`]).
    ahead: bool,
    /// A lean engine's way to keep the Sales document without its claims once they
    /// are counted (they are most of it: 100,000 claims are hundreds of megabytes).
    slim: Option<fn(&Snapshot) -> S>,
    /// Whether the Sales document held is without its claims (read again before they
    /// are counted again).
    sales_slim: bool,
    holder: Option<String>,
    ws: WsDocs<S>,
    ctx: Ctx,
    now: Option<Millis>,
    docs: HashMap<DocId, Entry<S>>,
    wake_queue: BTreeMap<Millis, Vec<DocId>>,
    ws_findings: Vec<Finding>,
    ws_wake: Millis,
    x: Cross,
}

/// Cross-document indexes and findings.
#[derive(Default)]
struct Cross {
    /// Hash of a normalised duplicate key → customer files holding it (their IDs' 16
    /// bytes: 300,000 entries at 100,000 customers, made again at every restore, with
    /// no string to copy). Keys are compared for real when a pair is examined, so a
    /// hash collision never makes a finding.
    dup_index: HashMap<u64, Vec<Hash>>,
    /// Hash of a normalised (region, product line) → (channel, territory ID).
    territory_index: HashMap<u64, Vec<(DocId, String)>>,
    /// Channel ID (as written in orders) → customer files with orders through it.
    orders_by_channel: HashMap<String, HashSet<DocId>>,
    /// Findings about a pair of documents (smaller ID first).
    pairs: HashMap<(DocId, DocId), Vec<Finding>>,
    partners: HashMap<DocId, HashSet<DocId>>,
    /// CHANNEL-UNAUTHORIZED-SALE findings by customer file.
    sale_findings: HashMap<DocId, Vec<Finding>>,
    /// Claims and the 撞单 notices (CUST-DUPLICATE on a rep's own file).
    claims: claims::ClaimState,
}

fn key_hash<T: std::hash::Hash + ?Sized>(t: &T) -> u64 {
    let mut h = Fx::default();
    t.hash(&mut h);
    h.finish()
}

impl Cross {
    fn index(&mut self, id: &DocId, extract: &Extract) {
        match extract {
            Extract::Customer(c) => {
                // Every document ID is 32 lowercase hex.
                if let Some(bytes) = fieldcrm_model::hex16(id.as_str()) {
                    for k in &c.keys {
                        self.dup_index.entry(key_hash(k)).or_default().push(bytes);
                    }
                }
                for o in &c.orders {
                    self.orders_by_channel
                        .entry(o.channel.clone())
                        .or_default()
                        .insert(id.clone());
                }
            }
            Extract::Channel(ch) => {
                for t in &ch.territories {
                    self.territory_index
                        .entry(key_hash(&t.key))
                        .or_default()
                        .push((id.clone(), t.id.clone()));
                }
            }
            Extract::None => {}
        }
    }

    fn unindex(&mut self, id: &DocId, extract: &Extract) {
        match extract {
            Extract::Customer(c) => {
                let bytes = fieldcrm_model::hex16(id.as_str());
                for k in &c.keys {
                    let h = key_hash(k);
                    if let Some(v) = self.dup_index.get_mut(&h) {
                        v.retain(|x| Some(*x) != bytes);
                        if v.is_empty() {
                            self.dup_index.remove(&h);
                        }
                    }
                }
                for o in &c.orders {
                    if let Some(v) = self.orders_by_channel.get_mut(&o.channel) {
                        v.remove(id);
                        if v.is_empty() {
                            self.orders_by_channel.remove(&o.channel);
                        }
                    }
                }
                self.sale_findings.remove(id);
            }
            Extract::Channel(ch) => {
                for t in &ch.territories {
                    let h = key_hash(&t.key);
                    if let Some(v) = self.territory_index.get_mut(&h) {
                        v.retain(|(x, _)| x != id);
                        if v.is_empty() {
                            self.territory_index.remove(&h);
                        }
                    }
                }
            }
            Extract::None => {}
        }
        if let Some(ps) = self.partners.remove(id) {
            for p in ps {
                self.pairs.remove(&ordered(id, &p));
                if let Some(back) = self.partners.get_mut(&p) {
                    back.remove(id);
                }
            }
        }
    }
}

impl<S: Borrow<Snapshot> + Send> Engine<S> {
    /// An empty engine with a base configuration (defaults or a company TOML file); the
    /// workspace's policy-settings document, once given, overrides it.
    pub fn new(config: Config) -> Self {
        let ws = WsDocs::default();
        let ctx = Ctx::build(&config, &ws, None);
        Engine {
            base: config,
            retain: true,
            ahead: true,
            slim: None,
            sales_slim: false,
            holder: None,
            ws,
            ctx,
            now: None,
            docs: HashMap::default(),
            wake_queue: BTreeMap::new(),
            ws_findings: Vec::new(),
            ws_wake: Millis::MAX,
            x: Cross::default(),
        }
    }

    /// Check the replica held by `device` (enables DATA-SCOPE).
    pub fn with_holder(mut self, device: &DeviceKey) -> Self {
        self.holder = Some(device.to_hex());
        self.ctx = Ctx::build(&self.base, &self.ws, self.holder.as_deref());
        self.now = None;
        self
    }

    /// Whether `id` is a customer file or channel record the engine holds.
    pub fn is_record(&self, id: &DocId) -> bool {
        self.docs.get(id).is_some_and(|e| e.record)
    }

    /// The workspace documents held (roster, catalog, policy settings, Sales).
    pub fn workspace_docs(&self) -> impl Iterator<Item = &S> {
        [
            &self.ws.roster,
            &self.ws.catalog,
            &self.ws.policy,
            &self.ws.sales,
        ]
        .into_iter()
        .flatten()
    }

    /// The effective configuration (base plus the policy-settings overrides that count).
    pub fn config(&self) -> &Config {
        &self.ctx.cfg
    }

    /// Overrides in the policy-settings document that could not be applied.
    pub fn config_errors(&self) -> &[ConfigError] {
        &self.ctx.config_errors
    }

    /// Number of documents held (workspace documents excluded).
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no customer or channel document is held.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Apply a sync: `changed` documents (new or updated snapshots), `removed` document IDs,
    /// at evaluation time `now`. Costs O(changed + touched index keys) unless a workspace
    /// document changed or `now` moved backwards.
    pub fn update<I: IntoIterator<Item = S>>(
        &mut self,
        changed: I,
        removed: &[DocId],
        now: Millis,
    ) -> Recheck {
        self.run(changed, &[], removed, now, &mut |_| Vec::new())
    }

    /// Apply a sync given by IDs: the documents `changed` (new or updated) and
    /// `removed`, at `now`. `load` gives the snapshots of the IDs it is asked for, a
    /// batch at a time; a document it does not give back is taken as gone. The
    /// workspace documents among `changed` are asked for first, so that every other one
    /// is evaluated in the context they make. What a lean engine needs again (documents
    /// whose wake time came, or all of them when the context changed) is asked for too.
    pub fn update_from(
        &mut self,
        changed: &[DocId],
        removed: &[DocId],
        now: Millis,
        load: &mut Loader<'_, S>,
    ) -> Recheck {
        let (ws, rest): (Vec<DocId>, Vec<DocId>) =
            changed.iter().cloned().partition(DocId::is_workspace);
        let ws = if ws.is_empty() { Vec::new() } else { load(&ws) };
        self.run(ws, &rest, removed, now, load)
    }

    fn run<I: IntoIterator<Item = S>>(
        &mut self,
        changed: I,
        to_load: &[DocId],
        removed: &[DocId],
        now: Millis,
        load: &mut Loader<'_, S>,
    ) -> Recheck {
        let mut ctx_dirty = false;
        let mut sales_dirty = false;
        let mut dirty: HashSet<DocId> = HashSet::default();
        let mut gone_channels: Vec<DocId> = Vec::new();
        for id in removed {
            let was_sales = sales_doc(&self.ws).is_some_and(|(s, _)| s == id);
            if self.ws.remove(id) {
                ctx_dirty |= !was_sales;
                sales_dirty |= was_sales;
            } else if let Some(old) = self.docs.remove(id) {
                if matches!(old.eval.extract, Extract::Channel(_)) {
                    gone_channels.push(id.clone());
                }
                self.x.unindex(id, &old.eval.extract);
                dirty.insert(id.clone());
            }
        }
        for s in changed {
            let is_sales = matches!(s.borrow().body, Body::Sales(_));
            let Some(s) = self.ws.slot(s) else {
                // The context does not read the Sales document (see the module docs).
                ctx_dirty |= !is_sales;
                sales_dirty |= is_sales;
                self.sales_slim &= !is_sales;
                continue;
            };
            let id = s.borrow().id.clone();
            if let Some(old) = self.docs.insert(id.clone(), Entry::new(Some(s))) {
                self.x.unindex(&id, &old.eval.extract);
            }
            dirty.insert(id);
        }
        for id in to_load {
            if dirty.contains(id) {
                continue;
            }
            if let Some(old) = self.docs.insert(id.clone(), Entry::new(None)) {
                self.x.unindex(id, &old.eval.extract);
            }
            dirty.insert(id.clone());
        }

        let full = ctx_dirty || self.now.is_none_or(|prev| now < prev);
        if ctx_dirty {
            self.ctx = Ctx::build(&self.base, &self.ws, self.holder.as_deref());
        }
        self.now = Some(now);
        if full {
            return self.rebuild(now, load);
        }

        // Documents whose wake time has come.
        let due: Vec<Millis> = self.wake_queue.range(..=now).map(|(t, _)| *t).collect();
        for t in due {
            for id in self.wake_queue.remove(&t).unwrap_or_default() {
                if dirty.contains(&id) {
                    continue;
                }
                if let Some(e) = self.docs.get(&id)
                    && e.eval.wake <= now
                {
                    self.x.unindex(&id, &e.eval.extract);
                    dirty.insert(id);
                }
            }
        }
        let changed_keys = if sales_dirty {
            self.reload_claims()
        } else {
            HashSet::default()
        };
        if self.ws_wake <= now || sales_dirty {
            self.workspace_findings(now);
        }

        let ids: Vec<DocId> = dirty.iter().cloned().collect();
        let (evaluated, gone) = self.evaluate_all(&ids, now, load);
        gone_channels.extend(gone);
        self.cross(Some(&dirty), &gone_channels);
        self.claims_update(Some(&dirty), &changed_keys);
        Recheck {
            full: false,
            evaluated,
        }
    }

    /// Every finding, in the canonical order.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self.ws_findings.clone();
        for e in self.docs.values() {
            out.extend(e.eval.findings.iter().cloned());
        }
        for f in self.x.pairs.values() {
            out.extend(f.iter().cloned());
        }
        for f in self.x.sale_findings.values() {
            out.extend(f.iter().cloned());
        }
        for f in self.x.claims.notices.values() {
            out.extend(f.iter().cloned());
        }
        sort_findings(&mut out);
        out
    }

    /// The findings that name document `id` (its own, and cross-document ones it is part
    /// of), in the canonical order.
    pub fn findings_for(&self, id: &DocId) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .ws_findings
            .iter()
            .filter(|f| f.doc_ids.contains(id))
            .cloned()
            .collect();
        if let Some(e) = self.docs.get(id) {
            out.extend(e.eval.findings.iter().cloned());
        }
        for p in self.x.partners.get(id).into_iter().flatten() {
            if let Some(f) = self.x.pairs.get(&ordered(id, p)) {
                out.extend(f.iter().cloned());
            }
        }
        if let Some(f) = self.x.sale_findings.get(id) {
            out.extend(f.iter().cloned());
        }
        if let Some(f) = self.x.claims.notices.get(id) {
            out.extend(f.iter().cloned());
        }
        // Sales through this channel, recorded on customers.
        for c in self
            .x
            .orders_by_channel
            .get(id.as_str())
            .into_iter()
            .flatten()
        {
            if let Some(f) = self.x.sale_findings.get(c) {
                out.extend(f.iter().filter(|f| f.doc_ids.contains(id)).cloned());
            }
        }
        sort_findings(&mut out);
        out
    }

    /// Every finding, in the canonical order, consuming the engine (no copies).
    pub fn into_findings(self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self.ws_findings;
        for (_, e) in self.docs {
            out.extend(e.eval.findings);
        }
        for (_, f) in self.x.pairs {
            out.extend(f);
        }
        for (_, f) in self.x.sale_findings {
            out.extend(f);
        }
        for (_, f) in self.x.claims.notices {
            out.extend(f);
        }
        sort_findings(&mut out);
        out
    }

    /// How many findings there are (without collecting them).
    pub fn finding_count(&self) -> usize {
        self.ws_findings.len()
            + self
                .docs
                .values()
                .map(|e| e.eval.findings.len())
                .sum::<usize>()
            + self.x.pairs.values().map(Vec::len).sum::<usize>()
            + self.x.sale_findings.values().map(Vec::len).sum::<usize>()
            + self.x.claims.notices.values().map(Vec::len).sum::<usize>()
    }

    fn rebuild(&mut self, now: Millis, load: &mut Loader<'_, S>) -> Recheck {
        self.wake_queue.clear();
        self.x = Cross::default();
        if self.sales_slim
            && let Some(id) = self.ws.sales.as_ref().map(|s| s.borrow().id.clone())
        {
            // Its claims are counted again: the whole document, read again.
            self.ws.sales = None;
            for s in load(std::slice::from_ref(&id)) {
                let _ = self.ws.slot(s);
            }
            self.sales_slim = false;
        }
        let changed_keys = self.reload_claims();
        self.workspace_findings(now);
        let ids: Vec<DocId> = self.docs.keys().cloned().collect();
        let (evaluated, _) = self.evaluate_all(&ids, now, load);
        self.cross(None, &[]);
        self.claims_update(None, &changed_keys);
        Recheck {
            full: true,
            evaluated,
        }
    }

    /// Count the Sales document's claims again (before any document is evaluated, so a
    /// lean engine holds the Sales document without them from then on); the key hashes
    /// of the claims that changed.
    fn reload_claims(&mut self) -> HashSet<crate::claims::Hash> {
        let sales = self.ws.sales.as_ref().map(Borrow::borrow);
        let changed = self.x.claims.reload(&self.ctx, sales);
        if let (Some(slim), Some(s)) = (self.slim, self.ws.sales.as_ref())
            && !self.sales_slim
        {
            self.ws.sales = Some(slim(s.borrow()));
            self.sales_slim = true;
        }
        changed
    }

    fn workspace_findings(&mut self, now: Millis) {
        let mut out = Vec::new();
        workspace_static_findings(&self.ctx, &self.ws, &mut out);
        let (sales_id, sales) = match sales_doc(&self.ws) {
            Some((id, s)) => (Some(id.clone()), Some(s)),
            None => (None, None),
        };
        let doc = sales_id.or_else(|| roster_id(&self.ws).cloned());
        self.ws_wake = workspace::sales_reports(&self.ctx, doc.as_ref(), sales, now, &mut out);
        self.ws_findings = out;
    }

    fn customer(&self, id: &DocId) -> Option<&CustomerExtract> {
        match &self.docs.get(id)?.eval.extract {
            Extract::Customer(c) => Some(c),
            _ => None,
        }
    }

    fn channel(&self, id: &DocId) -> Option<&ChannelExtract> {
        match &self.docs.get(id)?.eval.extract {
            Extract::Channel(c) => Some(c),
            _ => None,
        }
    }

    /// Recompute cross-document findings involving the dirty documents (`None`: all).
    fn cross(&mut self, dirty: Option<&HashSet<DocId>>, gone_channels: &[DocId]) {
        let mut new_pairs: Vec<((DocId, DocId), Finding)> = Vec::new();
        let mut sale_customers: HashSet<DocId> = HashSet::default();
        let mut visit = |d: &DocId, extract: Option<&Extract>| match extract {
            Some(Extract::Customer(c)) => {
                if !c.orders.is_empty() {
                    sale_customers.insert(d.clone());
                }
                self.duplicates_of(d, c, dirty, &mut new_pairs);
            }
            Some(Extract::Channel(ch)) => {
                self.territory_conflicts_of(d, ch, dirty, &mut new_pairs);
                if let Some(cs) = self.x.orders_by_channel.get(d.as_str()) {
                    sale_customers.extend(cs.iter().cloned());
                }
            }
            _ => {
                // A removed document, or one that is now a tombstone: customers that
                // referenced it as their channel need a re-check.
                if let Some(cs) = self.x.orders_by_channel.get(d.as_str()) {
                    sale_customers.extend(cs.iter().cloned());
                }
            }
        };
        match dirty {
            None => {
                for (d, e) in &self.docs {
                    visit(d, Some(&e.eval.extract));
                }
            }
            Some(set) => {
                for d in set {
                    visit(d, self.docs.get(d).map(|e| &e.eval.extract));
                }
                // Customers whose orders point at a removed channel.
                for g in gone_channels {
                    visit(g, None);
                }
            }
        }
        // (A dirty customer that no longer has orders lost its sale findings in `unindex`.)
        for (pair, f) in new_pairs {
            self.x
                .partners
                .entry(pair.0.clone())
                .or_default()
                .insert(pair.1.clone());
            self.x
                .partners
                .entry(pair.1.clone())
                .or_default()
                .insert(pair.0.clone());
            self.x.pairs.entry(pair).or_default().push(f);
        }
        for c in sale_customers {
            let findings = self.unauthorized_sales(&c);
            if findings.is_empty() {
                self.x.sale_findings.remove(&c);
            } else {
                self.x.sale_findings.insert(c, findings);
            }
        }
    }
}

fn ordered(a: &DocId, b: &DocId) -> (DocId, DocId) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// Check a set of documents at `now`: every rule except DATA-SCOPE (which needs to know
/// whose device holds them; see [`check_device`]). Findings are in canonical order.
/// Sign-offs copied by a duplicate merge keep their real author
/// ([`crate::carry_merged_provenance`]).
pub fn check(docs: &[Snapshot], config: &Config, now: Millis) -> Vec<Finding> {
    let docs = crate::carry::carry_merged_provenance(docs);
    let mut e: Engine<&Snapshot> = Engine::new(config.clone());
    e.update(docs.iter(), &[], now);
    e.into_findings()
}

/// Check the documents held by `device` at `now`, including DATA-SCOPE.
pub fn check_device(
    docs: &[Snapshot],
    config: &Config,
    now: Millis,
    device: &DeviceKey,
) -> Vec<Finding> {
    let docs = crate::carry::carry_merged_provenance(docs);
    let mut e: Engine<&Snapshot> = Engine::new(config.clone()).with_holder(device);
    e.update(docs.iter(), &[], now);
    e.into_findings()
}

/// Whether a snapshot is one of the workspace singleton documents.
pub fn is_workspace_doc(s: &Snapshot) -> bool {
    !matches!(s.body, Body::Customer(_) | Body::Channel(_))
}
