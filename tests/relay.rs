//! Issue #4: the office relay, a real `fieldcrm-relay` process on loopback, driven by the
//! real `fieldcrm` binary (and, where a misbehaving client is needed, by raw WebSocket
//! clients in this process).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldcrm_model::DocId;
use fieldcrm_net::ws::close;
use fieldcrm_net::{FrameTransport, WsConfig, WsError, connect_ws, drive};
use fieldcrm_sync::{Host, HostError, LoadedDoc, SaveDoc, Session, SessionRole, Unrestricted};
use fieldcrm_workspace::Workspace;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Rep, device_key};

/// The relay binary, built next to `fieldcrm` (by `cargo test --workspace` /
/// `cargo nextest run --workspace`; it lives in its own crate to keep axum out of the CLI).
fn relay_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_fieldcrm")).with_file_name("fieldcrm-relay");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build -p fieldcrm-relay` (or run the tests with --workspace)",
        p.display()
    );
    p
}

/// A running `fieldcrm-relay serve`; killed (SIGKILL) when dropped.
pub(crate) struct RelayProc {
    child: Child,
    pub(crate) url: String,
    ticket: Option<String>,
    stderr: PathBuf,
}

impl RelayProc {
    fn start(dir: &Path, http: &str) -> RelayProc {
        Self::start_with(dir, http, "off")
    }

    fn start_with(dir: &Path, http: &str, iroh: &str) -> RelayProc {
        let stderr = dir.join(format!("relay-{}.err", std::process::id()));
        let mut child = Command::new(relay_bin())
            .args(["serve", "--config"])
            .arg(dir.join("relay.toml"))
            .args(["--http", http, "--iroh", iroh])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start fieldcrm-relay");
        let out = child.stdout.take().unwrap();
        let mut url = None;
        let mut ticket = None;
        for line in BufReader::new(out).lines() {
            let line = line.unwrap();
            if let Some(u) = line.strip_prefix("http: ") {
                url = Some(u.to_string());
            }
            if let Some(t) = line.strip_prefix("iroh: ") {
                ticket = Some(t.to_string());
            }
            if line == "ready" {
                break;
            }
        }
        RelayProc {
            child,
            url: url.expect("the relay printed its address"),
            ticket,
            stderr,
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn assert_alive_and_unpanicked(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the relay process died"
        );
        let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(!err.contains("panicked"), "the relay panicked:\n{err}");
    }

    fn metrics(&self) -> String {
        let addr = self.url.trim_start_matches("ws://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An office: an admin device, a relay bootstrapped with it, and enrolled devices.
pub(crate) struct Office {
    pub(crate) admin: Rep,
    pub(crate) relay: RelayProc,
    pub(crate) root: PathBuf,
}

impl Office {
    pub(crate) fn new(config: &str) -> Office {
        let admin = Rep::new();
        admin.ok(&["init", "--user", "管理员", "--role", "admin"]);
        let root = admin.home.parent().unwrap().to_path_buf();
        std::fs::write(root.join("relay.toml"), config).unwrap();
        let ws = crate::cli_p2p::workspace_id(&admin);
        let out = Command::new(relay_bin())
            .args(["init", "--config"])
            .arg(root.join("relay.toml"))
            .args(["--workspace", &ws, "--admin-device", &device_key(&admin)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let relay = RelayProc::start(&root, "127.0.0.1:0");
        admin.ok(&["remote", "add", "office", &relay.url]);
        admin.ok(&["sync"]);
        Office { admin, relay, root }
    }

    /// A user and their device, joined through the relay and enrolled by the admin.
    pub(crate) fn device(&self, name: &str, role: &str, team: &str) -> Rep {
        self.admin
            .ok(&["user", "add", name, "--role", role, "--team", team]);
        self.enroll(name, &format!("dev-{name}"))
    }

    /// Another device (in directory `dir`) of the existing user `user`, joined through
    /// the relay, enrolled by the admin and synced.
    pub(crate) fn enroll(&self, user: &str, dir: &str) -> Rep {
        let rep = Rep::at(&self.root.join(dir));
        let out = rep.ok(&["join", &self.relay.url]);
        assert!(out.contains("saved as remote `office`"), "{out}");
        self.admin
            .ok(&["device", "add", &device_key(&rep), "--user", user]);
        self.admin.ok(&["sync"]);
        let out = rep.ok(&["sync"]);
        assert!(
            out.contains(&format!("joined workspace as {user}")),
            "{out}"
        );
        rep
    }
}

fn customers(rep: &Rep) -> BTreeMap<String, serde_json::Value> {
    rep.run(&["customer", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

fn names(rep: &Rep) -> BTreeSet<String> {
    customers(rep).into_keys().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_manager_and_three_reps_converge_through_the_relay_each_within_scope() {
    let office = Office::new("");
    let mgr = office.device("王经理", "manager", "华东");
    let rep1 = office.device("小张", "rep", "华东");
    let rep2 = office.device("小李", "rep", "华东");
    let rep3 = office.device("小陈", "rep", "华南");
    for dev in [&mgr, &rep1, &rep2] {
        dev.ok(&["sync"]); // the roster with everyone enrolled after them
    }

    // A day offline.
    rep1.ok(&["customer", "add", "甲公司", "--class", "general"]);
    rep1.ok(&["customer", "add", "乙公司", "--class", "potential"]);
    rep2.ok(&["customer", "add", "丙公司", "--class", "general"]);
    rep3.ok(&["customer", "add", "丁公司", "--class", "general"]);
    mgr.ok(&[
        "customer",
        "add",
        "戊公司",
        "--owner",
        "小张",
        "--class",
        "key",
    ]);

    let all = [&office.admin, &mgr, &rep1, &rep2, &rep3];
    for order in [[3, 1, 4, 2, 0], [0, 2, 4, 1, 3], [1, 2, 3, 4, 0]] {
        for i in order {
            all[i].ok(&["sync"]);
        }
    }
    // More offline edits on both sides of a shared customer, then another round.
    rep1.ok(&["customer", "edit", "戊公司", "--industry", "制造业"]);
    mgr.ok(&["customer", "edit", "戊公司", "--address", "上海市浦东新区"]);
    for i in [4, 2, 1, 3, 0, 2, 1] {
        all[i].ok(&["sync"]);
    }

    assert_eq!(
        names(&office.admin),
        set(&["甲公司", "乙公司", "丙公司", "丁公司", "戊公司"])
    );
    assert_eq!(names(&mgr), set(&["甲公司", "乙公司", "丙公司", "戊公司"]));
    assert_eq!(names(&rep1), set(&["甲公司", "乙公司", "戊公司"]));
    assert_eq!(names(&rep2), set(&["丙公司"]));
    assert_eq!(names(&rep3), set(&["丁公司"]));
    // Converged: every copy equals the admin's.
    let reference = office.admin.ok(&["customer", "show", "戊公司", "--json"]);
    for dev in [&mgr, &rep1] {
        assert_eq!(dev.ok(&["customer", "show", "戊公司", "--json"]), reference);
    }
    let e: serde_json::Value = serde_json::from_str(&reference).unwrap();
    assert_eq!(e["industry"], "制造业");
    assert_eq!(e["address"], "上海市浦东新区");
    // Nothing left to move.
    let out = rep1.ok(&["sync"]);
    assert!(
        out.contains("received 0 document(s), sent 0 document(s)"),
        "{out}"
    );

    // Reassignment: the old owner's device drops its copy at the next sync and says so.
    office
        .admin
        .ok(&["customer", "edit", "乙公司", "--owner", "小李"]);
    office.admin.ok(&["sync"]);
    let out = rep1.ok(&["sync"]);
    assert!(out.contains("no longer in your scope"), "{out}");
    assert!(out.contains("乙公司"), "{out}");
    assert_eq!(names(&rep1), set(&["甲公司", "戊公司"]));
    rep2.ok(&["sync"]);
    assert_eq!(names(&rep2), set(&["乙公司", "丙公司"]));

    // Write scope: a rep's device that changes the catalog (bypassing the CLI's role
    // check) or writes under another device's actor ID is refused, and the CLI says why.
    let rep2_key = Workspace::open(&rep2.home).unwrap().device();
    {
        let ws = Workspace::open(&rep3.home).unwrap();
        let catalog = DocId::workspace(&fieldcrm_model::DocKind::Catalog);
        ws.edit(&catalog, 1, "sneaky", |doc| {
            doc.put(&["product_lines", "X"], &"走私".to_string())?;
            Ok(())
        })
        .unwrap();
        let id = ws
            .resolve(Some(&fieldcrm_model::DocKind::Customer), "丁公司")
            .unwrap();
        let mut doc = ws.load(&id).unwrap();
        doc.automerge_mut().set_actor(rep2_key.actor());
        doc.put(&["industry"], &"伪造".to_string()).unwrap();
        doc.commit(2, "forged");
        ws.save(&mut doc).unwrap();
    }
    let out = rep3.run(&["sync"]).refused();
    assert!(out.contains("refused by peer"), "{out}");
    assert!(out.contains("may not write catalog"), "{out}");
    assert!(out.contains("signature does not verify"), "{out}");
    office.admin.ok(&["sync"]);
    let d = office.admin.ok(&["customer", "show", "丁公司", "--json"]);
    assert!(!d.contains("伪造"), "{d}");

    let audit = std::fs::read_to_string(office.root.join("relay-data/audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 6, "{audit}");
    assert!(audit.contains(&device_key(&rep3)));
    office
        .relay
        .metrics()
        .contains("fieldcrm_relay_sessions_total");
}

#[test]
fn unknown_and_revoked_devices_get_nothing() {
    let office = Office::new("");
    let rep = office.device("小张", "rep", "华东");
    office
        .admin
        .ok(&["customer", "add", "甲公司", "--owner", "小张"]);
    office.admin.ok(&["sync"]);

    // Unknown: joined, never enrolled.
    let stranger = Rep::at(&office.root.join("stranger"));
    stranger.ok(&["join", &office.relay.url]);
    stranger.run(&["sync"]).fails_with("not enrolled");
    let store = Workspace::open(&stranger.home).unwrap();
    assert_eq!(store.store().all_heads().unwrap().len(), 0);

    // A device of another workspace: refused before it signs anything.
    let foreign = Rep::at(&office.root.join("foreign"));
    foreign.ok(&["init", "--user", "别家", "--role", "admin"]);
    foreign
        .run(&["sync", &office.relay.url])
        .fails_with("the relay serves workspace");

    // A raw client with a valid signature of an unknown key gets no byte after the
    // challenge: the relay closes with "not enrolled".
    let rt = runtime();
    let secret = fieldcrm_workspace::generate_secret();
    let ws_id = crate::cli_p2p::workspace_id(&office.admin);
    let err = rt
        .block_on(connect_ws(
            &office.relay.url,
            secret.public(),
            &ws_id,
            |m| secret.sign(m),
            &WsConfig::default(),
        ))
        .unwrap_err();
    assert!(
        matches!(err, WsError::Refused { code, .. } if code == close::NOT_ENROLLED),
        "{err}"
    );
    // Someone else's key with a forged signature: refused the same way.
    let rep_key = Workspace::open(&rep.home).unwrap().device();
    let err = rt
        .block_on(connect_ws(
            &office.relay.url,
            rep_key,
            &ws_id,
            |_| [7; 64],
            &WsConfig::default(),
        ))
        .unwrap_err();
    assert!(matches!(err, WsError::Refused { code, .. } if code == close::NOT_ENROLLED));

    // Revoked: `device revoke` pushes the roster to the relay, which refuses the device
    // at once; it receives nothing new.
    let before = Workspace::open(&rep.home)
        .unwrap()
        .store()
        .all_heads()
        .unwrap();
    let out = office
        .admin
        .ok(&["device", "revoke", &device_key(&rep)[..8]]);
    assert!(out.contains("synced with relay"), "{out}");
    rep.run(&["sync"]).fails_with("revoked");
    office
        .admin
        .ok(&["customer", "add", "乙公司", "--owner", "小张"]);
    office.admin.ok(&["sync"]);
    rep.run(&["sync"]).fails_with("revoked");
    let after = Workspace::open(&rep.home)
        .unwrap()
        .store()
        .all_heads()
        .unwrap();
    assert_eq!(before, after, "a revoked device receives nothing");
    let m = office.relay.metrics();
    assert!(
        m.contains("fieldcrm_relay_refusals_total{reason=\"revoked\"} 2"),
        "{m}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A host that records what it is asked to save and pretends to hold the documents it
/// claims (with no bytes to give).
#[derive(Default)]
struct Spy {
    saved: Vec<DocId>,
}

impl Host for Spy {
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
        Ok(ids
            .iter()
            .map(|id| LoadedDoc {
                id: id.clone(),
                bytes: None,
                sigs: Vec::new(),
            })
            .collect())
    }
    fn save(&mut self, docs: Vec<SaveDoc>) -> Result<(), HostError> {
        self.saved.extend(docs.into_iter().map(|d| d.id));
        Ok(())
    }
}

/// Records every frame received.
struct Tap<'a, T> {
    inner: &'a mut T,
    received: Vec<u8>,
}

impl<T: FrameTransport + Send> FrameTransport for Tap<'_, T> {
    type Error = T::Error;
    async fn send(&mut self, frame: &[u8]) -> Result<(), T::Error> {
        self.inner.send(frame).await
    }
    async fn recv(&mut self) -> Result<Option<Vec<u8>>, T::Error> {
        let f = self.inner.recv().await?;
        if let Some(f) = &f {
            self.received.extend_from_slice(f);
        }
        Ok(f)
    }
}

#[test]
fn out_of_scope_documents_cannot_be_asked_for_directly_or_through_a_peer() {
    let office = Office::new("");
    let rep1 = office.device("小张", "rep", "华东");
    let rep2 = office.device("小李", "rep", "华东");
    rep2.ok(&["customer", "add", "机密客户", "--class", "key"]);
    rep2.ok(&["sync"]);
    let rep2_index = Workspace::open(&rep2.home)
        .unwrap()
        .store()
        .all_heads()
        .unwrap();
    let rep1_ids: Vec<DocId> = Workspace::open(&rep1.home)
        .unwrap()
        .store()
        .all_heads()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    // rep2's documents that rep1 may not read (all but the workspace documents).
    let hidden: Vec<_> = rep2_index
        .into_iter()
        .filter(|(id, _)| !rep1_ids.contains(id))
        .collect();
    let secret_ids: Vec<DocId> = hidden.iter().map(|(id, _)| id.clone()).collect();
    let wanted = customers(&rep2)["机密客户"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(secret_ids.iter().any(|i| i.as_str() == wanted));

    // rep1's device, modified to claim it holds rep2's documents (so the relay would
    // ask for or send them) and to accept anything.
    let ws = Workspace::open(&rep1.home).unwrap();
    let rt = runtime();
    let url = office.relay.url.clone();
    let (spy, received) = rt.block_on(async move {
        let secret = ws.secret().clone();
        let mut conn = connect_ws(
            &url,
            ws.device(),
            ws.workspace_id(),
            move |m| secret.sign(m),
            &WsConfig::default(),
        )
        .await
        .unwrap();
        let index = hidden.clone();
        let mut session = Session::new(
            SessionRole::Initiator,
            ws.workspace_id(),
            Unrestricted,
            index,
        );
        let mut spy = Spy::default();
        let mut tap = Tap {
            inner: &mut conn,
            received: Vec::new(),
        };
        drive(&mut tap, &mut session, &mut spy, |_| {})
            .await
            .expect("the session itself succeeds");
        let received = tap.received;
        let _ = conn.finish().await;
        (spy, received)
    });
    let kinds = [
        fieldcrm_model::DocKind::Roster,
        fieldcrm_model::DocKind::Catalog,
        fieldcrm_model::DocKind::Policy,
        fieldcrm_model::DocKind::Sales,
    ];
    let workspace_docs: BTreeSet<DocId> = kinds.iter().map(DocId::workspace).collect();
    assert_eq!(
        spy.saved.iter().cloned().collect::<BTreeSet<_>>(),
        workspace_docs,
        "only the company-wide documents arrive"
    );
    for id in &secret_ids {
        assert!(!spy.saved.contains(id), "received {id}");
        assert!(
            !contains(&received, id.as_str().as_bytes()),
            "the ID {id} appeared on the wire"
        );
    }

    // Through rep2's device over P2P: rep2 shares nothing rep1 may not read.
    rep1.ok(&["sync"]); // learn rep2's device from the roster
    let (mut srv, ticket) = crate::cli_p2p::serve_once(&rep2);
    rep1.ok(&["sync", &ticket, "--bind", "127.0.0.1:0"]);
    let _ = srv.0.wait();
    assert!(!names(&rep1).contains("机密客户"));
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Sends `n` misbehaving messages, each on its own connection, in several shapes.
async fn garbage(url: &str, n: usize, ws: &Workspace, seed: usize) -> usize {
    let sync = fieldcrm_net::ws::sync_url(url).unwrap();
    let mut sent = 0;
    for i in 0..n {
        let shape = (i + seed) % 5;
        match shape {
            // Authenticated, then a malformed sync frame.
            0 | 1 => {
                let secret = ws.secret().clone();
                let Ok(mut conn) = connect_ws(
                    url,
                    ws.device(),
                    ws.workspace_id(),
                    move |m| secret.sign(m),
                    &WsConfig::default(),
                )
                .await
                else {
                    continue;
                };
                let frame: Vec<u8> = if shape == 0 {
                    vec![1, 0xff, 0xfe, (i % 251) as u8]
                } else {
                    (0..(i % 300)).map(|b| (b * 7 + i) as u8).collect()
                };
                let _ = conn.send_raw(frame).await;
                let _ = conn.recv().await;
            }
            // Authenticated, then a frame above the relay's 64 KiB limit.
            2 => {
                let secret = ws.secret().clone();
                let Ok(mut conn) = connect_ws(
                    url,
                    ws.device(),
                    ws.workspace_id(),
                    move |m| secret.sign(m),
                    &WsConfig::default(),
                )
                .await
                else {
                    continue;
                };
                let _ = conn.send_raw(vec![1; 100 * 1024]).await;
                let _ = conn.recv().await;
            }
            // Garbage instead of the authentication answer.
            3 => {
                let Ok((mut s, _)) = tokio_tungstenite::connect_async(sync.as_str()).await else {
                    continue;
                };
                let _ = s.next().await;
                let msg = if i % 2 == 0 {
                    Message::Text("hello".into())
                } else {
                    Message::Binary(vec![0u8; i % 120].into())
                };
                let _ = s.send(msg).await;
                let _ = s.next().await;
            }
            // A raw frame header announcing 2^40 bytes.
            _ => {
                let addr = url.trim_start_matches("ws://");
                let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                    continue;
                };
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let req = format!(
                    "GET /v1/sync HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                );
                let _ = s.write_all(req.as_bytes()).await;
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let mut frame = vec![0x82, 0x80 | 127];
                frame.extend_from_slice(&(1u64 << 40).to_be_bytes());
                frame.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
                let _ = s.write_all(&frame).await;
                let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
            }
        }
        sent += 1;
    }
    sent
}

#[test]
fn a_thousand_malformed_and_oversized_frames_leave_the_relay_serving() {
    let office = Office::new("[limits]\nmax_message_bytes = 65536\nidle_timeout_secs = 5\n");
    let mut relay_ok = true;
    let rep = office.device("小张", "rep", "华东");
    let attacker = office.device("小黑", "rep", "华东");
    let ws = Workspace::open(&attacker.home).unwrap();
    let url = office.relay.url.clone();
    let total = std::thread::scope(|s| {
        let attack = s.spawn(|| {
            let rt = runtime();
            rt.block_on(async {
                let mut tasks = Vec::new();
                for t in 0..4 {
                    let url = url.clone();
                    let ws = ws.clone();
                    tasks.push(tokio::spawn(
                        async move { garbage(&url, 250, &ws, t).await },
                    ));
                }
                let mut n = 0;
                for t in tasks {
                    n += t.await.unwrap();
                }
                n
            })
        });
        // Meanwhile a well-behaved device keeps syncing.
        let mut i = 0;
        while !attack.is_finished() || i < 3 {
            rep.ok(&["customer", "add", &format!("客户{i}")]);
            let out = rep.run(&["sync"]);
            relay_ok &= out.code == 0;
            assert_eq!(out.code, 0, "{}", out.stderr);
            i += 1;
        }
        attack.join().unwrap()
    });
    assert_eq!(
        total, 1000,
        "every misbehaving connection got through to the relay"
    );
    assert!(relay_ok);
    let mut relay = office.relay;
    relay.assert_alive_and_unpanicked();
    let m = relay.metrics();
    let malformed: u64 = m
        .lines()
        .find(|l| l.starts_with("fieldcrm_relay_refusals_total{reason=\"malformed\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap();
    assert!(malformed >= 600, "{m}");
    office.admin.ok(&["sync"]);
    assert!(names(&office.admin).contains("客户2"));
}

#[test]
fn the_relay_killed_mid_sync_loses_no_acknowledged_change() {
    let office = Office::new("");
    let reps: Vec<Rep> = ["小张", "小李", "小王"]
        .iter()
        .map(|n| office.device(n, "rep", "华东"))
        .collect();
    let mut relay = office.relay;
    let url = relay.url.clone();
    let addr = url.trim_start_matches("ws://").to_string();
    // Each device adds a customer and syncs, over and over; the relay dies meanwhile.
    let acked: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = reps
            .iter()
            .enumerate()
            .map(|(r, rep)| {
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..30 {
                        let name = format!("客户{r}-{i}");
                        rep.ok(&["customer", "add", &name]);
                        let out = rep.run(&["sync"]);
                        if out.code == 0 && out.stdout.contains("synced with") {
                            acked.push(name);
                        } else {
                            break;
                        }
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(600));
        relay.kill();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let before: usize = acked.iter().map(Vec::len).sum();
    assert!(before > 0, "some syncs finished before the kill");
    assert!(
        acked.iter().any(|a| a.len() < 30),
        "the kill landed while devices were still syncing"
    );

    // Restart on the same address; devices resume.
    let started = Instant::now();
    let relay = loop {
        let r = std::panic::catch_unwind(|| RelayProc::start(&office.root, &addr));
        match r {
            Ok(r) => break r,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => std::panic::resume_unwind(e),
        }
    };
    for rep in &reps {
        rep.ok(&["sync"]);
    }
    office.admin.ok(&["sync", &relay.url]);
    let held = names(&office.admin);
    for name in acked.iter().flatten() {
        assert!(held.contains(name), "acknowledged {name} is missing");
    }
    // Every customer any device made, acknowledged before the crash or not, is there now.
    for (r, rep) in reps.iter().enumerate() {
        for n in names(rep) {
            assert!(held.contains(&n), "{n} of device {r} did not arrive");
        }
    }
}

#[test]
fn the_relay_serves_the_same_scope_over_iroh() {
    let mut office = Office::new("");
    let rep = office.device("小张", "rep", "华东");
    office
        .admin
        .ok(&["customer", "add", "甲公司", "--owner", "小张"]);
    office.admin.ok(&["customer", "add", "总部客户"]);
    office.admin.ok(&["sync"]);
    // Restart the relay with its iroh face on (same data, same endpoint key).
    office.relay.kill();
    office.relay = RelayProc::start_with(&office.root, "127.0.0.1:0", "127.0.0.1:0");
    let ticket = office.relay.ticket.clone().expect("an iroh ticket");
    rep.ok(&["remote", "add", "office-quic", &ticket]);
    let out = rep.ok(&["sync", "office-quic"]);
    // 甲公司 and the Sales document with the new claims.
    assert!(out.contains("received 2 document(s)"), "{out}");
    assert_eq!(names(&rep), set(&["甲公司"]));
    // An unknown device is refused by the authenticated endpoint ID.
    let stranger = Rep::at(&office.root.join("stranger-quic"));
    stranger.ok(&["join", &office.relay.url]);
    stranger.ok(&["remote", "add", "office-quic", &ticket]);
    stranger
        .run(&["sync", "office-quic"])
        .fails_with("not enrolled");
    let store = Workspace::open(&stranger.home).unwrap();
    assert_eq!(store.store().all_heads().unwrap().len(), 0);
}
