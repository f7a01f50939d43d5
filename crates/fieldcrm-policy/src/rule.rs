//! The rule catalog: stable IDs, the seed clause each rule comes from, and its titles.
//!
//! The order of [`RuleId::ALL`] is the order of `rules.md`; findings sort by it.

use std::fmt;
use std::str::FromStr;

macro_rules! rules {
    ($( $(#[$m:meta])* $var:ident => $id:literal, $clause:literal, $zh:literal, $en:literal; )*) => {
        /// A rule's stable ID (used in findings, configuration and tests).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum RuleId {
            $( $(#[$m])* $var, )*
        }

        impl RuleId {
            /// Every rule, in catalog order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$var),*];

            /// The stable ID text, e.g. `CUST-DUPLICATE`.
            pub fn as_str(self) -> &'static str {
                match self { $( RuleId::$var => $id, )* }
            }

            /// The seed clause the rule comes from (the short quote in `rules.md`).
            pub fn clause(self) -> &'static str {
                match self { $( RuleId::$var => $clause, )* }
            }

            /// A short Chinese title.
            pub fn title_zh(self) -> &'static str {
                match self { $( RuleId::$var => $zh, )* }
            }

            /// A short English title.
            pub fn title_en(self) -> &'static str {
                match self { $( RuleId::$var => $en, )* }
            }
        }
    };
}

rules! {
    /// Every customer has a class.
    CustClassMissing => "CUST-CLASS-MISSING", "客户分类: 将客户划分为重要客户、一般客户和潜在客户", "客户未分类", "customer class missing";
    /// The class agrees with the company's criteria.
    CustClassCriteria => "CUST-CLASS-CRITERIA", "依据客户的业务规模、忠诚度、发展潜力等因素进行评估", "客户分类与标准不符", "customer class does not meet the criteria";
    /// The customer profile is complete.
    CustProfileComplete => "CUST-PROFILE-COMPLETE", "建立客户信息档案,包括客户基本信息、联系人信息、合作历史等 … 确保信息的准确性和完整性", "客户档案不完整", "customer profile incomplete";
    /// No two customer files for one company.
    CustDuplicate => "CUST-DUPLICATE", "及时更新客户数据库,保证客户信息准确完整", "客户档案重复", "duplicate customer files";
    /// No unresolved concurrent values on a deciding field.
    CustConcurrentEdit => "CUST-CONCURRENT-EDIT", "明确各级渠道的权限和职责", "关键字段存在并发修改", "concurrent edits on a deciding field";
    /// Each customer has a recent interaction.
    CustContactCadence => "CUST-CONTACT-CADENCE", "通过电话、邮件、探望等方式与客户保持紧密联系", "客户联系不及时", "customer not contacted in time";
    /// Key customers are visited in person.
    CustKeyVisit => "CUST-KEY-VISIT", "销售人员应定期拜访重要客户", "重要客户未按期拜访", "key customer not visited in time";
    /// Key customers have a current development plan.
    CustKeyPlan => "CUST-KEY-PLAN", "加强对重要客户的关注和维护,订立相应的客户发展计划", "重要客户缺少有效的发展计划", "key customer without a current development plan";
    /// Key customers are surveyed; low scores are followed up.
    CustSatisfaction => "CUST-SATISFACTION", "定期进行客户回访,了解客户对产品和服务的满意度", "客户回访与满意度跟进不足", "satisfaction survey or follow-up missing";
    /// Interactions are recorded promptly.
    CustRecordTimely => "CUST-RECORD-TIMELY", "及时、准确地录入和更新销售数据", "拜访记录录入不及时", "interaction recorded late";
    /// Complaints get a first response in time.
    ComplaintResponse => "COMPLAINT-RESPONSE", "及时、认真地处理客户投诉 / 及时受理", "投诉未及时受理", "complaint not answered in time";
    /// Complaints are reported to a manager.
    ComplaintEscalation => "COMPLAINT-ESCALATION", "并向上级汇报处理情况", "投诉未向上级汇报", "complaint not reported to a manager";
    /// Major complaints are investigated with the departments involved.
    ComplaintMajorInvestigation => "COMPLAINT-MAJOR-INVESTIGATION", "对于重点投诉事件,销售人员应组织相关部门和人员进行深入调查和处理", "重点投诉未组织调查", "major complaint not investigated";
    /// Complaints are resolved in time, with a resolution text.
    ComplaintResolution => "COMPLAINT-RESOLUTION", "对于合理的投诉要给予积极回应和解决", "投诉未及时解决", "complaint not resolved in time";
    /// Open opportunities are followed up.
    OppFollowup => "OPP-FOLLOWUP", "及时记录和跟进销售机会,确保销售机会的有效利用", "销售机会未及时跟进", "opportunity not followed up";
    /// Signed contracts passed legal review first.
    ContractLegalReview => "CONTRACT-LEGAL-REVIEW", "销售合同应经过法律和合规部门的审核,并妥当存档和管理", "合同未经法务审核", "contract signed without legal review";
    /// Signed contracts are archived.
    ContractArchived => "CONTRACT-ARCHIVED", "同上", "合同未及时存档", "contract not archived in time";
    /// Discounts beyond the rep's allowance are approved by a manager.
    PriceDiscount => "PRICE-DISCOUNT", "不得私自调整产品价格或给客户提供优惠 / 根据客户需求和公司价格政策,提供合理的产品报价", "折扣超出权限未经审批", "discount beyond allowance without approval";
    /// Orders are delivered by the promised date.
    OrderDelivery => "ORDER-DELIVERY", "遵守约定交货时间,确保产品按时送达客户", "订单未按期交付", "order not delivered on time";
    /// Gifts above the limit are declared and approved.
    GiftDeclaration => "GIFT-DECLARATION", "不得以任何形式向客户行贿 / 不得收受客户回扣或其他利益", "礼品/招待/款项未申报审批", "gift or payment not declared and approved";
    /// Reps submit a sales report every period.
    SalesReport => "SALES-REPORT", "定时提交销售报告", "销售报告未按期提交", "sales report missing";
    /// Actual against target (a report, not a finding).
    TargetProgress => "TARGET-PROGRESS", "制定年度销售目标,并将目标分解到各个销售团队和个人", "销售目标完成情况", "target progress";
    /// Active channels passed qualification review and risk assessment.
    ChannelQualification => "CHANNEL-QUALIFICATION", "建立合作关系前,必需进行严格的资质审核和风险评估", "渠道未经资质审核和风险评估", "channel active without qualification review and risk assessment";
    /// Active channels have a current, complete, signed agreement.
    ChannelAgreement => "CHANNEL-AGREEMENT", "双方应明确合作的权益和责任,订立认真的合作计划", "渠道合作协议缺失或不在有效期", "channel agreement missing, incomplete or out of term";
    /// A channel's product lines are all in the catalog.
    ChannelScope => "CHANNEL-SCOPE", "不得擅自开发与主营业务无关的渠道", "渠道经营范围超出主营业务", "channel product line outside the catalog";
    /// Active channels are talked to regularly.
    ChannelCommunication => "CHANNEL-COMMUNICATION", "定期与销售渠道进行沟通和座谈", "渠道沟通不及时", "channel not contacted in time";
    /// Active channels are assessed every period.
    ChannelAssessment => "CHANNEL-ASSESSMENT", "定期检查渠道伙伴的业绩和合规情况 / 绩效考核", "渠道绩效考核缺失", "channel assessment missing";
    /// Channels are trained after activation.
    ChannelTraining => "CHANNEL-TRAINING", "渠道招募与培训 … 提供产品知识、市场策略和销售技巧等培训", "渠道未按期培训", "channel not trained in time";
    /// Channel selling prices are not below the floor.
    ChannelPriceFloor => "CHANNEL-PRICE-FLOOR", "销售渠道之间的价格垄断、强占或其他不正当竞争行为", "渠道售价低于限价", "channel price below the floor";
    /// No two active channels hold the same exclusive territory.
    ChannelTerritoryConflict => "CHANNEL-TERRITORY-CONFLICT", "同上 (强占)", "渠道独家区域冲突", "exclusive territory conflict";
    /// Orders through a channel are covered by its signed agreement.
    ChannelUnauthorizedSale => "CHANNEL-UNAUTHORIZED-SALE", "对于未经授权擅自销售公司产品 … 的行为", "渠道未经授权销售", "unauthorised sale through a channel";
    /// A device holds only documents in its user's read scope.
    DataScope => "DATA-SCOPE", "销售数据应保密,仅限公司内部使用,严禁泄露给外部无关人员", "设备持有超出权限的数据", "device holds data outside its user's scope";
    /// Role-reserved fields are set by users with that role.
    DataAuthority => "DATA-AUTHORITY", "明确各级渠道的权限和职责", "越权设置字段", "field set without the required role";
}

impl RuleId {
    /// Position in the catalog (findings sort by it).
    pub fn index(self) -> usize {
        // Variants are declared in catalog order (a test checks `ALL[i].index() == i`).
        self as usize
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not a rule ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule `{0}`")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, UnknownRule> {
        let t = s.trim().to_ascii_uppercase().replace('_', "-");
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == t)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_three_rules_round_trip() {
        assert_eq!(RuleId::ALL.len(), 33);
        for (i, r) in RuleId::ALL.iter().enumerate() {
            assert_eq!(r.as_str().parse::<RuleId>().unwrap(), *r);
            assert_eq!(r.index(), i);
            assert!(!r.clause().is_empty());
        }
        assert!("NOPE".parse::<RuleId>().is_err());
        assert_eq!(
            "cust_duplicate".parse::<RuleId>().unwrap(),
            RuleId::CustDuplicate
        );
    }
}
