//! Per-document rules. Each document is evaluated alone against the context; what the
//! cross-document rules need is extracted at the same time (see [`Extract`]).
//!
//! Every comparison with the evaluation time goes through [`Eval::reached`], which also
//! records the earliest future instant at which the document's findings could change
//! (its *wake* time). The engine re-evaluates a document only when the clock passes it.

pub(crate) mod channel;
pub(crate) mod common;
pub(crate) mod customer;
pub(crate) mod workspace;

use fieldcrm_model::{Body, Millis, Snapshot};

use crate::ctx::Ctx;
use crate::finding::{Finding, Severity};
use crate::rule::RuleId;

/// Evaluation state for one document.
pub(crate) struct Eval<'a> {
    pub ctx: &'a Ctx,
    pub snap: &'a Snapshot,
    pub now: Millis,
    /// Earliest future instant at which a time comparison would flip.
    pub wake: Millis,
    pub out: Vec<Finding>,
}

impl<'a> Eval<'a> {
    pub(crate) fn new(ctx: &'a Ctx, snap: &'a Snapshot, now: Millis) -> Self {
        Eval {
            ctx,
            snap,
            now,
            wake: Millis::MAX,
            out: Vec::new(),
        }
    }

    /// Whether `now >= t`; if not, `t` becomes a candidate wake time.
    pub(crate) fn reached(&mut self, t: Millis) -> bool {
        if self.now >= t {
            true
        } else {
            self.wake = self.wake.min(t);
            false
        }
    }

    /// Whether more than `window` has passed since `start`.
    pub(crate) fn overdue(&mut self, start: Millis, window: Millis) -> bool {
        self.reached(start.saturating_add(window).saturating_add(1))
    }

    /// The severity of a rule's findings, `None` if it is off.
    pub(crate) fn sev(&self, rule: RuleId) -> Option<Severity> {
        self.ctx.cfg.severity(rule)
    }

    pub(crate) fn date(&self, ms: Millis) -> String {
        self.ctx.date(ms)
    }

    /// Emit a finding about this document with the rule's configured severity.
    pub(crate) fn emit(
        &mut self,
        rule: RuleId,
        entity: Option<String>,
        zh: String,
        en: String,
        facts: serde_json::Value,
    ) {
        if let Some(sev) = self.sev(rule) {
            self.emit_sev(rule, sev, entity, zh, en, facts);
        }
    }

    /// Emit with an explicit severity.
    pub(crate) fn emit_sev(
        &mut self,
        rule: RuleId,
        sev: Severity,
        entity: Option<String>,
        zh: String,
        en: String,
        facts: serde_json::Value,
    ) {
        self.out.push(Finding::new(
            rule,
            sev,
            vec![self.snap.id.clone()],
            entity,
            zh,
            en,
            facts,
        ));
    }
}

/// What the cross-document rules need from one document.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) enum Extract {
    /// Nothing (workspace documents, tombstones).
    #[default]
    None,
    /// A customer file.
    Customer(customer::CustomerExtract),
    /// A channel record (boxed: larger than a customer's, and far rarer, so every
    /// held document's entry stays the size of a customer's).
    Channel(Box<channel::ChannelExtract>),
}

/// The result of evaluating one document.
#[derive(Debug, Clone, Default)]
pub(crate) struct DocEval {
    pub findings: Vec<Finding>,
    pub wake: Millis,
    pub extract: Extract,
}

/// Whether a document is a merged tombstone (ignored by every rule).
pub(crate) fn is_tombstone(snap: &Snapshot) -> bool {
    let m = match &snap.body {
        Body::Customer(c) => &c.merged_into,
        Body::Channel(c) => &c.merged_into,
        _ => return false,
    };
    m.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// Whether a customer file or channel record is archived.
fn is_archived(snap: &Snapshot) -> bool {
    match &snap.body {
        Body::Customer(c) => c.archived.is_some(),
        Body::Channel(c) => c.archived.is_some(),
        _ => false,
    }
}

/// Evaluate one customer or channel document (workspace documents are part of the
/// context and yield nothing here).
pub(crate) fn eval_doc(ctx: &Ctx, snap: &Snapshot, now: Millis) -> DocEval {
    if is_tombstone(snap) {
        return DocEval {
            wake: Millis::MAX,
            ..Default::default()
        };
    }
    if is_archived(snap)
        && matches!(
            ctx.check(snap, "archived", fieldcrm_model::Authority::Archive),
            crate::ctx::Auth::Ok(_)
        )
    {
        // Archived by someone who may: out of every rule until restored. An archive set
        // without the authority does not count (the record stays in the rules, and
        // DATA-AUTHORITY reports it).
        return DocEval {
            wake: Millis::MAX,
            ..Default::default()
        };
    }
    let mut e = Eval::new(ctx, snap, now);
    let extract = match &snap.body {
        Body::Customer(c) => Extract::Customer(customer::check(&mut e, c)),
        Body::Channel(c) => Extract::Channel(Box::new(channel::check(&mut e, c))),
        _ => Extract::None,
    };
    if !matches!(extract, Extract::None) {
        common::concurrent_edits(ctx, snap, &mut e.out);
        common::data_scope(&mut e);
    }
    DocEval {
        findings: e.out,
        wake: e.wake,
        extract,
    }
}
