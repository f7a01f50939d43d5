//! The record forms on a customer's file (visit, quote, contact, complaint, opportunity,
//! gift, survey): each a plain `<form>` that works without JavaScript, with errors beside
//! the field and what was typed kept.

use fieldcrm_model::{GiftDirection, GiftKind, InteractionKind, Lang, Severity, Stage};
use maud::{Markup, html};

use super::Base;
use super::customer::FileData;
use crate::format::{input_time, pct, t};
use crate::security::Ctx;
use crate::ui::{Form, FormState, empty, vocab};

const VISIT_FIELDS: &[&str] = &["kind", "at", "summary", "contact"];
const QUOTE_FIELDS: &[&str] = &["product", "price", "quantity"];
const CONTACT_FIELDS: &[&str] = &["name", "title", "phone", "email"];
const COMPLAINT_FIELDS: &[&str] = &["severity", "summary", "at"];
const OPP_FIELDS: &[&str] = &["title", "stage", "amount"];
const GIFT_FIELDS: &[&str] = &["kind", "direction", "description", "value", "at"];
const SURVEY_FIELDS: &[&str] = &["score", "comment", "at"];

fn opts<T>(all: &[T], zh: fn(&T) -> &str, en: fn(&T) -> &str, lang: Lang) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (en(v).to_string(), vocab(zh(v), en(v), lang)))
        .collect()
}

pub(super) fn forms(ctx: &Ctx, b: &Base, d: &FileData, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let now_text = input_time(&b.clock, b.clock.now);
    let base_url = format!("/customers/{}", d.id);
    let visit = Form::new("visit", "", VISIT_FIELDS, state);
    let quote = Form::new("quote", "", QUOTE_FIELDS, state);
    let contact = Form::new("contact", "contact-", CONTACT_FIELDS, state);
    let complaint = Form::new("complaint", "complaint-", COMPLAINT_FIELDS, state);
    let opp = Form::new("opportunity", "opp-", OPP_FIELDS, state);
    let gift = Form::new("gift", "gift-", GIFT_FIELDS, state);
    let survey = Form::new("survey", "survey-", SURVEY_FIELDS, state);
    let kinds = opts(
        InteractionKind::ALL,
        InteractionKind::zh,
        InteractionKind::as_str,
        lang,
    );
    let contacts: Vec<(String, String)> =
        std::iter::once((String::new(), t(lang, "（不指定）", "(none)").to_string()))
            .chain(
                d.customer
                    .contacts
                    .iter()
                    .map(|(k, c)| (k.clone(), c.name.clone())),
            )
            .collect();
    let chosen_product = quote.val("product", "");
    html! {
        section.card.form-card {
            h2 { (t(lang, "记录拜访", "Log a visit")) }
            form.form #visit-form method="post" action={ (base_url) "/interactions#visit-form" } {
                (visit.head(ctx))
                div.form-row {
                    (visit.select("kind", t(lang, "方式", "Kind"), &kinds, "visit"))
                    (visit.text("at", t(lang, "时间", "When"), &now_text, "text", Some(("placeholder", "2026-11-29T14:00"))))
                }
                @if !d.customer.contacts.is_empty() { (visit.select("contact", t(lang, "联系人", "Contact"), &contacts, "")) }
                (visit.textarea("summary", t(lang, "内容摘要", "Summary")))
                div.actions { button #visit-save type="submit" { (t(lang, "保存记录", "Save")) } }
            }
        }
        section.card.form-card {
            h2 { (t(lang, "新建报价", "New quote")) }
            @if d.catalog.products.is_empty() {
                (empty(t(lang, "产品目录为空，请管理员先添加产品。", "The catalog is empty; an admin adds products first.")))
            } @else {
                form.form #quote-form method="post" action={ (base_url) "/quotes#quote-form" } data-allowance-bp=(d.signoff_bp) {
                    (quote.head(ctx))
                    div.field {
                        label for="product" { (t(lang, "产品", "Product")) }
                        select #product name="product" autofocus[quote.err("product").is_some()] aria-invalid=[quote.err("product").map(|_| "true")] {
                            @for (sku, p) in &d.catalog.products {
                                option value=(sku) data-list-price=(p.list_price) selected[*sku == chosen_product] {
                                    (p.name) " (" (sku) ") · " (t(lang, "目录价 ", "list ")) (crate::format::yuan_exact(p.list_price))
                                }
                            }
                        }
                        @if let Some(e) = quote.err("product") { p.field-error #product-error role="alert" { (e) } }
                    }
                    div.form-row {
                        (quote.text("price", t(lang, "单价（元）", "Unit price (yuan)"), "", "money", Some(("placeholder", "850"))))
                        (quote.text("quantity", t(lang, "数量", "Quantity"), "1", "int", None))
                    }
                    div.quote-readout {
                        span { (t(lang, "折扣：", "Discount: ")) }
                        output #quote-discount for="product price" { "—" }
                        span.muted { " · " (t(lang, "超过 ", "over ")) (pct(d.signoff_bp)) (t(lang, " 需经理审批", " needs a manager")) }
                    }
                    p #quote-needs-approval.needs-approval hidden { (t(lang, "需要经理审批", "needs approval by a manager")) }
                    div.actions { button #quote-save type="submit" { (t(lang, "保存报价", "Save quote")) } }
                }
            }
        }
        details.card.form-card open[contact.open()] {
            summary { h2 { (t(lang, "添加联系人", "Add a contact")) } }
            form.form #contact-form method="post" action={ (base_url) "/contacts#contact-form" } {
                (contact.head(ctx))
                div.form-row {
                    (contact.text("name", t(lang, "姓名", "Name"), "", "text", None))
                    (contact.text("title", t(lang, "职务", "Title"), "", "text", None))
                }
                div.form-row {
                    (contact.text("phone", t(lang, "电话", "Phone"), "", "tel", None))
                    (contact.text("email", t(lang, "邮箱", "Email"), "", "email", None))
                }
                div.actions { button #contact-save type="submit" { (t(lang, "添加", "Add")) } }
            }
        }
        details.card.form-card open[complaint.open()] {
            summary { h2 { (t(lang, "受理投诉", "Open a complaint")) } }
            form.form #complaint-form method="post" action={ (base_url) "/complaints#complaint-form" } {
                (complaint.head(ctx))
                div.form-row {
                    (complaint.select("severity", t(lang, "级别", "Severity"), &opts(Severity::ALL, Severity::zh, Severity::as_str, lang), "normal"))
                    (complaint.text("at", t(lang, "时间", "When"), &now_text, "text", None))
                }
                (complaint.textarea("summary", t(lang, "投诉内容", "What happened")))
                div.actions { button #complaint-save type="submit" { (t(lang, "受理", "Open")) } }
            }
        }
        details.card.form-card open[opp.open()] {
            summary { h2 { (t(lang, "新增商机", "Add an opportunity")) } }
            form.form #opportunity-form method="post" action={ (base_url) "/opportunities#opportunity-form" } {
                (opp.head(ctx))
                (opp.text("title", t(lang, "标题", "Title"), "", "text", None))
                div.form-row {
                    (opp.select("stage", t(lang, "阶段", "Stage"), &opts(Stage::ALL, Stage::zh, Stage::as_str, lang), "lead"))
                    (opp.text("amount", t(lang, "金额（元）", "Amount (yuan)"), "", "money", None))
                }
                div.actions { button #opportunity-save type="submit" { (t(lang, "添加", "Add")) } }
            }
        }
        details.card.form-card open[gift.open()] {
            summary { h2 { (t(lang, "登记礼品招待", "Record a gift")) } }
            form.form #gift-form method="post" action={ (base_url) "/gifts#gift-form" } {
                (gift.head(ctx))
                div.form-row {
                    (gift.select("kind", t(lang, "类型", "Kind"), &opts(GiftKind::ALL, GiftKind::zh, GiftKind::as_str, lang), "gift"))
                    (gift.select("direction", t(lang, "方向", "Direction"), &opts(GiftDirection::ALL, GiftDirection::zh, GiftDirection::as_str, lang), "given"))
                }
                (gift.text("description", t(lang, "说明", "Description"), "", "text", None))
                div.form-row {
                    (gift.text("value", t(lang, "价值（元）", "Value (yuan)"), "", "money", None))
                    (gift.text("at", t(lang, "时间", "When"), &now_text, "text", None))
                }
                (gift.checkbox("declared", t(lang, "已申报", "Declared")))
                div.actions { button #gift-save type="submit" { (t(lang, "登记", "Record")) } }
            }
        }
        details.card.form-card open[survey.open()] {
            summary { h2 { (t(lang, "记录回访", "Record a survey")) } }
            form.form #survey-form method="post" action={ (base_url) "/surveys#survey-form" } {
                (survey.head(ctx))
                div.form-row {
                    (survey.select("score", t(lang, "满意度（1–5）", "Score (1–5)"), &(1..=5).rev().map(|i| (i.to_string(), i.to_string())).collect::<Vec<_>>(), "5"))
                    (survey.text("at", t(lang, "时间", "When"), &now_text, "text", None))
                }
                (survey.text("comment", t(lang, "意见", "Comment"), "", "text", None))
                div.actions { button #survey-save type="submit" { (t(lang, "保存", "Save")) } }
            }
        }
    }
}
