//! Real endpoints on 127.0.0.1 (no relays, no address lookup): sessions end to end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fieldcrm_net::iroh::endpoint::{ConnectionError, ReadError, ReadExactError, VarInt};
use fieldcrm_net::{
    ConnectError, Endpoint, SessionConfig, SessionError, Ticket, close, connect, serve,
};
use tokio::sync::mpsc;

const ALPN: &[u8] = b"fieldcrm/sync/1";

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn endpoint(seed: u8) -> Endpoint {
    Endpoint::bind(&[seed; 32], loopback()).await.unwrap()
}

/// Echo handler: answers every frame with the same bytes, then finishes.
async fn echo(mut conn: fieldcrm_net::Conn) -> Result<(), SessionError> {
    conn.send("服务器：你好".as_bytes()).await?;
    while let Some(frame) = conn.recv().await? {
        conn.send(&frame).await?;
    }
    conn.finish().await.map(|_| ())
}

/// A raw iroh connection to `server` that has done the session hello, for misbehaving.
async fn raw_session(
    client: &Endpoint,
    ticket: &Ticket,
) -> (
    fieldcrm_net::iroh::endpoint::Connection,
    fieldcrm_net::iroh::endpoint::SendStream,
    fieldcrm_net::iroh::endpoint::RecvStream,
) {
    let id = fieldcrm_net::iroh::PublicKey::from_bytes(&ticket.device_key().0).unwrap();
    let addr = fieldcrm_net::iroh::EndpointAddr::new(id).with_ip_addr(ticket.addrs()[0]);
    let conn = client.iroh().connect(addr, ALPN).await.unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(b"FCN1").await.unwrap();
    let mut hello = [0u8; 4];
    recv.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"FCN1");
    (conn, send, recv)
}

fn app_close(err: &ConnectionError) -> Option<(u64, String)> {
    match err {
        ConnectionError::ApplicationClosed(c) => Some((
            c.error_code.into_inner(),
            String::from_utf8_lossy(&c.reason).into_owned(),
        )),
        _ => None,
    }
}

#[tokio::test]
async fn frames_flow_both_ways_including_chinese_text_and_a_1_mib_frame() {
    let server_ep = endpoint(1).await;
    let client_ep = endpoint(2).await;
    let (stats_tx, mut stats_rx) = mpsc::unbounded_channel();
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        move |mut conn| {
            let stats_tx = stats_tx.clone();
            async move {
                let peer = conn.peer();
                conn.send("服务器：你好".as_bytes()).await?;
                while let Some(frame) = conn.recv().await? {
                    conn.send(&frame).await?;
                }
                let stats = conn.finish().await?;
                stats_tx.send((peer, stats)).unwrap();
                Ok::<_, SessionError>(())
            }
        },
    );

    let ticket = server_ep.ticket().await;
    assert_eq!(ticket.device_key(), server_ep.device_key());
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    assert_eq!(conn.peer(), server_ep.device_key());
    assert_eq!(
        conn.recv().await.unwrap().unwrap(),
        "服务器：你好".as_bytes()
    );

    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let frames: Vec<Vec<u8>> = vec![
        "客户：上海某某贸易有限公司，联系人张伟".as_bytes().to_vec(),
        Vec::new(),
        big.clone(),
        "订单 #42：数量 3，金额 ¥1,299.00".as_bytes().to_vec(),
    ];
    for f in &frames {
        conn.send(f).await.unwrap();
        assert_eq!(&conn.recv().await.unwrap().unwrap(), f);
    }
    conn.close_send().unwrap();
    assert_eq!(conn.recv().await.unwrap(), None);
    let stats = conn.finish().await.unwrap();
    let payload: u64 = frames.iter().map(|f| f.len() as u64).sum();
    assert_eq!(stats.frames_sent, 4);
    assert_eq!(stats.frames_received, 5);
    assert_eq!(stats.bytes_sent, payload);
    assert_eq!(stats.bytes_received, payload + "服务器：你好".len() as u64);

    let (peer, server_stats) = stats_rx.recv().await.unwrap();
    assert_eq!(peer, client_ep.device_key());
    assert_eq!(server_stats.frames_received, 4);
    assert_eq!(server_stats.bytes_sent, stats.bytes_received);
    let final_stats = server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(final_stats.sessions_ok, 1);
    assert_eq!(final_stats.sessions_failed, 0);
}

#[tokio::test]
async fn unauthorized_client_is_refused_and_gets_no_application_bytes() {
    let server_ep = endpoint(3).await;
    let allowed = endpoint(4).await;
    let stranger = endpoint(5).await;
    let allowed_key = allowed.device_key();
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let server = serve(
        &server_ep,
        ALPN,
        move |peer| peer == allowed_key,
        move |conn| {
            h.fetch_add(1, Ordering::SeqCst);
            echo(conn)
        },
    );
    let ticket = server_ep.ticket().await;

    // Through the API: the refusal is the connect error.
    match connect(&stranger, &ticket, ALPN).await {
        Err(ConnectError::NotEnrolled { peer }) => assert_eq!(peer, server_ep.device_key()),
        other => panic!("expected NotEnrolled, got {other:?}"),
    }

    // Raw: a stranger that writes the hello and reads gets zero bytes and the close reason.
    let id = fieldcrm_net::iroh::PublicKey::from_bytes(&ticket.device_key().0).unwrap();
    let addr = fieldcrm_net::iroh::EndpointAddr::new(id).with_ip_addr(ticket.addrs()[0]);
    let raw = stranger.iroh().connect(addr, ALPN).await.unwrap();
    let (mut send, mut recv) = raw.open_bi().await.unwrap();
    let _ = send.write_all(b"FCN1").await;
    let mut buf = [0u8; 64];
    let err = recv.read(&mut buf).await.unwrap_err();
    match err {
        ReadError::ConnectionLost(e) => assert_eq!(
            app_close(&e),
            Some((close::NOT_ENROLLED as u64, "not enrolled".to_string()))
        ),
        other => panic!("expected a connection close, got {other:?}"),
    }

    // The enrolled device still gets in.
    let mut conn = connect(&allowed, &ticket, ALPN).await.unwrap();
    assert!(conn.recv().await.unwrap().is_some());
    conn.close_send().unwrap();
    assert_eq!(conn.recv().await.unwrap(), None);
    conn.finish().await.unwrap();

    let stats = server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        1,
        "handler ran only for the enrolled peer"
    );
    assert_eq!(stats.refused, 2);
    assert_eq!(stats.sessions_ok, 1);
}

#[tokio::test]
async fn bad_frames_end_only_their_session() {
    let server_ep = endpoint(6).await;
    let client_ep = endpoint(7).await;
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<String>();
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        move |mut conn| {
            let err_tx = err_tx.clone();
            async move {
                loop {
                    match conn.recv().await {
                        Ok(Some(frame)) if frame == b"panic" => panic!("handler bug"),
                        Ok(Some(frame)) => conn.send(&frame).await?,
                        Ok(None) => break,
                        Err(e) => {
                            err_tx.send(e.to_string()).unwrap();
                            return Err(e);
                        }
                    }
                }
                conn.finish().await.map(|_| ())
            }
        },
    );
    let ticket = server_ep.ticket().await;

    // 1. An oversized length prefix: refused from the prefix alone.
    let (conn, mut send, mut recv) = raw_session(&client_ep, &ticket).await;
    send.write_all(&(16 * 1024 * 1024 + 1u32).to_be_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let err = recv.read(&mut buf).await.unwrap_err();
    let ReadError::ConnectionLost(e) = err else {
        panic!("{err:?}")
    };
    let (code, reason) = app_close(&e).unwrap();
    assert_eq!(code, close::PROTOCOL_ERROR as u64);
    assert!(reason.contains("exceeds the limit"), "{reason}");
    drop(conn);
    let server_err = err_rx.recv().await.unwrap();
    assert!(server_err.contains("16777217"), "{server_err}");

    // 2. A truncated frame: announces 100 bytes, sends 10, ends the stream.
    let (conn, mut send, mut recv) = raw_session(&client_ep, &ticket).await;
    send.write_all(&100u32.to_be_bytes()).await.unwrap();
    send.write_all(&[1; 10]).await.unwrap();
    send.finish().unwrap();
    let err = recv.read_exact(&mut buf).await.unwrap_err();
    let ReadExactError::ReadError(ReadError::ConnectionLost(e)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(app_close(&e).unwrap().0, close::PROTOCOL_ERROR as u64);
    drop(conn);
    let server_err = err_rx.recv().await.unwrap();
    assert!(server_err.contains("10 of 100"), "{server_err}");

    // 3. A handler panic is that session's problem only.
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    conn.send(b"panic").await.unwrap();
    match conn.recv().await {
        Err(SessionError::PeerClosed { code, reason }) => {
            assert_eq!(code, close::SESSION_FAILED as u64);
            assert_eq!(reason, "internal error");
        }
        other => panic!("{other:?}"),
    }

    // 4. A well-behaved client is still served.
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    conn.send("还在服务".as_bytes()).await.unwrap();
    assert_eq!(conn.recv().await.unwrap().unwrap(), "还在服务".as_bytes());
    conn.close_send().unwrap();
    assert_eq!(conn.recv().await.unwrap(), None);
    conn.finish().await.unwrap();

    let stats = server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(stats.sessions_failed, 3);
    assert_eq!(stats.sessions_ok, 1);
}

#[tokio::test]
async fn frame_limit_applies_through_the_api() {
    let server_ep = endpoint(8)
        .await
        .with_session_config(SessionConfig::default().with_max_frame_len(1024));
    let client_ep = endpoint(9).await;
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<SessionError>();
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        move |mut conn| {
            let err_tx = err_tx.clone();
            async move {
                let result = conn.recv().await;
                let err = result.expect_err("frame over the limit");
                let msg = err.to_string();
                err_tx.send(err).unwrap();
                Err(msg)
            }
        },
    );
    let ticket = server_ep.ticket().await;
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();

    // Over the sender's own limit: refused locally, session intact.
    let small = client_ep
        .clone()
        .with_session_config(SessionConfig::default().with_max_frame_len(8));
    let mut limited = connect(&small, &ticket, ALPN).await.unwrap();
    assert!(matches!(
        limited.send(&[0; 9]).await,
        Err(SessionError::FrameTooLarge { len: 9, max: 8 })
    ));
    drop(limited);
    let _ = err_rx.recv().await; // that session was dropped; its handler saw an error.

    conn.send(&[0; 2048]).await.unwrap();
    match conn.recv().await {
        Err(SessionError::PeerClosed { code, reason }) => {
            assert_eq!(code, close::PROTOCOL_ERROR as u64);
            assert!(reason.contains("2048"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err_rx.recv().await.unwrap(),
        SessionError::FrameTooLarge {
            len: 2048,
            max: 1024
        }
    ));
    server.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn peers_sending_large_frames_at_each_other_do_not_deadlock() {
    let server_ep = endpoint(10).await;
    let client_ep = endpoint(11).await;
    let big = vec![5u8; 8 * 1024 * 1024];
    let server_big = big.clone();
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        move |mut conn| {
            let big = server_big.clone();
            async move {
                conn.send(&big).await?;
                conn.send(&big).await?;
                let mut got = 0;
                while let Some(f) = conn.recv().await? {
                    assert_eq!(f.len(), big.len());
                    got += 1;
                }
                assert_eq!(got, 2);
                conn.finish().await.map(|_| ())
            }
        },
    );
    let ticket = server_ep.ticket().await;
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    let run = async {
        conn.send(&big).await.unwrap();
        conn.send(&big).await.unwrap();
        conn.close_send().unwrap();
        let mut got = 0;
        while let Some(f) = conn.recv().await.unwrap() {
            assert_eq!(f, big);
            got += 1;
        }
        assert_eq!(got, 2);
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("both sides sending first must not deadlock");
    conn.finish().await.unwrap();
    assert_eq!(server.shutdown(Duration::from_secs(1)).await.sessions_ok, 1);
}

#[tokio::test]
async fn recv_survives_being_cancelled_mid_frame() {
    let server_ep = endpoint(23).await;
    let client_ep = endpoint(24).await;
    let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let server_big = big.clone();
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        move |mut conn| {
            let big = server_big.clone();
            async move {
                conn.send(&big).await?;
                conn.send("完".as_bytes()).await?;
                conn.finish().await.map(|_| ())
            }
        },
    );
    let ticket = server_ep.ticket().await;
    let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    // Poll recv with a tiny timeout, as a `select!` loop would: partial reads are kept.
    let mut cancelled = 0;
    let first = loop {
        match tokio::time::timeout(Duration::from_micros(20), conn.recv()).await {
            Ok(frame) => break frame.unwrap().unwrap(),
            Err(_) => cancelled += 1,
        }
    };
    assert!(cancelled > 0, "the test did not cancel any recv");
    assert_eq!(first, big);
    assert_eq!(conn.recv().await.unwrap().unwrap(), "完".as_bytes());
    assert_eq!(conn.recv().await.unwrap(), None);
    conn.finish().await.unwrap();
    assert_eq!(server.shutdown(Duration::from_secs(1)).await.sessions_ok, 1);
}

#[tokio::test]
async fn identity_persists_when_rebuilt_from_the_same_secret() {
    let secret = [42u8; 32];
    let first = Endpoint::bind(&secret, loopback()).await.unwrap();
    let key = first.device_key();
    assert_eq!(
        key.0,
        *fieldcrm_net::iroh::SecretKey::from_bytes(&secret)
            .public()
            .as_bytes()
    );
    let old_ticket = first.ticket().await;
    let port = first.bound_sockets()[0].port();
    first.close().await;
    drop(first);

    // Same secret, same port: the old ticket still reaches the device. (iroh's background
    // tasks let go of the old socket shortly after `close`, so retry the bind briefly.)
    let same_port = SocketAddr::from(([127, 0, 0, 1], port));
    let mut attempts = 0;
    let again = loop {
        match Endpoint::bind(&secret, same_port).await {
            Ok(ep) => break ep,
            Err(e) if attempts < 40 => {
                attempts += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("port {port} still busy after 2 s: {e}"),
        }
    };
    assert_eq!(again.device_key(), key);
    let server = serve(&again, ALPN, |_| true, echo);
    let client = endpoint(43).await;
    let mut conn = connect(&client, &old_ticket, ALPN).await.unwrap();
    assert_eq!(conn.peer(), key);
    assert!(conn.recv().await.unwrap().is_some());
    conn.close_send().unwrap();
    assert_eq!(conn.recv().await.unwrap(), None);
    conn.finish().await.unwrap();
    server.shutdown(Duration::from_secs(1)).await;

    // A different secret is a different device: dialing the old ticket is refused by TLS.
    let other = Endpoint::bind(&[43; 32], loopback()).await.unwrap();
    assert_ne!(other.device_key(), key);
}

#[tokio::test]
async fn ticket_round_trips_and_garbage_is_rejected() {
    let ep = endpoint(12).await;
    let ticket = ep.ticket().await;
    assert_eq!(ticket.addrs(), ep.bound_sockets().as_slice());
    let text = ticket.to_string();
    assert!(text.starts_with("fieldcrm1"), "{text}");
    assert_eq!(text.parse::<Ticket>().unwrap(), ticket);
    for garbage in [
        "",
        "fieldcrm",
        "fieldcrm9abc",
        "fieldcrm1!!",
        "fieldcrm1aaaa",
        "nonsense",
    ] {
        assert!(garbage.parse::<Ticket>().is_err(), "{garbage:?} parsed");
    }
    let v2 = text.replacen("fieldcrm1", "fieldcrm2", 1);
    let err = v2.parse::<Ticket>().unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
}

#[tokio::test]
async fn graceful_shutdown_lets_running_sessions_finish_then_closes_the_rest() {
    let server_ep = endpoint(13).await;
    let client_ep = endpoint(14).await;
    let server = serve(&server_ep, ALPN, |_| true, echo);
    let ticket = server_ep.ticket().await;

    // A session that finishes during the grace period.
    let mut polite = connect(&client_ep, &ticket, ALPN).await.unwrap();
    // A session that never ends.
    let mut stuck = connect(&client_ep, &ticket, ALPN).await.unwrap();
    assert!(polite.recv().await.unwrap().is_some());
    assert!(stuck.recv().await.unwrap().is_some());

    let shutdown = tokio::spawn(server.shutdown(Duration::from_millis(500)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    polite.send(b"last words").await.unwrap();
    polite.close_send().unwrap();
    assert_eq!(polite.recv().await.unwrap().unwrap(), b"last words");
    assert_eq!(polite.recv().await.unwrap(), None);
    polite.finish().await.unwrap();

    // New sessions are turned away while draining.
    let late = connect(&client_ep, &ticket, ALPN).await;
    assert!(late.is_err(), "accepted during shutdown");

    let stats = shutdown.await.unwrap();
    match stuck.recv().await {
        Err(SessionError::PeerClosed { code, .. }) => assert_eq!(code, close::SHUTDOWN as u64),
        other => panic!("{other:?}"),
    }
    assert_eq!(stats.sessions_ok, 1);
    assert_eq!(stats.sessions_failed, 1);
    assert!(stats.turned_away >= 1);

    // The endpoint is still usable for dialing out.
    assert!(!server_ep.iroh().is_closed());
}

#[tokio::test]
async fn finish_waits_for_the_peer_and_reports_unread_frames() {
    let server_ep = endpoint(15).await;
    let client_ep = endpoint(16).await;
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        |mut conn| async move {
            // Sends three frames and finishes without reading anything.
            for i in 0..3u8 {
                conn.send(&[i]).await?;
            }
            conn.finish().await.map(|_| ())
        },
    );
    let ticket = server_ep.ticket().await;
    let conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
    // The client finishes without reading: the frames are drained and reported.
    match conn.finish().await {
        Err(SessionError::UnreadFrames { count }) => assert_eq!(count, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.shutdown(Duration::from_secs(1)).await.sessions_ok, 1);
}

#[tokio::test]
async fn wrong_alpn_and_dead_address_fail_cleanly() {
    let server_ep = endpoint(17).await;
    let client_ep = endpoint(18).await.with_session_config(
        SessionConfig::default().with_handshake_timeout(Duration::from_secs(1)),
    );
    let server = serve(&server_ep, ALPN, |_| true, echo);
    let ticket = server_ep.ticket().await;
    assert!(matches!(
        connect(&client_ep, &ticket, b"fieldcrm/sync/999").await,
        Err(ConnectError::Connect { .. })
    ));
    server.shutdown(Duration::ZERO).await;

    // Nobody listens on this port any more.
    let gone = endpoint(19).await;
    let gone_ticket = gone.ticket().await;
    gone.close().await;
    drop(gone);
    let started = Instant::now();
    let result = connect(&client_ep, &gone_ticket, ALPN).await;
    assert!(result.is_err());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn unspecified_bind_advertises_concrete_addresses() {
    // Binding 0.0.0.0 sends nothing; only the advertised list is checked (no dialing).
    let ep = Endpoint::bind(&[22; 32], fieldcrm_net::DEFAULT_BIND_ADDR)
        .await
        .unwrap();
    let port = ep.bound_sockets()[0].port();
    assert_ne!(port, 0);
    let addrs = ep.direct_addrs().await;
    assert!(!addrs.is_empty());
    assert!(
        addrs
            .iter()
            .all(|a| !a.ip().is_unspecified() && a.port() == port),
        "{addrs:?}"
    );
}

/// Connect time on loopback: handshake + session hello, averaged. Printed for the report;
/// run with `cargo test --release -p fieldcrm-net --test loopback connect_time -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_time_on_loopback() {
    let server_ep = endpoint(20).await;
    let client_ep = endpoint(21).await;
    let server = serve(
        &server_ep,
        ALPN,
        |_| true,
        |mut conn| async move {
            while conn.recv().await?.is_some() {}
            conn.finish().await.map(|_| ())
        },
    );
    let ticket = server_ep.ticket().await;
    let rounds = 20;
    let mut connect_total = Duration::ZERO;
    let mut session_total = Duration::ZERO;
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let mut conn = connect(&client_ep, &ticket, ALPN).await.unwrap();
        let t1 = t0.elapsed();
        conn.send(b"ping").await.unwrap();
        conn.close_send().unwrap();
        assert_eq!(conn.recv().await.unwrap(), None);
        conn.finish().await.unwrap();
        connect_total += t1;
        session_total += t0.elapsed();
        best = best.min(t1);
    }
    println!(
        "loopback connect (QUIC handshake + hello): mean {:?}, best {:?}; \
         full session incl. finish: mean {:?} ({rounds} rounds, {})",
        connect_total / rounds,
        best,
        session_total / rounds,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    assert!(connect_total / rounds < Duration::from_secs(1));
    let stats = server.shutdown(Duration::from_secs(1)).await;
    assert_eq!(stats.sessions_ok, rounds as u64);
}

#[test]
fn close_codes_are_distinct() {
    let codes = [
        close::DONE,
        close::NOT_ENROLLED,
        close::PROTOCOL_ERROR,
        close::SESSION_FAILED,
        close::SHUTDOWN,
        close::ABORTED,
        close::WRONG_PEER,
        close::TIMEOUT,
    ];
    let mut sorted = codes.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
    assert!(
        codes
            .iter()
            .all(|&c| c != 0 && VarInt::from_u32(c).into_inner() == c as u64)
    );
}
