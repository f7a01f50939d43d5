//! Saved remotes: named relay URLs (WebSocket) or relay tickets (iroh), kept in the
//! workspace's meta rows (`remote.NAME`).

use fieldcrm_net::ws::sync_url;
use fieldcrm_net::{TICKET_PREFIX, Ticket};
use fieldcrm_workspace::Workspace;

use crate::{Error, Result};

const META_REMOTE: &str = "remote.";

/// The remote `sync` uses when given nothing (and `join URL` saves).
pub const DEFAULT_REMOTE: &str = "office";

/// A saved remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its name.
    pub name: String,
    /// A relay URL (`ws://…`, `wss://…`) or a relay's iroh ticket (`fieldcrm1…`).
    pub url: String,
}

fn store_err(e: fieldcrm_store::MetaError) -> Error {
    Error::Workspace(fieldcrm_workspace::Error::Store(e.into()))
}

/// The saved remotes, by name.
pub fn remotes(ws: &Workspace) -> Result<Vec<Remote>> {
    let store = ws.store();
    let mut out = Vec::new();
    for key in store.meta_keys(META_REMOTE).map_err(store_err)? {
        let Some(name) = key.strip_prefix(META_REMOTE) else {
            continue;
        };
        if let Some(url) = store.get_meta_str(&key).map_err(store_err)? {
            out.push(Remote {
                name: name.to_string(),
                url,
            });
        }
    }
    Ok(out)
}

/// Check a remote's address: a relay ticket, or a `ws://` / `wss://` URL. Returns it
/// trimmed (a URL without its trailing `/`).
pub fn check_remote_url(url: &str) -> Result<String> {
    let url = url.trim();
    if url.starts_with(TICKET_PREFIX) {
        let _: Ticket = url.parse().map_err(Error::BadTicket)?;
        return Ok(url.to_string());
    }
    sync_url(url).map_err(Error::BadUrl)?;
    Ok(url.trim_end_matches('/').to_string())
}

/// Check a remote name (letters, digits, `-`, `_`); returns it trimmed.
pub fn check_remote_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::BadRemoteName(name.to_string()));
    }
    Ok(name.to_string())
}

/// Save (or replace) a remote; returns it as saved.
pub fn add_remote(ws: &Workspace, name: &str, url: &str) -> Result<Remote> {
    let name = check_remote_name(name)?;
    let url = check_remote_url(url)?;
    save(ws, &name, &url)?;
    Ok(Remote { name, url })
}

/// Save a checked remote.
pub(crate) fn save(ws: &Workspace, name: &str, url: &str) -> Result<()> {
    ws.store()
        .set_meta_str(&format!("{META_REMOTE}{name}"), url)
        .map_err(store_err)
}

/// Forget a remote.
pub fn remove_remote(ws: &Workspace, name: &str) -> Result<()> {
    if ws
        .store()
        .delete_meta(&format!("{META_REMOTE}{name}"))
        .map_err(store_err)?
    {
        Ok(())
    } else {
        Err(Error::NoSuchRemote(name.to_string()))
    }
}

/// The saved remote named `name`.
pub(crate) fn find(ws: &Workspace, name: &str) -> Result<Option<String>> {
    Ok(remotes(ws)?
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.url))
}
