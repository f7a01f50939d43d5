//! The workspace context every rule reads: who is who (roster, with provenance), the
//! price policy (catalog), the effective configuration (defaults + policy document) and
//! the device whose replica is checked.
//!
//! Provenance: the author of a value is the Automerge actor of the operation that wrote
//! it (`snapshot.fields[path].values[0].actor`), a device key. A device counts only if its
//! roster entry was written by an administrator's device, and a user's role counts only if
//! it was written by an administrator's device ("who may grant roles" is decided by the
//! roster itself, as a fixpoint; see [`Trust::build`]).
//!
//! Which roles hold a sign-off or a reserved field is [`fieldcrm_model::Authority`], the
//! one table the application layer refuses actions with; nothing here lists roles.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};

use fieldcrm_model::{
    Authority, Body, Catalog, DocId, DocKind, Millis, Product, Role, Roster, Sales, Snapshot,
};

use crate::config::{Config, ConfigError};
use crate::finding::{Actor, Finding};
use crate::rule::RuleId;
use crate::time::fmt_date;

/// Users, devices and effective roles.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// The roster with untrusted devices and users without a valid role removed (for
    /// read-scope checks).
    pub effective: Roster,
    /// Every user in the roster (for names), by ID.
    pub names: HashMap<String, String>,
    /// Roster fields that were written without authority: (path, actor).
    pub denied: Vec<(String, String)>,
}

impl Trust {
    /// Decide which devices and roles count.
    ///
    /// If the roster snapshot carries the author of its `kind` key (the device that
    /// created the roster), trust grows from that device (least fixpoint). Otherwise trust
    /// starts from every device of a stored admin and shrinks until every trusted
    /// device entry and role was written by a trusted admin device (greatest fixpoint).
    pub(crate) fn build(snap: Option<&Snapshot>) -> Trust {
        let Some((snap, roster)) = snap.and_then(|s| match &s.body {
            Body::Roster(r) => Some((s, r)),
            _ => None,
        }) else {
            return Trust::default();
        };
        let author = |path: &str| -> Option<String> {
            snap.fields
                .get(path)
                .and_then(|f| f.values.first())
                .map(|s| s.actor.to_ascii_lowercase())
        };
        let devices: BTreeMap<String, &fieldcrm_model::Device> = roster
            .devices
            .iter()
            .map(|(k, d)| (k.to_ascii_lowercase(), d))
            .collect();
        let device_author: HashMap<&str, Option<String>> = devices
            .keys()
            .map(|k| {
                (
                    k.as_str(),
                    author(&format!("devices/{k}")).or_else(|| {
                        // The roster may key devices in upper case; look the original key up too.
                        roster
                            .devices
                            .keys()
                            .find(|o| o.to_ascii_lowercase() == *k)
                            .and_then(|o| author(&format!("devices/{o}")))
                    }),
                )
            })
            .collect();
        let role_author: HashMap<&str, Option<String>> = roster
            .users
            .keys()
            .map(|u| (u.as_str(), author(&format!("users/{u}/role"))))
            .collect();
        let anchor = author("kind");
        let is_admin_device = |d: &str, roles_ok: &HashSet<&str>| {
            devices.get(d).is_some_and(|dev| {
                roles_ok.contains(dev.user.as_str())
                    && roster
                        .users
                        .get(&dev.user)
                        .is_some_and(|u| Authority::Roster.allows(&u.role))
            })
        };
        // `admins`: devices whose writes grant roles and enroll devices.
        let mut admins: HashSet<String> = match &anchor {
            Some(a) => [a.clone()].into_iter().collect(),
            None => {
                let all: HashSet<&str> = roster.users.keys().map(String::as_str).collect();
                devices
                    .keys()
                    .filter(|d| is_admin_device(d, &all))
                    .cloned()
                    .collect()
            }
        };
        let (roles_ok, trusted) = loop {
            let roles_ok: HashSet<&str> = role_author
                .iter()
                .filter(|(_, a)| a.as_ref().is_some_and(|a| admins.contains(a)))
                .map(|(u, _)| *u)
                .collect();
            let trusted: HashSet<&str> = device_author
                .iter()
                .filter(|(_, a)| a.as_ref().is_some_and(|a| admins.contains(a)))
                .map(|(d, _)| *d)
                .collect();
            let mut next: HashSet<String> = trusted
                .iter()
                .filter(|d| is_admin_device(d, &roles_ok))
                .map(|d| d.to_string())
                .collect();
            if let Some(a) = &anchor {
                next.insert(a.clone());
            }
            if next == admins {
                break (roles_ok, trusted);
            }
            admins = next;
        };
        let mut effective = roster.clone();
        effective
            .users
            .retain(|id, _| roles_ok.contains(id.as_str()));
        effective.devices = devices
            .iter()
            .filter(|(k, _)| trusted.contains(k.as_str()))
            .map(|(k, d)| (k.clone(), (*d).clone()))
            .collect();
        let mut denied = Vec::new();
        for (u, a) in &role_author {
            if !roles_ok.contains(u) {
                denied.push((format!("users/{u}/role"), a.clone().unwrap_or_default()));
            }
        }
        for (d, a) in &device_author {
            if !trusted.contains(d) {
                denied.push((format!("devices/{d}"), a.clone().unwrap_or_default()));
            }
        }
        denied.sort();
        Trust {
            effective,
            names: roster
                .users
                .iter()
                .map(|(id, u)| (id.clone(), u.name.clone()))
                .collect(),
            denied,
        }
    }

    /// The user an actor (device) belongs to, if the device counts.
    pub(crate) fn user_of(&self, actor: &str) -> Option<&str> {
        let key = actor.to_ascii_lowercase();
        self.effective.devices.get(&key).map(|d| d.user.as_str())
    }

    /// The effective role of an actor.
    pub(crate) fn role_of_actor(&self, actor: &str) -> Option<&Role> {
        self.user_of(actor)
            .and_then(|u| self.effective.users.get(u))
            .map(|u| &u.role)
    }

    /// The effective role of a user.
    pub(crate) fn role_of_user(&self, user: &str) -> Option<&Role> {
        self.effective.users.get(user).map(|u| &u.role)
    }

    /// Describe an actor.
    pub(crate) fn actor(&self, actor: &str) -> Actor {
        let user = self.user_of(actor).map(str::to_string);
        Actor {
            device: actor.to_string(),
            name: user.as_ref().and_then(|u| self.names.get(u).cloned()),
            role: self.role_of_actor(actor).map(|r| r.as_str().to_string()),
            user,
        }
    }
}

/// Whether a value at a path was set by someone holding one of the roles.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// Nothing at the path.
    Absent,
    /// Set by someone with the role.
    Ok(Actor),
    /// Set by someone without the role (or by an unknown device, or provenance missing).
    Denied(Actor),
    /// A sign-off set by someone with the role, void because a value it covers changed
    /// since (or it does not record what it approved); see [`crate::signoff`].
    Void(Actor, Vec<crate::signoff::ChangedBy>),
}

impl Auth {
    pub(crate) fn ok(&self) -> bool {
        matches!(self, Auth::Ok(_))
    }

    pub(crate) fn actor(&self) -> Option<&Actor> {
        match self {
            Auth::Ok(a) | Auth::Denied(a) | Auth::Void(a, _) => Some(a),
            Auth::Absent => None,
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        self.actor().map_or(serde_json::Value::Null, Actor::json)
    }
}

/// The device whose replica is checked (for DATA-SCOPE).
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub device: String,
}

/// The whole context.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub cfg: Config,
    pub auth: Trust,
    /// Products whose catalog entry was set by a manager or admin, by SKU.
    pub products: HashMap<String, Product>,
    /// The company's product lines (normalised), if there is a catalog.
    pub lines: Option<HashSet<String>>,
    /// Display names of product lines, by normalised code.
    pub line_names: HashMap<String, String>,
    pub rep_allowance_bp: i64,
    pub manager_allowance_bp: i64,
    pub holder: Option<Holder>,
    /// Policy-settings overrides that could not be applied.
    pub config_errors: Vec<ConfigError>,
}

/// The workspace singleton documents.
#[derive(Debug, Clone)]
pub(crate) struct WsDocs<S> {
    pub roster: Option<S>,
    pub catalog: Option<S>,
    pub policy: Option<S>,
    pub sales: Option<S>,
}

impl<S> Default for WsDocs<S> {
    fn default() -> Self {
        WsDocs {
            roster: None,
            catalog: None,
            policy: None,
            sales: None,
        }
    }
}

impl<S: Borrow<Snapshot>> WsDocs<S> {
    /// Put a workspace document in its slot; gives it back if it is not one.
    pub(crate) fn slot(&mut self, s: S) -> Option<S> {
        let slot = match &s.borrow().body {
            Body::Roster(_) => &mut self.roster,
            Body::Catalog(_) => &mut self.catalog,
            Body::Policy(_) => &mut self.policy,
            Body::Sales(_) => &mut self.sales,
            _ => return Some(s),
        };
        *slot = Some(s);
        None
    }

    /// Remove a document by ID; whether it was one of the slots.
    pub(crate) fn remove(&mut self, id: &DocId) -> bool {
        for slot in [
            &mut self.roster,
            &mut self.catalog,
            &mut self.policy,
            &mut self.sales,
        ] {
            if slot.as_ref().is_some_and(|s| &s.borrow().id == id) {
                *slot = None;
                return true;
            }
        }
        false
    }

    fn get(&self) -> [Option<&Snapshot>; 4] {
        [
            self.roster.as_ref().map(Borrow::borrow),
            self.catalog.as_ref().map(Borrow::borrow),
            self.policy.as_ref().map(Borrow::borrow),
            self.sales.as_ref().map(Borrow::borrow),
        ]
    }
}

impl Ctx {
    pub(crate) fn build<S: Borrow<Snapshot>>(
        base: &Config,
        ws: &WsDocs<S>,
        holder: Option<&str>,
    ) -> Ctx {
        let [roster, catalog, policy, _] = ws.get();
        let auth = Trust::build(roster);
        let mut ctx = Ctx {
            cfg: base.clone(),
            auth,
            products: HashMap::new(),
            lines: None,
            line_names: HashMap::new(),
            rep_allowance_bp: 0,
            manager_allowance_bp: 0,
            holder: holder.map(|d| Holder {
                device: d.to_ascii_lowercase(),
            }),
            config_errors: Vec::new(),
        };
        if let Some(snap) = policy
            && let Body::Policy(p) = &snap.body
        {
            let allowed = p.rules.iter().filter(|(rule, _)| {
                ctx.check(snap, &format!("rules/{rule}"), Authority::PolicySettings)
                    .ok()
            });
            let (cfg, errors) = base.apply_settings(allowed);
            ctx.cfg = cfg;
            ctx.config_errors = errors;
        }
        ctx.rep_allowance_bp = ctx.cfg.params.rep_allowance_bp;
        ctx.manager_allowance_bp = ctx.cfg.params.manager_allowance_bp;
        if let Some(snap) = catalog
            && let Body::Catalog(c) = &snap.body
        {
            ctx.load_catalog(snap, c);
        }
        ctx
    }

    fn load_catalog(&mut self, snap: &Snapshot, c: &Catalog) {
        for (sku, p) in &c.products {
            if self
                .check(snap, &format!("products/{sku}"), Authority::Catalog)
                .ok()
            {
                self.products.insert(sku.clone(), p.clone());
            }
        }
        for (role, bp) in &c.discount_allowance_bp {
            if !self
                .check(
                    snap,
                    &format!("discount_allowance_bp/{role}"),
                    Authority::PriceAllowance,
                )
                .ok()
            {
                continue;
            }
            match role.parse::<Role>() {
                Ok(Role::Rep) => self.rep_allowance_bp = *bp,
                Ok(Role::Manager) => self.manager_allowance_bp = *bp,
                _ => {}
            }
        }
        self.line_names = c
            .product_lines
            .iter()
            .map(|(code, name)| (crate::normalize::label(code), name.clone()))
            .collect();
        let mut lines: HashSet<String> = c
            .product_lines
            .keys()
            .map(|l| crate::normalize::label(l))
            .collect();
        if lines.is_empty() {
            lines = self
                .products
                .values()
                .map(|p| crate::normalize::label(&p.product_line))
                .collect();
        }
        self.lines = Some(lines);
    }

    /// Who set `path` in `snap`, and whether they hold `authority`.
    pub(crate) fn check(&self, snap: &Snapshot, path: &str, authority: Authority) -> Auth {
        self.check_with(snap, path, |r| authority.allows(r))
    }

    /// Who set `path` in `snap`, and whether their role passes `allowed`.
    pub(crate) fn check_with(
        &self,
        snap: &Snapshot,
        path: &str,
        allowed: impl Fn(&Role) -> bool,
    ) -> Auth {
        match snap.fields.get(path).and_then(|f| f.values.first()) {
            None => Auth::Absent,
            Some(stamp) => {
                // A sign-off counts as the weakest hand that set one of its fields.
                let weakest = stamp
                    .writers()
                    .find(|w| !self.auth.role_of_actor(w).is_some_and(&allowed));
                match weakest {
                    None => Auth::Ok(self.auth.actor(&stamp.actor)),
                    Some(w) => Auth::Denied(self.auth.actor(w)),
                }
            }
        }
    }

    /// Like [`Ctx::check`], for a value the body shows: a value without provenance
    /// (no field state) counts as set by an unknown device.
    pub(crate) fn check_present(&self, snap: &Snapshot, path: &str, authority: Authority) -> Auth {
        self.check_present_with(snap, path, |r| authority.allows(r))
    }

    /// Like [`Ctx::check_with`], for a value the body shows (see [`Ctx::check_present`]).
    pub(crate) fn check_present_with(
        &self,
        snap: &Snapshot,
        path: &str,
        allowed: impl Fn(&Role) -> bool,
    ) -> Auth {
        match self.check_with(snap, path, allowed) {
            Auth::Absent => Auth::Denied(Actor {
                device: String::new(),
                user: None,
                name: None,
                role: None,
            }),
            a => a,
        }
    }

    pub(crate) fn offset(&self) -> Millis {
        self.cfg.params.utc_offset
    }

    pub(crate) fn date(&self, ms: Millis) -> String {
        fmt_date(ms, self.offset())
    }

    /// A product line's display name (the catalog's name, else the code as written).
    pub(crate) fn line_name<'a>(&'a self, line: &'a str) -> &'a str {
        self.line_names
            .get(&crate::normalize::label(line))
            .map_or(line, String::as_str)
    }

    pub(crate) fn user_label(&self, user: &str) -> String {
        self.auth
            .names
            .get(user)
            .map_or_else(|| user.to_string(), Clone::clone)
    }
}

/// Findings about the workspace documents themselves: concurrent values, fields set
/// without authority in roster / catalog / policy settings.
pub(crate) fn workspace_static_findings<S: Borrow<Snapshot>>(
    ctx: &Ctx,
    ws: &WsDocs<S>,
    out: &mut Vec<Finding>,
) {
    let [roster, catalog, policy, sales] = ws.get();
    for snap in [roster, catalog, policy, sales].into_iter().flatten() {
        crate::rules::common::concurrent_edits(ctx, snap, out);
    }
    let Some(sev) = ctx.cfg.severity(RuleId::DataAuthority) else {
        return;
    };
    let mut push = |snap: &Snapshot, path: &str, actor: Actor, authority: Authority| {
        out.push(crate::rules::common::authority_finding(
            sev, snap, path, &actor, authority,
        ));
    };
    if let Some(snap) = roster {
        for (path, actor) in &ctx.auth.denied {
            push(snap, path, ctx.auth.actor(actor), Authority::Roster);
        }
    }
    // Every reserved field of the catalog and the policy settings (the sales document's
    // targets are reported by no rule yet).
    for (snap, kind) in [(catalog, DocKind::Catalog), (policy, DocKind::Policy)] {
        let Some(snap) = snap else {
            continue;
        };
        for path in snap.fields.keys() {
            let Some(authority) = Authority::for_field(&kind, path) else {
                continue;
            };
            if let Auth::Denied(a) = ctx.check(snap, path, authority) {
                push(snap, path, a, authority);
            }
        }
    }
}

/// The sales document, if any.
pub(crate) fn sales_doc<S: Borrow<Snapshot>>(ws: &WsDocs<S>) -> Option<(&DocId, &Sales)> {
    let snap = ws.sales.as_ref()?.borrow();
    match &snap.body {
        Body::Sales(s) => Some((&snap.id, s)),
        _ => None,
    }
}

/// The roster document ID, if any.
pub(crate) fn roster_id<S: Borrow<Snapshot>>(ws: &WsDocs<S>) -> Option<&DocId> {
    ws.roster.as_ref().map(|s| &s.borrow().id)
}
