//! Operating the relay: backups of a running relay and restoring them, its JSON log and
//! its metrics — real `fieldcrm-relay` processes on loopback, real device workspaces (in
//! this process, syncing through `fieldcrm_connect` as the CLI does).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldcrm_connect::{NoProgress, sync_relay};
use fieldcrm_model::{DocId, Role};
use fieldcrm_store::{Filter, Store};
use fieldcrm_workspace::{InitOptions, NewCustomer, Workspace};

const NOW: i64 = 1_795_000_000_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fieldcrm-relay")
}

fn relay_cmd(args: &[&str], config: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// A running `fieldcrm-relay serve`, its stderr (the log) in a file; killed when dropped.
struct RelayProc {
    child: Child,
    url: String,
    log: PathBuf,
}

impl RelayProc {
    fn start(config: &Path, extra: &[&str]) -> RelayProc {
        let log = config.with_extension(format!("log-{}", rand_suffix()));
        let mut child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(config)
            .args(["--http", "127.0.0.1:0", "--iroh", "off"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut url = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(u) = line.strip_prefix("http: ") {
                url = u.to_string();
            }
            if line == "ready" {
                break;
            }
        }
        assert!(
            !url.is_empty(),
            "the relay did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        RelayProc { child, url, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

    /// SIGTERM, and wait for a graceful exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "relay did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> String {
    format!("{:x}", rand::random::<u32>())
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

fn admin(dir: &Path) -> Workspace {
    Workspace::init(
        &dir.join("admin"),
        &InitOptions {
            user: "管理员".into(),
            role: Role::Admin,
            team: None,
            region: None,
            company: "ACME".into(),
            device_label: "office".into(),
        },
        NOW,
    )
    .unwrap()
}

/// `relay.toml` in `dir` with `body`, and `fieldcrm-relay init` for `admin`.
fn init_relay(dir: &Path, name: &str, body: &str, admin: &Workspace) -> PathBuf {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, body).unwrap();
    let out = Command::new(bin())
        .args(["init", "--config"])
        .arg(&config)
        .args(["--workspace", admin.workspace_id()])
        .args(["--admin-device", &admin.device().to_hex()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    config
}

fn customer(name: &str) -> NewCustomer {
    NewCustomer {
        name: name.to_string(),
        credit_code: None,
        industry: Some("制造业".into()),
        region: Some("上海".into()),
        address: None,
        class: None,
        annual_value: None,
        owner: None,
        team: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One sync of `ws` with the relay at `url`: documents sent and received.
fn sync(rt: &tokio::runtime::Runtime, ws: &Workspace, url: &str, now: i64) -> (u64, u64) {
    let out = rt
        .block_on(sync_relay(ws, url, now, &mut NoProgress))
        .unwrap_or_else(|e| panic!("sync of {}: {}", ws.device(), chain(&e)));
    assert!(out.refusals().is_empty(), "{:?}", out.refusals());
    (out.report.docs_sent, out.report.docs_saved)
}

/// An error and its causes, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Sets `flag` when dropped while its thread panics: a device thread that failed stops the
/// others and the wait for them, instead of leaving the test to run into its timeout.
struct StopOnPanic(Arc<AtomicBool>);

impl Drop for StopOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn customer_names(store: &Store) -> BTreeSet<String> {
    store
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .filter(|l| l.summary.kind == fieldcrm_model::DocKind::Customer)
        .map(|l| l.summary.name)
        .collect()
}

/// The admin and `n` reps, each on their own device, enrolled (not yet synced).
fn office(dir: &Path, n: usize) -> (Workspace, Vec<Workspace>) {
    let admin = admin(dir);
    let mut devices = Vec::new();
    for i in 0..n {
        let name = format!("rep{i:02}");
        admin
            .add_user(&name, Role::Rep, Some("华东".into()), None, NOW)
            .unwrap();
        let ws = Workspace::join(&dir.join(&name), admin.workspace_id()).unwrap();
        admin
            .enroll_device(&ws.device(), &name, "phone", NOW)
            .unwrap();
        devices.push(ws);
    }
    (admin, devices)
}

/// Issue #15: a backup taken from the running relay while 20 devices sync, restored onto
/// a fresh relay. Everything acknowledged before the backup began is in it; what was
/// acknowledged after comes back from the devices when they sync with the restored
/// relay; then every device and the relay hold the same heads.
#[test]
fn a_backup_taken_while_twenty_devices_sync_restores_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, devices) = office(dir.path(), 20);
    let config1 = init_relay(
        dir.path(),
        "relay1",
        "data_dir = \"data1\"\nlog_format = \"json\"\n",
        &admin,
    );
    let relay1 = RelayProc::start(&config1, &[]);
    let rt = runtime();
    sync(&rt, &admin, &relay1.url, NOW);
    for ws in &devices {
        sync(&rt, ws, &relay1.url, NOW);
    }

    // Every device adds a customer and syncs, over and over; the backup is taken midway.
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let created: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let (backup_started, backup_done, out) = std::thread::scope(|s| {
        for (d, ws) in devices.iter().enumerate() {
            let (acked, created, stop, failed, url) = (
                acked.clone(),
                created.clone(),
                stop.clone(),
                failed.clone(),
                relay1.url.clone(),
            );
            s.spawn(move || {
                let _guard = StopOnPanic(failed.clone());
                let rt = runtime();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) && !failed.load(Ordering::SeqCst) && i < 200 {
                    let name = format!("客户{d:02}-{i:03}");
                    let now = NOW + 1000 + i;
                    ws.add_customer(customer(&name), now).unwrap();
                    created.lock().unwrap().insert(name.clone());
                    sync(&rt, ws, &url, now);
                    acked.lock().unwrap().push((name, Instant::now()));
                    i += 1;
                }
            });
        }
        let acked_per_device = |since: Option<Instant>| -> usize {
            let a = acked.lock().unwrap();
            (0..devices.len())
                .map(|d| {
                    let prefix = format!("客户{d:02}-");
                    a.iter()
                        .filter(|(n, t)| n.starts_with(&prefix) && since.is_none_or(|s| *t > s))
                        .count()
                })
                .min()
                .unwrap_or(0)
        };
        let wait_for = |since: Option<Instant>, n: usize| {
            let started = Instant::now();
            while acked_per_device(since) < n {
                assert!(
                    !failed.load(Ordering::SeqCst),
                    "a device failed to sync (its panic is above)"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "devices stalled"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        // The test's own failures below stop the devices too.
        let _guard = StopOnPanic(failed.clone());
        wait_for(None, 2);
        let backup_started = Instant::now();
        let out = Command::new(bin())
            .args(["backup", "--config"])
            .arg(&config1)
            .arg("--out")
            .arg(&backups)
            .output()
            .unwrap();
        let backup_done = Instant::now();
        wait_for(Some(backup_done), 2);
        stop.store(true, Ordering::SeqCst);
        (backup_started, backup_done, out)
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("written by the running relay"), "{stdout}");
    let created = created.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    let before: BTreeSet<String> = acked
        .iter()
        .filter(|(_, t)| *t < backup_started)
        .map(|(n, _)| n.clone())
        .collect();
    let after: BTreeSet<String> = acked
        .iter()
        .filter(|(_, t)| *t > backup_done)
        .map(|(n, _)| n.clone())
        .collect();
    assert!(
        before.len() >= 40 && after.len() >= 40,
        "{before:?} {after:?}"
    );
    println!(
        "backup took {:?} while devices synced; {} customers acknowledged before it, {} after",
        backup_done - backup_started,
        before.len(),
        after.len()
    );
    let metrics = relay1.metrics();
    assert_eq!(
        metric(&metrics, "fieldcrm_relay_backups_total{outcome=\"ok\"}"),
        1.0
    );
    assert!(metric(&metrics, "fieldcrm_relay_last_backup_timestamp_seconds") > 1.0e9);

    // The office server is lost.
    drop(relay1);
    let backup = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("relay-backup-")
        })
        .expect("a backup directory");
    for f in ["relay.redb", "audit.jsonl", "manifest.json"] {
        assert!(backup.join(f).is_file(), "{f} missing from the backup");
    }

    // Restored onto a fresh relay (its own data directory and port).
    let config2 = dir.path().join("relay2.toml");
    std::fs::write(&config2, "data_dir = \"data2\"\n").unwrap();
    let out = Command::new(bin())
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--config")
        .arg(&config2)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    {
        let restored = Store::open(dir.path().join("data2/relay.redb")).unwrap();
        let names = customer_names(&restored);
        let lost: Vec<_> = before.difference(&names).collect();
        assert!(
            lost.is_empty(),
            "acknowledged before the backup, not in it: {lost:?}"
        );
        assert!(
            after.iter().any(|n| !names.contains(n)),
            "the backup should predate what was acknowledged after it"
        );
        let rows = fieldcrm_relay::read_audit(&dir.path().join("data2/audit.jsonl")).unwrap();
        let delivered: BTreeSet<&str> = rows.iter().map(|r| r.doc.as_str()).collect();
        for (id, _) in restored.all_heads().unwrap() {
            assert!(delivered.contains(id.as_str()), "no audit row for {id}");
        }
    }
    let relay2 = RelayProc::start(&config2, &[]);

    // Every device syncs with the restored relay until a whole round moves nothing.
    let everyone: Vec<&Workspace> = devices.iter().chain([&admin]).collect();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds <= 5, "no quiet round after {rounds} rounds");
        let mut moved = 0;
        for ws in &everyone {
            let (sent, received) = sync(&rt, ws, &relay2.url, NOW + 10_000);
            moved += sent + received;
        }
        if moved == 0 {
            break;
        }
    }
    let relay_url = relay2.url.clone();
    relay2.stop();
    let store = Store::open(dir.path().join("data2/relay.redb")).unwrap();
    let relay_heads: BTreeMap<DocId, _> = store.all_heads().unwrap().into_iter().collect();
    let names = customer_names(&store);
    let missing: Vec<_> = created.difference(&names).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(customer_names(admin.store()), names);
    for ws in &everyone {
        for (id, heads) in ws.store().all_heads().unwrap() {
            assert_eq!(
                relay_heads.get(&id),
                Some(&heads),
                "{id} differs between the relay and device {}",
                ws.device()
            );
        }
    }
    assert_eq!(
        admin.store().all_heads().unwrap().len(),
        relay_heads.len(),
        "the admin holds every document"
    );
    println!("converged after {rounds} rounds with {relay_url}");
}

/// A stopped relay is backed up by reading its store; a backup is never overwritten;
/// restore refuses a non-empty data directory and a damaged backup, leaving nothing.
#[test]
fn backups_of_a_stopped_relay_and_restores_that_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let admin = admin(dir.path());
    let config = init_relay(dir.path(), "relay", "data_dir = \"data\"\n", &admin);
    let relay = RelayProc::start(&config, &[]);
    runtime()
        .block_on(sync_relay(&admin, &relay.url, NOW, &mut NoProgress))
        .unwrap();
    relay.stop();
    assert!(
        !dir.path().join("data/admin.json").exists(),
        "a stopped relay leaves no admin.json"
    );

    let good = dir.path().join("b1");
    let out = Command::new(bin())
        .current_dir(dir.path())
        .args(["backup", "--config"])
        .arg(&config)
        .args(["--out", "b1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("the relay was not running"), "{stdout}");
    assert!(stdout.contains("4 documents"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(good.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["workspace_id"], admin.workspace_id());
    assert_eq!(manifest["documents"], 4);
    assert_eq!(manifest["audit_rows"], 4);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(good.join("relay.redb"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the store copy holds the relay's secret key"
        );
    }
    // Never overwritten.
    let b = good.to_str().unwrap();
    let out = relay_cmd(&["backup", "--out", b], &config);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{out:?}"
    );

    // A non-empty data directory is refused and left as it was.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "keep me").unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(&target, "data_dir = \"busy\"\n").unwrap();
    let out = relay_cmd(&["restore", "--from", b], &target);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not empty") && err.contains("notes.txt"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);

    // One flipped byte in the store copy: the manifest no longer matches; nothing written.
    let bad = dir.path().join("bad");
    copy_dir(&good, &bad);
    let mut bytes = std::fs::read(bad.join("relay.redb")).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(bad.join("relay.redb"), bytes).unwrap();
    std::fs::write(&target, "data_dir = \"fresh\"\n").unwrap();
    let out = relay_cmd(&["restore", "--from", bad.to_str().unwrap()], &target);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("damaged") && err.contains("SHA-256"), "{err}");
    assert!(!dir.path().join("fresh").exists(), "nothing half written");
    // A manifest that is not one.
    std::fs::write(bad.join("manifest.json"), "{\"format\": 1").unwrap();
    let out = relay_cmd(&["restore", "--from", bad.to_str().unwrap()], &target);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a backup manifest"),
        "{out:?}"
    );
    assert!(!dir.path().join("fresh").exists());

    // The good copy restores, and the relay serves it: same workspace, same documents.
    let out = relay_cmd(&["restore", "--from", b], &target);
    assert!(out.status.success(), "{out:?}");
    let relay = RelayProc::start(&target, &[]);
    let m = relay.metrics();
    assert_eq!(metric(&m, "fieldcrm_relay_documents"), 4.0);
    let (sent, received) = sync(&runtime(), &admin, &relay.url, NOW + 1);
    assert_eq!(
        (sent, received),
        (0, 0),
        "the restored relay holds what the admin has"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The log in JSON mode is one JSON object per line, each session a span with the device
/// and what moved; refused devices are summed up; `/metrics` shows the store's size and
/// the time `/v1/findings` took.
#[test]
fn json_log_lines_and_metrics_of_store_size_and_policy_time() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, devices) = office(dir.path(), 1);
    let config = init_relay(
        dir.path(),
        "relay",
        "data_dir = \"data\"\nlog_refusals_secs = 1\n",
        &admin,
    );
    // A configuration problem is a JSON line too, and the relay does not start.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "admin_listen = \"0.0.0.0:9\"\n").unwrap();
    let out = relay_cmd(&["serve", "--log-format", "json"], &bad);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let line: serde_json::Value =
        serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(line["level"], "ERROR");
    assert!(
        line["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("loopback"),
        "{line}"
    );

    let relay = RelayProc::start(&config, &["--log-format", "json"]);
    let rt = runtime();
    sync(&rt, &admin, &relay.url, NOW);
    let rep = &devices[0];
    sync(&rt, rep, &relay.url, NOW);
    rep.add_customer(customer("甲公司"), NOW + 1).unwrap();
    sync(&rt, rep, &relay.url, NOW + 1);
    let real_now = jiff::Timestamp::now().as_millisecond();
    rt.block_on(fieldcrm_connect::relay_findings(
        rep,
        Some(&relay.url),
        real_now,
    ))
    .unwrap();
    // A stranger, refused a few times.
    let stranger = Workspace::join(&dir.path().join("stranger"), admin.workspace_id()).unwrap();
    for _ in 0..3 {
        assert!(
            rt.block_on(sync_relay(&stranger, &relay.url, NOW, &mut NoProgress))
                .is_err()
        );
    }

    let m = relay.metrics();
    let store_bytes = metric(&m, "fieldcrm_relay_store_bytes");
    let file_len = std::fs::metadata(dir.path().join("data/relay.redb"))
        .unwrap()
        .len();
    assert!(store_bytes > 0.0 && store_bytes == file_len as f64, "{m}");
    assert_eq!(metric(&m, "fieldcrm_relay_documents"), 5.0, "{m}");
    assert_eq!(
        metric(&m, "fieldcrm_relay_findings_duration_seconds_count"),
        1.0,
        "{m}"
    );
    assert!(
        metric(&m, "fieldcrm_relay_findings_duration_seconds_sum") > 0.0,
        "{m}"
    );
    assert!(
        m.contains("fieldcrm_relay_findings_duration_seconds_bucket{le=\"+Inf\"} 1"),
        "{m}"
    );
    assert!(metric(&m, "fieldcrm_relay_audit_bytes") > 0.0, "{m}");
    assert_eq!(
        metric(
            &m,
            "fieldcrm_relay_sessions_ended_total{transport=\"ws\",outcome=\"ok\"}"
        ),
        3.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "fieldcrm_relay_refusals_total{reason=\"not_enrolled\"}"),
        3.0
    );
    assert_eq!(
        metric(&m, "fieldcrm_relay_backups_total{outcome=\"ok\"}"),
        0.0,
        "{m}"
    );

    // Wait for the refusal summary (every second here), then stop.
    let started = Instant::now();
    while !relay
        .log()
        .contains("connections refused since the last summary")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            relay.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log_path = relay.log.clone();
    relay.stop();
    let log = std::fs::read_to_string(log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let msg = |v: &serde_json::Value| v["fields"]["message"].as_str().unwrap_or("").to_string();
    let ended: Vec<&serde_json::Value> =
        lines.iter().filter(|v| msg(v) == "session ended").collect();
    assert_eq!(ended.len(), 3, "{log}");
    let rep_key = rep.device().to_hex();
    let upload = ended
        .iter()
        .find(|v| v["span"]["device"] == rep_key.as_str() && v["fields"]["docs_received"] == 2)
        .unwrap_or_else(|| panic!("no session of the rep that delivered its customer:\n{log}"));
    assert_eq!(upload["span"]["name"], "session");
    assert_eq!(upload["span"]["transport"], "ws");
    assert_eq!(upload["span"]["user_name"], "rep00");
    assert!(
        upload["span"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(upload["fields"]["outcome"], "ok");
    assert!(upload["fields"]["bytes_in"].as_u64().unwrap() > 0);
    assert!(upload["fields"]["bytes_out"].as_u64().unwrap() > 0);
    assert!(upload["fields"]["duration_ms"].is_u64());
    let refused: Vec<_> = lines
        .iter()
        .filter(|v| msg(v) == "device refused")
        .collect();
    assert_eq!(refused.len(), 3, "{log}");
    assert!(
        refused[0]["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("not enrolled")
    );
    let summary = lines
        .iter()
        .find(|v| msg(v) == "connections refused since the last summary")
        .unwrap();
    assert!(
        summary["fields"]["by_reason"]
            .as_str()
            .unwrap()
            .contains("not_enrolled=3"),
        "{summary}"
    );
    for m in [
        "relay started",
        "findings computed",
        "shutting down: no new sessions",
        "relay stopped",
    ] {
        assert!(lines.iter().any(|v| msg(v) == m), "no `{m}` line in\n{log}");
    }
}
