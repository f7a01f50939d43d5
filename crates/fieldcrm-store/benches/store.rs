//! Store benchmarks: `cargo bench -p fieldcrm-store`.
//!
//! - raw fsync of a small write on the same disk (the floor for a durable save);
//! - import throughput: 100,000 customers created and saved in batches of 1,000;
//! - durable save of one small edit to an existing customer, p50/p99;
//! - listing and filtering the 100,000 customers from the index, with peak RSS measured
//!   in a fresh child process (VmHWM from /proc/self/status);
//! - opening the store, plainly and with full page verification.
//!
//! Set `FIELDCRM_BENCH_DIR` to put the store on another disk, `FIELDCRM_BENCH_N` to change
//! the number of customers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fieldcrm_model::{Contact, Customer, CustomerClass, DeviceKey, DocId, DocKind, Document};
use fieldcrm_store::{Filter, Store, StoreOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DEVICE: DeviceKey = DeviceKey([5; 32]);
const BATCH: usize = 1000;
const REGIONS: &[&str] = &[
    "上海", "北京", "深圳", "广州", "杭州", "南京", "成都", "武汉", "西安", "苏州",
];
const WORDS: &[&str] = &[
    "华东", "华南", "机械", "电子", "科技", "贸易", "制造", "化工", "医疗", "物流", "建材", "能源",
    "食品", "纺织", "汽车", "精密",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--list-child") {
        list_child(Path::new(&args[i + 1]));
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench binaries without `--bench`: stay quick.
        println!("fieldcrm-store benchmarks: run with `cargo bench -p fieldcrm-store`");
        return;
    }
    let n: usize = std::env::var("FIELDCRM_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let base = std::env::var("FIELDCRM_BENCH_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::tempdir_in(&base).expect("bench dir");
    println!("fieldcrm-store benchmarks ({n} customers, store in {base})");

    fsync_floor(dir.path());
    let path = dir.path().join("bench.fieldcrm");
    let ids = import(&path, n);
    small_edits(&path, &ids);
    list_in_child(&path);
    open_times(&path);
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn summarize(label: &str, mut t: Vec<Duration>) {
    t.sort();
    println!(
        "{label:<52} p50 {:>10}  p99 {:>10}  max {:>10}  (n={})",
        ms(pct(&t, 0.5)),
        ms(pct(&t, 0.99)),
        ms(*t.last().unwrap()),
        t.len()
    );
}

fn fsync_floor(dir: &Path) {
    use std::os::unix::fs::FileExt;
    let line = [b'x'; 200];
    // Appending grows the file, so each fdatasync also commits the new size.
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync-append"))
        .unwrap();
    let mut t = Vec::new();
    for _ in 0..300 {
        let s = Instant::now();
        f.write_all(&line).unwrap();
        f.sync_data().unwrap();
        t.push(s.elapsed());
    }
    summarize("raw fsync: append 200 B + fdatasync", t);
    // Overwriting inside a preallocated file, as redb does.
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(dir.join("fsync-inplace"))
        .unwrap();
    f.write_all_at(&vec![0u8; 1 << 20], 0).unwrap();
    f.sync_all().unwrap();
    let mut t = Vec::new();
    for k in 0..300u64 {
        let s = Instant::now();
        f.write_all_at(&line, (k % 1000) * 1024).unwrap();
        f.sync_data().unwrap();
        t.push(s.elapsed());
    }
    summarize("raw fsync: overwrite 200 B in place + fdatasync", t);
    // A bare redb commit of one small row (durability Immediate): the store's floor.
    let db = redb::Database::create(dir.join("bare.redb")).unwrap();
    let table: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("t");
    let mut t = Vec::new();
    for k in 0..300u64 {
        let s = Instant::now();
        let txn = db.begin_write().unwrap();
        txn.open_table(table)
            .unwrap()
            .insert(k, line.as_slice())
            .unwrap();
        txn.commit().unwrap();
        t.push(s.elapsed());
    }
    summarize("bare redb commit of one 200 B row (Immediate)", t);
}

fn customer(rng: &mut StdRng, i: usize) -> Customer {
    let name = format!(
        "{}{}{}有限公司 {i}",
        REGIONS[rng.gen_range(0..REGIONS.len())],
        WORDS[rng.gen_range(0..WORDS.len())],
        WORDS[rng.gen_range(0..WORDS.len())]
    );
    let mut c = Customer::new(name, 1_700_000_000_000);
    c.class = Some(CustomerClass::ALL[rng.gen_range(0..3)].clone());
    c.owner = Some(format!("u{}", rng.gen_range(0..50)));
    c.team = Some(format!("team-{}", rng.gen_range(0..8)));
    c.region = Some(REGIONS[rng.gen_range(0..REGIONS.len())].to_string());
    c.industry = Some("制造业".into());
    c.contacts.insert(
        fieldcrm_model::new_entity_id(),
        Contact {
            name: "张伟".into(),
            phone: Some(format!("138{:08}", rng.gen_range(0..100_000_000))),
            ..Default::default()
        },
    );
    c
}

fn import(path: &Path, n: usize) -> Vec<DocId> {
    let store = Store::create(path).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut ids = Vec::with_capacity(n);
    let (mut build, mut save) = (Duration::ZERO, Duration::ZERO);
    let all = Instant::now();
    let mut done = 0;
    while done < n {
        let m = BATCH.min(n - done);
        let s = Instant::now();
        let mut docs: Vec<Document> = (done..done + m)
            .map(|i| {
                Document::create(
                    DocId::random(),
                    &DEVICE,
                    1_700_000_000_000,
                    &customer(&mut rng, i),
                    "import",
                )
                .unwrap()
            })
            .collect();
        build += s.elapsed();
        let s = Instant::now();
        store.save_batch(&mut docs).unwrap();
        save += s.elapsed();
        ids.extend(docs.iter().map(|d| d.id().clone()));
        done += m;
    }
    let total = all.elapsed();
    let size = std::fs::metadata(path).unwrap().len();
    println!(
        "import {n} customers, batches of {BATCH}: {:.0} customers/s end to end ({:.1} s: build docs {:.1} s, store.save_batch {:.1} s = {:.0} customers/s); file {:.1} MiB",
        n as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        build.as_secs_f64(),
        save.as_secs_f64(),
        n as f64 / save.as_secs_f64(),
        size as f64 / (1 << 20) as f64
    );
    ids
}

fn small_edits(path: &Path, ids: &[DocId]) {
    let store = Store::open(path).unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let (mut saves, mut loads) = (Vec::new(), Vec::new());
    for k in 0..500 {
        let id = &ids[rng.gen_range(0..ids.len())];
        let s = Instant::now();
        let mut doc = store.load(id, &DEVICE).unwrap();
        loads.push(s.elapsed());
        doc.put(&["address"], &Some(format!("人民路 {k} 号")))
            .unwrap();
        doc.commit(1_700_000_001_000 + k, "address");
        let s = Instant::now();
        store.save(&mut doc).unwrap();
        saves.push(s.elapsed());
    }
    summarize("load one customer (snapshot + change rows)", loads);
    summarize("durable save, one small edit, random customer", saves);

    // One customer edited over and over: every 64th save also compacts.
    let id = &ids[0];
    let mut doc = store.load(id, &DEVICE).unwrap();
    let mut saves = Vec::new();
    for k in 0..640 {
        doc.put(&["address"], &Some(format!("人民路 {k} 号")))
            .unwrap();
        doc.commit(1_700_000_002_000 + k, "address");
        let s = Instant::now();
        store.save(&mut doc).unwrap();
        saves.push(s.elapsed());
    }
    let st = store.storage(id).unwrap().unwrap();
    summarize(
        &format!(
            "durable save, same customer x640 (compacts / {})",
            store.options().compact_after_changes
        ),
        saves,
    );
    println!(
        "  that customer now: snapshot {} B, {} pending change rows ({} B)",
        st.snapshot_bytes, st.pending_changes, st.pending_bytes
    );
}

fn list_in_child(path: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--list-child")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn time<T>(label: &str, reps: usize, mut f: impl FnMut() -> T) -> T {
    let mut t = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let s = Instant::now();
        last = Some(f());
        t.push(s.elapsed());
    }
    summarize(label, t);
    last.unwrap()
}

fn list_child(path: &Path) {
    let start = vm_hwm_kib();
    let store = Store::open(path).unwrap();
    let total = store.len().unwrap();
    let f = Filter::default()
        .kind(DocKind::Customer)
        .owner("u7")
        .class("key");
    let by_owner = time(&format!("filter {total}: kind+owner+class"), 5, || {
        store.list(&f).unwrap()
    })
    .len();
    let f = Filter::default().name_contains("机械电子");
    let by_name = time(
        &format!("filter {total}: name contains \"机械电子\""),
        5,
        || store.list(&f).unwrap(),
    )
    .len();
    let f = Filter::default().region("上海").team("team-3");
    time(&format!("filter {total}: region+team"), 5, || {
        store.list(&f).unwrap()
    });
    let hwm_filter = vm_hwm_kib();
    let all = time(
        &format!("list all {total} (no filter), sorted by name"),
        5,
        || store.list(&Filter::default()).unwrap(),
    );
    let n = all.len();
    drop(all);
    let hwm_all = vm_hwm_kib();
    let some = store.list(&Filter::default().owner("u1")).unwrap();
    let prefix = &some[0].id.as_str()[..6];
    time("resolve 6-char ID prefix", 50, || {
        store.resolve(None, prefix).unwrap()
    });
    let name = some[0].summary.name.clone();
    time("resolve exact name", 50, || {
        store.resolve(Some(&DocKind::Customer), &name).unwrap()
    });
    time("all_heads (sync scan)", 5, || {
        store.all_heads().unwrap().len()
    });
    println!(
        "  {by_owner} match owner+class, {by_name} match the name, {n} listed in all; peak RSS (VmHWM): {:.1} MiB at start, {:.1} MiB after the filters, {:.1} MiB after listing all",
        start as f64 / 1024.0,
        hwm_filter as f64 / 1024.0,
        hwm_all as f64 / 1024.0,
    );
}

fn open_times(path: &Path) {
    let s = Instant::now();
    drop(Store::open(path).unwrap());
    let plain = s.elapsed();
    let s = Instant::now();
    drop(Store::open_with(path, StoreOptions::default().verify_on_open(true)).unwrap());
    let verify = s.elapsed();
    println!(
        "open the store: {} plain, {} with verify_on_open (every page checked)",
        ms(plain),
        ms(verify)
    );
}
