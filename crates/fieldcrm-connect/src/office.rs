//! The office console's sign-in link: signed by this device's key, valid for a few
//! minutes and once (the relay checks both). Making it needs no network.

use fieldcrm_model::{Millis, Role};
use fieldcrm_net::ws::{CONSOLE_LINK_VALID_MS, CONSOLE_LOGIN_PATH, console_login_message};
use fieldcrm_workspace::Workspace;

use crate::sync::relay_url;
use crate::{Error, Result};

/// A sign-in link for the office console of the relay `target` (a URL or a saved
/// remote's name; the default remote when `None`), signed at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLink {
    /// The link to open in a browser.
    pub url: String,
    /// Until when it can be used (UTC ms).
    pub valid_until: Millis,
}

/// Makes a console sign-in link. Only admins and managers get one (the relay checks
/// again).
pub fn console_link(ws: &Workspace, target: Option<&str>, now: Millis) -> Result<ConsoleLink> {
    let me = ws.me()?;
    if !matches!(
        me.user.role,
        Role::Admin | Role::Manager | Role::ChannelManager
    ) {
        return Err(Error::ConsoleNotAllowed);
    }
    let relay = relay_url(ws, target)?;
    let base = if let Some(rest) = relay.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = relay.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        return Err(Error::UnknownTarget(relay));
    };
    let base = base.trim_end_matches('/');
    let device = ws.device().to_hex();
    let nonce = fieldcrm_model::new_entity_id();
    let sig = ws.secret().sign(&console_login_message(
        ws.workspace_id(),
        &device,
        now,
        &nonce,
    ));
    Ok(ConsoleLink {
        url: format!(
            "{base}{CONSOLE_LOGIN_PATH}?d={device}&t={now}&n={nonce}&s={}",
            fieldcrm_model::hex(&sig)
        ),
        valid_until: now + CONSOLE_LINK_VALID_MS,
    })
}
