//! Load benchmark: N simulated devices (default 200) each sync a day's offline work with
//! one relay process on this machine.
//!
//! `cargo bench -p fieldcrm-relay --bench load` (release). Environment:
//! `DEVICES` (200), `CUSTOMERS` per device (5), `INTERACTIONS` per customer (3).
//!
//! Setup (not timed): an admin workspace with one rep per device, every device enrolled;
//! the relay (the release `fieldcrm-relay` binary, its own process, WebSocket on loopback)
//! is bootstrapped by the admin and every device's first sync brings the roster. Then each
//! device works offline (new customers with a contact and interactions), and all devices
//! sync at once ("everyone back at the office at 6 pm"): per-device latency is connect +
//! challenge + session + close. A second round with nothing changed follows. The relay's
//! peak RSS is its VmHWM. Devices run in this process (a thread and a runtime each) on the
//! same 2 cores as the relay;
//! they all share 127.0.0.1, so the per-address cap on unauthenticated connections is
//! raised to the session cap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldcrm_model::{Contact, InteractionKind, Role};
use fieldcrm_net::{WsConfig, connect_ws, drive};
use fieldcrm_workspace::{InitOptions, NewCustomer, Workspace};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One sync; returns (latency, docs received, docs sent).
async fn sync(url: &str, ws: &Workspace) -> Result<(Duration, u64, u64), String> {
    let started = Instant::now();
    let secret = ws.secret().clone();
    let mut conn = connect_ws(
        url,
        ws.device(),
        ws.workspace_id(),
        move |m| secret.sign(m),
        &WsConfig::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut s = ws.relay_session().map_err(|e| e.to_string())?;
    let mut host = ws.sync_host();
    drive(&mut conn, &mut s, &mut host, |_| {})
        .await
        .map_err(|e| e.to_string())?;
    conn.finish().await.map_err(|e| e.to_string())?;
    let r = s.report();
    if !r.refused_by_peer.is_empty() {
        return Err(format!("refused: {:?}", r.refused_by_peer));
    }
    Ok((started.elapsed(), r.docs_saved, r.docs_sent))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The relay process's CPU time so far (user + system).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

struct Round {
    total: Duration,
    latencies: Vec<Duration>,
    errors: Vec<String>,
    received: u64,
    sent: u64,
}

/// All `devices` sync at once. Each runs on a thread of its own with its own runtime, as
/// a device is a machine of its own: on shared runtime workers, a device's sync steps
/// (which call its store in line, as the app's do) kept the others' connections from
/// answering the relay's challenge in time on a slow VM (authentication timeouts that
/// no real device would meet). The OS shares the 2 cores among them instead.
async fn round(url: &str, devices: &[Workspace]) -> Round {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for ws in devices {
        let ws = ws.clone();
        let url = url.to_string();
        tasks.push(tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(sync(&url, &ws))
        }));
    }
    let mut r = Round {
        total: Duration::ZERO,
        latencies: Vec::new(),
        errors: Vec::new(),
        received: 0,
        sent: 0,
    };
    for t in tasks {
        match t.await {
            Ok(Ok((d, recv, sent))) => {
                r.latencies.push(d);
                r.received += recv;
                r.sent += sent;
            }
            Ok(Err(e)) => r.errors.push(e),
            Err(e) => r.errors.push(e.to_string()),
        }
    }
    r.total = started.elapsed();
    r.latencies.sort();
    r
}

fn report(name: &str, r: &Round) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: {} devices in {:.0} ms total; per device p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} docs up, {} docs down; errors {}",
        r.latencies.len() + r.errors.len(),
        ms(r.total),
        ms(percentile(&r.latencies, 0.5)),
        ms(percentile(&r.latencies, 0.99)),
        ms(*r.latencies.last().unwrap()),
        r.sent,
        r.received,
        r.errors.len()
    );
    for e in r.errors.iter().take(5) {
        println!("  error: {e}");
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env("DEVICES", 200);
    let customers = env("CUSTOMERS", 5);
    let interactions = env("INTERACTIONS", 3);
    let dir = tempfile::tempdir().unwrap();
    let now = 1_795_000_000_000;

    let t = Instant::now();
    let admin = Workspace::init(
        &dir.path().join("admin"),
        &InitOptions::admin("管理员", "ACME", "office"),
        now,
    )
    .unwrap();
    let mut devices = Vec::new();
    for i in 0..n {
        let name = format!("rep{i:03}");
        admin
            .add_user(&name, Role::Rep, Some(format!("team{}", i % 10)), None, now)
            .unwrap();
        let ws = Workspace::join(&dir.path().join(&name), admin.workspace_id()).unwrap();
        admin
            .enroll_device(&ws.device(), &name, "phone", now)
            .unwrap();
        devices.push(ws);
    }

    let data = dir.path().join("relay");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("relay.toml"),
        "data_dir = \".\"\niroh_listen = \"127.0.0.1:0\"\nhttp_listen = \"127.0.0.1:0\"\n[limits]\nmax_sessions = 1024\nmax_preauth = 1024\nmax_preauth_per_ip = 1024\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_fieldcrm-relay");
    let init = Command::new(bin)
        .args(["init", "--config"])
        .arg(data.join("relay.toml"))
        .args(["--workspace", admin.workspace_id()])
        .args(["--admin-device", &admin.device().to_hex()])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let mut relay = Command::new(bin)
        .args(["serve", "--config"])
        .arg(data.join("relay.toml"))
        .args(["--iroh", "off"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    for line in BufReader::new(relay.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("http: ") {
            url = u.to_string();
        }
        if line == "ready" {
            break;
        }
    }
    let pid = relay.id();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let devices = Arc::new(devices);
    rt.block_on(async {
        sync(&url, &admin).await.unwrap();
        let first = round(&url, &devices).await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        println!(
            "setup: {n} devices enrolled and holding the roster in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    });

    // A day offline.
    let t = Instant::now();
    for (i, ws) in devices.iter().enumerate() {
        for c in 0..customers {
            let id = ws
                .add_customer(
                    NewCustomer {
                        name: format!("客户{i:03}-{c}"),
                        credit_code: None,
                        industry: Some("制造业".into()),
                        region: Some("上海".into()),
                        address: Some(format!("上海市浦东新区{c}号")),
                        class: None,
                        annual_value: None,
                        owner: None,
                        team: None,
                    },
                    now + 1000,
                )
                .unwrap();
            ws.add_contact(
                &id,
                Contact {
                    name: format!("联系人{c}"),
                    phone: Some("13800000000".into()),
                    ..Default::default()
                },
                now + 2000,
            )
            .unwrap();
            for k in 0..interactions {
                ws.log_interaction(
                    &id,
                    InteractionKind::Visit,
                    now + 3000 + k as i64,
                    "现场拜访,讨论年度采购计划",
                    None,
                    now + 3000 + k as i64,
                )
                .unwrap();
            }
        }
    }
    println!(
        "offline work: {} customers, {} interactions in {:.1} s",
        n * customers,
        n * customers * interactions,
        t.elapsed().as_secs_f64()
    );

    rt.block_on(async {
        let cpu = cpu_time(pid);
        let day = round(&url, &devices).await;
        report("end of day (all at once)", &day);
        let cpu_day = cpu_time(pid) - cpu;
        let again = round(&url, &devices).await;
        report("again, nothing changed (all at once)", &again);
        let cpu_again = cpu_time(pid) - cpu - cpu_day;
        // One device at a time: the latency of a sync on an otherwise idle relay.
        let started = Instant::now();
        let mut alone = Round {
            total: Duration::ZERO,
            latencies: Vec::new(),
            errors: Vec::new(),
            received: 0,
            sent: 0,
        };
        for ws in devices.iter() {
            match sync(&url, ws).await {
                Ok((d, _, _)) => alone.latencies.push(d),
                Err(e) => alone.errors.push(e),
            }
        }
        alone.total = started.elapsed();
        alone.latencies.sort();
        report("again, one device at a time", &alone);
        println!(
            "relay CPU: {:.2} s for the end-of-day round ({:.1} ms per device), {:.2} s for the no-change round ({:.1} ms per device)",
            cpu_day.as_secs_f64(),
            cpu_day.as_secs_f64() * 1000.0 / n as f64,
            cpu_again.as_secs_f64(),
            cpu_again.as_secs_f64() * 1000.0 / n as f64,
        );
        let errors = day.errors.len() + again.errors.len() + alone.errors.len();
        let docs = devices
            .iter()
            .map(|d| d.store().all_heads().unwrap().len())
            .sum::<usize>();
        println!(
            "relay peak RSS (VmHWM): {:.1} MiB; devices hold {docs} documents; errors {errors}",
            vm_hwm_kib(pid) as f64 / 1024.0
        );
        assert_eq!(errors, 0);
        assert_eq!(day.sent as usize, n * customers);
    });
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = relay.wait();
}
