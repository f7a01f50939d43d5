//! What the console pages show, gathered from the relay's store, roster and events log.
//! Plain data; the pages render it. Everything here reads the store: call it off the
//! async workers.

use std::collections::{BTreeMap, HashMap};

use automerge::ReadDoc;
use fieldcrm_model::access::can_read;
use fieldcrm_model::{DocId, DocKind, Millis, Role, Roster, Summary};
use fieldcrm_policy::{Finding, RuleId};

use crate::activity::{DeviceSeen, EventKind};
use crate::relay::Relay;

/// One device, as the devices page shows it.
#[derive(Debug, Clone)]
pub(crate) struct DeviceRow {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) user_name: String,
    pub(crate) role: Option<Role>,
    pub(crate) team: Option<String>,
    pub(crate) enrolled_at: Millis,
    /// The user whose device wrote the enrolment into the roster.
    pub(crate) enrolled_by: Option<String>,
    pub(crate) revoked_at: Option<Millis>,
    pub(crate) seen: DeviceSeen,
    /// Documents other devices delivered since this one's last sync that it may read.
    pub(crate) waiting: usize,
}

/// Every enrolled device, the longest without a sync first (never synced at the top,
/// revoked devices at the bottom).
pub(crate) fn device_rows(relay: &Relay) -> Result<Vec<DeviceRow>, String> {
    let Some(roster) = relay.roster()? else {
        return Ok(Vec::new());
    };
    let writers = roster_writers(relay);
    let seen = relay.activity().devices();
    let mut summaries: HashMap<String, Option<Summary>> = HashMap::new();
    let mut rows: Vec<DeviceRow> = roster
        .devices
        .iter()
        .map(|(key, d)| {
            let user = roster.users.get(&d.user);
            let s = seen.get(key).cloned().unwrap_or_default();
            let waiting = relay.activity().waiting_for(key, s.last_sync_ms, |doc| {
                let summary = summaries
                    .entry(doc.to_string())
                    .or_insert_with(|| {
                        DocId::try_from(doc.to_string())
                            .ok()
                            .and_then(|id| relay.store().summary(&id).ok().flatten())
                    })
                    .clone();
                summary.is_some_and(|s| can_read(&roster, &d.user, &s))
            });
            DeviceRow {
                key: key.clone(),
                label: d.label.clone(),
                user_name: user.map_or_else(|| d.user.clone(), |u| u.name.clone()),
                role: user.map(|u| u.role.clone()),
                team: user.and_then(|u| u.team.clone()),
                enrolled_at: d.enrolled_at,
                enrolled_by: writers
                    .get(key)
                    .and_then(|w| roster.devices.get(w))
                    .and_then(|wd| roster.users.get(&wd.user))
                    .map(|u| u.name.clone()),
                revoked_at: d.revoked_at,
                seen: s,
                waiting,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.revoked_at.is_some(), a.seen.last_sync_ms, &a.user_name).cmp(&(
            b.revoked_at.is_some(),
            b.seen.last_sync_ms,
            &b.user_name,
        ))
    });
    Ok(rows)
}

/// For each device key in the roster, the device that wrote its entry (the actor of the
/// op that created the `devices/<key>` object).
fn roster_writers(relay: &Relay) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let id = DocId::workspace(&DocKind::Roster);
    let Ok(bytes) = relay.store().load_bytes(&id) else {
        return out;
    };
    let Ok(doc) = automerge::AutoCommit::load(&bytes) else {
        return out;
    };
    let Ok(Some((_, devices))) = doc.get(automerge::ROOT, "devices") else {
        return out;
    };
    for key in doc.keys(&devices) {
        if let Ok(Some((_, automerge::ObjId::Id(_, actor, _)))) = doc.get(&devices, &key) {
            out.insert(key, actor.to_hex_string());
        }
    }
    out
}

/// One hour of the activity chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hour {
    pub(crate) start_ms: Millis,
    pub(crate) syncs: u64,
    pub(crate) failed: u64,
    pub(crate) bytes: u64,
    pub(crate) refusals: u64,
}

const HOUR_MS: Millis = 3_600_000;

/// The last `hours` hours up to `now`, oldest first.
pub(crate) fn activity_hours(relay: &Relay, now: Millis, hours: usize) -> Vec<Hour> {
    let hours_i = i64::try_from(hours).unwrap_or(48).max(1);
    let end = (now / HOUR_MS + 1) * HOUR_MS;
    let start = end - hours_i * HOUR_MS;
    let mut out: Vec<Hour> = (0..hours_i)
        .map(|i| Hour {
            start_ms: start + i * HOUR_MS,
            ..Hour::default()
        })
        .collect();
    for e in relay.activity().recent(usize::MAX, |e| e.at_ms >= start) {
        let Some(h) = usize::try_from((e.at_ms - start) / HOUR_MS)
            .ok()
            .and_then(|i| out.get_mut(i))
        else {
            continue;
        };
        match e.kind {
            EventKind::Sync => {
                h.syncs += 1;
                h.bytes = h.bytes.saturating_add(e.bytes);
            }
            EventKind::SyncFailed => {
                h.failed += 1;
                h.bytes = h.bytes.saturating_add(e.bytes);
            }
            EventKind::Refused | EventKind::ConnectionRefused | EventKind::InvitationRefused => {
                h.refusals += e.refused.max(1);
            }
            _ => {}
        }
    }
    out
}

/// The findings page's numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct FindingsView {
    pub(crate) total: usize,
    pub(crate) by_rule: Vec<(RuleId, usize)>,
    pub(crate) by_team: Vec<(String, usize)>,
    pub(crate) by_rep: Vec<(String, usize)>,
    /// Per day (`YYYY-MM-DD` in UTC+8), the open findings counted that day, oldest first.
    pub(crate) trend: Vec<(String, usize)>,
    /// The findings themselves, at most [`MAX_LISTED`].
    pub(crate) listed: Vec<Finding>,
}

const MAX_LISTED: usize = 200;
const TREND_PREFIX: &str = "console.findings.";
const TREND_DAYS: usize = 14;

/// Open findings on the merged state at `now` that `user` may read, grouped; today's
/// total is kept in the store so the page can show a trend.
pub(crate) fn findings_view(
    relay: &Relay,
    roster: &Roster,
    user: &str,
    now: Millis,
) -> Result<FindingsView, String> {
    let all = relay.checked(now).map_err(|e| e.to_string())?;
    let mut open: Vec<Finding> = all
        .iter()
        .filter(|t| t.status.is_open())
        .map(|t| t.finding.clone())
        .collect();
    let summaries: HashMap<DocId, Summary> = relay
        .store()
        .summaries_of(open.iter().flat_map(|f| &f.doc_ids))
        .map_err(|e| e.to_string())?;
    open.retain(|f| {
        f.doc_ids
            .iter()
            .all(|id| summaries.get(id).is_some_and(|s| can_read(roster, user, s)))
    });
    let mut by_rule: BTreeMap<RuleId, usize> = BTreeMap::new();
    let mut by_team: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_rep: BTreeMap<String, usize> = BTreeMap::new();
    for f in &open {
        *by_rule.entry(f.rule).or_default() += 1;
        let first = f.doc_ids.first().and_then(|id| summaries.get(id));
        let owner = first.and_then(|s| s.owner.clone());
        let team = first.and_then(|s| s.team.clone()).or_else(|| {
            owner
                .as_ref()
                .and_then(|o| roster.users.get(o)?.team.clone())
        });
        *by_team
            .entry(team.unwrap_or_else(|| "—".into()))
            .or_default() += 1;
        let rep = owner
            .map(|o| roster.users.get(&o).map_or(o, |u| u.name.clone()))
            .unwrap_or_else(|| "—".into());
        *by_rep.entry(rep).or_default() += 1;
    }
    let sorted = |m: BTreeMap<String, usize>| {
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let today = day_of(now);
    let key = format!("{TREND_PREFIX}{user}.{today}");
    let _ = relay.store().set_meta_str(&key, &open.len().to_string());
    let mut trend: Vec<(String, usize)> = relay
        .store()
        .meta_keys(&format!("{TREND_PREFIX}{user}."))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|k| {
            let n = relay.store().get_meta_str(&k).ok()??.parse().ok()?;
            let day = k.rsplit('.').next()?.to_string();
            Some((day, n))
        })
        .collect();
    trend.sort();
    let skip = trend.len().saturating_sub(TREND_DAYS);
    let trend = trend.into_iter().skip(skip).collect();
    let mut by_rule: Vec<(RuleId, usize)> = by_rule.into_iter().collect();
    by_rule.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.index().cmp(&b.0.index())));
    Ok(FindingsView {
        total: open.len(),
        by_rule,
        by_team: sorted(by_team),
        by_rep: sorted(by_rep),
        trend,
        listed: open.into_iter().take(MAX_LISTED).collect(),
    })
}

/// The calendar day of `ms` in China Standard Time (UTC+8, no daylight saving), the
/// zone the console shows.
pub(crate) fn day_of(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
}

/// Date and time of `ms` in UTC+8, `YYYY-MM-DD HH:MM`.
pub(crate) fn time_of(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}
