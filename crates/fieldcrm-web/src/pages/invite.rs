//! `GET /invite` 邀请 (admins): the form to invite a person's device; `POST /invite`
//! creates the invitation (`fieldcrm_connect::invite`: signed by this device, held by the
//! office relay) and shows the one-time code, the link and its QR code.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_connect::Invited;
use fieldcrm_model::{Lang, Role};
use fieldcrm_workspace::{NewInvitation, input};
use maud::{Markup, PreEscaped, html};

use super::{Base, base, fail};
use crate::App;
use crate::format::{t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, Form, FormState, role_name};

const FIELDS: &[&str] = &["name", "role", "team", "user", "valid"];

fn is_admin(b: &Base) -> bool {
    b.who.role == Some(Role::Admin)
}

fn not_admin(ctx: &Ctx, b: &Base) -> Response {
    let e = fieldcrm_workspace::Error::denied(fieldcrm_workspace::Msg::new(
        "只有管理员可以邀请设备",
        "only an admin can invite devices",
    ));
    ui::error_page(ctx, &b.who, WsError::App(e))
}

/// `GET /invite`.
pub(crate) async fn page(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| base(ws, &a)).await;
    match r {
        Ok(b) if !is_admin(&b) => not_admin(&ctx, &b),
        Ok(b) => render_page(&ctx, &b, StatusCode::OK, None, None),
        Err(e) => fail(&ctx, e),
    }
}

/// `POST /invite`.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let a = app.clone();
    let handle = tokio::runtime::Handle::current();
    let fs = fields.clone();
    // Invitations are judged by the relay's clock: the real time, not the app's.
    let at = crate::wall_now();
    let r = tokio::task::spawn_blocking(move || {
        let access = crate::store::Access::begin(&a);
        let r = (|| -> Result<(Base, Option<fieldcrm_connect::Result<Invited>>), WsError> {
            let ws = crate::store::open(&a)?;
            let b = base(&ws, &a)?;
            if !is_admin(&b) {
                return Ok((b, None));
            }
            let new = (|| -> fieldcrm_workspace::Result<NewInvitation> {
                Ok(NewInvitation {
                    user: fs.opt("user"),
                    name: fs.opt("name"),
                    role: fs
                        .opt("role")
                        .map(|r| input::vocab("role", &r))
                        .transpose()?,
                    team: fs.opt("team"),
                    valid_ms: Some(input::duration(
                        "valid",
                        &fs.opt("valid").unwrap_or_else(|| "72h".into()),
                    )?),
                })
            })();
            let outcome = match new {
                Ok(new) => handle.block_on(fieldcrm_connect::invite(&ws, None, &new, at)),
                Err(e) => Err(e.into()),
            };
            Ok((b, Some(outcome)))
        })();
        drop(access);
        r
    })
    .await
    .unwrap_or_else(|e| Err(WsError::Internal(e.to_string())));
    match r {
        Ok((b, None)) => not_admin(&ctx, &b),
        Ok((b, Some(Ok(invited)))) => render_page(&ctx, &b, StatusCode::OK, None, Some(&invited)),
        Ok((b, Some(Err(e)))) => {
            let (field, message) = match &e {
                fieldcrm_connect::Error::Workspace(w) => {
                    (w.field().map(str::to_string), w.message(ctx.lang))
                }
                other => (None, other.message(ctx.lang)),
            };
            let state = FormState {
                form: "invite".into(),
                values: fields.0.clone(),
                field,
                message,
            };
            render_page(
                &ctx,
                &b,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&state),
                None,
            )
        }
        Err(e) => fail(&ctx, e),
    }
}

fn render_page(
    ctx: &Ctx,
    b: &Base,
    status: StatusCode,
    state: Option<&FormState>,
    done: Option<&Invited>,
) -> Response {
    let title = t(ctx.lang, "邀请设备", "Invite a device");
    ui::page(
        status,
        ui::layout(
            ctx,
            &b.who,
            "invite",
            title,
            None,
            render(ctx, b, state, done),
        ),
    )
}

fn issued(lang: Lang, b: &Base, i: &Invited) -> Markup {
    let inv = &i.invitation;
    // The QR code is an SVG of rectangles made here from the link (no text, no script).
    let qr = fieldcrm_workspace::qr_svg(&i.link).unwrap_or_default();
    html! {
        section.card.invite-result role="status" {
            h2 { (t(lang, "邀请已创建", "Invitation created")) }
            p {
                (inv.name) " · " (role_name(&inv.role, lang))
                @if let Some(team) = &inv.team { " · " (team) }
                " · " (t(lang, "有效至 ", "valid until ")) (when(&b.clock, inv.expires_at, lang))
            }
            p { (t(lang, "邀请码（只能用一次）：", "Code (works once): ")) strong #invite-code.code { (i.code.to_string()) } }
            p { (t(lang, "链接：", "Link: ")) code.wrap #invite-link { (i.link) } }
            div.qr #invite-qr { (PreEscaped(qr)) }
            p.muted.small {
                (t(lang, "在新设备上运行：", "On the new device run: "))
                code.wrap { "fieldcrm join --invite " (i.code.to_string()) " --relay " (i.relay) }
            }
        }
    }
}

fn render(ctx: &Ctx, b: &Base, state: Option<&FormState>, done: Option<&Invited>) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("invite", "invite-", FIELDS, state);
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), role_name(r, lang)))
        .collect();
    let users: Vec<(String, String)> = std::iter::once((
        String::new(),
        t(lang, "（新用户）", "(a new user)").to_string(),
    ))
    .chain(b.roster.iter().flat_map(|r| {
        r.users
            .iter()
            .filter(|(_, u)| u.active)
            .map(|(id, u)| (id.clone(), u.name.clone()))
    }))
    .collect();
    html! {
        div.page-head {
            h1 { (t(lang, "邀请设备", "Invite a device")) }
            p.muted { (t(lang, "为新同事（或同事的另一台设备）生成一次性邀请码、链接和二维码。邀请由本设备签名，保存在办公室中继上，直到被使用或过期。", "Make a one-time code, link and QR code for a new colleague (or a colleague's other device). The invitation is signed by this device and held by the office relay until it is used or expires.")) }
        }
        @if let Some(i) = done { (issued(lang, b, i)) }
        form.card.form #invite-form method="post" action="/invite" {
            (f.head(ctx))
            (f.text("name", t(lang, "姓名", "Name"), "", "text", None))
            div.form-row {
                (f.select("role", t(lang, "角色", "Role"), &roles, "rep"))
                (f.text("team", t(lang, "团队", "Team"), "", "text", None))
            }
            (f.select("user", t(lang, "或：已有用户的另一台设备", "Or: another device of an existing user"), &users, ""))
            (f.text("valid", t(lang, "有效期", "Valid for"), "72h", "text", Some(("placeholder", "72h"))))
            div.actions { button #invite-create type="submit" { (t(lang, "创建邀请", "Create invitation")) } }
        }
    }
}
