//! The sales process: opportunities, quotes, contracts, orders, gifts, and discount approval.

use fieldcrm_model::*;

use super::*;
use crate::{Error, Result, Workspace, resolve_entity};
use fieldcrm_model::money::format_yuan;
use fieldcrm_model::signoff::covered_in;

/// What a quote or order edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedEdit {
    /// The entity's ID.
    pub id: String,
    /// The discount now, basis points.
    pub discount_bp: i64,
    /// A discount approval covered the old values and no longer counts: it needs
    /// approving again.
    pub approval_void: bool,
}

/// A signed collection of a customer file: its name, its keys, and the sign-off.
type Signed<'a> = (&'a str, fn(&Customer) -> Vec<String>, Authority);

impl Workspace {
    /// Add an opportunity.
    pub fn add_opportunity(
        &self,
        id: &DocId,
        title: &str,
        stage: Stage,
        amount: Fen,
        now: Millis,
    ) -> Result<String> {
        not_negative("amount", amount)?;
        let me = self.me()?;
        let o = Opportunity {
            title: required("opportunity title", title)?,
            stage,
            amount,
            last_activity_at: now,
            created_at: now,
            by: me.user_id,
        };
        self.add_to_customer(id, "opportunities", &o, now, "新增销售机会 add opportunity")
    }

    /// Update an opportunity's stage or amount; records activity now; returns its full ID.
    pub fn update_opportunity(
        &self,
        id: &DocId,
        opp: &str,
        stage: Option<Stage>,
        amount: Option<Fen>,
        now: Millis,
    ) -> Result<String> {
        if let Some(a) = amount {
            not_negative("amount", a)?;
        }
        self.edit_customer(
            id,
            now,
            "跟进销售机会 update opportunity",
            |doc, c, _| {
                let oid = resolve_entity("opportunity", &c.opportunities, opp)?;
                if let Some(s) = stage {
                    doc.put(&["opportunities", &oid, "stage"], &s)?;
                }
                if let Some(a) = amount {
                    doc.put(&["opportunities", &oid, "amount"], &a)?;
                }
                doc.put(&["opportunities", &oid, "last_activity_at"], &now)?;
                Ok(oid)
            },
        )
    }

    pub(super) fn product(&self, sku: &str) -> Result<(String, Product)> {
        let catalog = self.catalog()?;
        let key = resolve_entity("product", &catalog.products, sku).or_else(|_| {
            catalog
                .products
                .iter()
                .find(|(_, p)| p.name == sku.trim())
                .map(|(k, _)| k.clone())
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "no product `{sku}` in the catalog (see `fieldcrm catalog list`)"
                    ))
                })
        })?;
        let p = crate::resolve::entry("product", &catalog.products, &key)?.clone();
        Ok((key, p))
    }

    /// Allowance (basis points) for a role from the price policy.
    pub fn allowance_bp(&self, role: &Role) -> Result<i64> {
        let catalog = self.catalog()?;
        Ok(match role {
            Role::Admin => 10_000,
            r => catalog
                .discount_allowance_bp
                .get(r.as_str())
                .copied()
                .unwrap_or(0),
        })
    }

    /// Add a quote; returns its ID and the discount in basis points.
    pub fn add_quote(
        &self,
        id: &DocId,
        product: &str,
        quantity: i64,
        price: Fen,
        now: Millis,
    ) -> Result<(String, i64)> {
        positive("quantity", quantity)?;
        positive("price", price)?;
        let (sku, p) = self.product(product)?;
        let me = self.me()?;
        let q = Quote {
            product: sku,
            quantity,
            list_price: p.list_price,
            price,
            created_at: now,
            by: me.user_id,
            approval: None,
            cancelled: None,
        };
        let eid = self.add_to_customer(
            id,
            "quotes",
            &q,
            now,
            &format!("报价 add quote {}", format_yuan(price)),
        )?;
        Ok((eid, discount_bp(p.list_price, price)))
    }

    /// Change a quote's unit price and/or quantity (`collection` `quotes` or `orders`).
    /// A sign-off given before covers the old values: the edit voids it, and the result
    /// says so (the rules then report it as needing approval again).
    fn edit_priced(
        &self,
        id: &DocId,
        (collection, what, authority): (&str, &str, Authority),
        entity: &str,
        (price, quantity): (Option<Fen>, Option<i64>),
        now: Millis,
    ) -> Result<PricedEdit> {
        if price.is_none() && quantity.is_none() {
            return Err(Error::bad(
                "price",
                "没有要修改的内容：请给出新的单价或数量".to_string(),
                "nothing to change: give a new price or quantity".to_string(),
            ));
        }
        if let Some(p) = price {
            positive("price", p)?;
        }
        if let Some(q) = quantity {
            positive("quantity", q)?;
        }
        let message = format!("修改{what} edit {collection}");
        self.edit_customer(id, now, &message, |doc, c, _| {
            let (eid, list, old_price, approval) = match collection {
                "quotes" => {
                    let (eid, q) = crate::resolve::resolve_entry(what, &c.quotes, entity)?;
                    (eid, q.list_price, q.price, q.approval.clone())
                }
                _ => {
                    let (eid, o) = crate::resolve::resolve_entry(what, &c.orders, entity)?;
                    (eid, o.list_price, o.price, o.approval.clone())
                }
            };
            if let Some(p) = price {
                doc.put(&[collection, &eid, "price"], &p)?;
            }
            if let Some(q) = quantity {
                doc.put(&[collection, &eid, "quantity"], &q)?;
            }
            let approval_void = approval
                .is_some_and(|a| a.covers != covered_in(doc, authority, &[collection, &eid]));
            Ok(PricedEdit {
                id: eid,
                discount_bp: discount_bp(list, price.unwrap_or(old_price)),
                approval_void,
            })
        })
    }

    /// Change a quote's unit price and/or quantity; see [`PricedEdit`].
    pub fn edit_quote(
        &self,
        id: &DocId,
        quote: &str,
        change: (Option<Fen>, Option<i64>),
        now: Millis,
    ) -> Result<PricedEdit> {
        let signed = ("quotes", "报价", Authority::DiscountApproval);
        self.edit_priced(id, signed, quote, change, now)
    }

    /// Change an order's unit price and/or quantity; see [`PricedEdit`].
    pub fn edit_order(
        &self,
        id: &DocId,
        order: &str,
        change: (Option<Fen>, Option<i64>),
        now: Millis,
    ) -> Result<PricedEdit> {
        let signed = ("orders", "订单", Authority::OrderApproval);
        self.edit_priced(id, signed, order, change, now)
    }

    fn approve_discount(&self, me: &Me, authority: Authority, list: Fen, price: Fen) -> Result<()> {
        me.require(authority)?;
        let d = discount_bp(list, price);
        let allowed = self.allowance_bp(&me.user.role)?;
        if d > allowed {
            return Err(Error::denied(format!(
                "discount {:.1}% exceeds the {} allowance of {:.1}%",
                d as f64 / 100.0,
                me.user.role,
                allowed as f64 / 100.0
            )));
        }
        Ok(())
    }

    /// Write a manager's sign-off on an entity of a customer file: resolve the entity in
    /// `collection`, run `check` on the current content, then put a fresh approval object
    /// (authored by this device) at `collection/<id>/approval`.
    #[allow(clippy::too_many_arguments)]
    fn approve_entity(
        &self,
        id: &DocId,
        (collection, keys, authority): Signed<'_>,
        what: &str,
        entity: &str,
        note: Option<String>,
        now: Millis,
        message: &str,
        check: impl FnOnce(&mut Document, &Customer, &str, &Me) -> Result<()>,
    ) -> Result<String> {
        self.edit_customer(id, now, message, |doc, c, me| {
            let eid = crate::resolve::resolve_key(what, keys(c), entity)?;
            check(doc, c, &eid, me)?;
            let covers = covered_in(doc, authority, &[collection, &eid]);
            doc.put_new_object(
                &[collection, &eid, "approval"],
                &Approval {
                    covers,
                    by: me.user_id.clone(),
                    at: now,
                    note: opt_text(note),
                },
            )?;
            Ok(eid)
        })
    }

    /// A manager approves a quote's discount; returns its full ID.
    pub fn approve_quote(
        &self,
        id: &DocId,
        quote: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.approve_entity(
            id,
            (
                "quotes",
                |c| c.quotes.keys().cloned().collect(),
                Authority::DiscountApproval,
            ),
            "quote",
            quote,
            note,
            now,
            "批准报价折扣 approve quote",
            |_, c, qid, me| {
                let q = crate::resolve::entry("quote", &c.quotes, qid)?;
                self.approve_discount(me, Authority::DiscountApproval, q.list_price, q.price)
            },
        )
    }

    /// Draft a contract.
    pub fn add_contract(
        &self,
        id: &DocId,
        title: &str,
        amount: Fen,
        now: Millis,
    ) -> Result<String> {
        positive("contract amount", amount)?;
        let me = self.me()?;
        let c = Contract {
            title: required("contract title", title)?,
            amount,
            created_at: now,
            by: me.user_id,
            ..Default::default()
        };
        self.add_to_customer(id, "contracts", &c, now, "起草合同 add contract")
    }

    /// Legal review of a contract (legal role); returns its full ID.
    pub fn review_contract(
        &self,
        id: &DocId,
        contract: &str,
        result: ReviewResult,
        note: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.edit_customer(id, now, "合同法务审核 legal review", |doc, c, me| {
            me.require(Authority::LegalReview)?;
            let cid = resolve_entity("contract", &c.contracts, contract)?;
            let covers = covered_in(doc, Authority::LegalReview, &["contracts", &cid]);
            doc.put_new_object(
                &["contracts", &cid, "legal_review"],
                &Review {
                    covers,
                    result,
                    by: me.user_id.clone(),
                    at: now,
                    note: opt_text(note),
                },
            )?;
            Ok(cid)
        })
    }

    /// Record that a contract was signed; returns its full ID.
    pub fn sign_contract(
        &self,
        id: &DocId,
        contract: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        not_future("the signing time", at, now)?;
        self.edit_customer(id, now, "签订合同 sign contract", |doc, c, _| {
            let (cid, k) = crate::resolve::resolve_entry("contract", &c.contracts, contract)?;
            if k.signed_at.is_some() {
                return Err(Error::invalid("this contract is already signed"));
            }
            doc.put(&["contracts", &cid, "signed_at"], &Some(at))?;
            Ok(cid)
        })
    }

    /// Record the archive reference of a signed contract; returns its full ID.
    pub fn archive_contract(
        &self,
        id: &DocId,
        contract: &str,
        reference: &str,
        now: Millis,
    ) -> Result<String> {
        let reference = required("archive reference", reference)?;
        self.edit_customer(id, now, "合同归档 archive contract", |doc, c, _| {
            let (cid, k) = crate::resolve::resolve_entry("contract", &c.contracts, contract)?;
            if k.signed_at.is_none() {
                return Err(Error::invalid("only a signed contract can be archived"));
            }
            doc.put(&["contracts", &cid, "archive_ref"], &Some(reference))?;
            doc.put(&["contracts", &cid, "archived_at"], &Some(now))?;
            Ok(cid)
        })
    }

    /// Add an order.
    #[allow(clippy::too_many_arguments)]
    pub fn add_order(
        &self,
        id: &DocId,
        product: &str,
        quantity: i64,
        price: Fen,
        promised_at: Millis,
        channel: Option<DocId>,
        now: Millis,
    ) -> Result<(String, i64)> {
        positive("quantity", quantity)?;
        positive("price", price)?;
        if promised_at < now - crate::records::DAY {
            return Err(Error::invalid("the promised delivery date is in the past"));
        }
        let (sku, p) = self.product(product)?;
        let me = self.me()?;
        let o = Order {
            product: sku,
            quantity,
            list_price: p.list_price,
            price,
            channel: channel.map(|c| c.to_string()),
            ordered_at: now,
            promised_at,
            delivered_at: None,
            by: me.user_id,
            approval: None,
            cancelled: None,
        };
        let eid = self.add_to_customer(id, "orders", &o, now, "新增订单 add order")?;
        Ok((eid, discount_bp(p.list_price, price)))
    }

    /// A manager approves an order's discount; returns its full ID.
    pub fn approve_order(
        &self,
        id: &DocId,
        order: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.approve_entity(
            id,
            (
                "orders",
                |c| c.orders.keys().cloned().collect(),
                Authority::OrderApproval,
            ),
            "order",
            order,
            note,
            now,
            "批准订单折扣 approve order",
            |_, c, oid, me| {
                let o = crate::resolve::entry("order", &c.orders, oid)?;
                self.approve_discount(me, Authority::OrderApproval, o.list_price, o.price)
            },
        )
    }

    /// Record delivery of an order; returns its full ID.
    pub fn deliver_order(
        &self,
        id: &DocId,
        order: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        not_future("the delivery time", at, now)?;
        self.edit_customer(id, now, "订单交付 deliver order", |doc, c, _| {
            let (oid, o) = crate::resolve::resolve_entry("order", &c.orders, order)?;
            if o.delivered_at.is_some() {
                return Err(Error::invalid("this order is already delivered"));
            }
            doc.put(&["orders", &oid, "delivered_at"], &Some(at))?;
            Ok(oid)
        })
    }

    /// Record a gift, hospitality or payment.
    #[allow(clippy::too_many_arguments)]
    pub fn record_gift(
        &self,
        id: &DocId,
        kind: GiftKind,
        direction: GiftDirection,
        description: &str,
        value: Fen,
        declared: bool,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        positive("gift value", value)?;
        not_future("the gift time", at, now)?;
        let me = self.me()?;
        let g = Gift {
            kind,
            direction,
            description: required("description", description)?,
            value,
            at,
            by: me.user_id,
            declared,
            approval: None,
        };
        self.add_to_customer(id, "gifts", &g, now, "登记礼品招待 record gift")
    }

    /// A manager approves a declared gift; returns its full ID.
    pub fn approve_gift(
        &self,
        id: &DocId,
        gift: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<String> {
        self.approve_entity(
            id,
            (
                "gifts",
                |c| c.gifts.keys().cloned().collect(),
                Authority::GiftApproval,
            ),
            "gift",
            gift,
            note,
            now,
            "批准礼品 approve gift",
            |doc, c, gid, me| {
                me.require(Authority::GiftApproval)?;
                if !crate::resolve::entry("gift", &c.gifts, gid)?.declared {
                    doc.put(&["gifts", gid, "declared"], &true)?;
                }
                Ok(())
            },
        )
    }
}
