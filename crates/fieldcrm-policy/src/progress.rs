//! TARGET-PROGRESS: actual sales against targets per rep, team and period (a report,
//! not a finding).

use std::collections::HashMap;

use fieldcrm_model::{Body, DocId, Fen, Millis, Snapshot};
use serde::Serialize;

use crate::config::{Config, Level};
use crate::ctx::{Ctx, WsDocs};
use crate::rule::RuleId;
use crate::rules::is_tombstone;
use crate::time::Period;

/// One target and how far it is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressRow {
    /// The target's entity ID in the sales document.
    pub target_id: String,
    /// `user` or `team`.
    pub scope: String,
    /// User ID or team name.
    pub subject: String,
    /// Display name (user's name, or the team name).
    pub subject_name: String,
    /// Period label as canonicalised (`2026`, `2026-Q4`, `2026-11`, `2026-W48`).
    pub period: String,
    /// Period start, UTC ms.
    pub period_start: Millis,
    /// Period end (exclusive), UTC ms.
    pub period_end: Millis,
    /// Target amount, fen.
    pub target: Fen,
    /// Orders in the period (price × quantity) taken by the user or the team's users, fen.
    pub actual: Fen,
    /// Amounts in the subject's sales reports for periods inside this one, fen.
    pub reported: Fen,
    /// `actual / target` in basis points (10000 = 100%).
    pub achieved_bp: i64,
    /// Share of the period elapsed at `now`, in basis points.
    pub elapsed_bp: i64,
    /// Whether achievement keeps pace with elapsed time.
    pub on_track: bool,
}

/// Actual against target for every target in the sales document whose period parses,
/// sorted by period, scope, subject and target ID.
///
/// `config` is the base configuration; overrides in the policy-settings document among
/// `docs` apply, as in [`crate::check`].
pub fn target_progress<S: std::borrow::Borrow<Snapshot>>(
    docs: &[S],
    config: &Config,
    now: Millis,
) -> Vec<ProgressRow> {
    let docs: Vec<&Snapshot> = docs.iter().map(|d| d.borrow()).collect();
    let mut ws: WsDocs<&Snapshot> = WsDocs::default();
    for d in &docs {
        let _ = ws.slot(*d);
    }
    let config = &Ctx::build(config, &ws, None).cfg;
    if config.rule(RuleId::TargetProgress).level == Level::Off {
        return Vec::new();
    }
    let offset = config.utc_offset();
    let mut roster = None;
    let mut sales = None;
    for d in &docs {
        match &d.body {
            Body::Roster(r) => roster = Some(r),
            Body::Sales(s) => sales = Some(s),
            _ => {}
        }
    }
    let Some(sales) = sales else {
        return Vec::new();
    };
    let team_of = |user: &str| -> Option<&str> {
        roster
            .and_then(|r| r.users.get(user))
            .and_then(|u| u.team.as_deref())
    };
    // (user, ordered_at, amount) of every order.
    let mut orders: Vec<(&str, Millis, Fen)> = Vec::new();
    for d in &docs {
        if let Body::Customer(c) = &d.body
            && !is_tombstone(d)
        {
            for o in c.orders.values().filter(|o| !o.is_cancelled()) {
                orders.push((
                    o.by.as_str(),
                    o.ordered_at,
                    o.price.saturating_mul(o.quantity),
                ));
            }
        }
    }
    let reports: Vec<(&str, Millis, Fen)> = sales
        .reports
        .values()
        .filter_map(|r| {
            let p = Period::parse(&r.period).ok()?;
            Some((r.user.as_str(), p.start_ms(offset), r.amount))
        })
        .collect();
    let mut names: HashMap<&str, &str> = HashMap::new();
    if let Some(r) = roster {
        for (id, u) in &r.users {
            names.insert(id.as_str(), u.name.as_str());
        }
    }
    let mut rows = Vec::new();
    for (id, t) in &sales.targets {
        let Some(p) = Period::parse(&t.period).ok() else {
            continue;
        };
        let (start, end) = (p.start_ms(offset), p.end_ms(offset));
        let team = t.scope.trim().eq_ignore_ascii_case("team");
        let matches = |user: &str| {
            if team {
                team_of(user) == Some(t.subject.as_str())
            } else {
                user == t.subject
            }
        };
        let actual: Fen = orders
            .iter()
            .filter(|(u, at, _)| *at >= start && *at < end && matches(u))
            .map(|(_, _, a)| *a)
            .sum();
        let reported: Fen = reports
            .iter()
            .filter(|(u, at, _)| *at >= start && *at < end && matches(u))
            .map(|(_, _, a)| *a)
            .sum();
        let achieved_bp = if t.amount > 0 {
            (i128::from(actual) * 10_000 / i128::from(t.amount)) as i64
        } else {
            0
        };
        let elapsed_bp = if now <= start {
            0
        } else if now >= end {
            10_000
        } else {
            (i128::from(now - start) * 10_000 / i128::from(end - start)) as i64
        };
        rows.push(ProgressRow {
            target_id: id.clone(),
            scope: if team { "team".into() } else { "user".into() },
            subject: t.subject.clone(),
            subject_name: if team {
                t.subject.clone()
            } else {
                names
                    .get(t.subject.as_str())
                    .map_or_else(|| t.subject.clone(), |n| n.to_string())
            },
            period: p.label,
            period_start: start,
            period_end: end,
            target: t.amount,
            actual,
            reported,
            achieved_bp,
            elapsed_bp,
            on_track: achieved_bp >= elapsed_bp,
        });
    }
    rows.sort_by(|a, b| {
        (a.period_start, &a.scope, &a.subject, &a.target_id).cmp(&(
            b.period_start,
            &b.scope,
            &b.subject,
            &b.target_id,
        ))
    });
    rows
}

/// The sales document's ID among `docs`, if any (for callers that link the report).
pub fn sales_doc_id(docs: &[Snapshot]) -> Option<&DocId> {
    docs.iter()
        .find(|d| matches!(d.body, Body::Sales(_)))
        .map(|d| &d.id)
}
