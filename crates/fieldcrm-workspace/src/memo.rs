//! Derived values kept across the short-lived [`Workspace`](crate::Workspace) handles of
//! one long-running process (the web app opens the workspace per request): every
//! document's policy snapshot, the rule findings and their life, the summary index, the
//! name-search index, and the pages' views — valid while the store is unchanged.
//!
//! Without a memo every request decodes every cached snapshot and runs the whole rule
//! check; with one, only the first request after a change (or, for what depends on the
//! clock, after a minute, since time-based rules move with it) pays for it.
//!
//! The state of the store is identified by its generation (one meta row every
//! document-writing transaction moves on, by this process or another) and the identity
//! of the file (a restored backup is another file): one read, where hashing every
//! document's heads cost 100 ms at 100,000 documents on every request.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use fieldcrm_model::{DeviceKey, Millis};
use fieldcrm_policy::{Config, Finding, Tracked, track};
use fieldcrm_store::{Listed, Store};

use crate::lean::Lean;
use crate::live::{Live, Snapshots};
use crate::{Result, RowSearch};

/// What identifies one state of the store.
pub(crate) type Stamp = u64;

/// How long values computed at one `now` are reused (time-based rules move with it).
const FOR_MS: Millis = 60_000;

/// How many views are kept at once (a page's view per kind; a few kinds exist).
const MAX_VIEWS: usize = 32;

/// The cache; share one per workspace home with `Workspace::with_memo`.
#[derive(Debug, Default)]
pub struct Memo {
    state: Mutex<State>,
    /// The lean engine reads one batch of snapshots at a time instead of the next one
    /// ahead on a thread of its own (see `Engine::reading_ahead`): for a long-running
    /// process, whose memory matters more than a first call's time.
    one_batch_at_a_time: bool,
    /// The lean engine's state is neither read from nor saved beside the store (see
    /// `lean_state.rs`): for a long-running process, which keeps it in memory.
    in_memory_only: bool,
    /// What a sync read of the Sales document on its saving thread (its claims, or the
    /// document as the store wrote the sync's changes to it), for the claims backfill
    /// after it.
    sales_reading: Mutex<Option<crate::claims::SalesReading>>,
}

#[derive(Default)]
struct State {
    live: Option<Live>,
    lean: Option<Lean>,
    findings: Option<Checked>,
    rows: Option<(Stamp, Arc<Vec<Listed>>)>,
    search: Option<(Stamp, Arc<RowSearch>)>,
    views: HashMap<String, View>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field(
                "snaps",
                &self.live.as_ref().map(|l| (l.stamp, l.snaps.len())),
            )
            .field("views", &self.views.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Findings, the time they were computed at, the snapshots they were computed from, and
/// their life (statuses) once asked for.
#[derive(Debug)]
struct Checked {
    at: Millis,
    of: Snapshots,
    findings: Arc<Vec<Finding>>,
    tracked: Option<Arc<Vec<Tracked>>>,
}

/// A page's view: computed from the store at `stamp`, at clock time `at`.
struct View {
    stamp: Stamp,
    at: Millis,
    value: Arc<dyn Any + Send + Sync>,
}

/// Whether a value computed at clock time `at` still holds at `now`.
pub(crate) fn fresh(at: Millis, now: Millis) -> bool {
    (0..FOR_MS).contains(&now.saturating_sub(at))
}

/// The store's current stamp, if it can be read.
pub(crate) fn stamp(store: &fieldcrm_store::Store) -> Option<Stamp> {
    let generation = store.generation().ok()?;
    let mut h = std::hash::DefaultHasher::new();
    generation.hash(&mut h);
    file_identity(store.path()).hash(&mut h);
    Some(h.finish())
}

/// Which file is at `path` (device and inode), so a store replaced by another file with
/// the same generation is not taken for the same state.
#[cfg(unix)]
fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.created()).ok()
}

/// Where findings come from: the snapshots kept for the pages (the app), or a lean engine.
enum Held<'s> {
    Live(&'s mut Checked, Snapshots),
    Lean(&'s mut Lean),
}

/// The findings at `at` and `now`, up to date: from the snapshots kept for the pages
/// when they are kept (the app), else from a lean engine ([`Lean`]), which keeps only
/// what it reads again, so a `check` command and the relay never hold every snapshot.
/// A lean state that failed to refresh is let go (the next call reads the store again).
fn checked<'s>(
    state: &'s mut State,
    store: &Store,
    at: Option<Stamp>,
    device: Option<&DeviceKey>,
    now: Millis,
    memo: &Memo,
) -> Result<Held<'s>> {
    let (ahead, saving) = (memo.ahead(), memo.saving());
    if state.live.is_none() {
        let mut l = match state.lean.take() {
            Some(l) if l.is_for(device) && at.is_some() && l.stamp == at && l.fresh_at(now) => l,
            Some(mut l) if l.is_for(device) => {
                l.refresh(store, at, now)?;
                l
            }
            _ => match saving
                .then(|| Lean::restore(store, at, device, now, ahead))
                .flatten()
            {
                Some(l) => l,
                None => Lean::load(store, at, device, now, ahead)?,
            },
        };
        if saving {
            l.save(store);
        }
        return Ok(Held::Lean(state.lean.insert(l)));
    }
    let l = live(&mut state.live, store, at)?;
    let snaps = l.snaps.clone();
    let reuse = state
        .findings
        .as_ref()
        .is_some_and(|c| Arc::ptr_eq(&c.of, &snaps) && fresh(c.at, now));
    if !reuse {
        state.findings = Some(Checked {
            at: now,
            of: snaps.clone(),
            findings: l.findings(device, now),
            tracked: None,
        });
    }
    match state.findings.as_mut() {
        Some(c) => Ok(Held::Live(c, snaps)),
        // Cannot happen: set just above when it was not there.
        None => Err(crate::Error::Corrupt("the findings went missing".into())),
    }
}

/// The live state at `at`: kept, refreshed, or read.
fn live<'s>(kept: &'s mut Option<Live>, store: &Store, at: Option<Stamp>) -> Result<&'s mut Live> {
    let l = match kept.take() {
        Some(mut l) => {
            if at.is_none() || l.stamp != at {
                // `refresh` changes nothing until everything it needs was read.
                if let Err(e) = l.refresh(store, at) {
                    *kept = Some(l);
                    return Err(e);
                }
            }
            l
        }
        None => Live::load(store, at)?,
    };
    Ok(kept.insert(l))
}

impl Memo {
    /// Leave what is held to the process's end instead of freeing it (see
    /// [`crate::Workspace::before_exit`]).
    pub(crate) fn leave_to_exit(&self) {
        if let Ok(mut s) = self.state.lock() {
            std::mem::forget(std::mem::take(&mut *s));
        }
    }

    /// Whether the lean engine reads a batch ahead (see [`Memo::one_batch_at_a_time`]).
    fn ahead(&self) -> bool {
        !self.one_batch_at_a_time
    }

    /// Whether the lean engine's state is kept beside the store between processes.
    fn saving(&self) -> bool {
        !self.in_memory_only
    }

    /// A new, empty memo.
    pub fn new() -> Self {
        Memo::default()
    }

    /// Keep what a sync read of the Sales document (see [`crate::claims::SalesReading`]).
    pub(crate) fn keep_sales_reading(&self, reading: crate::claims::SalesReading) {
        if let Ok(mut r) = self.sales_reading.lock() {
            *r = Some(reading);
        }
    }

    /// What a sync read of the Sales document, taken.
    pub(crate) fn take_sales_reading(&self) -> Option<crate::claims::SalesReading> {
        self.sales_reading.lock().ok()?.take()
    }

    /// The snapshots at `stamp`: kept, brought up to date with what changed, or read.
    /// A write landing while this reads makes them newer than `stamp`: the next call
    /// sees another stamp and refreshes again; never older.
    pub(crate) fn snapshots(&self, store: &Store, at: Option<Stamp>) -> Result<Snapshots> {
        let Ok(mut state) = self.state.lock() else {
            // A panic elsewhere while holding the lock: work without the memo.
            return Ok(Live::load(store, None)?.snaps);
        };
        let state = &mut *state;
        // The pages' snapshots serve the findings from now on.
        state.lean = None;
        Ok(live(&mut state.live, store, at)?.snaps.clone())
    }

    /// Every finding at `now` on the replica held by `device` (none: the relay's merged
    /// state), on the store at `stamp`; reused when computed within the last minute of
    /// `now` on the same state.
    pub(crate) fn findings(
        &self,
        store: &Store,
        at: Option<Stamp>,
        device: Option<&DeviceKey>,
        now: Millis,
    ) -> Result<Arc<Vec<Finding>>> {
        let ahead = self.ahead();
        let Ok(mut state) = self.state.lock() else {
            // A panic elsewhere while holding the lock: work without the memo.
            return Ok(Lean::load(store, None, device, now, ahead)?.findings());
        };
        Ok(match checked(&mut state, store, at, device, now, self)? {
            Held::Live(c, _) => c.findings.clone(),
            Held::Lean(l) => l.findings(),
        })
    }

    /// [`Memo::findings`] with their life (see [`fieldcrm_policy::track`]).
    pub(crate) fn tracked(
        &self,
        store: &Store,
        at: Option<Stamp>,
        device: Option<&DeviceKey>,
        now: Millis,
    ) -> Result<Arc<Vec<Tracked>>> {
        let ahead = self.ahead();
        let Ok(mut state) = self.state.lock() else {
            return Ok(Lean::load(store, None, device, now, ahead)?.tracked());
        };
        Ok(match checked(&mut state, store, at, device, now, self)? {
            Held::Live(c, snaps) => {
                if let Some(t) = &c.tracked {
                    return Ok(t.clone());
                }
                let t = Arc::new(track(&c.findings, &snaps, &Config::default(), now));
                c.tracked = Some(t.clone());
                t
            }
            Held::Lean(l) => l.tracked(),
        })
    }

    /// Every summary-index row (all kinds, merged and archived included), by name.
    pub(crate) fn rows(&self, at: Option<Stamp>) -> Option<Arc<Vec<Listed>>> {
        let at = at?;
        let state = self.state.lock().ok()?;
        match &state.rows {
            Some((s, rows)) if *s == at => Some(rows.clone()),
            _ => None,
        }
    }

    /// Keep the summary index as it is at `stamp`.
    pub(crate) fn keep_rows(&self, at: Option<Stamp>, rows: &Arc<Vec<Listed>>) {
        if let (Some(at), Ok(mut state)) = (at, self.state.lock()) {
            state.rows = Some((at, rows.clone()));
        }
    }

    /// The customers' name-search index at `stamp`.
    pub(crate) fn search(&self, at: Option<Stamp>) -> Option<Arc<RowSearch>> {
        let at = at?;
        let state = self.state.lock().ok()?;
        match &state.search {
            Some((s, index)) if *s == at => Some(index.clone()),
            _ => None,
        }
    }

    /// Keep the customers' name-search index as it is at `stamp`.
    pub(crate) fn keep_search(&self, at: Option<Stamp>, index: &Arc<RowSearch>) {
        if let (Some(at), Ok(mut state)) = (at, self.state.lock()) {
            state.search = Some((at, index.clone()));
        }
    }

    /// The view named `key` computed from the store at `stamp` within the last minute of
    /// `now`.
    pub(crate) fn view<T: Send + Sync + 'static>(
        &self,
        key: &str,
        at: Option<Stamp>,
        now: Millis,
    ) -> Option<Arc<T>> {
        let at = at?;
        let state = self.state.lock().ok()?;
        let v = state.views.get(key)?;
        if v.stamp != at || !fresh(v.at, now) {
            return None;
        }
        v.value.clone().downcast::<T>().ok()
    }

    /// Keep the view named `key`, computed from the store at `stamp` at `now`.
    pub(crate) fn keep_view<T: Send + Sync + 'static>(
        &self,
        key: &str,
        at: Option<Stamp>,
        now: Millis,
        value: &Arc<T>,
    ) {
        let (Some(at), Ok(mut state)) = (at, self.state.lock()) else {
            return;
        };
        // Views of an older state are of no more use.
        state.views.retain(|_, v| v.stamp == at);
        if state.views.len() >= MAX_VIEWS {
            state.views.clear();
        }
        state.views.insert(
            key.to_string(),
            View {
                stamp: at,
                at: now,
                value: value.clone(),
            },
        );
    }
}

/// The rules' findings on a store, kept up to date by what changed between calls: for a
/// long-running process that checks one store again and again (the relay, after each
/// sync). The first call reads every document; later ones only those that changed.
#[derive(Debug, Default)]
pub struct LiveCheck {
    memo: Memo,
}

impl LiveCheck {
    /// Nothing read yet. Snapshots are read one batch at a time (see
    /// `Engine::reading_ahead`): this is for long-running processes.
    pub fn new() -> Self {
        LiveCheck {
            memo: Memo {
                one_batch_at_a_time: true,
                in_memory_only: true,
                ..Memo::default()
            },
        }
    }

    /// Every finding with its life at `now` (as [`fieldcrm_policy::check`]: no holding
    /// device).
    pub fn tracked(&self, store: &Store, now: Millis) -> Result<Arc<Vec<Tracked>>> {
        self.memo.tracked(store, stamp(store), None, now)
    }
}
