//! Who may set or sign what: the one authority table.
//!
//! Every role-reserved action (a sign-off such as a discount approval or a legal review,
//! or a reserved field such as a customer's owner or the catalog) is one [`Authority`]
//! value with the roles that hold it. The application layer refuses an action with it,
//! the CLI and the web app show its refusal, and the policy engine's DATA-AUTHORITY rule
//! judges a merged value by it, so the three cannot disagree.
//!
//! The admin decision: an admin holds every management authority (sales manager and
//! channel manager) but never the legal review, which only legal may sign: separation of
//! duties between who runs the workspace and who vouches for a contract's terms.

use crate::{DocKind, Role};

/// A role-reserved action or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Authority {
    /// Assign or reassign a customer file's owner to another user.
    AssignOwner,
    /// Approve a customer class exception.
    ClassException,
    /// Approve a quote's discount beyond the allowance.
    DiscountApproval,
    /// Approve an order's discount beyond the allowance.
    OrderApproval,
    /// Approve a gift.
    GiftApproval,
    /// Sign a contract's legal review.
    LegalReview,
    /// Receive an escalated complaint.
    ComplaintEscalation,
    /// Register a channel partner.
    ChannelCreate,
    /// Review a channel's qualification.
    ChannelQualification,
    /// Assess a channel's risk.
    ChannelRisk,
    /// Record a channel's agreement.
    ChannelAgreement,
    /// Activate a channel.
    ChannelActivation,
    /// Suspend or terminate a channel.
    ChannelStatus,
    /// Grant a channel territory.
    ChannelTerritory,
    /// Edit the product catalog.
    Catalog,
    /// Set discount allowances.
    PriceAllowance,
    /// Change rule settings.
    PolicySettings,
    /// Change the roster: users, roles, devices.
    Roster,
    /// Set sales targets.
    Targets,
    /// Merge duplicate customer files.
    MergeCustomers,
    /// Merge duplicate channel records.
    MergeChannels,
    /// Archive or restore a customer file or channel record; remove a record from a
    /// channel record, or restore it.
    Archive,
    /// Remove a record the rules watch (complaint, contract, order, gift) from a
    /// customer file, or restore any removed record.
    RemoveRecord,
    /// Cancel any quote or order of a customer file (a rep may cancel only their own,
    /// on a file they own, while it is not approved).
    CancelRecord,
    /// Remove another user's sales report (a rep may remove their own within a week of
    /// submitting it), or restore a removed one.
    ReportRemoval,
    /// Waive a rule finding about a customer file or the workspace documents until a date.
    WaiveFinding,
    /// Waive a rule finding about a channel record until a date.
    WaiveChannelFinding,
}

const MANAGER: &[Role] = &[Role::Manager, Role::Admin];
const CHANNEL_MANAGER: &[Role] = &[Role::ChannelManager, Role::Admin];
const ANY_MANAGER: &[Role] = &[Role::ChannelManager, Role::Manager, Role::Admin];
const LEGAL: &[Role] = &[Role::Legal];
const ADMIN: &[Role] = &[Role::Admin];

impl Authority {
    /// Every authority, in declaration order.
    pub const ALL: &'static [Authority] = &[
        Authority::AssignOwner,
        Authority::ClassException,
        Authority::DiscountApproval,
        Authority::OrderApproval,
        Authority::GiftApproval,
        Authority::LegalReview,
        Authority::ComplaintEscalation,
        Authority::ChannelCreate,
        Authority::ChannelQualification,
        Authority::ChannelRisk,
        Authority::ChannelAgreement,
        Authority::ChannelActivation,
        Authority::ChannelStatus,
        Authority::ChannelTerritory,
        Authority::Catalog,
        Authority::PriceAllowance,
        Authority::PolicySettings,
        Authority::Roster,
        Authority::Targets,
        Authority::MergeCustomers,
        Authority::MergeChannels,
        Authority::Archive,
        Authority::RemoveRecord,
        Authority::CancelRecord,
        Authority::ReportRemoval,
        Authority::WaiveFinding,
        Authority::WaiveChannelFinding,
    ];

    /// The roles that hold this authority.
    pub fn roles(self) -> &'static [Role] {
        use Authority::*;
        match self {
            AssignOwner | ClassException | DiscountApproval | OrderApproval | GiftApproval
            | ComplaintEscalation | Catalog | PriceAllowance | PolicySettings | Targets
            | MergeCustomers | RemoveRecord | CancelRecord | ReportRemoval | WaiveFinding => {
                MANAGER
            }
            LegalReview => LEGAL,
            ChannelQualification | ChannelRisk | ChannelActivation | WaiveChannelFinding => {
                CHANNEL_MANAGER
            }
            ChannelCreate | ChannelAgreement | ChannelStatus | ChannelTerritory | MergeChannels
            | Archive => ANY_MANAGER,
            Roster => ADMIN,
        }
    }

    /// Whether `role` holds this authority.
    pub fn allows(self, role: &Role) -> bool {
        self.roles().contains(role)
    }

    /// Stable name (for JSON and error codes).
    pub fn as_str(self) -> &'static str {
        use Authority::*;
        match self {
            AssignOwner => "assign-owner",
            ClassException => "class-exception",
            DiscountApproval => "discount-approval",
            OrderApproval => "order-approval",
            GiftApproval => "gift-approval",
            LegalReview => "legal-review",
            ComplaintEscalation => "complaint-escalation",
            ChannelCreate => "channel-create",
            ChannelQualification => "channel-qualification",
            ChannelRisk => "channel-risk",
            ChannelAgreement => "channel-agreement",
            ChannelActivation => "channel-activation",
            ChannelStatus => "channel-status",
            ChannelTerritory => "channel-territory",
            Catalog => "catalog",
            PriceAllowance => "price-allowance",
            PolicySettings => "policy-settings",
            Roster => "roster",
            Targets => "targets",
            MergeCustomers => "merge-customers",
            MergeChannels => "merge-channels",
            Archive => "archive",
            RemoveRecord => "remove-record",
            CancelRecord => "cancel-record",
            ReportRemoval => "report-removal",
            WaiveFinding => "waive-finding",
            WaiveChannelFinding => "waive-channel-finding",
        }
    }

    /// What the action is, in Chinese ("…无权{action_zh}").
    pub fn action_zh(self) -> &'static str {
        use Authority::*;
        match self {
            AssignOwner => "指派客户负责人",
            ClassException => "批准客户分级例外",
            DiscountApproval => "批准报价折扣",
            OrderApproval => "批准订单折扣",
            GiftApproval => "批准礼品",
            LegalReview => "进行合同法务审查",
            ComplaintEscalation => "接收投诉上报",
            ChannelCreate => "登记渠道",
            ChannelQualification => "审核渠道资质",
            ChannelRisk => "评估渠道风险",
            ChannelAgreement => "登记渠道协议",
            ChannelActivation => "启用渠道",
            ChannelStatus => "暂停或终止渠道",
            ChannelTerritory => "授予渠道区域",
            Catalog => "修改产品目录",
            PriceAllowance => "设置折扣权限",
            PolicySettings => "修改规则配置",
            Roster => "修改花名册（用户、角色、设备）",
            Targets => "设置销售目标",
            MergeCustomers => "合并重复客户档案",
            MergeChannels => "合并重复渠道档案",
            Archive => "归档或恢复客户档案、渠道档案，或删除、恢复渠道档案中的记录",
            RemoveRecord => "删除或恢复客户档案中受规则监管的记录（投诉、合同、订单、礼品）",
            CancelRecord => "取消已批准的报价或订单，或他人的报价或订单",
            ReportRemoval => "删除他人的销售报告，或恢复已删除的销售报告",
            WaiveFinding => "豁免规则检查发现的问题",
            WaiveChannelFinding => "豁免渠道档案的规则检查问题",
        }
    }

    /// What the action is, in English ("… may not {action_en}").
    pub fn action_en(self) -> &'static str {
        use Authority::*;
        match self {
            AssignOwner => "assign a customer to another user",
            ClassException => "approve a class exception",
            DiscountApproval => "approve a discount",
            OrderApproval => "approve an order's discount",
            GiftApproval => "approve a gift",
            LegalReview => "review a contract",
            ComplaintEscalation => "receive an escalated complaint",
            ChannelCreate => "register a channel",
            ChannelQualification => "review a channel's qualification",
            ChannelRisk => "assess a channel's risk",
            ChannelAgreement => "record a channel agreement",
            ChannelActivation => "activate a channel",
            ChannelStatus => "suspend or terminate a channel",
            ChannelTerritory => "grant a territory",
            Catalog => "edit the catalog",
            PriceAllowance => "set discount allowances",
            PolicySettings => "change rule settings",
            Roster => "change the roster (users, roles, devices)",
            Targets => "set sales targets",
            MergeCustomers => "merge customer files",
            MergeChannels => "merge channel records",
            Archive => {
                "archive or restore a customer file or channel record, or remove or restore a record of a channel"
            }
            RemoveRecord => {
                "remove a complaint, contract, order or gift from a customer file, or restore a removed record"
            }
            CancelRecord => "cancel an approved quote or order, or someone else's",
            ReportRemoval => "remove someone else's sales report, or restore a removed one",
            WaiveFinding => "waive a rule finding",
            WaiveChannelFinding => "waive a rule finding about a channel",
        }
    }

    /// Who holds it, in Chinese ("经理或管理员").
    pub fn needs_zh(self) -> String {
        self.roles()
            .iter()
            .map(|r| r.zh().to_string())
            .collect::<Vec<_>>()
            .join("或")
    }

    /// Who holds it, in English ("manager or admin").
    pub fn needs_en(self) -> String {
        self.roles()
            .iter()
            .map(|r| r.as_str().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// The authority that waives a finding whose state is kept in a document of `kind`
    /// (channel records: channel managers; customer files and the workspace documents:
    /// sales managers; admins hold both).
    pub fn waive_finding(kind: &DocKind) -> Authority {
        match kind {
            DocKind::Channel => Authority::WaiveChannelFinding,
            _ => Authority::WaiveFinding,
        }
    }

    /// The authority a field of a document kind is reserved to, if any. `path` is the
    /// field path as `fields::field_states` writes it (`quotes/ID/approval`).
    pub fn for_field(kind: &DocKind, path: &str) -> Option<Authority> {
        let segs: Vec<&str> = path.split('/').collect();
        match (kind, segs.as_slice()) {
            (DocKind::Customer | DocKind::Channel, ["archived", ..]) => Some(Authority::Archive),
            (DocKind::Channel, ["removed", ..]) => Some(Authority::Archive),
            (DocKind::Customer, ["removed", collection, ..])
                if crate::customer::GUARDED_COLLECTIONS.contains(collection) =>
            {
                Some(Authority::RemoveRecord)
            }
            (DocKind::Customer, ["class_exception", ..]) => Some(Authority::ClassException),
            (DocKind::Customer, ["quotes" | "orders", _, "cancelled", ..]) => {
                Some(Authority::CancelRecord)
            }
            (DocKind::Customer, ["quotes", _, "approval", ..]) => Some(Authority::DiscountApproval),
            (DocKind::Customer, ["orders", _, "approval", ..]) => Some(Authority::OrderApproval),
            (DocKind::Customer, ["gifts", _, "approval", ..]) => Some(Authority::GiftApproval),
            (DocKind::Customer, ["contracts", _, "legal_review", ..]) => {
                Some(Authority::LegalReview)
            }
            (DocKind::Channel, ["qualification", ..]) => Some(Authority::ChannelQualification),
            (DocKind::Channel, ["risk", ..]) => Some(Authority::ChannelRisk),
            (DocKind::Channel, ["territories", ..]) => Some(Authority::ChannelTerritory),
            (DocKind::Channel, ["agreement", ..]) => Some(Authority::ChannelAgreement),
            (DocKind::Catalog, ["discount_allowance_bp", ..]) => Some(Authority::PriceAllowance),
            (DocKind::Catalog, _) => Some(Authority::Catalog),
            (DocKind::Policy, ["rules", ..]) => Some(Authority::PolicySettings),
            (DocKind::Roster, ["users" | "devices", ..]) => Some(Authority::Roster),
            (DocKind::Sales, ["targets", ..]) => Some(Authority::Targets),
            _ => None,
        }
    }
}

impl std::fmt::Display for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_management_but_not_legal() {
        for a in Authority::ALL {
            let admin = a.allows(&Role::Admin);
            assert_eq!(admin, *a != Authority::LegalReview, "{a}");
            assert!(!a.allows(&Role::Rep), "a rep holds {a}");
        }
        assert!(Authority::LegalReview.allows(&Role::Legal));
        assert!(!Authority::DiscountApproval.allows(&Role::Legal));
        assert!(Authority::ChannelActivation.allows(&Role::ChannelManager));
        assert!(!Authority::ChannelActivation.allows(&Role::Manager));
    }

    #[test]
    fn reserved_fields_map_to_their_sign_off() {
        let c = DocKind::Customer;
        assert_eq!(
            Authority::for_field(&c, "quotes/ab12/approval"),
            Some(Authority::DiscountApproval)
        );
        assert_eq!(
            Authority::for_field(&c, "contracts/x/legal_review/result"),
            Some(Authority::LegalReview)
        );
        assert_eq!(Authority::for_field(&c, "quotes/ab12/price"), None);
        assert_eq!(
            Authority::for_field(&DocKind::Roster, "users/u1/role"),
            Some(Authority::Roster)
        );
        assert_eq!(Authority::needs_en(Authority::LegalReview), "legal");
        assert_eq!(Authority::DiscountApproval.needs_zh(), "经理或管理员");
    }
}
