//! The roster, hydrated once per roster change: kept in memory per handle, and in the
//! store for the next command (a roster of a thousand users takes tens of milliseconds to
//! hydrate; read back, about one).

use fieldcrm_model::{DocId, DocKind, Roster};

use crate::{Error, Result, Workspace};

/// The roster hydrated at its (sorted) heads, and whether this process hydrated it (so
/// [`Workspace::keep_caches`] keeps it for the next command).
pub(crate) type Memo =
    std::sync::Arc<std::sync::Mutex<Option<(Vec<automerge::ChangeHash>, Roster, bool)>>>;

/// The blob key of the roster as last hydrated, with its heads.
const ROSTER_CACHE: &str = "cache/roster";
/// Format marker of [`ROSTER_CACHE`]: `[1][head count u8][32 bytes per head][JSON]`.
const ROSTER_CACHE_FORMAT: u8 = 1;

impl Workspace {
    /// The roster.
    pub fn roster(&self) -> Result<Roster> {
        let id = DocId::workspace(&DocKind::Roster);
        let mut heads = self
            .store
            .heads(&id)
            .map_err(fieldcrm_store::Error::from)?
            .ok_or(Error::NoRosterYet(self.device()))?;
        heads.sort_unstable();
        if let Ok(memo) = self.roster_memo.lock()
            && let Some((at, roster, _)) = memo.as_ref()
            && *at == heads
        {
            return Ok(roster.clone());
        }
        // Another command's hydration of the same heads (see `keep_caches`).
        if let Some(roster) = self.kept_roster(&heads) {
            if let Ok(mut memo) = self.roster_memo.lock() {
                *memo = Some((heads, roster.clone(), false));
            }
            return Ok(roster);
        }
        let mut doc = match self.load(&id) {
            Err(Error::NotFound(_)) => return Err(Error::NoRosterYet(self.device())),
            r => r?,
        };
        let roster: Roster = doc.hydrate()?;
        let mut at = doc.heads();
        at.sort_unstable();
        if let Ok(mut memo) = self.roster_memo.lock() {
            *memo = Some((at, roster.clone(), true));
        }
        Ok(roster)
    }

    /// The roster a command kept at `heads` (sorted), if it is still the one stored.
    pub(crate) fn kept_roster(&self, heads: &[automerge::ChangeHash]) -> Option<Roster> {
        let bytes = self.store.get_blob(ROSTER_CACHE).ok()??;
        let (&ROSTER_CACHE_FORMAT, rest) = bytes.split_first()? else {
            return None;
        };
        let (&n, rest) = rest.split_first()?;
        let (kept, json) = rest.split_at_checked(32 * n as usize)?;
        let same = kept.len() == 32 * heads.len()
            && kept
                .chunks_exact(32)
                .zip(heads)
                .all(|(k, h)| k == h.0.as_slice());
        same.then(|| serde_json::from_slice(json).ok()).flatten()
    }

    /// Keep what this process derived that the next command can reuse: the roster, when
    /// it was hydrated here (a roster of a thousand users takes tens of milliseconds to
    /// hydrate; read back, about one). Only a cache, written without an fsync; call it when
    /// the command's own work is done.
    pub fn keep_caches(&self) {
        let Ok(mut memo) = self.roster_memo.lock() else {
            return;
        };
        let Some((heads, roster, fresh @ true)) = memo.as_mut() else {
            return;
        };
        let Ok(n) = u8::try_from(heads.len()) else {
            return;
        };
        let Ok(json) = serde_json::to_vec(roster) else {
            return;
        };
        let mut bytes = vec![ROSTER_CACHE_FORMAT, n];
        for h in heads.iter() {
            bytes.extend_from_slice(&h.0);
        }
        bytes.extend_from_slice(&json);
        if self.store.set_cache_blob(ROSTER_CACHE, &bytes).is_ok() {
            *fresh = false;
        }
    }
}
