//! Read and write scope: which documents a user may see and change.
//!
//! One pure function of the roster and a document's summary row, used by the sync engine
//! (what to offer a peer), the relay (what a device receives) and the DATA-SCOPE rule, so
//! every place answers the same.

use crate::{DocKind, Role, Roster, Summary};

/// Whether `user_id` may read a document with this summary.
pub fn can_read(roster: &Roster, user_id: &str, summary: &Summary) -> bool {
    let Some(user) = roster.users.get(user_id) else {
        return false;
    };
    if !user.active {
        return false;
    }
    match user.role {
        Role::Legal | Role::Admin => true,
        _ => match &summary.kind {
            DocKind::Roster | DocKind::Catalog | DocKind::Policy | DocKind::Sales => true,
            DocKind::Customer => match user.role {
                Role::Rep => {
                    summary.owner.as_deref() == Some(user_id)
                        || (roster.share_team_customers
                            && same_team(user.team.as_deref(), summary.team.as_deref()))
                }
                Role::Manager => {
                    summary.owner.as_deref() == Some(user_id)
                        || summary.owner.is_none()
                        || same_team(user.team.as_deref(), summary.team.as_deref())
                        || summary
                            .owner
                            .as_deref()
                            .and_then(|o| roster.users.get(o))
                            .is_some_and(|o| same_team(user.team.as_deref(), o.team.as_deref()))
                }
                Role::ChannelManager => summary.owner.as_deref() == Some(user_id),
                _ => false,
            },
            DocKind::Channel => match user.role {
                Role::ChannelManager | Role::Manager => true,
                _ => {
                    summary.owner.as_deref() == Some(user_id)
                        || (user.region.is_some() && user.region == summary.region)
                }
            },
            DocKind::Unknown(_) => false,
        },
    }
}

/// Whether `user_id` may change a document with this summary.
pub fn can_write(roster: &Roster, user_id: &str, summary: &Summary) -> bool {
    let Some(user) = roster.users.get(user_id) else {
        return false;
    };
    if !user.active || !can_read(roster, user_id, summary) {
        return false;
    }
    match &summary.kind {
        DocKind::Roster => user.role == Role::Admin,
        DocKind::Catalog | DocKind::Policy => matches!(user.role, Role::Manager | Role::Admin),
        DocKind::Sales | DocKind::Customer => true,
        DocKind::Channel => matches!(
            user.role,
            Role::ChannelManager | Role::Manager | Role::Admin | Role::Legal | Role::Rep
        ),
        DocKind::Unknown(_) => false,
    }
}

fn same_team(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::User;

    fn user(role: Role, team: &str, region: Option<&str>) -> User {
        User {
            name: "u".into(),
            role,
            team: Some(team.into()),
            region: region.map(Into::into),
            active: true,
            created_at: 0,
        }
    }

    fn customer(owner: &str, team: &str) -> Summary {
        Summary {
            kind: DocKind::Customer,
            name: "c".into(),
            class: None,
            owner: Some(owner.into()),
            team: Some(team.into()),
            status: None,
            region: None,
            merged_into: None,
            archived: false,
            updated_at: 0,
        }
    }

    #[test]
    fn reps_see_own_customers_managers_their_team() {
        let mut r = Roster::new("w", "W");
        r.users
            .insert("rep1".into(), user(Role::Rep, "east", Some("华东")));
        r.users.insert("rep2".into(), user(Role::Rep, "east", None));
        r.users
            .insert("mgr".into(), user(Role::Manager, "east", None));
        r.users
            .insert("mgr2".into(), user(Role::Manager, "west", None));
        r.users.insert("law".into(), user(Role::Legal, "hq", None));
        let c = customer("rep1", "east");
        assert!(can_read(&r, "rep1", &c));
        assert!(!can_read(&r, "rep2", &c));
        assert!(can_read(&r, "mgr", &c));
        assert!(!can_read(&r, "mgr2", &c));
        assert!(can_read(&r, "law", &c));
        assert!(!can_read(&r, "stranger", &c));
        r.share_team_customers = true;
        assert!(can_read(&r, "rep2", &c));
        let mut ch = customer("cm", "x");
        ch.kind = DocKind::Channel;
        ch.region = Some("华东".into());
        assert!(can_read(&r, "rep1", &ch));
        assert!(!can_read(&r, "rep2", &ch));
        let mut roster_doc = customer("x", "x");
        roster_doc.kind = DocKind::Roster;
        assert!(can_read(&r, "rep1", &roster_doc) && !can_write(&r, "rep1", &roster_doc));
    }
}
