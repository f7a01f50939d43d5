//! Acknowledge (确认) or waive (豁免) a finding from the page that shows it: one small
//! disclosure per finding, posting to the customer file's record action, through the
//! same application-layer calls as `fieldcrm finding ack|waive`.

use fieldcrm_model::{DocId, Role};
use fieldcrm_policy::Finding;
use fieldcrm_workspace::{Workspace, input};
use maud::{Markup, html};

use crate::format::t;
use crate::security::{Ctx, Fields};
use crate::ui::FormState;
use fieldcrm_policy::Lang;

/// Whether `action` is one of the finding actions.
pub(crate) fn is_finding_action(action: &str) -> bool {
    matches!(action, "finding-ack" | "finding-waive")
}

/// Run a finding action; the flash text on success.
pub(crate) fn run(
    ws: &Workspace,
    action: &str,
    f: &Fields,
    clock: &input::Clock,
    lang: Lang,
) -> fieldcrm_workspace::Result<String> {
    let key = f.get("key");
    match action {
        "finding-waive" => {
            let until = clock.parse_end("until", f.get("until"))?;
            ws.waive_finding(key, f.get("reason"), until, clock.now)?;
            Ok(t(lang, "已豁免", "Waived").to_string())
        }
        _ => {
            ws.acknowledge_finding(key, f.get("note"), clock.now)?;
            Ok(t(lang, "已确认", "Acknowledged").to_string())
        }
    }
}

/// The acknowledge and waive forms under finding number `i` of a customer file's page.
/// Waiving is offered to managers and admins (the application layer decides anyway).
/// `back`: where to go after the action (another page than the file's).
pub(crate) fn actions(
    ctx: &Ctx,
    file: &DocId,
    f: &Finding,
    i: usize,
    role: Option<&Role>,
    state: Option<&FormState>,
    back: Option<&str>,
) -> Markup {
    let lang = ctx.lang;
    let key = f.key();
    let mine = state.filter(|s| s.values.get("key") == Some(&key));
    let err = |form: &str, field: &str| -> Option<String> {
        let s = mine.filter(|s| s.form == form)?;
        (s.field.as_deref() == Some(field) || s.field.is_none()).then(|| s.message.clone())
    };
    let val = |field: &str| -> String {
        mine.and_then(|s| s.values.get(field))
            .cloned()
            .unwrap_or_default()
    };
    let manager = matches!(role, Some(Role::Manager | Role::Admin));
    let field = |form: &str, name: &str, label: &str, ty: &str| {
        let id = format!("{form}-{name}-{i}");
        let e = err(form, name);
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(name) type=(ty) value=(val(name)) autocomplete="off"
                    required
                    aria-invalid=[e.is_some().then_some("true")]
                    aria-describedby=[e.is_some().then(|| format!("{id}-error"))];
                @if let Some(e) = e {
                    p.field-error id={ (id) "-error" } role="alert" { (e) }
                }
            }
        }
    };
    html! {
        details.finding-actions open[mine.is_some()] {
            summary {
                @if manager { (t(lang, "确认或豁免", "Acknowledge or waive")) }
                @else { (t(lang, "确认此问题", "Acknowledge")) }
            }
            form.stack method="post" action={ "/customers/" (file) "/finding-ack" } {
                input type="hidden" name="_csrf" value=(ctx.csrf);
                input type="hidden" name="key" value=(key);
                @if let Some(r) = back { input type="hidden" name="return" value=(r); }
                (field("finding-ack", "note", t(lang, "确认备注", "Note"), "text"))
                button.small.secondary type="submit" { (t(lang, "确认（仍计为未解决）", "Acknowledge (stays open)")) }
            }
            @if manager {
                form.stack method="post" action={ "/customers/" (file) "/finding-waive" } {
                    input type="hidden" name="_csrf" value=(ctx.csrf);
                    input type="hidden" name="key" value=(key);
                    @if let Some(r) = back { input type="hidden" name="return" value=(r); }
                    (field("finding-waive", "reason", t(lang, "豁免理由", "Reason"), "text"))
                    (field("finding-waive", "until", t(lang, "豁免至（日期）", "Waived until (date)"), "date"))
                    button.small type="submit" { (t(lang, "豁免", "Waive")) }
                }
            }
        }
    }
}
