//! Derived values kept across the short-lived [`Workspace`] handles of one long-running
//! process (the web app opens the workspace per request): every document's policy
//! snapshot and the rule findings, valid while the store file is unchanged.
//!
//! Without a memo every request decodes every cached snapshot and runs the whole rule
//! check; with one, only the first request after a change (or, for findings, after a
//! minute, since time-based rules move with the clock) pays for it.
//!
//! The state of the store is identified by every document's heads (read in one
//! transaction), not by the file's modification time, whose coarse clock can miss a
//! second write in the same tick.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use fieldcrm_model::{Millis, Snapshot};
use fieldcrm_policy::Finding;

/// What identifies one state of the store: a hash of every document's ID and heads.
pub(crate) type Stamp = u64;

/// How long findings computed at one `now` are reused (time-based rules move with it).
const FINDINGS_FOR_MS: Millis = 60_000;

/// The cache; share one per workspace home with `Workspace::with_memo`.
#[derive(Debug, Default)]
pub struct Memo {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    snaps: Option<(Stamp, Arc<Vec<Snapshot>>)>,
    findings: Option<Checked>,
}

/// Findings, the time they were computed at, and the snapshots they were computed from.
#[derive(Debug)]
struct Checked {
    at: Millis,
    of: Arc<Vec<Snapshot>>,
    findings: Arc<Vec<Finding>>,
}

/// The store's current stamp, if it can be read.
pub(crate) fn stamp(store: &fieldcrm_store::Store) -> Option<Stamp> {
    let heads = store.all_heads().ok()?;
    let mut h = std::hash::DefaultHasher::new();
    for (id, hs) in &heads {
        id.as_str().hash(&mut h);
        for c in hs {
            c.0.hash(&mut h);
        }
    }
    Some(h.finish())
}

impl Memo {
    /// A new, empty memo.
    pub fn new() -> Self {
        Memo::default()
    }

    /// The snapshots kept for `stamp`, if any.
    pub(crate) fn snapshots(&self, at: Option<Stamp>) -> Option<Arc<Vec<Snapshot>>> {
        let at = at?;
        let state = self.state.lock().ok()?;
        match &state.snaps {
            Some((s, snaps)) if *s == at => Some(snaps.clone()),
            _ => None,
        }
    }

    /// Keep `snaps` as the state of the store at `stamp`.
    pub(crate) fn keep_snapshots(&self, at: Option<Stamp>, snaps: &Arc<Vec<Snapshot>>) {
        if let (Some(at), Ok(mut state)) = (at, self.state.lock()) {
            state.snaps = Some((at, snaps.clone()));
        }
    }

    /// All findings for exactly these snapshots, computed within the last minute of `now`.
    pub(crate) fn findings(
        &self,
        snaps: &Arc<Vec<Snapshot>>,
        now: Millis,
    ) -> Option<Arc<Vec<Finding>>> {
        let state = self.state.lock().ok()?;
        match &state.findings {
            Some(c)
                if Arc::ptr_eq(&c.of, snaps)
                    && (0..FINDINGS_FOR_MS).contains(&now.saturating_sub(c.at)) =>
            {
                Some(c.findings.clone())
            }
            _ => None,
        }
    }

    /// Keep `findings` as the rules' verdict on `snaps` at `now`.
    pub(crate) fn keep_findings(
        &self,
        snaps: &Arc<Vec<Snapshot>>,
        now: Millis,
        findings: &Arc<Vec<Finding>>,
    ) {
        if let Ok(mut state) = self.state.lock() {
            state.findings = Some(Checked {
                at: now,
                of: snaps.clone(),
                findings: findings.clone(),
            });
        }
    }
}
