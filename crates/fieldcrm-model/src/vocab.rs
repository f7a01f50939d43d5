//! Closed vocabularies (enums stored as strings) with Chinese and English names.
//!
//! Every enum here is stored in Automerge as its canonical English string. Parsing
//! accepts the canonical name, listed aliases and the Chinese name, so users can type
//! `key`, `重要` or `重点`. A value written by a newer client that this build does not
//! know hydrates as `Unknown(text)` instead of failing the whole document.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's allowed names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of: {expected}")]
pub struct UnknownVariant {
    /// Which vocabulary was parsed (e.g. "customer class").
    pub what: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted canonical names, comma separated.
    pub expected: String,
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $var:ident => $s:literal, $zh:literal $(, $alias:literal)* ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A value this build does not know (written by a newer client).
            Unknown(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];

            /// The canonical (stored) English name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$var => $s, )*
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// The Chinese display name.
            pub fn zh(&self) -> &str {
                match self {
                    $( $name::$var => $zh, )*
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// The canonical names, comma separated (for error messages and help).
            pub fn expected() -> String {
                [$($s),*].join(", ")
            }

            fn from_exact(s: &str) -> Option<Self> {
                match s {
                    $( $s => Some($name::$var), )*
                    _ => None,
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(input: &str) -> Result<Self, Self::Err> {
                let t = input.trim();
                let lower = t.to_ascii_lowercase().replace('_', "-");
                $(
                    if lower == $s || t == $zh $(|| lower == $alias || t == $alias)* {
                        return Ok($name::$var);
                    }
                )*
                Err(UnknownVariant { what: $what, value: input.to_string(), expected: Self::expected() })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from_exact(&s).unwrap_or($name::Unknown(s)))
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, r: R) -> Result<(), R::Error> {
                self.as_str().reconcile(r)
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self::from_exact(s).unwrap_or_else(|| $name::Unknown(s.to_string())))
            }
        }
    };
}

string_enum! {
    /// Customer class (客户分类).
    CustomerClass, "customer class" {
        /// 重要客户.
        Key => "key", "重要", "重点", "important";
        /// 一般客户.
        General => "general", "一般", "普通", "normal";
        /// 潜在客户.
        Potential => "potential", "潜在", "prospect";
    }
}

string_enum! {
    /// A user's role in the workspace.
    Role, "role" {
        /// Field sales rep (销售代表).
        Rep => "rep", "销售", "销售代表", "sales";
        /// Sales manager (销售经理).
        Manager => "manager", "经理", "销售经理";
        /// Channel manager (渠道经理).
        ChannelManager => "channel-manager", "渠道经理", "channelmanager";
        /// Legal and compliance (法务).
        Legal => "legal", "法务", "合规";
        /// Administrator (管理员).
        Admin => "admin", "管理员";
    }
}

string_enum! {
    /// Kind of customer interaction.
    InteractionKind, "interaction kind" {
        /// In-person visit (拜访).
        Visit => "visit", "拜访", "探望";
        /// Phone call (电话).
        Call => "call", "电话", "phone";
        /// Email (邮件).
        Email => "email", "邮件";
        /// Meeting (会议).
        Meeting => "meeting", "会议", "座谈";
    }
}

string_enum! {
    /// Complaint severity.
    Severity, "complaint severity" {
        /// Normal complaint (一般投诉).
        Normal => "normal", "一般";
        /// Major complaint (重点投诉).
        Major => "major", "重点", "重大";
    }
}

string_enum! {
    /// Sales opportunity stage.
    Stage, "opportunity stage" {
        /// 线索.
        Lead => "lead", "线索";
        /// 已确认.
        Qualified => "qualified", "已确认";
        /// 方案.
        Proposal => "proposal", "方案", "报价";
        /// 谈判.
        Negotiation => "negotiation", "谈判";
        /// 赢单.
        Won => "won", "赢单", "成交";
        /// 输单.
        Lost => "lost", "输单", "丢单";
    }
}

impl Stage {
    /// Whether the opportunity is still open.
    pub fn is_open(&self) -> bool {
        !matches!(self, Stage::Won | Stage::Lost)
    }
}

string_enum! {
    /// Outcome of a review (legal review, qualification review).
    ReviewResult, "review result" {
        /// 通过.
        Passed => "passed", "通过", "pass", "approved";
        /// 不通过.
        Failed => "failed", "不通过", "fail", "rejected";
    }
}

string_enum! {
    /// Gift / hospitality / payment.
    GiftKind, "gift kind" {
        /// 礼品.
        Gift => "gift", "礼品";
        /// 招待.
        Hospitality => "hospitality", "招待", "宴请";
        /// 款项.
        Payment => "payment", "款项", "回扣";
    }
}

string_enum! {
    /// Direction of a gift.
    GiftDirection, "gift direction" {
        /// Given to the customer (赠送).
        Given => "given", "赠送", "give";
        /// Received from the customer (收受).
        Received => "received", "收受", "receive";
    }
}

string_enum! {
    /// Kind of channel partner (渠道类型).
    ChannelKind, "channel kind" {
        /// 分销商.
        Distributor => "distributor", "分销商";
        /// 代理商.
        Agent => "agent", "代理商";
        /// 经销商.
        Dealer => "dealer", "经销商";
        /// 零售商.
        Retailer => "retailer", "零售商";
    }
}

string_enum! {
    /// Lifecycle status of a channel partner.
    ChannelStatus, "channel status" {
        /// 洽谈中.
        Prospect => "prospect", "洽谈中", "潜在";
        /// 合作中.
        Active => "active", "合作中", "激活";
        /// 暂停.
        Suspended => "suspended", "暂停";
        /// 终止.
        Terminated => "terminated", "终止";
    }
}

string_enum! {
    /// Risk level from a channel risk assessment.
    RiskLevel, "risk level" {
        /// 低.
        Low => "low", "低";
        /// 中.
        Medium => "medium", "中";
        /// 高.
        High => "high", "高";
    }
}

string_enum! {
    /// The kind of a document.
    DocKind, "document kind" {
        /// 客户档案.
        Customer => "customer", "客户";
        /// 渠道档案.
        Channel => "channel", "渠道";
        /// Users, roles, devices (花名册).
        Roster => "roster", "花名册";
        /// Products and price policy (产品与价格政策).
        Catalog => "catalog", "产品目录";
        /// Rule configuration overrides (规则配置).
        Policy => "policy", "规则配置";
        /// Sales targets and reports (销售目标与报告).
        Sales => "sales", "销售目标";
    }
}

impl DocKind {
    /// The workspace-wide singleton kinds, each one document with a fixed ID created by
    /// `fieldcrm init`. The one list of them.
    pub const SINGLETONS: [DocKind; 4] = [
        DocKind::Roster,
        DocKind::Catalog,
        DocKind::Policy,
        DocKind::Sales,
    ];

    /// Whether this is a workspace-wide singleton document.
    pub fn is_workspace_doc(&self) -> bool {
        Self::SINGLETONS.contains(self)
    }
}

string_enum! {
    /// What someone did about a rule finding (see [`crate::FindingState`]).
    FindingMark, "finding state" {
        /// Seen and noted (已确认); the finding stays open.
        Acknowledged => "acknowledged", "已确认", "ack", "确认";
        /// Waived until a date by someone with the authority (已豁免).
        Waived => "waived", "已豁免", "waive", "豁免";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chinese_and_aliases() {
        assert_eq!("重要".parse::<CustomerClass>().unwrap(), CustomerClass::Key);
        assert_eq!("重点".parse::<CustomerClass>().unwrap(), CustomerClass::Key);
        assert_eq!(
            " KEY ".parse::<CustomerClass>().unwrap(),
            CustomerClass::Key
        );
        assert_eq!(
            "channel_manager".parse::<Role>().unwrap(),
            Role::ChannelManager
        );
        let err = "vip".parse::<CustomerClass>().unwrap_err();
        assert!(err.to_string().contains("key, general, potential"), "{err}");
    }

    #[test]
    fn unknown_stored_value_survives() {
        let v: CustomerClass = serde_json::from_str("\"strategic\"").unwrap();
        assert_eq!(v, CustomerClass::Unknown("strategic".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"strategic\"");
    }
}
