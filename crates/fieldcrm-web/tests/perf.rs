//! Page server times at 10,000 and 100,000 customers: the app's router driven in-process
//! (`tower::ServiceExt::oneshot`, no socket), the data written in bulk through the store
//! (`Store::save_batch`). A benchmark, not a timed test: it prints figures and checks only
//! that the pages answer 200. Run in release:
//!
//! ```sh
//! cargo test --release -p fieldcrm-web --test perf -- --ignored --nocapture
//! ```
//!
//! Goals: ≤ 50 ms per page at 10,000 customers, ≤ 150 ms at 100,000.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    missing_docs
)]

use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcrm_model::{Customer, CustomerClass, DocId, Document, InteractionKind, Millis, Role};
use fieldcrm_workspace::{InitOptions, Workspace};
use tower::ServiceExt;

const PORT: u16 = 4242;
const HOST: &str = "127.0.0.1:4242";
const SECRET: &str = "perf-secret";
/// 2026-11-29T09:00:00+08:00.
const NOW: Millis = 1_795_914_000_000;

const CITIES: [(&str, &str); 10] = [
    ("上海", "华东"),
    ("苏州", "华东"),
    ("杭州", "华东"),
    ("南京", "华东"),
    ("广州", "华南"),
    ("深圳", "华南"),
    ("北京", "华北"),
    ("天津", "华北"),
    ("成都", "西南"),
    ("武汉", "华中"),
];
const WORDS: [&str; 16] = [
    "华东",
    "精密",
    "机电",
    "电气",
    "贸易",
    "科技",
    "新材料",
    "自动化",
    "仪器",
    "传感",
    "东方",
    "恒通",
    "鑫源",
    "宏达",
    "博远",
    "智能",
];
const SUFFIX: [&str; 3] = ["有限公司", "股份有限公司", "集团有限公司"];

/// A workspace of `n` customers owned by its (manager) user; returns one customer with a
/// few visits to open.
fn fill(home: &Path, n: usize) -> DocId {
    let opts = InitOptions {
        user: "王经理".into(),
        role: Role::Manager,
        team: Some("华东一组".into()),
        region: Some("华东".into()),
        company: "示例科技".into(),
        device_label: "perf".into(),
    };
    let ws = Workspace::init(home, &opts, NOW - 86_400_000).unwrap();
    let me = ws.me().unwrap();
    let device = ws.device();
    let mut seed: u64 = 7;
    let mut next = |m: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % m
    };
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..n {
        let (city, region) = CITIES[next(CITIES.len())];
        let name = format!(
            "{city}{}{}{}{}",
            WORDS[next(WORDS.len())],
            WORDS[next(WORDS.len())],
            i,
            SUFFIX[next(SUFFIX.len())]
        );
        let mut c = Customer::new(name, NOW - 45 * 86_400_000);
        c.region = Some(region.into());
        c.industry = Some("制造业".into());
        c.address = Some(format!("{city}市工业园区 {} 号", i % 999 + 1));
        c.class = Some(match i % 3 {
            0 => CustomerClass::Key,
            1 => CustomerClass::General,
            _ => CustomerClass::Potential,
        });
        c.owner = Some(me.user_id.clone());
        c.team = Some("华东一组".into());
        batch.push(
            Document::create(
                DocId::random(),
                &device,
                NOW - 45 * 86_400_000,
                &c,
                "新建客户",
            )
            .unwrap(),
        );
        if batch.len() == 5_000 {
            ws.store().save_batch(&mut batch).unwrap();
            batch.clear();
        }
    }
    ws.store().save_batch(&mut batch).unwrap();
    let one = ws
        .add_customer(
            fieldcrm_workspace::NewCustomer {
                name: "华东机电有限公司".into(),
                industry: Some("制造业".into()),
                region: Some("华东".into()),
                address: Some("上海市浦东新区张江路 88 号".into()),
                class: Some(CustomerClass::Key),
                ..Default::default()
            },
            NOW - 20 * 86_400_000,
        )
        .unwrap();
    for (d, s) in [(20, "首次拜访"), (9, "电话确认样品反馈"), (2, "现场演示")] {
        ws.log_interaction(
            &one,
            InteractionKind::Visit,
            NOW - d * 86_400_000,
            s,
            None,
            NOW - d * 86_400_000,
        )
        .unwrap();
    }
    println!(
        "  wrote {n} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    one
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> (StatusCode, Vec<u8>, String) {
    let mut req = Request::get(path).header(header::HOST, HOST);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec(), set_cookie)
}

fn measure(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("ws");
    println!("{n} customers:");
    let one = fill(&home, n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = fieldcrm_web::router(home.clone(), SECRET.into(), PORT, Some(NOW));
        let (status, _, cookie) = get(&app, &format!("/login?k={SECRET}"), None).await;
        assert!(status.is_redirection(), "{status}");
        let customer = format!("/customers/{one}");
        let search = "/customers/results?q=hdjd".to_string();
        for path in ["/", "/customers", customer.as_str(), search.as_str()] {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..7 {
                let t = Instant::now();
                let (status, body, _) = get(&app, path, Some(&cookie)).await;
                times.push(t.elapsed());
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{path}: {}",
                    String::from_utf8_lossy(&body)
                );
                size = body.len();
            }
            let first = times[0];
            let mut warm = times[1..].to_vec();
            warm.sort();
            let median = warm[warm.len() / 2];
            let worst = *warm.last().unwrap_or(&Duration::ZERO);
            println!(
                "  {path:<45} first {:>7.1} ms  median {:>7.1} ms  worst {:>7.1} ms  ({} KiB)",
                ms(first),
                ms(median),
                ms(worst),
                size / 1024
            );
        }
        // What a rep meets after saving: a visit logged (through another handle, as a
        // form or the CLI does), then each page once.
        let ws = Workspace::open(&home).unwrap();
        ws.log_interaction(
            &one,
            InteractionKind::Visit,
            NOW - 3_600_000,
            "回访",
            None,
            NOW,
        )
        .unwrap();
        drop(ws);
        for path in ["/", "/customers", customer.as_str(), search.as_str()] {
            let t = Instant::now();
            let (status, _, _) = get(&app, path, Some(&cookie)).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            println!("  {path:<45} after an edit {:>7.1} ms", ms(t.elapsed()));
        }
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn page_times_at_10k_customers() {
    measure(10_000);
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn page_times_at_100k_customers() {
    measure(100_000);
}
