//! Invitations from the device side: an admin's device creates one and uploads it to the
//! relay ([`invite`]); a new device redeems its code, writes its own enrolment into the
//! roster the relay sent, delivers it and syncs ([`join_invited`]). Plain HTTP to a
//! `ws://` relay, requests signed like `check --relay` (see `fieldcrm_net::ws`).

use std::path::Path;

use fieldcrm_model::invitation::code_secret;
use fieldcrm_model::{DeviceSecret, Invitation, InviteCode, Millis, hex, unhex};
use fieldcrm_net::ws::{
    CODE_PROOF_HEADER, ENROL_PATH, FINDINGS_HEADERS, INVITATIONS_PATH, REDEEM_PATH, request_message,
};
use fieldcrm_net::{WsConfig, relay_workspace};
use fieldcrm_workspace::{NewInvitation, Workspace, invite_link, invite_refusal};

use crate::remotes::{DEFAULT_REMOTE, check_remote_url};
use crate::sync::{Progress, SyncOutcome, relay_url, sync_relay};
use crate::{Error, Result};

/// An invitation the relay now holds.
#[derive(Debug, Clone)]
pub struct Invited {
    /// The signed invitation.
    pub invitation: Invitation,
    /// The one-time code (shown once, stored nowhere).
    pub code: InviteCode,
    /// The relay it is held by.
    pub relay: String,
    /// The link carrying the relay and the code (`fieldcrm://join?…`).
    pub link: String,
}

/// Create an invitation on this (admin's) device and upload it to the relay (`target`: a
/// `ws://` URL or a saved remote; default remote `office`). `at` is the real time: the
/// invitation's creation time, from which it is valid, and the request's time.
pub async fn invite(
    ws: &Workspace,
    target: Option<&str>,
    new: &NewInvitation,
    at: Millis,
) -> Result<Invited> {
    let relay = relay_url(ws, target)?;
    let host = http_host(&relay)?;
    let issued = ws.create_invitation(new, at)?;
    let body = serde_json::to_vec(&issued.invitation).map_err(|e| Error::Finish(e.to_string()))?;
    post(
        &host,
        INVITATIONS_PATH,
        "invite",
        ws.secret(),
        ws.workspace_id(),
        at,
        &body,
        None,
    )
    .await?;
    let link = invite_link(&relay, ws.workspace_id(), &issued.code);
    Ok(Invited {
        invitation: issued.invitation,
        code: issued.code,
        relay,
        link,
    })
}

/// What `join --invite` needs.
#[derive(Debug, Clone)]
pub struct JoinInvite {
    /// The relay's URL (`ws://host:port`).
    pub relay: String,
    /// The code.
    pub code: InviteCode,
    /// The workspace the link names, if it does.
    pub workspace: Option<String>,
    /// A label for this device.
    pub label: String,
}

/// A device that joined by invitation and synced.
#[derive(Debug)]
pub struct JoinedByInvite {
    /// The new workspace.
    pub ws: Workspace,
    /// The relay, saved as remote [`DEFAULT_REMOTE`].
    pub url: String,
    /// The invitation it used.
    pub invitation: Invitation,
    /// The first sync.
    pub outcome: SyncOutcome,
}

/// `join --invite CODE --relay URL` (or `join LINK`): prove this device's new key and the
/// code to the relay, receive the invitation and the roster, write this device's
/// enrolment into the roster (signed by its key, judged by every receiver back to the
/// admin who signed the invitation), deliver it, then sync. `now` is the time written
/// into the roster, `signed_at` the real time of the requests.
pub async fn join_invited<P: Progress>(
    home: &Path,
    j: &JoinInvite,
    now: Millis,
    signed_at: Millis,
    progress: &mut P,
) -> Result<JoinedByInvite> {
    let url = check_remote_url(&j.relay)?;
    let host = http_host(&url)?;
    let workspace_id = relay_workspace(&url, &WsConfig::default())
        .await
        .map_err(|source| Error::AskWorkspace {
            url: url.clone(),
            source,
        })?;
    if let Some(w) = &j.workspace
        && !w.eq_ignore_ascii_case(&workspace_id)
    {
        return Err(Error::WrongWorkspace {
            url,
            expected: w.clone(),
            served: workspace_id,
        });
    }
    // A device that started joining before (the enrolment did not reach the relay)
    // carries on with its key; a fresh one makes its key now.
    let prepare = |source| Error::Prepare {
        home: home.to_path_buf(),
        source,
    };
    let existing = if home.join(fieldcrm_workspace::STORE_FILE).exists() {
        let ws = Workspace::open(home).map_err(prepare)?;
        if ws.workspace_id() != workspace_id || ws.me().is_ok() {
            return Err(prepare(fieldcrm_workspace::Error::AlreadyInitialised(
                home.join(fieldcrm_workspace::STORE_FILE),
            )));
        }
        Some(ws)
    } else {
        None
    };
    let secret = match &existing {
        Some(ws) => ws.secret().clone(),
        None => fieldcrm_workspace::generate_secret(),
    };
    let code = j.code.clone();
    let ws_id = workspace_id.clone();
    let code_key = tokio::task::spawn_blocking(move || code_secret(&code, &ws_id))
        .await
        .map_err(|e| Error::Finish(e.to_string()))?;
    let body = serde_json::json!({ "code_key": code_key.public().to_hex() })
        .to_string()
        .into_bytes();
    let answer = post(
        &host,
        REDEEM_PATH,
        "redeem",
        &secret,
        &workspace_id,
        signed_at,
        &body,
        Some(&code_key),
    )
    .await?;
    let bad = |what: &str| Error::InviteBadAnswer {
        host: host.clone(),
        what: what.to_string(),
    };
    let invitation: Invitation =
        serde_json::from_value(answer.get("invitation").cloned().unwrap_or_default())
            .map_err(|_| bad("no invitation"))?;
    let roster = answer
        .get("roster")
        .and_then(|v| v.as_str())
        .and_then(unhex)
        .ok_or_else(|| bad("no roster"))?;
    let mut sigs = Vec::new();
    for pair in answer
        .get("sigs")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let h = pair
            .get(0)
            .and_then(|v| v.as_str())
            .and_then(|h| h.parse().ok());
        let s = pair
            .get(1)
            .and_then(|v| v.as_str())
            .and_then(fieldcrm_model::invitation::parse_signature);
        match (h, s) {
            (Some(h), Some(s)) => sigs.push((h, s)),
            _ => return Err(bad("a malformed signature")),
        }
    }
    let ws = match existing {
        Some(ws) => ws,
        None => Workspace::join_with(home, &workspace_id, secret.clone()).map_err(prepare)?,
    };
    crate::remotes::save(&ws, DEFAULT_REMOTE, &url)?;
    if !ws.has_roster()? {
        ws.accept_roster(&roster, &sigs)?;
    }
    let (change, sig) = ws.enrol_by_invitation(&invitation, &j.code, &j.label, now)?;
    let body = serde_json::json!({
        "code_key": code_key.public().to_hex(),
        "change": hex(&change),
        "signature": hex(&sig),
    })
    .to_string()
    .into_bytes();
    post(
        &host,
        ENROL_PATH,
        "enrol",
        &secret,
        &workspace_id,
        signed_at,
        &body,
        None,
    )
    .await?;
    let outcome = sync_relay(&ws, &url, now, progress).await?;
    Ok(JoinedByInvite {
        ws,
        url,
        invitation,
        outcome,
    })
}

/// `host:port` of a `ws://` relay URL (invitations are plain HTTP on the office network).
fn http_host(url: &str) -> Result<String> {
    let rest = url
        .trim()
        .strip_prefix("ws://")
        .ok_or_else(|| Error::InviteNeedsWs(url.to_string()))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_string())
}

/// POST `body` to `path`, signed by `secret` (and, for a redeem, by the code key too);
/// the relay's JSON answer, or its refusal as a bilingual application error.
#[allow(clippy::too_many_arguments)]
async fn post(
    host: &str,
    path: &str,
    purpose: &str,
    secret: &DeviceSecret,
    workspace_id: &str,
    at: Millis,
    body: &[u8],
    code_key: Option<&DeviceSecret>,
) -> Result<serde_json::Value> {
    let device = secret.public();
    let nonce = fieldcrm_model::new_entity_id();
    let msg = request_message(purpose, workspace_id, &device, at, &nonce, body);
    let [hd, ht, hn, hs] = FINDINGS_HEADERS;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{hd}: {device}\r\n{ht}: {at}\r\n{hn}: {nonce}\r\n{hs}: {}\r\n",
        body.len(),
        hex(&secret.sign(&msg)),
    );
    if let Some(k) = code_key {
        head.push_str(&format!("{CODE_PROOF_HEADER}: {}\r\n", hex(&k.sign(&msg))));
    }
    head.push_str("Connection: close\r\n\r\n");
    let (status, body) = crate::findings::exchange(host, head.as_bytes(), body).await?;
    let status = status.as_str();
    let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
    if status == "200" {
        return Ok(json);
    }
    let text = |k: &str| json.get(k).and_then(|v| v.as_str());
    match text("code") {
        Some(code) => Err(invite_refusal(code, text("message").unwrap_or("")).into()),
        None => Err(Error::FindingsStatus {
            host: host.to_string(),
            status: status.to_string(),
            body: body.trim().to_string(),
        }),
    }
}
