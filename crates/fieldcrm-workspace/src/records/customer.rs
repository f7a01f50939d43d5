//! The customer file: the customer itself, contacts, interactions, complaints, surveys, plans.

use fieldcrm_model::*;

use super::*;
use crate::{Error, Result, Workspace, resolve_entity};

impl Workspace {
    // ----- customers -----

    /// Create a customer file.
    pub fn add_customer(&self, input: NewCustomer, now: Millis) -> Result<DocId> {
        let me = self.me()?;
        let name = required("customer name", &input.name)?;
        let owner = match &input.owner {
            Some(text) => {
                let uid = self.resolve_user(&me.roster, text)?;
                if uid != me.user_id {
                    me.require(Authority::AssignOwner)?;
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
        let reassigned = e.owner.is_some();
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
                me.require(Authority::AssignOwner)?;
                let uid = resolve_user_in(me, &text)?;
                doc.put(&["owner"], &uid)?;
                if let Some(team) = me.roster.users.get(&uid).and_then(|u| u.team.clone()) {
                    doc.put(&["team"], &team)?;
                }
            }
            Ok(())
        })?;
        if reassigned {
            // A reassignment (a manager's act) moves the file's claim at once; any other
            // change to the claim goes out with the owner's next sync (claims.rs).
            self.write_claims(&[id], now)?;
        }
        Ok(())
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
                me.require(Authority::ClassException)?;
                doc.put_new_object(
                    &["class_exception"],
                    &Approval {
                        covers: fieldcrm_model::signoff::covered_in(
                            doc,
                            Authority::ClassException,
                            &[],
                        ),
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
        contact.phone = super::amend::contact_phone(contact.phone)?;
        contact.email = super::amend::contact_email(contact.email)?;
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
    ) -> Result<String> {
        self.edit_customer(id, now, message, |doc, c, me| {
            let (cid, comp) = crate::resolve::resolve_entry("complaint", &c.complaints, complaint)?;
            if comp.closed_at.is_some() {
                return Err(Error::invalid(format!(
                    "complaint {} is already closed",
                    short_id(&cid)
                )));
            }
            f(doc, &cid, comp, me)?;
            Ok(cid)
        })
    }

    /// Record the first response to a complaint; returns the complaint's full ID.
    pub fn respond_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        text: &str,
        at: Millis,
        now: Millis,
    ) -> Result<String> {
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

    /// Report a complaint to a manager; returns the complaint's full ID.
    pub fn escalate_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        to: &str,
        now: Millis,
    ) -> Result<String> {
        self.edit_complaint(
            id,
            complaint,
            now,
            "投诉上报 escalate complaint",
            |doc, cid, _, me| {
                let to = resolve_user_in(me, to)?;
                let role = me.roster.role_of(&to).cloned();
                if !role
                    .as_ref()
                    .is_some_and(|r| Authority::ComplaintEscalation.allows(r))
                {
                    let name = me.roster.users.get(&to).map_or("?", |u| u.name.as_str());
                    let role = role.unwrap_or(Role::Unknown(String::new()));
                    return Err(Error::bad(
                        "to",
                        format!(
                            "投诉只能上报给{}；{name}是{}",
                            Authority::ComplaintEscalation.needs_zh(),
                            role.zh()
                        ),
                        format!(
                            "complaints are escalated to a {}; {name} is {role}",
                            Authority::ComplaintEscalation.needs_en()
                        ),
                    ));
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

    /// Record an investigation with the departments involved; returns the complaint's full ID.
    pub fn investigate_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        departments: Vec<String>,
        findings: &str,
        now: Millis,
    ) -> Result<String> {
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

    /// Resolve and close a complaint; returns the complaint's full ID.
    pub fn resolve_complaint(
        &self,
        id: &DocId,
        complaint: &str,
        text: &str,
        now: Millis,
    ) -> Result<String> {
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
}
