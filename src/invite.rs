//! `fieldcrm invite` (an admin invites a person's device) and `fieldcrm join --invite CODE
//! --relay URL` / `fieldcrm join LINK` (the new device joins with it). The work is
//! `fieldcrm_connect`'s and `fieldcrm_workspace`'s; this parses and prints.

use std::path::Path;

use anyhow::{Context, Result};
use fieldcrm_connect::{JoinInvite, runtime};
use fieldcrm_model::Millis;
use fieldcrm_workspace::{InviteLink, NewInvitation, Workspace, input};
use serde_json::json;

use crate::cli::{InviteArgs, JoinArgs};
use crate::peer::{Progress, cli_error, print_outcome};
use crate::render::{Clock, print_json, say, tr, trf};

/// The real time: invitations are judged by the relay's clock, so their times and the
/// requests' are the wall clock's, whatever `--now` says.
fn wall_now() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

/// `fieldcrm invite`.
pub(crate) fn invite(ws: &Workspace, clock: &Clock, a: InviteArgs) -> Result<()> {
    let new = NewInvitation {
        user: a.user.clone(),
        name: a.name.clone(),
        role: a
            .role
            .as_deref()
            .map(|r| input::vocab("role", r))
            .transpose()?,
        team: a.team.clone(),
        valid_ms: Some(input::duration("valid", &a.valid)?),
    };
    let invited = runtime()
        .map_err(cli_error)?
        .block_on(fieldcrm_connect::invite(
            ws,
            a.relay.as_deref(),
            &new,
            wall_now(),
        ))
        .map_err(cli_error)?;
    if let Some(path) = &a.qr {
        let svg = fieldcrm_workspace::qr_svg(&invited.link)?;
        std::fs::write(path, svg)
            .with_context(|| trf!(zh: "无法写入 {}", en: "could not write {}", path.display()))?;
    }
    let inv = &invited.invitation;
    if a.json {
        return print_json(&json!({
            "id": inv.id,
            "code": invited.code.to_string(),
            "link": invited.link,
            "relay": invited.relay,
            "user_id": inv.user,
            "new_user": inv.new_user,
            "name": inv.name,
            "role": inv.role.as_str(),
            "team": inv.team,
            "expires_at": inv.expires_at,
            "qr": a.qr.as_ref().map(|p| p.display().to_string()),
        }));
    }
    let (name, until) = (&inv.name, clock.fmt(inv.expires_at));
    let role = tr(inv.role.zh(), inv.role.as_str());
    let team = inv
        .team
        .as_deref()
        .map(|t| format!("{}{t}", tr("，", ", ")))
        .unwrap_or_default();
    match inv.new_user {
        true => say!(
            zh: "已创建邀请：新用户 {name}（{role}{team}），有效期至 {until}",
            en: "invitation created: new user {name} ({role}{team}), valid until {until}"
        ),
        false => say!(
            zh: "已创建邀请：{name}（{role}{team}）的另一台设备，有效期至 {until}",
            en: "invitation created: another device of {name} ({role}{team}), valid until {until}"
        ),
    }
    let (code, link, relay) = (&invited.code, &invited.link, &invited.relay);
    say!(zh: "邀请码：{code}", en: "code:  {code}");
    say!(zh: "链接：  {link}", en: "link:  {link}");
    if let Some(path) = &a.qr {
        let path = path.display();
        say!(zh: "二维码：{path}", en: "QR:    {path}");
    }
    say!(
        zh: "在新设备上运行：fieldcrm join --invite {code} --relay {relay}",
        en: "On the new device: fieldcrm join --invite {code} --relay {relay}"
    );
    say!(zh: "邀请码只能使用一次。", en: "The code works once.");
    Ok(())
}

/// `fieldcrm join --invite CODE --relay URL` or `fieldcrm join LINK`: exit code of the
/// first sync (0, or 3 when something was refused).
pub(crate) fn join(home: &Path, a: &JoinArgs, now: Millis) -> Result<i32> {
    let target = match (&a.invite, a.relay.as_deref().or(a.url.as_deref())) {
        (Some(code), Some(relay)) => JoinInvite {
            relay: relay.to_string(),
            code: input::invite_code("invite", code)?,
            workspace: None,
            label: a.label.clone(),
        },
        (Some(_), None) => {
            return Err(fieldcrm_workspace::Error::bad(
                "relay",
                "请用 --relay 指定办公室中继（ws://主机:端口）",
                "give the office relay with --relay (ws://host:port)",
            )
            .into());
        }
        (None, Some(link)) => {
            let l = InviteLink::parse(link)?;
            JoinInvite {
                relay: l.relay,
                code: l.code,
                workspace: l.workspace,
                label: a.label.clone(),
            }
        }
        (None, None) => return Err(anyhow::anyhow!(tr("没有可加入的目标", "nothing to join"))),
    };
    let mut progress = Progress::new();
    let joined = runtime()
        .map_err(cli_error)?
        .block_on(fieldcrm_connect::join_invited(
            home,
            &target,
            now,
            wall_now(),
            &mut progress,
        ));
    progress.done();
    let j = joined.map_err(cli_error)?;
    let inv = &j.invitation;
    let team = inv
        .team
        .as_deref()
        .map(|t| format!("{}{t}", tr("，", ", ")))
        .unwrap_or_default();
    let (id, name, at) = (j.ws.workspace_id(), &inv.name, home.display());
    let role = tr(inv.role.zh(), inv.role.as_str());
    say!(
        zh: "已以 {name}（{role}{team}）的身份加入工作区 {id}，位于 {at}",
        en: "joined workspace {id} as {name} ({role}{team}) in {at}"
    );
    let (device, url) = (j.ws.device(), &j.url);
    say!(zh: "设备：{device}", en: "device: {device}");
    say!(
        zh: "中继：{url}（已保存为远端 `office`）",
        en: "relay:  {url} (saved as remote `office`)"
    );
    print_outcome(&j.outcome);
    Ok(crate::peer::outcome_code(&j.outcome))
}
