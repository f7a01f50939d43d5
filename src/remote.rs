//! The office relay from the device's side: `fieldcrm join URL`, `fieldcrm remote …`,
//! `fieldcrm sync [TARGET]` (relay URL, saved remote or peer ticket), `check --relay` and
//! the roster push after an enrollment. The work (including the after-sync steps) is
//! `fieldcrm_connect`'s; this parses and prints.

use std::path::Path;

use anyhow::Result;
use fieldcrm_connect::runtime;
use fieldcrm_model::Millis;
use fieldcrm_workspace::Workspace;

use crate::cli::{RemoteCmd, SyncArgs};
use crate::peer::{Progress, cli_error, edge_now, print_outcome};
use crate::render::{say, say_err};

/// `fieldcrm remote add|list|remove`. A remote is a relay URL (WebSocket) or the relay's
/// iroh ticket (printed by `fieldcrm-relay serve`).
pub(crate) fn remote(ws: &Workspace, c: RemoteCmd) -> Result<()> {
    match c {
        RemoteCmd::Add { name, url } => {
            let r = fieldcrm_connect::add_remote(ws, &name, &url).map_err(cli_error)?;
            let (name, url) = (&r.name, &r.url);
            say!(zh: "已添加远端 {name} → {url}", en: "added remote {name} → {url}");
        }
        RemoteCmd::Remove { name } => {
            fieldcrm_connect::remove_remote(ws, &name).map_err(cli_error)?;
            say!(zh: "已删除远端 {name}", en: "removed remote {name}");
        }
        RemoteCmd::List => {
            for r in fieldcrm_connect::remotes(ws).map_err(cli_error)? {
                println!("{}\t{}", r.name, r.url);
            }
        }
    }
    Ok(())
}

/// `fieldcrm join URL`: asks the relay which workspace it serves, prepares this device
/// for it and saves the relay as remote `office`.
pub(crate) fn join(home: &Path, url: &str) -> Result<()> {
    let j = runtime()
        .map_err(cli_error)?
        .block_on(fieldcrm_connect::join_relay(home, url))
        .map_err(cli_error)?;
    let ws = &j.ws;
    let (id, at, device) = (ws.workspace_id(), home.display(), ws.device());
    let (url, remote) = (&j.url, &j.remote);
    say!(
        zh: "已准备加入工作区 {id}，位于 {at}",
        en: "ready to join workspace {id} in {at}"
    );
    say!(zh: "设备：{device}", en: "device: {device}");
    say!(
        zh: "中继：{url}（已保存为远端 `{remote}`）",
        en: "relay:  {url} (saved as remote `{remote}`)"
    );
    say!(
        zh: "请管理员运行：fieldcrm device add {device} --user <你的名字>",
        en: "Ask an admin to run: fieldcrm device add {device} --user <your name>"
    );
    say!(zh: "然后运行：fieldcrm sync", en: "then run: fieldcrm sync");
    Ok(())
}

/// `fieldcrm sync [TARGET]`: a relay URL, a saved remote's name, nothing (remote
/// `office`, or the only remote), or a peer's ticket (direct sync); then the after-sync
/// steps (scope clean-up, carry-over), at the edge clock.
/// Carry-over writes at `now`.
pub(crate) fn sync_at(ws: &Workspace, a: SyncArgs, now: Millis) -> Result<i32> {
    let mut progress = Progress::new();
    let outcome = runtime()
        .map_err(cli_error)?
        .block_on(fieldcrm_connect::sync(
            ws,
            a.ticket.as_deref(),
            a.bind,
            now,
            &mut progress,
        ));
    progress.done();
    let outcome = outcome.map_err(cli_error)?;
    if a.json {
        println!("{}", crate::peer::outcome_json(&outcome));
    } else {
        print_outcome(&outcome);
    }
    Ok(crate::peer::outcome_code(&outcome))
}

/// `fieldcrm check --relay [REMOTE]`: the findings on the relay's merged state that this
/// device's user may see, fetched with a request signed by the device key at `signed_at`.
pub(crate) fn relay_findings(
    ws: &Workspace,
    target: Option<&str>,
    signed_at: i64,
) -> Result<serde_json::Value> {
    runtime()
        .map_err(cli_error)?
        .block_on(fieldcrm_connect::relay_findings(ws, target, signed_at))
        .map_err(cli_error)
}

/// After an enrollment or revocation: if an office relay is configured (remote
/// `office`), sync now so the relay's roster (which decides who may connect) changes at
/// once. A relay that cannot be reached is a warning, not a failure: the change is saved
/// and the next sync carries it.
pub(crate) fn push_roster(ws: &Workspace) {
    let mut progress = Progress::new();
    let result = edge_now().and_then(|now| {
        let rt = runtime().map_err(cli_error)?;
        let r = rt.block_on(fieldcrm_connect::push_roster(ws, now, &mut progress));
        progress.done();
        r.map_err(cli_error)
    });
    match result {
        Ok(Some(outcome)) => print_outcome(&outcome),
        Ok(None) => {}
        Err(e) => say_err!(
            zh: "警告：中继尚未收到这项修改（{}）；请运行 `fieldcrm sync`",
            en: "warning: the relay has not received this change yet ({}); run `fieldcrm sync`",
            crate::error_text(&e)
        ),
    }
}
