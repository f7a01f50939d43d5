//! The office relay from the device's side: `fieldcrm join URL`, `fieldcrm remote …` and
//! `fieldcrm sync` with a relay URL or a saved remote (WebSocket, challenge signed with
//! the device key). After each relay session the device drops documents that left its
//! user's read scope (a reassigned customer) and says which.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use fieldcrm_model::access::can_read;
use fieldcrm_model::{DocId, DocKind};
use fieldcrm_net::ws::{OUT_OF_SCOPE, close, is_relay_url, sync_url};
use fieldcrm_net::{WsConfig, WsError, connect_ws, drive, relay_workspace};
use fieldcrm_sync::Report;
use fieldcrm_workspace::Workspace;

use crate::cli::{RemoteCmd, SyncArgs};
use crate::peer::{Progress, runtime, summary};

const META_REMOTE: &str = "remote.";
/// The remote `fieldcrm sync` uses when given nothing.
const DEFAULT_REMOTE: &str = "office";

fn remotes(ws: &Workspace) -> Result<Vec<(String, String)>> {
    let store = ws.store();
    let mut out = Vec::new();
    for key in store.meta_keys(META_REMOTE)? {
        if let Some(url) = store.get_meta_str(&key)? {
            out.push((key[META_REMOTE.len()..].to_string(), url));
        }
    }
    Ok(out)
}

fn check_remote_url(url: &str) -> Result<String> {
    if url.trim().starts_with(fieldcrm_net::TICKET_PREFIX) {
        let _: fieldcrm_net::Ticket = url.trim().parse().map_err(|e| anyhow!("ticket: {e}"))?;
        return Ok(url.trim().to_string());
    }
    sync_url(url).map_err(|e| anyhow!("{e}"))?;
    Ok(url.trim().trim_end_matches('/').to_string())
}

/// `fieldcrm remote add|list|remove`. A remote is a relay URL (WebSocket) or the relay's
/// iroh ticket (printed by `fieldcrm-relay serve`).
pub(crate) fn remote(ws: &Workspace, c: RemoteCmd) -> Result<()> {
    match c {
        RemoteCmd::Add { name, url } => {
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            {
                bail!("remote name `{name}`: use letters, digits, - and _");
            }
            let url = check_remote_url(&url)?;
            ws.store()
                .set_meta_str(&format!("{META_REMOTE}{name}"), &url)?;
            println!("已添加 remote {name} → {url}");
        }
        RemoteCmd::Remove { name } => {
            if !ws.store().delete_meta(&format!("{META_REMOTE}{name}"))? {
                bail!("no remote named `{name}` (see `fieldcrm remote list`)");
            }
            println!("已删除 removed remote {name}");
        }
        RemoteCmd::List => {
            for (name, url) in remotes(ws)? {
                println!("{name}\t{url}");
            }
        }
    }
    Ok(())
}

/// `fieldcrm join URL`: asks the relay which workspace it serves, prepares this device
/// for it and saves the relay as remote `office`.
pub(crate) fn join(home: &Path, url: &str) -> Result<()> {
    let url = check_remote_url(url)?;
    let workspace = runtime()?
        .block_on(relay_workspace(&url, &WsConfig::default()))
        .with_context(|| format!("could not ask the relay at {url} for its workspace"))?;
    let ws = Workspace::join(home, &workspace)
        .with_context(|| format!("could not prepare a workspace in {}", home.display()))?;
    ws.store()
        .set_meta_str(&format!("{META_REMOTE}{DEFAULT_REMOTE}"), &url)?;
    println!(
        "已准备加入 ready to join workspace {} in {}",
        ws.workspace_id(),
        home.display()
    );
    println!("device: {}", ws.device());
    println!("relay:  {url} (saved as remote `{DEFAULT_REMOTE}`)");
    println!(
        "Ask an admin to run: fieldcrm device add {} --user <your name>",
        ws.device()
    );
    println!("then run: fieldcrm sync");
    Ok(())
}

/// `fieldcrm sync [TARGET]`: a relay URL, a saved remote's name, nothing (remote
/// `office`, or the only remote), or a peer's ticket (handed to direct sync).
pub(crate) fn sync(ws: &Workspace, a: SyncArgs) -> Result<()> {
    match a.ticket.as_deref().map(str::trim) {
        Some(t) if t.starts_with(fieldcrm_net::TICKET_PREFIX) => crate::peer::sync(ws, a),
        target => sync_relay(ws, &relay_url(ws, target)?),
    }
}

/// The relay URL for a target: a `ws://` URL, a saved remote's name, or nothing (remote
/// `office`, or the only remote).
fn relay_url(ws: &Workspace, target: Option<&str>) -> Result<String> {
    Ok(match target.map(str::trim) {
        Some(t) if is_relay_url(t) => t.to_string(),
        Some(t) => remotes(ws)?
            .into_iter()
            .find(|(n, _)| n == t)
            .map(|(_, u)| u)
            .ok_or_else(|| {
                anyhow!("`{t}` is not a relay URL (ws://…), a remote name or a ticket (fieldcrm1…)")
            })?,
        None => {
            let all = remotes(ws)?;
            match all.iter().find(|(n, _)| n == DEFAULT_REMOTE) {
                Some((_, u)) => u.clone(),
                None if all.len() == 1 => all[0].1.clone(),
                None => bail!(
                    "no remote to sync with: give a relay URL or ticket, or run `fieldcrm remote add office ws://host:port`"
                ),
            }
        }
    })
}

/// `fieldcrm check --relay [REMOTE]`: the findings on the relay's merged state that this
/// device's user may see, fetched with a request signed by the device key (plain HTTP;
/// for `wss://` relays put TLS in front and check on the device instead).
pub(crate) fn relay_findings(
    ws: &Workspace,
    target: Option<&str>,
    now: i64,
) -> Result<serde_json::Value> {
    use std::io::{Read, Write};
    let url = relay_url(ws, target)?;
    let Some(rest) = url.strip_prefix("ws://") else {
        bail!("{url}: fetching findings needs a ws:// relay (plain HTTP on the office network)");
    };
    let host = rest.split('/').next().unwrap_or(rest);
    let sig = ws
        .secret()
        .sign(&fieldcrm_net::ws::findings_message(ws.workspace_id(), now));
    let [hd, ht, hs] = fieldcrm_net::ws::FINDINGS_HEADERS;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\n{hd}: {}\r\n{ht}: {now}\r\n{hs}: {}\r\nConnection: close\r\n\r\n",
        fieldcrm_net::ws::FINDINGS_PATH,
        ws.device().to_hex(),
        fieldcrm_model::hex(&sig),
    );
    let mut stream = std::net::TcpStream::connect(host)
        .with_context(|| format!("could not reach the relay at {host}"))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .with_context(|| format!("reading the relay's answer from {host}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("{host}: not an HTTP answer"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("the relay at {host} answered {status}: {}", body.trim());
    }
    serde_json::from_str(body).with_context(|| format!("{host}: findings are not JSON"))
}

/// After an enrollment or revocation: if an office relay is configured, sync now so the
/// relay's roster (which decides who may connect) changes at once. A relay that cannot
/// be reached is a warning, not a failure: the change is saved and the next sync carries it.
pub(crate) fn push_roster(ws: &Workspace) {
    let url = match remotes(ws) {
        Ok(all) => match all.iter().find(|(n, _)| n == DEFAULT_REMOTE) {
            Some((_, u)) => u.clone(),
            None => return,
        },
        Err(_) => return,
    };
    if let Err(e) = sync_relay(ws, &url) {
        eprintln!(
            "warning: the relay has not received this change yet ({e:#}); run `fieldcrm sync`"
        );
    }
}

fn explain(url: &str, ws: &Workspace, e: WsError) -> anyhow::Error {
    match &e {
        WsError::Refused { code, .. } if *code == close::NOT_ENROLLED => anyhow!(
            "{e}\nthis device ({}) is not enrolled: ask an admin to run `fieldcrm device add {} --user <name>`, then try again",
            &ws.device().to_hex()[..8],
            ws.device()
        ),
        WsError::Refused { code, .. } if *code == close::REVOKED => {
            anyhow!("{e}\nthis device was revoked by an admin")
        }
        _ => anyhow!(e).context(format!("sync with the relay at {url} failed")),
    }
}

fn sync_relay(ws: &Workspace, url: &str) -> Result<()> {
    runtime()?.block_on(async {
        let started = Instant::now();
        let had_roster = ws.has_roster()?;
        let report = if url.starts_with(fieldcrm_net::TICKET_PREFIX) {
            // The relay's iroh face: the endpoint ID is authenticated by QUIC itself.
            let ticket: fieldcrm_net::Ticket =
                url.parse().map_err(|e| anyhow!("relay ticket: {e}"))?;
            let any = fieldcrm_net::DEFAULT_BIND_ADDR;
            let endpoint = fieldcrm_net::Endpoint::bind(&ws.secret().to_bytes(), any)
                .await
                .context("could not bind a local UDP socket")?;
            let mut conn = fieldcrm_net::connect(&endpoint, &ticket, fieldcrm_sync::ALPN)
                .await
                .context("could not reach the relay over iroh")?;
            let report = run(ws, &mut conn, url).await?;
            let _ = conn.finish().await;
            endpoint.close().await;
            report
        } else {
            let secret = ws.secret().clone();
            let mut conn = connect_ws(
                url,
                ws.device(),
                ws.workspace_id(),
                move |m| secret.sign(m),
                &WsConfig::default(),
            )
            .await
            .map_err(|e| explain(url, ws, e))?;
            let report = run(ws, &mut conn, url).await?;
            let _ = conn.finish().await;
            report
        };
        let shown: String = url.chars().take(40).collect();
        println!(
            "{}",
            summary(&format!("relay {shown}"), &report, started.elapsed())
        );
        if !had_roster && ws.has_roster()? {
            match ws.me() {
                Ok(me) => println!(
                    "已加入 joined workspace as {} ({})",
                    me.user.name, me.user.role
                ),
                Err(e) => println!("received the workspace, but: {e}"),
            }
        }
        let removed = drop_out_of_scope(ws, &report)?;
        if !removed.is_empty() {
            println!(
                "已移除 removed {} document(s) no longer in your scope (reassigned or access changed):",
                removed.len()
            );
            for name in removed {
                println!("  - {name}");
            }
        }
        Ok(())
    })
}

async fn run<T: fieldcrm_net::FrameTransport>(
    ws: &Workspace,
    conn: &mut T,
    url: &str,
) -> Result<Report> {
    let mut session = ws.relay_session()?;
    let mut host = ws.sync_host();
    let mut progress = Progress::new();
    let r = drive(conn, &mut session, &mut host, |r| progress.update(r)).await;
    progress.done();
    r.with_context(|| format!("sync with the relay at {url} failed"))?;
    Ok(session.report().clone())
}

/// Deletes the documents this device holds that its user may no longer read, according
/// to the just-synced roster and summaries, or that the relay refused as out of scope.
/// Returns their names.
fn drop_out_of_scope(ws: &Workspace, report: &Report) -> Result<Vec<String>> {
    let Ok(me) = ws.me() else {
        return Ok(Vec::new());
    };
    let refused: BTreeSet<&DocId> = report
        .refused_by_peer
        .iter()
        .filter(|(_, why)| why.starts_with(OUT_OF_SCOPE))
        .map(|(id, _)| id)
        .collect();
    let workspace_docs: Vec<DocId> = [
        DocKind::Roster,
        DocKind::Catalog,
        DocKind::Policy,
        DocKind::Sales,
    ]
    .iter()
    .map(DocId::workspace)
    .collect();
    let store = ws.store();
    let mut removed = Vec::new();
    for (id, _) in store.all_heads()? {
        if workspace_docs.contains(&id) {
            continue;
        }
        let s = store.summary(&id)?;
        let out = refused.contains(&id)
            || s.as_ref()
                .is_some_and(|s| !can_read(&me.roster, &me.user_id, s));
        if out {
            store.delete(&id)?;
            removed.push(match s {
                Some(s) => format!("{} {} ({})", s.kind, s.name, id.short()),
                None => id.short().to_string(),
            });
        }
    }
    Ok(removed)
}
