//! The policy findings on the relay's merged state, fetched with a request signed by the
//! device key (plain HTTP to a `ws://` relay; for `wss://` relays put TLS in front and
//! check on the device instead).

use std::time::Duration;

use fieldcrm_model::Millis;
use fieldcrm_net::ws::{FINDINGS_HEADERS, FINDINGS_PATH, findings_message};
use fieldcrm_workspace::Workspace;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sync::relay_url;
use crate::{Error, Result};

/// How long to wait for the relay's answer.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The findings this device's user may see, as the relay's JSON rows (the shape of
/// `check --json`). `target` is a `ws://` URL or a saved remote's name (default remote
/// when `None`); `signed_at` is the real time the request is signed at (the relay checks
/// its freshness).
pub async fn relay_findings(
    ws: &Workspace,
    target: Option<&str>,
    signed_at: Millis,
) -> Result<serde_json::Value> {
    let url = relay_url(ws, target)?;
    let Some(rest) = url.strip_prefix("ws://") else {
        return Err(Error::FindingsNeedWs(url));
    };
    let host = rest.split('/').next().unwrap_or(rest).to_string();
    // A fresh nonce per request: the relay refuses one it has seen (no replays).
    let nonce = fieldcrm_model::new_entity_id();
    let sig = ws
        .secret()
        .sign(&findings_message(ws.workspace_id(), signed_at, &nonce));
    let [hd, ht, hn, hs] = FINDINGS_HEADERS;
    let request = format!(
        "GET {FINDINGS_PATH} HTTP/1.1\r\nHost: {host}\r\n{hd}: {}\r\n{ht}: {signed_at}\r\n{hn}: {nonce}\r\n{hs}: {}\r\nConnection: close\r\n\r\n",
        ws.device().to_hex(),
        fieldcrm_model::hex(&sig),
    );
    let (status, body) = exchange(&host, request.as_bytes(), &[]).await?;
    let status = status.as_str();
    let body = body.as_str();
    if status != "200" {
        return Err(Error::FindingsStatus {
            host,
            status: status.to_string(),
            body: body.trim().to_string(),
        });
    }
    serde_json::from_str(body).map_err(|source| Error::FindingsNotJson { host, source })
}

/// One plain-HTTP exchange with the relay at `host`: send `head` and `body`, read the
/// whole answer (the request says `Connection: close`); its status code and body text.
/// Bounded by [`TIMEOUT`] for the connection and for the exchange.
pub(crate) async fn exchange(host: &str, head: &[u8], body: &[u8]) -> Result<(String, String)> {
    let unreachable = |source| Error::FindingsUnreachable {
        host: host.to_string(),
        source,
    };
    let mut stream = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(host))
        .await
        .map_err(|_| unreachable(std::io::ErrorKind::TimedOut.into()))?
        .map_err(unreachable)?;
    let read_failed = |source| Error::FindingsRead {
        host: host.to_string(),
        source,
    };
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, async {
        stream.write_all(head).await?;
        stream.write_all(body).await?;
        stream.read_to_end(&mut response).await
    })
    .await
    .map_err(|_| read_failed(std::io::ErrorKind::TimedOut.into()))?
    .map_err(read_failed)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| Error::FindingsNotHttp(host.to_string()))?;
    let status = head.split_whitespace().nth(1).unwrap_or("").to_string();
    Ok((status, body.to_string()))
}
