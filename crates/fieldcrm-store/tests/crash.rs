//! Crash safety: a writer process doing durable saves is killed with SIGKILL at random
//! points, over and over; after each kill the store opens and every write the writer
//! acknowledged (printed after `save` returned) is there.
//!
//! The writer is this test binary run again with `FIELDCRM_CRASH_WRITER` set, selecting
//! the `writer_process` test, which is a no-op in a normal run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldcrm_model::{Contact, Customer, DeviceKey, DocId, Document};
use fieldcrm_store::{Filter, OpenError, Store, StoreOptions};
use rand::Rng;

const WRITER_ENV: &str = "FIELDCRM_CRASH_WRITER";
const ROUND_ENV: &str = "FIELDCRM_CRASH_ROUND";
const DEVICE: DeviceKey = DeviceKey([9; 32]);

/// Small thresholds so compactions happen often while the writer is being killed.
fn options() -> StoreOptions {
    StoreOptions::default().compact_after_changes(6)
}

/// The writer: an endless loop of durable saves, each acknowledged on stdout as
/// `ACK <doc id> <contact key>` after `save` returned.
#[test]
fn writer_process() {
    let Ok(path) = std::env::var(WRITER_ENV) else {
        return; // normal test run: nothing to do
    };
    let round: u64 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let store = if Path::new(&path).exists() {
        Store::open_with(&path, options()).unwrap()
    } else {
        Store::create_with(&path, options()).unwrap()
    };
    let mut docs: Vec<Document> = store
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|l| store.load(&l.id, &DEVICE).unwrap())
        .collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nREADY").unwrap();
    out.flush().unwrap();
    let mut rng = rand::thread_rng();
    for i in 0u64.. {
        let key = format!("r{round}-w{i}");
        let roll = rng.gen_range(0..10);
        if docs.len() < 4 || roll == 0 {
            // A new customer, created with the write's key as its first contact.
            let mut c = Customer::new(format!("客户 {key}"), i as i64);
            c.contacts.insert(key.clone(), contact(&key));
            let mut doc = Document::create(DocId::random(), &DEVICE, i as i64, &c, "new").unwrap();
            store.save(&mut doc).unwrap();
            writeln!(out, "ACK {} {key}", doc.id()).unwrap();
            docs.push(doc);
        } else if roll == 1 {
            // A batch: one edit to each of several documents in one transaction.
            let n = docs.len().min(5);
            let start = rng.gen_range(0..docs.len() - n + 1);
            let batch = &mut docs[start..start + n];
            for (j, d) in batch.iter_mut().enumerate() {
                d.put(&["contacts", &format!("{key}-{j}")], &contact(&key))
                    .unwrap();
                d.commit(i as i64, "batch");
            }
            store.save_batch(batch).unwrap();
            for (j, d) in batch.iter().enumerate() {
                writeln!(out, "ACK {} {key}-{j}", d.id()).unwrap();
            }
        } else {
            let d = rng.gen_range(0..docs.len());
            let doc = &mut docs[d];
            doc.put(&["contacts", &key], &contact(&key)).unwrap();
            doc.commit(i as i64, "edit");
            store.save(doc).unwrap();
            writeln!(out, "ACK {} {key}", doc.id()).unwrap();
        }
        out.flush().unwrap();
    }
}

fn contact(key: &str) -> Contact {
    Contact {
        name: format!("联系人 {key}"),
        phone: Some("13800000000".into()),
        ..Default::default()
    }
}

fn spawn_writer(path: &Path, round: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, path)
        .env(ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Read lines until `READY`; panics with the writer's stderr if it exits first.
fn wait_ready(child: &mut Child, lines: &mut impl BufRead) {
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("writer exited before it was ready: {err}");
        }
        // libtest may print `test writer_process ... ` on the same line first.
        if line.trim_end().ends_with("READY") {
            return;
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.fieldcrm");
    drop(Store::create_with(&path, options()).unwrap());
    // doc id -> contact keys acknowledged so far
    let mut acked: BTreeMap<DocId, Vec<String>> = BTreeMap::new();
    let mut total = 0usize;
    let mut rng = rand::thread_rng();
    let rounds = 24;
    for round in 0..rounds {
        let mut child = spawn_writer(&path, round);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        wait_ready(&mut child, &mut out);
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Everything the writer printed before it died is still in the pipe.
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        let mut this_round = 0;
        for line in rest.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let mut parts = line.split_whitespace();
            if parts.next() != Some("ACK") {
                continue;
            }
            let id: DocId = parts.next().unwrap().parse().unwrap();
            acked
                .entry(id)
                .or_default()
                .push(parts.next().unwrap().to_string());
            this_round += 1;
        }
        total += this_round;

        let store = match Store::open(&path) {
            Ok(s) => s,
            Err(e) => panic!("round {round}: store does not open after SIGKILL: {e}"),
        };
        for (id, keys) in &acked {
            let doc = store
                .load(id, &DEVICE)
                .unwrap_or_else(|e| panic!("round {round}: acknowledged document lost: {e}"));
            let c: Customer = doc.hydrate().unwrap();
            for k in keys {
                assert!(
                    c.contacts.contains_key(k),
                    "round {round}: acknowledged write {k} to {id} is missing"
                );
            }
            assert!(store.summary(id).unwrap().is_some());
        }
        let heads = store.all_heads().unwrap();
        assert!(heads.len() >= acked.len());
        drop(store);
    }
    assert!(total > rounds as usize, "only {total} writes acknowledged");
    eprintln!(
        "{rounds} kills, {total} acknowledged writes to {} documents, all present ({:.1} s)",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn second_process_gets_in_use_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.fieldcrm");
    drop(Store::create_with(&path, options()).unwrap());
    let mut child = spawn_writer(&path, 0);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    wait_ready(&mut child, &mut out);
    let err = Store::open(&path).unwrap_err();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(matches!(err, OpenError::InUse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("in use by another fieldcrm process")
    );
    // Once the other process is gone the store opens.
    Store::open(&path).unwrap();
}
