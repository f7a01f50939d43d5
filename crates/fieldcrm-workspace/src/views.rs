//! What a front end's pages show, computed once here as plain data so the web app and the
//! CLI agree: the rep's day (`today`), the approval inbox (`inbox`), the team's findings
//! (`team_findings`) and the manager reports (`reports`).
//!
//! Everything reads the cached policy snapshots (no document is loaded twice) and the
//! effective rule configuration, and is limited to what the acting user may read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fieldcrm_model::access::can_read;
use fieldcrm_model::{
    Body, Customer, CustomerClass, DAY_MS, DocId, DocKind, Fen, InteractionKind, Millis, Role,
    Snapshot, Stage, Summary,
};
use fieldcrm_policy::{Config, Finding, ParamValue, ProgressRow, RuleId};
use serde::Serialize;

use crate::{Me, Result, Workspace, discount_bp};

/// How far ahead the day view looks for contacts and deliveries coming due.
pub const TODAY_HORIZON_MS: Millis = 7 * DAY_MS;

/// A customer whose contact (or key-customer visit) is due or overdue.
#[derive(Debug, Clone, Serialize)]
pub struct DueContact {
    /// The customer file.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// Its class.
    pub class: Option<CustomerClass>,
    /// The last contact (or visit) that happened, if any.
    pub last: Option<Millis>,
    /// When the next one is due.
    pub due_at: Millis,
    /// Whether `due_at` has passed.
    pub overdue: bool,
}

/// An order whose promised delivery is due or overdue.
#[derive(Debug, Clone, Serialize)]
pub struct DueDelivery {
    /// The customer file.
    pub id: DocId,
    /// The customer's name.
    pub customer: String,
    /// The order's entity ID.
    pub order: String,
    /// Product SKU.
    pub product: String,
    /// Quantity.
    pub quantity: i64,
    /// Promised delivery time.
    pub promised_at: Millis,
    /// Whether it is late.
    pub overdue: bool,
}

/// What waits for a sign-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalKind {
    /// A quote's discount (managers).
    Quote,
    /// An order's discount (managers).
    Order,
    /// A gift over the limit (managers).
    Gift,
    /// A contract's legal review (legal).
    Contract,
}

impl ApprovalKind {
    /// Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            ApprovalKind::Quote => "报价",
            ApprovalKind::Order => "订单",
            ApprovalKind::Gift => "礼品招待",
            ApprovalKind::Contract => "合同",
        }
    }

    /// English name.
    pub fn en(self) -> &'static str {
        match self {
            ApprovalKind::Quote => "quote",
            ApprovalKind::Order => "order",
            ApprovalKind::Gift => "gift",
            ApprovalKind::Contract => "contract",
        }
    }

    /// The path segment of the collection (`quotes`, `orders`, `gifts`, `contracts`).
    pub fn collection(self) -> &'static str {
        match self {
            ApprovalKind::Quote => "quotes",
            ApprovalKind::Order => "orders",
            ApprovalKind::Gift => "gifts",
            ApprovalKind::Contract => "contracts",
        }
    }
}

/// One item waiting for a sign-off.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    /// What it is.
    pub kind: ApprovalKind,
    /// The customer file.
    pub id: DocId,
    /// The customer's name.
    pub customer: String,
    /// The entity ID in its collection.
    pub entity: String,
    /// Product SKU (quotes, orders), gift description or contract title.
    pub what: String,
    /// Amount: price × quantity, gift value or contract amount, fen.
    pub amount: Fen,
    /// Unit price and list price (quotes, orders), fen.
    pub price: Option<(Fen, Fen)>,
    /// Discount in basis points (quotes, orders).
    pub discount_bp: i64,
    /// The rep allowance in basis points (quotes, orders): beyond it a sign-off is due.
    pub allowance_bp: i64,
    /// Who recorded it (user ID).
    pub by: String,
    /// Their name.
    pub by_name: Option<String>,
    /// When it was recorded.
    pub at: Millis,
    /// Whether the acting user may sign it.
    pub can_approve: bool,
}

/// The rep's day.
#[derive(Debug, Clone, Serialize)]
pub struct Today {
    /// Customers due for contact under the cadence rule (within the horizon or overdue).
    pub contacts: Vec<DueContact>,
    /// Key customers due for an in-person visit.
    pub key_visits: Vec<DueContact>,
    /// Undelivered orders promised within the horizon or late.
    pub deliveries: Vec<DueDelivery>,
    /// My quotes and orders waiting for a manager's approval.
    pub waiting: Vec<Pending>,
    /// Open findings about documents I own (managers: documents I may read).
    pub findings: Vec<Finding>,
    /// Kind and name of the documents the findings are about.
    pub names: HashMap<DocId, (DocKind, String)>,
    /// My targets and my team's.
    pub progress: Vec<ProgressRow>,
}

/// A finding with the owner of the document it is about.
#[derive(Debug, Clone, Serialize)]
pub struct TeamFinding {
    /// The finding.
    pub finding: Finding,
    /// Owner (user ID) of its first document.
    pub owner: Option<String>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// Name of its first document.
    pub doc_name: Option<String>,
    /// Kind of its first document.
    pub doc_kind: Option<DocKind>,
}

/// A week's count of interactions per rep.
#[derive(Debug, Clone, Serialize)]
pub struct VisitWeek {
    /// Start of the week (Monday 00:00 in the company's offset), UTC ms.
    pub week_start: Millis,
    /// Count per user ID.
    pub counts: BTreeMap<String, u64>,
}

/// Manager reports.
#[derive(Debug, Clone, Serialize)]
pub struct Reports {
    /// Target vs actual for every target.
    pub progress: Vec<ProgressRow>,
    /// Open pipeline by stage: (stage, count, amount in fen), in stage order.
    pub pipeline: Vec<(Stage, u64, Fen)>,
    /// Interactions per rep per week, oldest first (8 weeks).
    pub visits: Vec<VisitWeek>,
    /// User ID → name for the people in `visits`.
    pub users: BTreeMap<String, String>,
    /// Complaints open and closed.
    pub complaints_open: u64,
    /// Complaints closed.
    pub complaints_closed: u64,
}

fn duration_param(config: &Config, rule: RuleId, name: &str) -> Option<Millis> {
    match config.rule(rule).params.get(name)? {
        ParamValue::Duration(d) => Some(*d),
        ParamValue::OptDuration(d) => *d,
        _ => None,
    }
}

fn money_param(config: &Config, rule: RuleId, name: &str) -> Option<Fen> {
    match config.rule(rule).params.get(name)? {
        ParamValue::Money(m) => Some(*m),
        _ => None,
    }
}

fn percent_param(config: &Config, rule: RuleId, name: &str) -> Option<i64> {
    match config.rule(rule).params.get(name)? {
        ParamValue::Percent(p) => Some(*p),
        _ => None,
    }
}

fn is_manager(role: &Role) -> bool {
    matches!(role, Role::Manager | Role::Admin | Role::ChannelManager)
}

/// Live customer files (not merged away) in `snaps`.
fn customers(snaps: &[Arc<Snapshot>]) -> impl Iterator<Item = (&DocId, &Customer)> {
    snaps.iter().filter_map(|s| match &s.body {
        Body::Customer(c) if c.merged_into.is_none() => Some((&s.id, c)),
        _ => None,
    })
}

impl Workspace {
    fn config(&self) -> Config {
        self.effective_policy()
            .map(|(c, _)| c)
            .unwrap_or_else(|_| Config::default())
    }

    /// The discount allowance (basis points) of `role`: the catalog's price policy, else
    /// the PRICE-DISCOUNT rule's default for the role; admins may give any discount.
    pub fn role_allowance_bp(&self, role: &Role, config: &Config) -> i64 {
        if *role == Role::Admin {
            return 10_000;
        }
        if let Ok(c) = self.catalog()
            && let Some(bp) = c.discount_allowance_bp.get(role.as_str())
        {
            return *bp;
        }
        percent_param(
            config,
            RuleId::PriceDiscount,
            &format!("{}_allowance", role.as_str().replace('-', "_")),
        )
        .unwrap_or(0)
    }

    /// The rep's day at `now`: contacts and visits coming due, deliveries, quotes waiting
    /// for approval, findings and target progress. Kept in the memo, when there is one,
    /// while the store is unchanged and for a minute of clock.
    pub fn today(&self, now: Millis) -> Result<Arc<Today>> {
        self.memoized("today", now, || self.compute_today(now))
    }

    fn compute_today(&self, now: Millis) -> Result<Today> {
        let me = self.me()?;
        let snaps = self.snapshots()?;
        let config = self.config();
        let mine = |s: &Summary| s.owner.as_deref() == Some(me.user_id.as_str());
        let horizon = now.saturating_add(TODAY_HORIZON_MS);
        let key_interval = duration_param(&config, RuleId::CustContactCadence, "key_interval");
        let general_interval =
            duration_param(&config, RuleId::CustContactCadence, "general_interval");
        let potential_interval =
            duration_param(&config, RuleId::CustContactCadence, "potential_interval");
        let visit_interval = duration_param(&config, RuleId::CustKeyVisit, "interval");
        let mut contacts = Vec::new();
        let mut key_visits = Vec::new();
        let mut deliveries = Vec::new();
        for (id, c) in customers(&snaps) {
            if c.owner.as_deref() != Some(me.user_id.as_str()) {
                continue;
            }
            let mut last_any = None;
            let mut last_visit = None;
            for i in c.interactions.values().filter(|i| i.occurred_at <= now) {
                last_any = last_any.max(Some(i.occurred_at));
                if i.kind == InteractionKind::Visit {
                    last_visit = last_visit.max(Some(i.occurred_at));
                }
            }
            let interval = match c.class {
                Some(CustomerClass::Key) => key_interval,
                Some(CustomerClass::General) => general_interval,
                Some(CustomerClass::Potential) => potential_interval,
                _ => None,
            };
            let due = |last: Option<Millis>, interval: Millis| {
                let due_at = last.unwrap_or(c.created_at).saturating_add(interval);
                (due_at <= horizon).then(|| DueContact {
                    id: id.clone(),
                    name: c.name.clone(),
                    class: c.class.clone(),
                    last,
                    due_at,
                    overdue: due_at <= now,
                })
            };
            if let Some(i) = interval
                && config.enabled(RuleId::CustContactCadence)
                && let Some(d) = due(last_any, i)
            {
                contacts.push(d);
            }
            if c.class == Some(CustomerClass::Key)
                && config.enabled(RuleId::CustKeyVisit)
                && let Some(i) = visit_interval
                && let Some(d) = due(last_visit, i)
            {
                key_visits.push(d);
            }
            for (oid, o) in &c.orders {
                if o.delivered_at.is_none() && !o.is_cancelled() && o.promised_at <= horizon {
                    deliveries.push(DueDelivery {
                        id: id.clone(),
                        customer: c.name.clone(),
                        order: oid.clone(),
                        product: o.product.clone(),
                        quantity: o.quantity,
                        promised_at: o.promised_at,
                        overdue: o.promised_at < now,
                    });
                }
            }
        }
        contacts.sort_by_key(|d| d.due_at);
        key_visits.sort_by_key(|d| d.due_at);
        deliveries.sort_by_key(|d| d.promised_at);

        let waiting = self
            .pending_in(&snaps, &me, &config)
            .into_iter()
            .filter(|p| p.by == me.user_id && p.kind != ApprovalKind::Contract)
            .collect();

        // Summaries only of the documents findings are about (not of every document).
        let by_id: HashMap<&DocId, &Snapshot> = snaps.iter().map(|s| (&s.id, s.as_ref())).collect();
        let manager = is_manager(&me.user.role);
        // Open findings only: a waived one waits for nobody. From the tracked findings
        // by reference (kept in the memo), copying only the ones kept.
        let tracked = self.all_tracked(now)?;
        let mut summaries: HashMap<&DocId, Summary> = HashMap::new();
        let mut findings: Vec<Finding> = Vec::new();
        for f in tracked
            .iter()
            .filter(|t| t.status.is_open())
            .map(|t| &t.finding)
            .filter(|f| f.rule != RuleId::TargetProgress)
        {
            let mine_or_seen = f.doc_ids.iter().any(|d| {
                let Some(snap) = by_id.get(d) else {
                    return false;
                };
                let s = summaries.entry(d).or_insert_with(|| snap.summary());
                (s.kind == DocKind::Customer || s.kind == DocKind::Channel)
                    && (mine(s) || (manager && can_read(&me.roster, &me.user_id, s)))
            });
            if mine_or_seen {
                findings.push(f.clone());
            }
        }
        let names = findings
            .iter()
            .flat_map(|f| f.doc_ids.iter())
            .filter_map(|d| {
                summaries
                    .get(d)
                    .map(|s| (d.clone(), (s.kind.clone(), s.name.clone())))
            })
            .collect();
        let team = me.user.team.clone();
        let progress = fieldcrm_policy::target_progress(&snaps, &Config::default(), now)
            .into_iter()
            .filter(|r| {
                (r.scope == "user" && r.subject == me.user_id)
                    || (r.scope == "team" && Some(&r.subject) == team.as_ref())
            })
            .collect();
        Ok(Today {
            contacts,
            key_visits,
            deliveries,
            waiting,
            findings,
            names,
            progress,
        })
    }

    fn pending_in(&self, snaps: &[Arc<Snapshot>], me: &Me, config: &Config) -> Vec<Pending> {
        let gift_limit = money_param(config, RuleId::GiftDeclaration, "limit").unwrap_or(50_000);
        let roster = &me.roster;
        let name_of = |u: &str| roster.users.get(u).map(|u| u.name.clone());
        // As the PRICE-DISCOUNT rule: a discount beyond the rep allowance needs a sign-off,
        // whoever quoted it; a manager may sign up to the manager allowance, an admin any.
        let rep_allowance = self.role_allowance_bp(&Role::Rep, config);
        let manager_allowance = self.role_allowance_bp(&Role::Manager, config);
        let role = &me.user.role;
        let may_sign = |d: i64| match role {
            Role::Admin => true,
            Role::Manager => d <= manager_allowance,
            _ => false,
        };
        let approver = matches!(role, Role::Manager | Role::Admin);
        let mut out = Vec::new();
        for s in snaps {
            let Body::Customer(c) = &s.body else {
                continue;
            };
            if c.merged_into.is_some() || !can_read(roster, &me.user_id, &s.summary()) {
                continue;
            }
            let prices = c
                .quotes
                .iter()
                .filter(|(_, q)| !q.has_current_approval() && !q.is_cancelled())
                .map(|(k, q)| {
                    (
                        ApprovalKind::Quote,
                        k,
                        &q.product,
                        q.quantity,
                        q.price,
                        q.list_price,
                        &q.by,
                        q.created_at,
                    )
                })
                .chain(
                    c.orders
                        .iter()
                        .filter(|(_, o)| !o.has_current_approval() && !o.is_cancelled())
                        .map(|(k, o)| {
                            (
                                ApprovalKind::Order,
                                k,
                                &o.product,
                                o.quantity,
                                o.price,
                                o.list_price,
                                &o.by,
                                o.ordered_at,
                            )
                        }),
                );
            for (kind, k, product, quantity, price, list, by, at) in prices {
                let d = discount_bp(list, price);
                if d > rep_allowance {
                    out.push(Pending {
                        kind,
                        id: s.id.clone(),
                        customer: c.name.clone(),
                        entity: k.clone(),
                        what: product.clone(),
                        amount: price.saturating_mul(quantity),
                        price: Some((price, list)),
                        discount_bp: d,
                        allowance_bp: rep_allowance,
                        by: by.clone(),
                        by_name: name_of(by),
                        at,
                        can_approve: may_sign(d),
                    });
                }
            }
            for (k, g) in &c.gifts {
                if !g.has_current_approval() && (g.value > gift_limit || !g.declared) {
                    out.push(Pending {
                        kind: ApprovalKind::Gift,
                        id: s.id.clone(),
                        customer: c.name.clone(),
                        entity: k.clone(),
                        what: g.description.clone(),
                        amount: g.value,
                        price: None,
                        discount_bp: 0,
                        allowance_bp: 0,
                        by: g.by.clone(),
                        by_name: name_of(&g.by),
                        at: g.at,
                        can_approve: approver,
                    });
                }
            }
            for (k, ct) in &c.contracts {
                if ct.legal_review.is_none() {
                    out.push(Pending {
                        kind: ApprovalKind::Contract,
                        id: s.id.clone(),
                        customer: c.name.clone(),
                        entity: k.clone(),
                        what: ct.title.clone(),
                        amount: ct.amount,
                        price: None,
                        discount_bp: 0,
                        allowance_bp: 0,
                        by: ct.by.clone(),
                        by_name: name_of(&ct.by),
                        at: ct.created_at,
                        can_approve: *role == Role::Legal,
                    });
                }
            }
        }
        out.sort_by_key(|p| p.at);
        out
    }

    /// Everything waiting for a sign-off that the acting user may read: quotes and
    /// orders with a discount over the rep allowance (as the PRICE-DISCOUNT rule), gifts over the limit or not
    /// declared, contracts without a legal review. `can_approve` tells which the acting
    /// user may sign.
    pub fn inbox(&self) -> Result<Arc<Vec<Pending>>> {
        // Nothing in it depends on the clock: kept while the store is unchanged.
        self.memoized("inbox", 0, || self.compute_inbox())
    }

    fn compute_inbox(&self) -> Result<Vec<Pending>> {
        let me = self.me()?;
        let snaps = self.snapshots()?;
        let config = self.config();
        Ok(self.pending_in(&snaps, &me, &config))
    }

    /// The findings about documents the acting user may read, with each one's owner.
    pub fn team_findings(&self, now: Millis) -> Result<Arc<Vec<TeamFinding>>> {
        self.memoized("team_findings", now, || self.compute_team_findings(now))
    }

    fn compute_team_findings(&self, now: Millis) -> Result<Vec<TeamFinding>> {
        let me = self.me()?;
        let snaps = self.snapshots()?;
        let summaries: HashMap<DocId, Summary> =
            snaps.iter().map(|s| (s.id.clone(), s.summary())).collect();
        let findings = self.check(&crate::CheckQuery::default(), now)?;
        Ok(findings
            .iter()
            .cloned()
            .filter_map(|f| {
                let first = f.doc_ids.first().and_then(|d| summaries.get(d));
                if let Some(s) = first
                    && !can_read(&me.roster, &me.user_id, s)
                    && !s.kind.is_workspace_doc()
                {
                    return None;
                }
                let owner = first.and_then(|s| s.owner.clone());
                let owner_name = owner
                    .as_deref()
                    .and_then(|o| me.roster.users.get(o))
                    .map(|u| u.name.clone());
                Some(TeamFinding {
                    doc_name: first.map(|s| s.name.clone()),
                    doc_kind: first.map(|s| s.kind.clone()),
                    finding: f,
                    owner,
                    owner_name,
                })
            })
            .collect())
    }

    /// Manager reports at `now`: target progress, open pipeline by stage, interactions
    /// per rep per week (the last 8 weeks), complaints open and closed.
    pub fn reports(&self, now: Millis) -> Result<Arc<Reports>> {
        self.memoized("reports", now, || self.compute_reports(now))
    }

    fn compute_reports(&self, now: Millis) -> Result<Reports> {
        let me = self.me()?;
        let snaps = self.snapshots()?;
        let config = self.config();
        let offset = config.utc_offset();
        let progress = fieldcrm_policy::target_progress(&snaps, &Config::default(), now);
        let mut pipeline: Vec<(Stage, u64, Fen)> = Stage::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| (s.clone(), 0, 0))
            .collect();
        // Weeks start on Monday 00:00 local; 1970-01-01 was a Thursday.
        let week = 7 * DAY_MS;
        let local = now.saturating_add(offset);
        let this_week = local - local.saturating_add(3 * DAY_MS).rem_euclid(week) - offset;
        let mut visits: Vec<VisitWeek> = (0..8)
            .rev()
            .map(|i| VisitWeek {
                week_start: this_week - i * week,
                counts: BTreeMap::new(),
            })
            .collect();
        let first_week = this_week - 7 * week;
        let mut users = BTreeMap::new();
        let (mut open, mut closed) = (0, 0);
        for s in snaps.iter() {
            let Body::Customer(c) = &s.body else {
                continue;
            };
            if c.merged_into.is_some() || !can_read(&me.roster, &me.user_id, &s.summary()) {
                continue;
            }
            for o in c.opportunities.values() {
                if let Some(row) = pipeline.iter_mut().find(|(st, _, _)| *st == o.stage) {
                    row.1 += 1;
                    row.2 = row.2.saturating_add(o.amount);
                }
            }
            for i in c.interactions.values() {
                if i.occurred_at < first_week || i.occurred_at > now {
                    continue;
                }
                let slot = usize::try_from((i.occurred_at - first_week) / week).unwrap_or(0);
                if let Some(w) = visits.get_mut(slot) {
                    *w.counts.entry(i.by.clone()).or_insert(0) += 1;
                    if let Some(u) = me.roster.users.get(&i.by) {
                        users.insert(i.by.clone(), u.name.clone());
                    }
                }
            }
            for cp in c.complaints.values() {
                if cp.closed_at.is_some() {
                    closed += 1;
                } else {
                    open += 1;
                }
            }
        }
        Ok(Reports {
            progress,
            pipeline,
            visits,
            users,
            complaints_open: open,
            complaints_closed: closed,
        })
    }
}
