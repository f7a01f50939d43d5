//! One module per page (or group of pages): a handler that does the store work on a
//! blocking thread and a render function that turns plain data into HTML.

pub(crate) mod channel_forms;
pub(crate) mod channels;
pub(crate) mod conflicts;
pub(crate) mod customer;
mod customer_forms;
pub(crate) mod customers;
pub(crate) mod events;
mod finding_forms;
pub(crate) mod invite;
pub(crate) mod manager;
pub(crate) mod record_forms;
pub(crate) mod sync;
pub(crate) mod targets;
pub(crate) mod today;

use axum::response::Response;
use fieldcrm_model::{Lang, Roster};
use fieldcrm_policy::{Finding, RuleId, Severity};
use fieldcrm_workspace::Workspace;
use fieldcrm_workspace::input::Clock;
use maud::{Markup, html};

use crate::App;
use crate::format::t;
use crate::security::Ctx;
use crate::store::WsError;
use crate::ui::{self, Who};

/// What every page needs: who is using it, the clock in the workspace zone, the roster.
pub(crate) struct Base {
    /// The user.
    pub(crate) who: Who,
    /// Now, in the workspace zone.
    pub(crate) clock: Clock,
    /// The roster, once it has arrived.
    pub(crate) roster: Option<std::sync::Arc<Roster>>,
}

impl Base {
    /// A user's name by ID (short ID if unknown).
    pub(crate) fn user_name(&self, id: &str) -> String {
        self.roster
            .as_ref()
            .and_then(|r| r.users.get(id))
            .map(|u| u.name.clone())
            .unwrap_or_else(|| crate::format::short(id))
    }
}

/// Read the base of a page.
pub(crate) fn base(ws: &Workspace, app: &App) -> Result<Base, WsError> {
    let tz = ws.timezone()?;
    let clock = Clock::new(&tz, app.now())?;
    let roster = ws.roster().ok();
    let me = ws.me().ok();
    Ok(Base {
        who: Who {
            name: me.as_ref().map(|m| m.user.name.clone()),
            role: me.map(|m| m.user.role),
            company: roster.as_ref().map(|r| r.workspace_name.clone()),
        },
        clock,
        roster,
    })
}

/// The error page when the base could not be read.
pub(crate) fn fail(ctx: &Ctx, e: WsError) -> Response {
    ui::error_page(ctx, &Who::default(), e)
}

/// What to do about a finding of `rule`.
pub(crate) fn advice(rule: RuleId, lang: Lang) -> &'static str {
    use RuleId as R;
    match rule {
        R::CustContactCadence => t(
            lang,
            "记录一次拜访、电话或邮件。",
            "Log a visit, call or email.",
        ),
        R::CustKeyVisit => t(
            lang,
            "安排一次上门拜访并记录。",
            "Visit in person and log it.",
        ),
        R::CustClassMissing | R::CustClassCriteria => t(
            lang,
            "核对并设置客户分类，或请经理批准例外。",
            "Check and set the class, or ask a manager for an exception.",
        ),
        R::CustProfileComplete => t(
            lang,
            "补全档案：行业、区域、地址、联系人。",
            "Complete the file: industry, region, address, a contact.",
        ),
        R::CustDuplicate => t(
            lang,
            "请经理在“重复客户”中合并。",
            "Ask a manager to merge them under Duplicates.",
        ),
        R::CustConcurrentEdit => t(
            lang,
            "在“冲突”中选定正确的值。",
            "Pick the right value under Conflicts.",
        ),
        R::CustKeyPlan => t(
            lang,
            "制定或更新客户发展计划。",
            "Set or update the development plan.",
        ),
        R::CustSatisfaction => t(
            lang,
            "安排回访并记录满意度。",
            "Survey the customer and record it.",
        ),
        R::CustRecordTimely => t(
            lang,
            "以后请在拜访后及时录入。",
            "Record visits promptly from now on.",
        ),
        R::ComplaintResponse
        | R::ComplaintEscalation
        | R::ComplaintMajorInvestigation
        | R::ComplaintResolution => t(
            lang,
            "在客户档案中处理投诉：回复、上报、调查或解决。",
            "Handle the complaint in the file: respond, escalate, investigate or resolve.",
        ),
        R::OppFollowup => t(
            lang,
            "跟进销售机会并更新阶段。",
            "Follow up and update the stage.",
        ),
        R::ContractLegalReview => t(lang, "提交法务审核。", "Send it to legal for review."),
        R::ContractArchived => t(lang, "登记合同归档编号。", "Record the archive reference."),
        R::PriceDiscount => t(
            lang,
            "请经理在“审批”中批准。",
            "Ask a manager to approve it under Approvals.",
        ),
        R::OrderDelivery => t(
            lang,
            "安排交付并记录交付时间。",
            "Deliver and record the delivery.",
        ),
        R::GiftDeclaration => t(
            lang,
            "申报并请经理审批。",
            "Declare it and ask a manager to approve.",
        ),
        R::SalesReport => t(
            lang,
            "提交本期销售报告。",
            "Submit this period's sales report.",
        ),
        _ => t(lang, "查看详情并处理。", "Look at it and fix it."),
    }
}

/// The page of a document: `/customers/ID` or `/channels/ID`.
pub(crate) fn doc_href(id: &fieldcrm_model::DocId, kind: &fieldcrm_model::DocKind) -> String {
    match kind {
        fieldcrm_model::DocKind::Channel => format!("/channels/{id}"),
        _ => format!("/customers/{id}"),
    }
}

/// A finding as a list item; `target` is the (href, name) of the document it is about.
pub(crate) fn finding_item(f: &Finding, lang: Lang, target: Option<(String, String)>) -> Markup {
    finding_item_with(f, lang, target, html! {})
}

/// [`finding_item`] with more inside the item (the acknowledge and waive forms).
pub(crate) fn finding_item_with(
    f: &Finding,
    lang: Lang,
    target: Option<(String, String)>,
    extra: Markup,
) -> Markup {
    let (sev_class, sev) = match f.severity {
        Severity::Violation => ("badge bad", t(lang, "违规", "Violation")),
        Severity::Warning => ("badge warn", t(lang, "警告", "Warning")),
    };
    let title = match lang {
        Lang::Zh => f.rule.title_zh(),
        Lang::En => f.rule.title_en(),
    };
    let msg = match lang {
        Lang::Zh => &f.message_zh,
        Lang::En => &f.message_en,
    };
    html! {
        li.finding {
            div.finding-head {
                span class=(sev_class) { (sev) }
                strong { (title) }
                code.rule { (f.rule.as_str()) }
            }
            p.finding-msg { (msg) }
            p.finding-advice { span.muted { (t(lang, "建议：", "To do: ")) } (advice(f.rule, lang)) }
            @if let Some((href, name)) = target {
                p { a href=(href) { (name) " →" } }
            }
            (extra)
        }
    }
}

/// The most rows a list shows at once: a page stays quick and readable on a phone at any
/// workspace size; a search or a filter narrows the rest.
pub(crate) const MAX_ROWS: usize = 100;

/// "N more" under a list cut at [`MAX_ROWS`] (nothing when it was not cut).
pub(crate) fn more_rows(lang: Lang, total: usize) -> maud::Markup {
    let more = total.saturating_sub(MAX_ROWS);
    maud::html! {
        @if more > 0 {
            p.more.muted {
                (match lang {
                    Lang::Zh => format!("还有 {more} 条未显示，请用搜索或筛选缩小范围。"),
                    Lang::En => format!("{more} more not shown: narrow the list with search or filters."),
                })
            }
        }
    }
}
