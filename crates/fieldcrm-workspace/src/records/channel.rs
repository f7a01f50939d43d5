//! Channel partners: registration, qualification, risk, agreement, status, territories, activity.

use fieldcrm_model::*;

use super::*;
use crate::{Error, Result, Workspace};

impl Workspace {
    // ----- channels -----

    /// Create a channel record (status prospect).
    pub fn add_channel(&self, input: NewChannel, now: Millis) -> Result<DocId> {
        let me = self.me()?;
        me.require(Authority::ChannelCreate)?;
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
                me.require(Authority::ChannelQualification)?;
                doc.put_new_object(
                    &["qualification"],
                    &Review {
                        covers: fieldcrm_model::signoff::covered_in(
                            doc,
                            Authority::ChannelQualification,
                            &[],
                        ),
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
                me.require(Authority::ChannelRisk)?;
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
            me.require(Authority::ChannelAgreement)?;
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
                    ChannelStatus::Active => me.require(Authority::ChannelActivation)?,
                    _ => me.require(Authority::ChannelStatus)?,
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
        me.require(Authority::ChannelTerritory)?;
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
        not_future("the report time", at, now)?;
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
}
