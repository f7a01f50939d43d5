//! What signed changes cost a user: one edit through the real store, a new device's
//! first sync through real sessions and redb stores, and the bare sign/verify per change.
//!
//! `cargo bench -p fieldcrm-workspace --bench signing [-- N]` (N customers, default
//! 10,000). Without `signing_cost` the same file builds against the last commit before
//! signatures (the Kit API is unchanged), which is how BENCHMARKS.md compares the two.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use fieldcrm_model::Role;
use fieldcrm_testkit::{Kit, TEAM};
use fieldcrm_workspace::CustomerEdit;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let kit = Kit::new();
    let admin = kit.admin("王经理");
    let mut csv = String::from("名称,行业,分类,负责人,联系人,电话\n");
    for i in 0..n {
        csv.push_str(&format!(
            "华东机电{i}号有限公司,制造业,一般,王经理,陈先生{i},138-0000-{:04}\n",
            i % 10_000
        ));
    }
    let t = Instant::now();
    admin.import_customers_csv(&csv, kit.now()).unwrap();
    let import_s = t.elapsed().as_secs_f64();

    // One edit, as a user makes it: resolve, edit, commit, durable save.
    let ids: Vec<_> = admin
        .list(&fieldcrm_store::Filter::default().kind(fieldcrm_model::DocKind::Customer))
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    let mut edits = Vec::new();
    for (k, id) in ids.iter().step_by((n / 300).max(1)).enumerate() {
        let now = kit.advance(1_000);
        let t = Instant::now();
        admin
            .edit_customer_fields(
                id,
                CustomerEdit {
                    industry: Some(format!("行业{k}")),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        edits.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = (percentile(&mut edits, 0.5), percentile(&mut edits, 0.99));

    // A new customer file, as a rep registers one: the file and its claim in the Sales
    // document (which holds every file's claim), in one durable transaction.
    let mut adds = Vec::new();
    for k in 0..30 {
        let now = kit.advance(1_000);
        let t = Instant::now();
        admin
            .add_customer(
                fieldcrm_workspace::NewCustomer {
                    name: format!("新登记客户{k}有限公司"),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        adds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let add_p50 = percentile(&mut adds, 0.5);

    // A new manager's device: joined, enrolled, then its first sync of everything.
    admin
        .add_user("李经理", Role::Manager, Some(TEAM.into()), None, kit.now())
        .unwrap();
    let dev = kit.joined(&admin);
    admin
        .enroll_device(&dev.device(), "李经理", "phone", kit.now())
        .unwrap();
    // The admin's claims on the files it owns go out with its next sync: the first time
    // for all of them, later only for the files that changed.
    let t = Instant::now();
    let claimed = admin.before_sync(kit.now()).unwrap();
    let claims_first_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let synced = kit.sync(&dev, &admin);
    let sync_s = t.elapsed().as_secs_f64();
    admin
        .edit_customer_fields(
            ids.first().unwrap(),
            CustomerEdit {
                name: Some("华东机电改名有限公司".into()),
                ..Default::default()
            },
            kit.advance(1_000),
        )
        .unwrap();
    let t = Instant::now();
    let claimed_again = admin.before_sync(kit.now()).unwrap();
    let claims_again_ms = t.elapsed().as_secs_f64() * 1000.0;
    let docs = dev.store().all_heads().unwrap().len();

    println!("customers: {n}");
    println!("import: {import_s:.2} s");
    println!(
        "one edit (edit_customer_fields, durable): p50 {p50:.3} ms, p99 {p99:.3} ms over {} edits",
        edits.len()
    );
    println!("one new customer file (with its claim, durable): p50 {add_p50:.3} ms over 30");
    println!(
        "claims before the admin's first sync: {claimed} written in {claims_first_s:.2} s; after one renamed file: {claimed_again} in {claims_again_ms:.1} ms"
    );
    println!(
        "first sync of a new device: {docs} documents in {sync_s:.2} s = {:.0} documents/s, {} bytes received",
        docs as f64 / sync_s,
        synced.a.bytes_received
    );
    println!("peak RSS: {:.1} MiB", peak_rss_mib());
    signing_cost();
}

fn signing_cost() {
    use automerge::ChangeHash;
    use fieldcrm_model::DeviceSecret;
    let s = DeviceSecret::from_bytes(&[7; 32]).unwrap();
    let actor = s.public().actor();
    let hashes: Vec<ChangeHash> = (0..10_000u32)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            ChangeHash(h)
        })
        .collect();
    let t = Instant::now();
    let sigs: Vec<_> = hashes.iter().map(|h| s.sign_change(h)).collect();
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / hashes.len() as f64;
    let t = Instant::now();
    for (h, sig) in hashes.iter().zip(&sigs) {
        fieldcrm_model::sig::verify_change(&actor, h, Some(sig)).unwrap();
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / hashes.len() as f64;
    println!("sign one change: {sign_us:.1} µs; verify one change: {verify_us:.1} µs");
    println!(
        "extra bytes per change: 64 in a sync message or bundle as changes, 96 with a whole document; stored: a 64-byte row keyed by (document, change hash)"
    );
}
