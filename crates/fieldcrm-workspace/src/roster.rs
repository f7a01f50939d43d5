//! The roster, hydrated once per roster change: kept in memory per handle (shared, not
//! copied, by every caller), and in the store for the next command (a roster of a
//! thousand users takes tens of milliseconds to hydrate; read back, well under one).

use std::sync::Arc;

use fieldcrm_model::{DocId, DocKind, Roster};

use crate::{Error, Result, Workspace};

/// The roster hydrated at its (sorted) heads, and whether this process hydrated it (so
/// [`Workspace::keep_caches`] keeps it for the next command).
pub(crate) type Memo =
    Arc<std::sync::Mutex<Option<(Vec<automerge::ChangeHash>, Arc<Roster>, bool)>>>;

/// The blob key of the roster as last hydrated, with its heads.
const ROSTER_CACHE: &str = "cache/roster";
/// Format marker of [`ROSTER_CACHE`]: `[2][head count u8][32 bytes per head][MessagePack
/// with field names]` (1 was JSON: a roster of a thousand users took a millisecond to
/// parse, a share of every command's time).
const ROSTER_CACHE_FORMAT: u8 = 2;

impl Workspace {
    /// The roster (shared: a handle hydrates or reads it once per roster change).
    pub fn roster(&self) -> Result<Arc<Roster>> {
        Ok(self.roster_at()?.1)
    }

    /// The roster with the heads it is at (sorted).
    pub(crate) fn roster_at(&self) -> Result<(Vec<automerge::ChangeHash>, Arc<Roster>)> {
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
            return Ok((heads, Arc::clone(roster)));
        }
        // Another command's hydration of the same heads (see `keep_caches`).
        if let Some(roster) = self.kept_roster(&heads) {
            let roster = Arc::new(roster);
            if let Ok(mut memo) = self.roster_memo.lock() {
                *memo = Some((heads.clone(), Arc::clone(&roster), false));
            }
            return Ok((heads, roster));
        }
        let mut doc = match self.load(&id) {
            Err(Error::NotFound(_)) => return Err(Error::NoRosterYet(self.device())),
            r => r?,
        };
        let roster: Arc<Roster> = Arc::new(doc.hydrate()?);
        let mut at = doc.heads();
        at.sort_unstable();
        if let Ok(mut memo) = self.roster_memo.lock() {
            *memo = Some((at.clone(), Arc::clone(&roster), true));
        }
        Ok((at, roster))
    }

    /// The roster a command kept at `heads` (sorted), if it is still the one stored.
    pub(crate) fn kept_roster(&self, heads: &[automerge::ChangeHash]) -> Option<Roster> {
        decode_kept(&self.store.get_blob(ROSTER_CACHE).ok()??, heads)
    }

    /// Keep what this process derived that the next command can reuse: the roster, when
    /// it was hydrated here (a roster of a thousand users takes tens of milliseconds to
    /// hydrate; read back, well under one). Only a cache, written without an fsync; call
    /// it when the command's own work is done.
    pub fn keep_caches(&self) {
        let Ok(mut memo) = self.roster_memo.lock() else {
            return;
        };
        let Some((heads, roster, fresh @ true)) = memo.as_mut() else {
            return;
        };
        if let Some(bytes) = encode_kept(heads, roster)
            && self.store.set_cache_blob(ROSTER_CACHE, &bytes).is_ok()
        {
            *fresh = false;
        }
    }
}

/// The [`ROSTER_CACHE`] row of `roster` at `heads` (sorted); `None` if it cannot be
/// written (more than 255 heads: then it is not kept).
fn encode_kept(heads: &[automerge::ChangeHash], roster: &Roster) -> Option<Vec<u8>> {
    let n = u8::try_from(heads.len()).ok()?;
    let body = rmp_serde::to_vec_named(roster).ok()?;
    let mut bytes = vec![ROSTER_CACHE_FORMAT, n];
    for h in heads {
        bytes.extend_from_slice(&h.0);
    }
    bytes.extend_from_slice(&body);
    Some(bytes)
}

/// The roster in a [`ROSTER_CACHE`] row, if the row is of this format, was kept at
/// `heads` (sorted) and decodes; anything else is a miss (the roster is hydrated again).
fn decode_kept(bytes: &[u8], heads: &[automerge::ChangeHash]) -> Option<Roster> {
    let (&ROSTER_CACHE_FORMAT, rest) = bytes.split_first()? else {
        return None;
    };
    let (&n, rest) = rest.split_first()?;
    let (kept, body) = rest.split_at_checked(32 * n as usize)?;
    let same = kept.len() == 32 * heads.len()
        && kept
            .chunks_exact(32)
            .zip(heads)
            .all(|(k, h)| k == h.0.as_slice());
    same.then(|| rmp_serde::from_slice(body).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{Device, Enrolment, Invitation, Role, User};

    fn roster() -> Roster {
        let mut r = Roster::new(&"ab".repeat(16), "华南物流有限公司 🚚");
        r.share_team_customers = true;
        for i in 0..3 {
            r.users.insert(
                format!("{i:032x}"),
                User {
                    name: format!("張三{i} 🌾"),
                    role: Role::Rep,
                    team: (i > 0).then(|| "华东".to_string()),
                    region: (i == 2).then(|| "１２区".to_string()),
                    active: i != 1,
                    created_at: 1_000 + i,
                },
            );
        }
        let invitation = Invitation {
            workspace_id: "ab".repeat(16),
            id: "cd".repeat(16),
            user: format!("{:032x}", 2),
            new_user: true,
            name: "張三2 🌾".into(),
            role: Role::Rep,
            team: Some("华东".into()),
            created_at: 5,
            expires_at: 6,
            code_key: "ef".repeat(32),
            created_by: "01".repeat(32),
            signature: "23".repeat(64),
        };
        r.devices.insert(
            "45".repeat(32),
            Device {
                user: format!("{:032x}", 2),
                label: "手机".into(),
                enrolled_at: 7,
                revoked_at: Some(8),
                invitation: Some(Enrolment {
                    invitation,
                    proof: "67".repeat(64),
                }),
            },
        );
        r
    }

    #[test]
    fn a_kept_roster_reads_back_equal_and_only_at_its_heads() {
        let r = roster();
        let heads = [
            automerge::ChangeHash([1; 32]),
            automerge::ChangeHash([2; 32]),
        ];
        let bytes = encode_kept(&heads, &r).unwrap();
        assert_eq!(decode_kept(&bytes, &heads), Some(r.clone()));
        assert_eq!(decode_kept(&bytes, &heads[..1]), None, "other heads");
        assert_eq!(decode_kept(&bytes, &[]), None, "no heads");
        // An earlier build's row (format 1, JSON) is a miss, not an error.
        let mut old = bytes.clone();
        old[0] = 1;
        assert_eq!(decode_kept(&old, &heads), None);
        // A damaged row is a miss at every length.
        for len in 0..bytes.len() {
            assert_eq!(decode_kept(&bytes[..len], &heads), None, "cut at {len}");
        }
    }
}
