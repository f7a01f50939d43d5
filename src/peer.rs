//! `fieldcrm serve` and `fieldcrm sync`: direct device-to-device sync over iroh.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use fieldcrm_net::{Conn, Endpoint, Ticket, connect, drive, serve as net_serve};
use fieldcrm_sync::{ALPN, Report, SessionRole};
use fieldcrm_workspace::Workspace;

use crate::cli::{ServeArgs, SyncArgs};

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// A one-line progress indicator on a terminal (stderr), at most 10 times a second.
pub(crate) struct Progress {
    tty: bool,
    last: Option<Instant>,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }
    pub(crate) fn update(&mut self, r: &Report) {
        if !self.tty
            || self
                .last
                .is_some_and(|l| l.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        eprint!(
            "\r同步中 syncing… received {} docs, sent {} docs, {} KB",
            r.docs_saved,
            r.docs_sent,
            (r.bytes_sent + r.bytes_received) / 1024
        );
        let _ = std::io::stderr().flush();
    }
    pub(crate) fn done(&self) {
        if self.tty && self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

pub(crate) fn summary(who: &str, r: &Report, elapsed: Duration) -> String {
    let mut s = format!(
        "同步完成 synced with {who}: received {} document(s), sent {} document(s), {} bytes in / {} bytes out, {} message(s), {:.0} ms",
        r.docs_saved,
        r.docs_sent,
        r.bytes_received,
        r.bytes_sent,
        r.messages_sent + r.messages_received,
        elapsed.as_secs_f64() * 1000.0
    );
    for (id, why) in &r.refused_by_peer {
        s.push_str(&format!("\n  refused by peer: {} — {why}", id.short()));
    }
    for (id, why) in &r.refused_here {
        s.push_str(&format!("\n  refused here: {} — {why}", id.short()));
    }
    s
}

async fn run_one(ws: &Workspace, conn: &mut Conn, role: SessionRole) -> Result<(Report, Duration)> {
    let started = Instant::now();
    let peer = conn.peer();
    let mut session = ws.sync_session(role, &peer)?;
    let mut host = ws.sync_host();
    let mut progress = Progress::new();
    let r = drive(conn, &mut session, &mut host, |r| progress.update(r)).await;
    progress.done();
    r?;
    Ok((session.report().clone(), started.elapsed()))
}

fn peer_name(ws: &Workspace, peer: &fieldcrm_net::DeviceKey) -> String {
    match ws.peer_user(peer) {
        Ok((_, u)) => format!("{} ({})", u.name, &peer.to_hex()[..8]),
        Err(_) => format!("device {}", &peer.to_hex()[..8]),
    }
}

/// `fieldcrm serve`.
pub(crate) fn serve(ws: &Workspace, a: ServeArgs) -> Result<()> {
    ws.roster()
        .context("only a device that holds the workspace can serve it")?;
    runtime()?.block_on(async {
        let endpoint = Endpoint::bind(&ws.secret().to_bytes(), a.bind)
            .await
            .with_context(|| format!("could not listen on {}", a.bind))?;
        let ticket = endpoint.ticket().await;
        println!("等待同步 waiting for peers. Give this ticket to the other device:");
        println!("{ticket}");
        if let Some(f) = &a.ticket_file {
            std::fs::write(f, ticket.to_string())
                .with_context(|| format!("could not write {}", f.display()))?;
        }
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let auth_ws = ws.clone();
        let handler_ws = ws.clone();
        let server = net_serve(
            &endpoint,
            ALPN,
            move |peer| {
                let ok = auth_ws.peer_user(&peer).is_ok();
                if !ok {
                    eprintln!(
                        "refused device {} (not enrolled or revoked)",
                        &peer.to_hex()[..8]
                    );
                }
                ok
            },
            move |mut conn: Conn| {
                let ws = handler_ws.clone();
                let done = done_tx.clone();
                async move {
                    let who = peer_name(&ws, &conn.peer());
                    let result = run_one(&ws, &mut conn, SessionRole::Responder).await;
                    match result {
                        Ok((report, elapsed)) => {
                            conn.finish().await.map_err(|e| anyhow!("{e}"))?;
                            println!("{}", summary(&who, &report, elapsed));
                            let _ = done.send(());
                            Ok(())
                        }
                        Err(e) => {
                            eprintln!("sync with {who} failed: {e:#}");
                            Err(e)
                        }
                    }
                }
            },
        );
        if a.once {
            done_rx.recv().await;
        } else {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { while done_rx.recv().await.is_some() {} } => {},
            }
        }
        server.shutdown(Duration::from_secs(5)).await;
        endpoint.close().await;
        Ok(())
    })
}

/// `fieldcrm sync TICKET`.
pub(crate) fn sync(ws: &Workspace, a: SyncArgs) -> Result<()> {
    let ticket: Ticket = a
        .ticket
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| anyhow!("ticket: {e}"))?;
    runtime()?.block_on(async {
        let endpoint = Endpoint::bind(&ws.secret().to_bytes(), a.bind)
            .await
            .with_context(|| format!("could not bind {}", a.bind))?;
        let mut conn = connect(&endpoint, &ticket, ALPN).await.with_context(|| {
            format!(
                "could not reach device {}",
                &ticket.device_key().to_hex()[..8]
            )
        })?;
        let had_roster = ws.has_roster()?;
        let (report, elapsed) = run_one(ws, &mut conn, SessionRole::Initiator).await?;
        conn.finish().await.map_err(|e| anyhow!("{e}"))?;
        endpoint.close().await;
        println!(
            "{}",
            summary(&peer_name(ws, &ticket.device_key()), &report, elapsed)
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
        Ok(())
    })
}
