//! What runs after every sync, whatever the transport (relay, direct, `serve`, bundle).
//!
//! A sync can change who may read what: the roster it brought may move a user to another
//! team or revoke a grant, and the relay refuses a device's copy of a customer that was
//! reassigned away from its user. [`Workspace::after_sync`] deletes the documents this
//! device holds that its user may no longer read (or that the peer refused as out of
//! scope), then runs [`Workspace::merge_forward`] (carry-over of edits a merged-away file
//! received). Both are stateless and idempotent, so running it twice changes nothing more.
//! [`Workspace::joined`] says whether a sync gave a just-joined device its workspace.

use fieldcrm_model::access::can_read;
use fieldcrm_model::{DocId, DocKind, Millis, Role};
use serde::Serialize;

use crate::{CarryOver, Error, Me, Result, Workspace};

/// A document deleted after a sync because this device's user may no longer read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// Its ID.
    pub id: DocId,
    /// Its kind, when its summary was known.
    pub kind: Option<DocKind>,
    /// Its name, when its summary was known.
    pub name: Option<String>,
}

impl std::fmt::Display for Removed {
    /// `customer 甲公司 (1a2b3c4d)`, or the short ID alone when the summary is unknown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.kind, &self.name) {
            (Some(kind), Some(name)) => write!(f, "{kind} {name} ({})", self.id.short()),
            _ => f.write_str(self.id.short()),
        }
    }
}

/// What [`Workspace::after_sync`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AfterSync {
    /// Documents deleted because they left this user's read scope.
    pub removed: Vec<Removed>,
    /// Carry-over into survivors of merged files ([`Workspace::merge_forward`]).
    pub carried: Vec<CarryOver>,
    /// Set when this device has no usable identity (not enrolled yet, revoked,
    /// deactivated) and the steps were skipped: the reason.
    pub skipped: Option<String>,
    /// Changes removed after a first sync because their authors may not have made them
    /// ([`Workspace::verify_authors`]), one line each.
    pub removed_changes: Vec<String>,
    /// Claims of this user's customer files written or removed
    /// ([`Workspace::backfill_claims`]).
    pub claims_written: usize,
}

impl AfterSync {
    /// Whether nothing was removed or carried over (nothing to tell the user).
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.carried.is_empty()
    }
}

/// A just-joined device's first sync brought it the workspace.
#[derive(Debug)]
pub enum Joined {
    /// It now acts as this user.
    As {
        /// User ID.
        user_id: String,
        /// The user's name.
        name: String,
        /// The user's role.
        role: Role,
    },
    /// It received the workspace, but cannot act in it (why).
    Unusable(Error),
}

/// Whether `e` says only that this device has no usable identity (rather than that the
/// store failed).
fn no_identity(e: &Error) -> bool {
    matches!(
        e,
        Error::NotEnrolled(_) | Error::Revoked(_) | Error::NoRosterYet(_) | Error::Permission(_)
    )
}

impl Workspace {
    /// Run what must follow any sync: delete the documents this device holds that its
    /// user may no longer read per the just-synced roster, or that the peer refused as
    /// out of scope (`refused_out_of_scope`; never a workspace singleton), then carry
    /// over edits made to merged-away files ([`Workspace::merge_forward`], writing at
    /// `now`), then write this user's missing or stale customer claims
    /// ([`Workspace::backfill_claims`]). A device without a usable identity skips both and says why in
    /// [`AfterSync::skipped`]. Idempotent.
    pub fn after_sync(&self, refused_out_of_scope: &[DocId], now: Millis) -> Result<AfterSync> {
        // Changes were judged against the roster held when the sync started: check them
        // again if the roster it brought took something away (or on a first sync).
        let removed_changes = self.reverify_if_roster_changed()?;
        let me = match self.me() {
            Ok(me) => me,
            Err(e) if no_identity(&e) => {
                // No backfill: the claims the sync read for it are let go.
                drop(self.memo.take_sales_reading());
                return Ok(AfterSync {
                    skipped: Some(e.to_string()),
                    removed_changes,
                    ..AfterSync::default()
                });
            }
            Err(e) => return Err(e),
        };
        let removed = self.drop_out_of_scope(&me, refused_out_of_scope)?;
        let carried = self.merge_forward(now)?;
        // What the next session with the relay shares, brought up to date now (a roster
        // this sync brought would otherwise make the next session derive it from every
        // document). Only a cache: a failure costs that next session the time. Before
        // the claims backfill, not after: the next session brings it up to date with the
        // backfill's one write from the change log, and a first sync's backfill holds
        // 100,000 claims, which this would otherwise add its own memory to.
        let _ = self.relay_items(me);
        let claims_written = self.backfill_claims(now)?;
        Ok(AfterSync {
            removed,
            carried,
            skipped: None,
            removed_changes,
            claims_written,
        })
    }

    /// After a sync that started with `had_roster`: whether it brought this device its
    /// workspace, and as whom it acts now. `None` when it already had the roster or still
    /// has none.
    pub fn joined(&self, had_roster: bool) -> Result<Option<Joined>> {
        if had_roster || !self.has_roster()? {
            return Ok(None);
        }
        Ok(Some(match self.me() {
            Ok(me) => Joined::As {
                user_id: me.user_id,
                name: me.user.name,
                role: me.user.role,
            },
            Err(e) if no_identity(&e) => Joined::Unusable(e),
            Err(e) => return Err(e),
        }))
    }

    /// Only the documents written since the last run are looked at (and every one when
    /// the roster changed): what this user may read changes with nothing else.
    fn drop_out_of_scope(&self, me: &Me, refused: &[DocId]) -> Result<Vec<Removed>> {
        let singletons: Vec<DocId> = DocKind::SINGLETONS.iter().map(DocId::workspace).collect();
        let store = self.store();
        let pass = format!("read-scope/{}", me.user_id);
        let (generation, roster, since) = crate::shared::pass_since(store, &pass)?;
        let since = since.map(|s| s.changed);
        let mut summaries = match &since {
            None => store.all_summaries().map_err(fieldcrm_store::Error::from)?,
            Some(ids) => {
                let mut m = std::collections::HashMap::new();
                for id in ids.iter().chain(refused) {
                    if let Some(s) = store.summary(id).map_err(fieldcrm_store::Error::from)? {
                        m.insert(id.clone(), s);
                    }
                }
                m
            }
        };
        let mut ids: Vec<DocId> = match since {
            None => store
                .all_heads()
                .map_err(fieldcrm_store::Error::from)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            Some(ids) => ids.into_iter().chain(refused.iter().cloned()).collect(),
        };
        ids.sort();
        ids.dedup();
        let mut removed = Vec::new();
        for id in ids {
            if singletons.contains(&id) {
                continue;
            }
            let summary = summaries.remove(&id);
            let out = refused.contains(&id)
                || summary
                    .as_ref()
                    .is_some_and(|s| !can_read(&me.roster, &me.user_id, s));
            if out && store.delete(&id).map_err(fieldcrm_store::Error::from)? {
                removed.push(Removed {
                    id,
                    kind: summary.as_ref().map(|s| s.kind.clone()),
                    name: summary.map(|s| s.name),
                });
            }
        }
        crate::shared::pass_done(store, &pass, generation, roster, &[]);
        crate::claims::forget(store, removed.iter().map(|r| &r.id));
        if !removed.is_empty() {
            crate::lean::forget_state(store);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{ExportOptions, InitOptions, NewCustomer};

    fn admin(dir: &Path) -> Workspace {
        let ws = Workspace::init(
            &dir.join("admin"),
            &InitOptions {
                user: "管理员".into(),
                role: Role::Admin,
                team: Some("总部".into()),
                region: None,
                company: "示例".into(),
                device_label: "laptop".into(),
            },
            1_000,
        )
        .unwrap();
        ws.add_user("小张", Role::Rep, Some("华东一组".into()), None, 2_000)
            .unwrap();
        ws
    }

    fn customer(ws: &Workspace, name: &str, owner: Option<&str>) -> DocId {
        ws.add_customer(
            NewCustomer {
                name: name.into(),
                owner: owner.map(str::to_string),
                ..Default::default()
            },
            3_000,
        )
        .unwrap()
    }

    /// Everything the admin holds, imported as a whole (no read-scope filter) by `to`.
    fn copy_all(admin: &Workspace, to: &Workspace, file: &Path) {
        admin
            .export_bundle(&ExportOptions::default(), file, 4_000)
            .unwrap();
        to.import_bundle(file).unwrap();
    }

    #[test]
    fn drops_what_the_user_may_not_read_and_what_the_peer_refused() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let mine = customer(&admin, "甲公司", Some("小张"));
        let other = customer(&admin, "总部直管客户", None);
        let refused = customer(&admin, "乙公司", Some("小张"));
        let rep = Workspace::join(&dir.path().join("rep"), admin.workspace_id()).unwrap();
        admin
            .enroll_device(&rep.device(), "小张", "phone", 3_500)
            .unwrap();
        assert!(rep.joined(false).unwrap().is_none(), "no roster yet");
        copy_all(&admin, &rep, &dir.path().join("all.bundle"));
        match rep.joined(false).unwrap() {
            Some(Joined::As { name, role, .. }) => {
                assert_eq!(name, "小张");
                assert_eq!(role, Role::Rep);
            }
            other => panic!("{other:?}"),
        }
        assert!(rep.joined(true).unwrap().is_none());
        assert!(rep.store().contains(&other).unwrap());

        // Claims cache rows, as a sync that received these files whole writes them.
        let key = |id: &DocId| crate::claims::row_key(id.as_str());
        let rows: Vec<_> = [&mine, &other, &refused]
            .iter()
            .map(|id| (key(id), Some(b"[1,null]".to_vec())))
            .collect();
        crate::claims::keep(rep.store(), &rows);
        // A check left the rules' state beside the store, with what it holds of them.
        let _ = rep.all_findings(4_500).unwrap();
        let state = rep.home().join("workspace.redb.engine-state");
        assert!(state.exists());
        let roster = DocId::workspace(&DocKind::Roster);
        let after = rep.after_sync(&[refused.clone(), roster], 5_000).unwrap();
        assert!(!state.exists(), "the state goes with the files");
        // The removed files' rows go with them; the kept file's stays.
        let left = rep
            .store()
            .get_cache_rows(&[key(&mine), key(&other), key(&refused)])
            .unwrap();
        assert!(left[0].is_some());
        assert_eq!(left[1..], [None, None]);
        assert_eq!(after.skipped, None);
        let mut gone: Vec<&DocId> = after.removed.iter().map(|r| &r.id).collect();
        gone.sort();
        let mut want = vec![&other, &refused];
        want.sort();
        assert_eq!(gone, want);
        let shown: Vec<String> = after.removed.iter().map(|r| r.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|s| s == &format!("customer 总部直管客户 ({})", other.short())),
            "{shown:?}"
        );
        assert!(after.carried.is_empty());
        assert!(rep.store().contains(&mine).unwrap());
        assert!(!rep.store().contains(&other).unwrap());
        assert!(!rep.store().contains(&refused).unwrap());
        for kind in DocKind::SINGLETONS {
            assert!(rep.store().contains(&DocId::workspace(&kind)).unwrap());
        }
        // Idempotent: nothing more to do.
        let again = rep.after_sync(&[], 6_000).unwrap();
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn a_device_without_identity_skips_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let admin = admin(dir.path());
        let other = customer(&admin, "总部直管客户", None);
        // Joined, nothing received yet.
        let fresh = Workspace::join(&dir.path().join("fresh"), admin.workspace_id()).unwrap();
        let after = fresh.after_sync(&[], 5_000).unwrap();
        assert!(after.is_empty());
        assert!(after.skipped.is_some());
        // Holds the workspace but nobody enrolled it: deletes nothing.
        let stranger = Workspace::join(&dir.path().join("stranger"), admin.workspace_id()).unwrap();
        copy_all(&admin, &stranger, &dir.path().join("all.bundle"));
        let after = stranger
            .after_sync(std::slice::from_ref(&other), 5_000)
            .unwrap();
        assert!(after.is_empty());
        assert!(after.skipped.unwrap().contains("not enrolled"));
        assert!(stranger.store().contains(&other).unwrap());
        assert!(matches!(
            stranger.joined(false).unwrap(),
            Some(Joined::Unusable(Error::NotEnrolled(_)))
        ));
        // The admin reads everything: nothing removed.
        assert!(admin.after_sync(&[], 5_000).unwrap().is_empty());
    }
}
