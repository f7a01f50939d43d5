//! The workspace documents: catalog, price policy, rule settings, roster, targets, reports.

use fieldcrm_model::*;

use super::*;
use crate::{Error, Result, Workspace, resolve_entity};

impl Workspace {
    // ----- workspace documents -----

    pub(super) fn edit_singleton<R>(
        &self,
        kind: DocKind,
        now: Millis,
        message: &str,
        authority: Option<Authority>,
        f: impl FnOnce(&mut Document, &Me) -> Result<R>,
    ) -> Result<R> {
        let me = self.me()?;
        if let Some(a) = authority {
            me.require(a)?;
        }
        self.edit(&DocId::workspace(&kind), now, message, |doc| f(doc, &me))
    }

    /// Add or update a product (managers, admins).
    pub fn catalog_put(&self, sku: &str, product: Product, now: Millis) -> Result<()> {
        let sku = required("SKU", sku)?;
        let product = Product {
            name: required("product name", &product.name)?,
            product_line: required("product line", &product.product_line)?,
            ..product
        };
        positive("list price", product.list_price)?;
        if product.floor_price < 0 {
            return Err(Error::bad(
                "floor_price",
                "底价不能为负数",
                "the floor price must not be negative",
            ));
        }
        if product.floor_price > product.list_price {
            return Err(Error::bad(
                "floor_price",
                "底价高于目录价",
                "the floor price is above the list price",
            ));
        }
        self.edit_singleton(
            DocKind::Catalog,
            now,
            &format!("产品 product {sku}"),
            Some(Authority::Catalog),
            |doc, _| {
                if doc.map_at(&["product_lines"]).is_some() {
                    let lines: Catalog = doc.hydrate()?;
                    if !lines.product_lines.contains_key(&product.product_line) {
                        doc.put(
                            &["product_lines", &product.product_line],
                            &product.product_line,
                        )?;
                    }
                }
                doc.put(&["products", &sku], &product)?;
                Ok(())
            },
        )
    }

    /// Set a role's discount allowance in basis points (managers, admins).
    pub fn set_allowance(&self, role: &Role, bp: i64, now: Millis) -> Result<()> {
        if !(0..=10_000).contains(&bp) {
            return Err(Error::invalid("an allowance is between 0% and 100%"));
        }
        self.edit_singleton(
            DocKind::Catalog,
            now,
            "价格政策 price policy",
            Some(Authority::PriceAllowance),
            |doc, _| {
                doc.put(&["discount_allowance_bp", role.as_str()], &bp)?;
                Ok(())
            },
        )
    }

    /// Set a rule override (managers, admins).
    pub fn set_rule(&self, rule: &str, setting: RuleSetting, now: Millis) -> Result<()> {
        self.edit_singleton(
            DocKind::Policy,
            now,
            &format!("规则配置 policy {rule}"),
            Some(Authority::PolicySettings),
            |doc, _| {
                doc.put(&["rules", rule], &setting)?;
                Ok(())
            },
        )
    }

    /// Add a user (admins). Returns the user ID.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        team: Option<String>,
        region: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let name = required("user name", name)?;
        let uid = new_entity_id();
        self.edit_singleton(
            DocKind::Roster,
            now,
            &format!("新增用户 add user {name}"),
            Some(Authority::Roster),
            |doc, me| {
                if me.roster.users.values().any(|u| u.name == name) {
                    return Err(Error::invalid(format!(
                        "a user named `{name}` already exists"
                    )));
                }
                doc.put(
                    &["users", &uid],
                    &User {
                        name,
                        role,
                        team: opt_text(team),
                        region: opt_text(region),
                        active: true,
                        created_at: now,
                    },
                )?;
                Ok(())
            },
        )?;
        Ok(uid)
    }

    /// Change a user's role, team, region or active flag (admins); returns the user's ID.
    pub fn update_user(
        &self,
        user: &str,
        role: Option<Role>,
        team: Option<String>,
        region: Option<String>,
        active: Option<bool>,
        now: Millis,
    ) -> Result<String> {
        self.edit_singleton(
            DocKind::Roster,
            now,
            "修改用户 update user",
            Some(Authority::Roster),
            |doc, me| {
                let uid = resolve_user_in(me, user)?;
                if let Some(r) = role {
                    doc.put(&["users", &uid, "role"], &r)?;
                }
                if let Some(t) = team {
                    doc.put(&["users", &uid, "team"], &opt_text(Some(t)))?;
                }
                if let Some(r) = region {
                    doc.put(&["users", &uid, "region"], &opt_text(Some(r)))?;
                }
                if let Some(a) = active {
                    doc.put(&["users", &uid, "active"], &a)?;
                }
                Ok(uid)
            },
        )
    }

    /// Enroll a device key for a user (admins).
    pub fn enroll_device(
        &self,
        key: &DeviceKey,
        user: &str,
        label: &str,
        now: Millis,
    ) -> Result<String> {
        self.edit_singleton(DocKind::Roster, now, "登记设备 enroll device", Some(Authority::Roster), |doc, me| {
            let uid = resolve_user_in(me, user)?;
            if let Some(d) = me.roster.devices.get(&key.to_hex()) {
                if d.revoked_at.is_some() {
                    return Err(Error::invalid(format!("device {key} was revoked; a revoked key cannot be enrolled again (make a new key)")));
                }
                return Err(Error::invalid(format!("device {key} is already enrolled")));
            }
            doc.put(&["devices", &key.to_hex()], &Device { user: uid.clone(), label: label.to_string(), enrolled_at: now, revoked_at: None, invitation: None })?;
            Ok(uid)
        })
    }

    /// Revoke a device (admins).
    pub fn revoke_device(&self, key_text: &str, now: Millis) -> Result<DeviceKey> {
        self.edit_singleton(
            DocKind::Roster,
            now,
            "吊销设备 revoke device",
            Some(Authority::Roster),
            |doc, me| {
                let hex = resolve_entity("device", &me.roster.devices, key_text)?;
                let key: DeviceKey = hex
                    .parse()
                    .map_err(|e: BadDeviceKey| Error::invalid(e.to_string()))?;
                if key == self.device() {
                    return Err(Error::invalid("you cannot revoke the device you are using"));
                }
                if crate::resolve::entry("device", &me.roster.devices, &hex)?
                    .revoked_at
                    .is_some()
                {
                    return Err(Error::invalid(format!(
                        "device {} is already revoked",
                        short_id(&hex)
                    )));
                }
                doc.put(&["devices", &hex, "revoked_at"], &Some(now))?;
                Ok(key)
            },
        )
    }

    /// Set a sales target (managers).
    pub fn set_target(
        &self,
        scope_user: Option<&str>,
        team: Option<&str>,
        period: &str,
        amount: Fen,
        now: Millis,
    ) -> Result<String> {
        positive("target amount", amount)?;
        let period = parse_period(period)?;
        let tid = new_entity_id();
        self.edit_singleton(
            DocKind::Sales,
            now,
            "销售目标 set target",
            Some(Authority::Targets),
            |doc, me| {
                let (scope, subject) = match (scope_user, team) {
                    (Some(u), None) => ("user", resolve_user_in(me, u)?),
                    (None, Some(t)) => ("team", required("team", t)?),
                    _ => return Err(Error::invalid("give exactly one of --user or --team")),
                };
                doc.put(
                    &["targets", &tid],
                    &Target {
                        scope: scope.into(),
                        subject,
                        period,
                        amount,
                        by: me.user_id.clone(),
                        at: now,
                    },
                )?;
                Ok(())
            },
        )?;
        Ok(tid)
    }

    /// Submit the acting user's sales report for a period.
    pub fn submit_report(
        &self,
        period: &str,
        amount: Fen,
        summary: &str,
        now: Millis,
    ) -> Result<String> {
        if amount < 0 {
            return Err(Error::invalid("a report amount cannot be negative"));
        }
        let period = parse_period(period)?;
        let rid = new_entity_id();
        self.edit_singleton(
            DocKind::Sales,
            now,
            "销售报告 submit report",
            None,
            |doc, me| {
                doc.put(
                    &["reports", &rid],
                    &SalesReport {
                        user: me.user_id.clone(),
                        period,
                        summary: required("report summary", summary)?,
                        amount,
                        submitted_at: now,
                    },
                )?;
                Ok(())
            },
        )?;
        Ok(rid)
    }
}

/// Validate a period and return its canonical label (see [`crate::input::period`]).
pub fn parse_period(text: &str) -> Result<String> {
    crate::input::period("period", text)
}
