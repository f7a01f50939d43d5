//! Record-keeping operations: one method per thing a rep or admin records.
//!
//! Each checks what the acting user's role plainly cannot do (the merged-state checks
//! are the policy crate's job), writes the smallest change, and saves durably.

use autosurgeon::Reconcile;
use fieldcrm_model::access::can_write;
use fieldcrm_model::money::format_yuan;
use fieldcrm_model::*;

use crate::{Error, Me, Result, Workspace, resolve_entity};

/// Fields of a new customer file.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Company name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Class.
    pub class: Option<CustomerClass>,
    /// Annual value, fen.
    pub annual_value: Option<Fen>,
    /// Owner (user name or ID prefix); default: the acting user.
    pub owner: Option<String>,
    /// Team; default: the owner's team.
    pub team: Option<String>,
}

/// Changes to a customer file; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerEdit {
    /// New name.
    pub name: Option<String>,
    /// New credit code.
    pub credit_code: Option<String>,
    /// New industry.
    pub industry: Option<String>,
    /// New region.
    pub region: Option<String>,
    /// New address.
    pub address: Option<String>,
    /// New class.
    pub class: Option<CustomerClass>,
    /// New annual value.
    pub annual_value: Option<Fen>,
    /// New owner (reassignment: managers and admins only).
    pub owner: Option<String>,
    /// New team.
    pub team: Option<String>,
}

/// A new channel partner.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Region.
    pub region: Option<String>,
    /// Product lines.
    pub product_lines: Vec<String>,
    /// Owning channel manager (name or ID); default the acting user.
    pub owner: Option<String>,
}

/// A cooperation agreement.
#[derive(Debug, Clone)]
pub struct AgreementInput {
    /// Rights.
    pub rights: String,
    /// Responsibilities.
    pub responsibilities: String,
    /// Cooperation plan.
    pub plan: String,
    /// Term start.
    pub term_start: Millis,
    /// Term end.
    pub term_end: Millis,
    /// Authorised products/lines (empty = all the channel's lines).
    pub products: Vec<String>,
    /// Signed now.
    pub signed: bool,
}

/// A customer file or channel record: something that can be merged away.
trait Record: autosurgeon::Hydrate {
    /// What it is called in messages.
    const WHAT: &'static str;
    /// Its name.
    fn name(&self) -> &str;
    /// The survivor's ID if it was merged away.
    fn merged_into(&self) -> Option<&str>;
}

impl Record for Customer {
    const WHAT: &'static str = "customer";
    fn name(&self) -> &str {
        &self.name
    }
    fn merged_into(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }
}

impl Record for Channel {
    const WHAT: &'static str = "channel";
    fn name(&self) -> &str {
        &self.name
    }
    fn merged_into(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }
}

/// Discount of `price` below `list` in basis points (0 if not below).
pub fn discount_bp(list: Fen, price: Fen) -> i64 {
    if list <= 0 || price >= list {
        0
    } else {
        ((list - price) as i128 * 10_000 / list as i128) as i64
    }
}

fn opt_text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn required(what: &str, s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        Err(Error::invalid(format!("{what} must not be empty")))
    } else {
        Ok(t.to_string())
    }
}

fn not_future(what: &str, at: Millis, now: Millis) -> Result<()> {
    if at > now + 5 * 60_000 {
        Err(Error::invalid(format!("{what} is in the future")))
    } else {
        Ok(())
    }
}

fn positive(what: &str, v: i64) -> Result<()> {
    if v <= 0 {
        Err(Error::invalid(format!(
            "{what} must be greater than zero (got {v})"
        )))
    } else {
        Ok(())
    }
}

impl Workspace {
    fn check_write(&self, me: &Me, id: &DocId) -> Result<Summary> {
        let summary = self
            .summary(id)?
            .ok_or_else(|| Error::NotFound(format!("document {id}")))?;
        if !can_write(&me.roster, &me.user_id, &summary) {
            return Err(Error::Permission(format!(
                "{} may not change {} `{}`",
                me.user.name, summary.kind, summary.name
            )));
        }
        Ok(summary)
    }

    /// Edit a customer file or channel record after checking write scope; `f` sees the
    /// current content. A merged-away record (a tombstone) is refused.
    fn edit_record<T: Record, R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &T, &Me) -> Result<R>,
    ) -> Result<R> {
        let me = self.me()?;
        self.check_write(&me, id)?;
        self.edit(id, now, message, |doc| {
            let c: T = doc.hydrate()?;
            if let Some(s) = c.merged_into() {
                return Err(Error::invalid(format!(
                    "{} `{}` was merged into {s}; edit that one instead",
                    T::WHAT,
                    c.name()
                )));
            }
            f(doc, &c, &me)
        })
    }

    fn edit_customer<R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &Customer, &Me) -> Result<R>,
    ) -> Result<R> {
        self.edit_record(id, now, message, f)
    }

    fn edit_channel<R>(
        &self,
        id: &DocId,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &Channel, &Me) -> Result<R>,
    ) -> Result<R> {
        self.edit_record(id, now, message, f)
    }

    fn add_to_customer<T: Reconcile>(
        &self,
        id: &DocId,
        collection: &str,
        value: &T,
        now: Millis,
        message: &str,
    ) -> Result<String> {
        let eid = new_entity_id();
        self.edit_customer(id, now, message, |doc, _, _| {
            doc.put(&[collection, &eid], value)?;
            Ok(())
        })?;
        Ok(eid)
    }

    fn add_to_channel<T: Reconcile>(
        &self,
        id: &DocId,
        collection: &str,
        value: &T,
        now: Millis,
        message: &str,
    ) -> Result<String> {
        let eid = new_entity_id();
        self.edit_channel(id, now, message, |doc, _, _| {
            doc.put(&[collection, &eid], value)?;
            Ok(())
        })?;
        Ok(eid)
    }

    // ----- customers -----

    /// Create a customer file.
    pub fn add_customer(&self, input: NewCustomer, now: Millis) -> Result<DocId> {
        let me = self.me()?;
        let name = required("customer name", &input.name)?;
        let owner = match &input.owner {
            Some(text) => {
                let uid = self.resolve_user(&me.roster, text)?;
                if uid != me.user_id {
                    me.require(&[Role::Manager], "assign a customer to another user")?;
                }
                uid
            }
            None => me.user_id.clone(),
        };
        let team = opt_text(input.team)
            .or_else(|| me.roster.users.get(&owner).and_then(|u| u.team.clone()));
        let mut c = Customer::new(name.clone(), now);
        c.credit_code = opt_text(input.credit_code);
        c.industry = opt_text(input.industry);
        c.region = opt_text(input.region);
        c.address = opt_text(input.address);
        c.class = input.class;
        c.annual_value = input.annual_value;
        c.owner = Some(owner);
        c.team = team;
        self.create(
            DocId::random(),
            &c,
            now,
            &format!("新建客户 add customer {name}"),
        )
    }

    /// Change fields of a customer file.
    pub fn edit_customer_fields(&self, id: &DocId, e: CustomerEdit, now: Millis) -> Result<()> {
        self.edit_customer(id, now, "修改客户 edit customer", |doc, _, me| {
            if let Some(v) = e.name {
                doc.put(&["name"], &required("customer name", &v)?)?;
            }
            for (key, v) in [
                ("credit_code", e.credit_code),
                ("industry", e.industry),
                ("region", e.region),
                ("address", e.address),
                ("team", e.team),
            ] {
                if let Some(v) = v {
                    doc.put(&[key], &opt_text(Some(v)))?;
                }
            }
            if let Some(v) = e.class {
                doc.put(&["class"], &v)?;
            }
            if let Some(v) = e.annual_value {
                doc.put(&["annual_value"], &v)?;
            }
            if let Some(text) = e.owner {
                me.require(&[Role::Manager], "reassign a customer")?;
                let uid = resolve_user_in(me, &text)?;
                doc.put(&["owner"], &uid)?;
                if let Some(team) = me.roster.users.get(&uid).and_then(|u| u.team.clone()) {
                    doc.put(&["team"], &team)?;
                }
            }
            Ok(())
        })
    }

    /// A manager approves the customer's class although it does not meet the criteria.
    pub fn approve_class_exception(
        &self,
        id: &DocId,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.edit_customer(
            id,
            now,
            "批准分类例外 approve class exception",
            |doc, _, me| {
                me.require(&[Role::Manager], "approve a class exception")?;
                doc.put_new_object(
                    &["class_exception"],
                    &Approval {
                        by: me.user_id.clone(),
                        at: now,
                        note: opt_text(note),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Add a contact.
    pub fn add_contact(&self, id: &DocId, mut contact: Contact, now: Millis) -> Result<String> {
        contact.name = required("contact name", &contact.name)?;
        contact.phone = opt_text(contact.phone);
        contact.email = opt_text(contact.email);
        if let Some(e) = &contact.email
            && !e.contains('@')
        {
            return Err(Error::invalid(format!("`{e}` is not an email address")));
        }
        if let Some(p) = &contact.phone {
            let digits = p
                .chars()
                .map(money::fullwidth_to_ascii)
                .filter(|c| c.is_ascii_digit())
                .count();
            if digits < 5
                || p.chars()
                    .map(money::fullwidth_to_ascii)
                    .any(|c| !(c.is_ascii_digit() || "+-() ".contains(c)))
            {
                return Err(Error::invalid(format!("`{p}` is not a phone number")));
            }
        }
        contact.title = opt_text(contact.title);
        contact.created_at = now;
        self.add_to_customer(
            id,
            "contacts",
            &contact,
            now,
            &format!("新增联系人 add contact {}", contact.name),
        )
    }

    /// Log a visit, call, email or meeting.
    pub fn log_interaction(
        &self,
        id: &DocId,
        kind: InteractionKind,
        occurred_at: Millis,
        summary: &str,
        contact: Option<&str>,
        now: Millis,
    ) -> Result<String> {
        not_future("the interaction time", occurred_at, now)?;
        let summary = required("summary", summary)?;
        let c: Customer = self.load(id)?.hydrate()?;
        let contact = contact
            .map(|t| resolve_entity("contact", &c.contacts, t))
            .transpose()?;
        let me = self.me()?;
        let it = Interaction {
            kind: kind.clone(),
            occurred_at,
            recorded_at: now,
            summary,
            by: me.user_id,
            contact,
        };
        self.add_to_customer(
            id,
            "interactions",
            &it,
            now,
            &format!("记录{} log {kind}", kind.zh()),
        )
    }

    /// Open a complaint.
    pub fn open_complaint(
        &self,
        id: &DocId,
        severity: Severity,
        summary: &str,
        opened_at: Millis,
        now: Millis,
    ) -> Result<String> {
        not_future("the complaint time", opened_at, now)?;
        let me = self.me()?;
        let c = Complaint {
            severity,
            summary: required("complaint summary", summary)?,
            opened_at,
            opened_by: me.user_id,
            first_response: None,
            escalation: None,
            investigation: None,
            resolution: None,
            closed_at: None,
        };
        self.add_to_customer(id, "complaints", &c, now, "受理投诉 open complaint")
    }

    fn edit_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        now: Millis,
        message: &str,
        f: impl FnOnce(&mut Document, &str, &Complaint, &Me) -> Result<()>,
    ) -> Result<()> {
        self.edit_customer(id, now, message, |doc, c, me| {
            let cid = resolve_entity("complaint", &c.complaints, complaint)?;
            let comp = &c.complaints[&cid];
            if comp.closed_at.is_some() {
                return Err(Error::invalid(format!(
                    "complaint {} is already closed",
                    &cid[..SHORT_LEN]
                )));
            }
            f(doc, &cid, comp, me)
        })
    }

    /// Record the first response to a complaint.
    pub fn respond_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        text: &str,
        at: Millis,
        now: Millis,
    ) -> Result<()> {
        not_future("the response time", at, now)?;
        let text = required("response text", text)?;
        self.edit_complaint(
            id,
            complaint,
            now,
            "回应投诉 respond to complaint",
            |doc, cid, comp, me| {
                if at < comp.opened_at {
                    return Err(Error::invalid(
                        "the response time is before the complaint was opened",
                    ));
                }
                doc.put(
                    &["complaints", cid, "first_response"],
                    &Note {
                        text,
                        at,
                        by: me.user_id.clone(),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Report a complaint to a manager.
    pub fn escalate_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        to: &str,
        now: Millis,
    ) -> Result<()> {
        self.edit_complaint(
            id,
            complaint,
            now,
            "投诉上报 escalate complaint",
            |doc, cid, _, me| {
                let to = resolve_user_in(me, to)?;
                let role = me.roster.role_of(&to).cloned();
                if !matches!(role, Some(Role::Manager) | Some(Role::Admin)) {
                    return Err(Error::invalid(format!(
                        "complaints are escalated to a manager; {} is {}",
                        me.roster.users[&to].name,
                        role.map(|r| r.to_string()).unwrap_or_default()
                    )));
                }
                doc.put_new_object(
                    &["complaints", cid, "escalation"],
                    &Escalation {
                        to,
                        at: now,
                        by: me.user_id.clone(),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Record an investigation with the departments involved.
    pub fn investigate_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        departments: Vec<String>,
        findings: &str,
        now: Millis,
    ) -> Result<()> {
        let departments: Vec<String> = departments
            .into_iter()
            .filter_map(|d| opt_text(Some(d)))
            .collect();
        if departments.is_empty() {
            return Err(Error::invalid(
                "name at least one department involved in the investigation",
            ));
        }
        let findings = required("investigation findings", findings)?;
        self.edit_complaint(
            id,
            complaint,
            now,
            "投诉调查 investigate complaint",
            |doc, cid, _, me| {
                doc.put(
                    &["complaints", cid, "investigation"],
                    &Investigation {
                        departments,
                        findings,
                        at: now,
                        by: me.user_id.clone(),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Resolve and close a complaint.
    pub fn resolve_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        text: &str,
        now: Millis,
    ) -> Result<()> {
        let text = required("resolution text", text)?;
        self.edit_complaint(
            id,
            complaint,
            now,
            "解决投诉 resolve complaint",
            |doc, cid, _, me| {
                doc.put(
                    &["complaints", cid, "resolution"],
                    &Note {
                        text,
                        at: now,
                        by: me.user_id.clone(),
                    },
                )?;
                doc.put(&["complaints", cid, "closed_at"], &Some(now))?;
                Ok(())
            },
        )
    }

    /// Record a satisfaction survey (score 1-5).
    pub fn record_survey(
        &self,
        id: &DocId,
        score: i64,
        comment: Option<String>,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        if !(1..=5).contains(&score) {
            return Err(Error::invalid(format!(
                "survey score must be 1 to 5 (got {score})"
            )));
        }
        not_future("the survey time", at, now)?;
        let me = self.me()?;
        self.add_to_customer(
            id,
            "surveys",
            &Survey {
                score,
                at,
                by: me.user_id,
                comment: opt_text(comment),
            },
            now,
            "客户回访 record survey",
        )
    }

    /// Set the development plan.
    pub fn set_plan(&self, id: &DocId, text: &str, review_at: Millis, now: Millis) -> Result<()> {
        let text = required("plan text", text)?;
        self.edit_customer(id, now, "制定发展计划 set plan", |doc, _, me| {
            doc.put(
                &["plan"],
                &Some(Plan {
                    text,
                    review_at,
                    by: me.user_id.clone(),
                    at: now,
                }),
            )?;
            Ok(())
        })
    }

    /// Add an opportunity.
    pub fn add_opportunity(
        &self,
        id: &DocId,
        title: &str,
        stage: Stage,
        amount: Fen,
        now: Millis,
    ) -> Result<String> {
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

    /// Update an opportunity's stage or amount; records activity now.
    pub fn update_opportunity(
        &self,
        id: &DocId,
        opp: &str,
        stage: Option<Stage>,
        amount: Option<Fen>,
        now: Millis,
    ) -> Result<()> {
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
                Ok(())
            },
        )
    }

    fn product(&self, sku: &str) -> Result<(String, Product)> {
        let catalog = self.catalog()?;
        let key = resolve_entity("product", &catalog.products, sku).or_else(|_| {
            catalog
                .products
                .iter()
                .find(|(_, p)| p.name == sku.trim())
                .map(|(k, _)| k.clone())
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "no product `{sku}` in the catalog (see `fieldcrm catalog list`)"
                    ))
                })
        })?;
        let p = catalog.products[&key].clone();
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

    fn approve_discount(&self, me: &Me, list: Fen, price: Fen) -> Result<()> {
        me.require(&[Role::Manager], "approve a discount")?;
        let d = discount_bp(list, price);
        let allowed = self.allowance_bp(&me.user.role)?;
        if d > allowed {
            return Err(Error::Permission(format!(
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
        (collection, keys): (&str, fn(&Customer) -> Vec<String>),
        what: &str,
        entity: &str,
        note: Option<String>,
        now: Millis,
        message: &str,
        check: impl FnOnce(&mut Document, &Customer, &str, &Me) -> Result<()>,
    ) -> Result<()> {
        self.edit_customer(id, now, message, |doc, c, me| {
            let eid = crate::resolve::resolve_key(what, keys(c), entity)?;
            check(doc, c, &eid, me)?;
            doc.put_new_object(
                &[collection, &eid, "approval"],
                &Approval {
                    by: me.user_id.clone(),
                    at: now,
                    note: opt_text(note),
                },
            )?;
            Ok(())
        })
    }

    /// A manager approves a quote's discount.
    pub fn approve_quote(
        &self,
        id: &DocId,
        quote: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.approve_entity(
            id,
            ("quotes", |c| c.quotes.keys().cloned().collect()),
            "quote",
            quote,
            note,
            now,
            "批准报价折扣 approve quote",
            |_, c, qid, me| {
                let q = &c.quotes[qid];
                self.approve_discount(me, q.list_price, q.price)
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

    /// Legal review of a contract (legal role).
    pub fn review_contract(
        &self,
        id: &DocId,
        contract: &str,
        result: ReviewResult,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.edit_customer(id, now, "合同法务审核 legal review", |doc, c, me| {
            me.require(&[Role::Legal], "review a contract")?;
            let cid = resolve_entity("contract", &c.contracts, contract)?;
            doc.put_new_object(
                &["contracts", &cid, "legal_review"],
                &Review {
                    result,
                    by: me.user_id.clone(),
                    at: now,
                    note: opt_text(note),
                },
            )?;
            Ok(())
        })
    }

    /// Record that a contract was signed.
    pub fn sign_contract(&self, id: &DocId, contract: &str, at: Millis, now: Millis) -> Result<()> {
        not_future("the signing time", at, now)?;
        self.edit_customer(id, now, "签订合同 sign contract", |doc, c, _| {
            let cid = resolve_entity("contract", &c.contracts, contract)?;
            if c.contracts[&cid].signed_at.is_some() {
                return Err(Error::invalid("this contract is already signed"));
            }
            doc.put(&["contracts", &cid, "signed_at"], &Some(at))?;
            Ok(())
        })
    }

    /// Record the archive reference of a signed contract.
    pub fn archive_contract(
        &self,
        id: &DocId,
        contract: &str,
        reference: &str,
        now: Millis,
    ) -> Result<()> {
        let reference = required("archive reference", reference)?;
        self.edit_customer(id, now, "合同归档 archive contract", |doc, c, _| {
            let cid = resolve_entity("contract", &c.contracts, contract)?;
            if c.contracts[&cid].signed_at.is_none() {
                return Err(Error::invalid("only a signed contract can be archived"));
            }
            doc.put(&["contracts", &cid, "archive_ref"], &Some(reference))?;
            doc.put(&["contracts", &cid, "archived_at"], &Some(now))?;
            Ok(())
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
        };
        let eid = self.add_to_customer(id, "orders", &o, now, "新增订单 add order")?;
        Ok((eid, discount_bp(p.list_price, price)))
    }

    /// A manager approves an order's discount.
    pub fn approve_order(
        &self,
        id: &DocId,
        order: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.approve_entity(
            id,
            ("orders", |c| c.orders.keys().cloned().collect()),
            "order",
            order,
            note,
            now,
            "批准订单折扣 approve order",
            |_, c, oid, me| {
                let o = &c.orders[oid];
                self.approve_discount(me, o.list_price, o.price)
            },
        )
    }

    /// Record delivery of an order.
    pub fn deliver_order(&self, id: &DocId, order: &str, at: Millis, now: Millis) -> Result<()> {
        not_future("the delivery time", at, now)?;
        self.edit_customer(id, now, "订单交付 deliver order", |doc, c, _| {
            let oid = resolve_entity("order", &c.orders, order)?;
            if c.orders[&oid].delivered_at.is_some() {
                return Err(Error::invalid("this order is already delivered"));
            }
            doc.put(&["orders", &oid, "delivered_at"], &Some(at))?;
            Ok(())
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

    /// A manager approves a declared gift.
    pub fn approve_gift(
        &self,
        id: &DocId,
        gift: &str,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.approve_entity(
            id,
            ("gifts", |c| c.gifts.keys().cloned().collect()),
            "gift",
            gift,
            note,
            now,
            "批准礼品 approve gift",
            |doc, c, gid, me| {
                me.require(&[Role::Manager], "approve a gift")?;
                if !c.gifts[gid].declared {
                    doc.put(&["gifts", gid, "declared"], &true)?;
                }
                Ok(())
            },
        )
    }

    // ----- channels -----

    /// Create a channel record (status prospect).
    pub fn add_channel(&self, input: NewChannel, now: Millis) -> Result<DocId> {
        let me = self.me()?;
        me.require(
            &[Role::ChannelManager, Role::Manager],
            "add a channel partner",
        )?;
        let name = required("channel name", &input.name)?;
        let owner = match &input.owner {
            Some(t) => resolve_user_in(&me, t)?,
            None => me.user_id.clone(),
        };
        let mut c = Channel::new(name.clone(), input.kind, now);
        c.region = opt_text(input.region);
        c.owner = Some(owner);
        for l in input.product_lines {
            if let Some(l) = opt_text(Some(l)) {
                c.product_lines.insert(l, true);
            }
        }
        self.create(
            DocId::random(),
            &c,
            now,
            &format!("新建渠道 add channel {name}"),
        )
    }

    /// Qualification review (channel managers).
    pub fn review_channel(
        &self,
        id: &DocId,
        result: ReviewResult,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.edit_channel(
            id,
            now,
            "渠道资质审核 qualification review",
            |doc, _, me| {
                me.require(&[Role::ChannelManager], "review a channel's qualification")?;
                doc.put_new_object(
                    &["qualification"],
                    &Review {
                        result,
                        by: me.user_id.clone(),
                        at: now,
                        note: opt_text(note),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Risk assessment (channel managers).
    pub fn assess_channel_risk(
        &self,
        id: &DocId,
        level: RiskLevel,
        note: Option<String>,
        now: Millis,
    ) -> Result<()> {
        self.edit_channel(
            id,
            now,
            "渠道风险评估 risk assessment",
            |doc, _, me| {
                me.require(&[Role::ChannelManager], "assess a channel's risk")?;
                doc.put_new_object(
                    &["risk"],
                    &RiskAssessment {
                        level,
                        by: me.user_id.clone(),
                        at: now,
                        note: opt_text(note),
                    },
                )?;
                Ok(())
            },
        )
    }

    /// Record the cooperation agreement.
    pub fn set_agreement(&self, id: &DocId, a: AgreementInput, now: Millis) -> Result<()> {
        if a.term_end <= a.term_start {
            return Err(Error::invalid(
                "the agreement term must end after it starts",
            ));
        }
        let ag = Agreement {
            rights: required("rights", &a.rights)?,
            responsibilities: required("responsibilities", &a.responsibilities)?,
            plan: required("cooperation plan", &a.plan)?,
            term_start: a.term_start,
            term_end: a.term_end,
            products: a.products,
            signed_at: a.signed.then_some(now),
            by: String::new(),
        };
        self.edit_channel(id, now, "签订合作协议 agreement", |doc, _, me| {
            me.require(
                &[Role::ChannelManager, Role::Manager],
                "record a channel agreement",
            )?;
            doc.put_new_object(
                &["agreement"],
                &Agreement {
                    by: me.user_id.clone(),
                    ..ag
                },
            )?;
            Ok(())
        })
    }

    /// Change a channel's status. Activation is reserved to channel managers.
    pub fn set_channel_status(&self, id: &DocId, status: ChannelStatus, now: Millis) -> Result<()> {
        self.edit_channel(
            id,
            now,
            &format!("渠道状态 status {status}"),
            |doc, c, me| {
                match status {
                    ChannelStatus::Active => {
                        me.require(&[Role::ChannelManager], "activate a channel")?
                    }
                    _ => me.require(
                        &[Role::ChannelManager, Role::Manager],
                        "change a channel's status",
                    )?,
                }
                if c.status == status {
                    return Err(Error::invalid(format!(
                        "channel `{}` is already {status}",
                        c.name
                    )));
                }
                doc.put(&["status"], &status)?;
                doc.put(&["status_at"], &now)?;
                if status == ChannelStatus::Active {
                    doc.put(&["activated_at"], &Some(now))?;
                }
                Ok(())
            },
        )
    }

    /// Grant a territory.
    #[allow(clippy::too_many_arguments)]
    pub fn grant_territory(
        &self,
        id: &DocId,
        region: &str,
        product_line: &str,
        start: Millis,
        end: Millis,
        exclusive: bool,
        now: Millis,
    ) -> Result<String> {
        if end <= start {
            return Err(Error::invalid(
                "the territory term must end after it starts",
            ));
        }
        let me = self.me()?;
        me.require(&[Role::ChannelManager, Role::Manager], "grant a territory")?;
        let t = Territory {
            region: required("region", region)?,
            product_line: required("product line", product_line)?,
            start,
            end,
            exclusive,
            by: me.user_id,
            at: now,
        };
        self.add_to_channel(id, "territories", &t, now, "授予区域 grant territory")
    }

    /// Record a communication or meeting with the channel.
    pub fn channel_communicate(
        &self,
        id: &DocId,
        summary: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        not_future("the communication time", at, now)?;
        let me = self.me()?;
        self.add_to_channel(
            id,
            "communications",
            &Note {
                text: required("summary", summary)?,
                at,
                by: me.user_id,
            },
            now,
            "渠道沟通 communicate",
        )
    }

    /// Record a training given to the channel.
    pub fn channel_train(
        &self,
        id: &DocId,
        topic: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        not_future("the training time", at, now)?;
        let me = self.me()?;
        self.add_to_channel(
            id,
            "trainings",
            &Note {
                text: required("topic", topic)?,
                at,
                by: me.user_id,
            },
            now,
            "渠道培训 training",
        )
    }

    /// Record a performance assessment.
    pub fn assess_channel(
        &self,
        id: &DocId,
        period: &str,
        score: i64,
        note: Option<String>,
        now: Millis,
    ) -> Result<String> {
        if !(0..=100).contains(&score) {
            return Err(Error::invalid(format!(
                "assessment score must be 0 to 100 (got {score})"
            )));
        }
        let period = parse_period(period)?;
        let me = self.me()?;
        self.add_to_channel(
            id,
            "assessments",
            &Assessment {
                period,
                score,
                note: opt_text(note),
                by: me.user_id,
                at: now,
            },
            now,
            "渠道考核 assessment",
        )
    }

    /// Record a selling price the channel reported.
    pub fn report_channel_price(
        &self,
        id: &DocId,
        product: &str,
        price: Fen,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
        positive("price", price)?;
        let (sku, _) = self.product(product)?;
        let me = self.me()?;
        self.add_to_channel(
            id,
            "price_reports",
            &PriceReport {
                product: sku,
                price,
                at,
                by: me.user_id,
            },
            now,
            "渠道价格报告 price report",
        )
    }

    // ----- workspace documents -----

    fn edit_singleton<R>(
        &self,
        kind: DocKind,
        now: Millis,
        message: &str,
        roles: &[Role],
        action: &str,
        f: impl FnOnce(&mut Document, &Me) -> Result<R>,
    ) -> Result<R> {
        let me = self.me()?;
        me.require(roles, action)?;
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
        if product.floor_price > product.list_price {
            return Err(Error::invalid("the floor price is above the list price"));
        }
        self.edit_singleton(
            DocKind::Catalog,
            now,
            &format!("产品 product {sku}"),
            &[Role::Manager],
            "change the catalog",
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
            &[Role::Manager],
            "change the price policy",
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
            &[Role::Manager],
            "change the rule configuration",
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
            &[],
            "manage users",
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

    /// Change a user's role, team, region or active flag (admins).
    pub fn update_user(
        &self,
        user: &str,
        role: Option<Role>,
        team: Option<String>,
        region: Option<String>,
        active: Option<bool>,
        now: Millis,
    ) -> Result<()> {
        self.edit_singleton(
            DocKind::Roster,
            now,
            "修改用户 update user",
            &[],
            "manage users",
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
                Ok(())
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
        self.edit_singleton(DocKind::Roster, now, "登记设备 enroll device", &[], "enroll devices", |doc, me| {
            let uid = resolve_user_in(me, user)?;
            if let Some(d) = me.roster.devices.get(&key.to_hex()) {
                if d.revoked_at.is_some() {
                    return Err(Error::invalid(format!("device {key} was revoked; a revoked key cannot be enrolled again (make a new key)")));
                }
                return Err(Error::invalid(format!("device {key} is already enrolled")));
            }
            doc.put(&["devices", &key.to_hex()], &Device { user: uid.clone(), label: label.to_string(), enrolled_at: now, revoked_at: None })?;
            Ok(uid)
        })
    }

    /// Revoke a device (admins).
    pub fn revoke_device(&self, key_text: &str, now: Millis) -> Result<DeviceKey> {
        self.edit_singleton(
            DocKind::Roster,
            now,
            "吊销设备 revoke device",
            &[],
            "revoke devices",
            |doc, me| {
                let hex = resolve_entity("device", &me.roster.devices, key_text)?;
                let key: DeviceKey = hex
                    .parse()
                    .map_err(|e: BadDeviceKey| Error::invalid(e.to_string()))?;
                if key == self.device() {
                    return Err(Error::invalid("you cannot revoke the device you are using"));
                }
                if me.roster.devices[&hex].revoked_at.is_some() {
                    return Err(Error::invalid(format!(
                        "device {} is already revoked",
                        &hex[..SHORT_LEN]
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
            &[Role::Manager],
            "set sales targets",
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
            &[Role::Rep, Role::Manager, Role::ChannelManager, Role::Legal],
            "submit a report",
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

pub(crate) const DAY: Millis = DAY_MS;

fn resolve_user_in(me: &Me, text: &str) -> Result<String> {
    crate::resolve::resolve_user(&me.roster, text)
}

/// Validate a period: `2026`, `2026-Q4`, `2026-11` or `2026-W48`.
pub fn parse_period(text: &str) -> Result<String> {
    let t = text.trim().to_ascii_uppercase();
    let bad = || {
        Error::invalid(format!(
            "`{text}` is not a period (use 2026, 2026-Q4, 2026-11 or 2026-W48)"
        ))
    };
    let (year, rest) = t.split_at(t.len().min(4));
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let ok = match rest.strip_prefix('-') {
        None => rest.is_empty(),
        Some(r) => {
            if let Some(q) = r.strip_prefix('Q') {
                matches!(q, "1" | "2" | "3" | "4")
            } else if let Some(w) = r.strip_prefix('W') {
                w.len() == 2 && w.parse::<u32>().is_ok_and(|n| (1..=53).contains(&n))
            } else {
                r.len() == 2 && r.parse::<u32>().is_ok_and(|n| (1..=12).contains(&n))
            }
        }
    };
    if ok { Ok(t) } else { Err(bad()) }
}
