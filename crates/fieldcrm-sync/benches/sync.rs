//! Sync cost on generated workspaces of customer files: round trips, messages, bytes.
//!
//! `cargo bench -p fieldcrm-sync` prints a Markdown table (see BENCHMARKS.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::time::Instant;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};
use fieldcrm_model::{DeviceSecret, DocId};
use fieldcrm_sync::Unrestricted;
use fieldcrm_sync::sim::{Faults, MemoryHost, PairOutcome, SimRng, fixtures, secret, sync_pair};

const WS: &str = "0123456789abcdef0123456789abcdef";

fn workspace(n: usize, seed: u64) -> MemoryHost {
    let mut rng = SimRng::new(seed);
    let mut h = MemoryHost::new(secret(1));
    let device = h.device();
    for i in 0..n {
        let owner = format!("rep{}", i % 40);
        let mut d = fixtures::customer(&mut rng, &device, &owner, 1_700_000_000_000 + i as i64);
        h.put(&mut d);
    }
    h
}

/// Another device's store holding the same documents and signatures.
fn copy_for(secret: DeviceSecret, h: &MemoryHost) -> MemoryHost {
    let mut out = MemoryHost::new(secret);
    for id in h.ids() {
        out.copy_from(h, id);
    }
    out
}

fn run(a: &mut MemoryHost, b: &mut MemoryHost) -> (PairOutcome, f64) {
    let mut net = SimRng::new(1);
    let t = Instant::now();
    let o = sync_pair(
        WS,
        a,
        Unrestricted,
        b,
        Unrestricted,
        Faults::NONE,
        &mut net,
        None,
    );
    let secs = t.elapsed().as_secs_f64();
    assert!(o.finished(), "{o:?}");
    (o, secs)
}

/// Edit `ids` on `h` (it names them in its next session); returns the compressed size
/// of the new changes.
fn edit_all(h: &mut MemoryHost, ids: &[DocId], rng: &mut SimRng, now: i64) -> usize {
    let mut size = 0;
    for id in ids {
        let mut d = h.document(id).unwrap();
        let before: Vec<ChangeHash> = d.heads();
        fixtures::edit(rng, &mut d, "rep1", now);
        for mut c in d.automerge_mut().get_changes(&before) {
            size += c.bytes().len();
        }
        h.put(&mut d);
        // Named in the next session, as a real host names what its change log says.
        h.named.push(id.clone());
    }
    size
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this as a smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let mut rows = Vec::new();

    for &n in sizes {
        let t = Instant::now();
        let mut a = workspace(n, n as u64);
        let mut b = copy_for(secret(2), &a);
        eprintln!(
            "generated {n} documents in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        if n <= 10_000 {
            let (r, m, by) = per_document_automerge(&a, &b);
            rows.push(format!(
                "| *baseline: Automerge sync per document*, nothing changed, {n} docs | {r} | {m} | {by} | | lower bound for samod (no framing) |"
            ));
        }
        let (o, secs) = run(&mut a, &mut b);
        assert_eq!(a.loads + b.loads, 0);
        rows.push(format!(
            "| reconnect, nothing changed, {n} docs | {} | {} | {} | {:.1} ms | 0 docs loaded |",
            o.round_trips,
            o.messages,
            o.bytes,
            secs * 1e3
        ));
        if n == 10_000 || (quick && n == 1_000) {
            changed_one_percent(&mut a, &mut b, n, &mut rows);
            changed_on_one_side(&mut a, &mut b, n, &mut rows);
            first_sync(&a, n, &mut rows);
        }
    }
    println!("| scenario | round trips | messages | bytes | time | notes |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}

fn changed_one_percent(a: &mut MemoryHost, b: &mut MemoryHost, n: usize, rows: &mut Vec<String>) {
    let mut rng = SimRng::new(99);
    let ids: Vec<DocId> = a.ids().cloned().collect();
    let k = n / 100;
    // Different documents on each side, picked at random.
    let mut picked: Vec<DocId> = Vec::new();
    while picked.len() < 2 * k {
        let id = &ids[(rng.next_u64() % ids.len() as u64) as usize];
        if !picked.contains(id) {
            picked.push(id.clone());
        }
    }
    let new_bytes = edit_all(a, &picked[..k], &mut rng, 1_800_000_000_000)
        + edit_all(b, &picked[k..], &mut rng, 1_800_000_000_001);
    let loads = a.loads + b.loads;
    let (r, m, by) = per_document_automerge(a, b);
    let (o, secs) = run(a, b);
    assert_eq!(a.heads(), b.heads());
    let changed = 2 * k;
    rows.push(format!(
        "| *baseline: Automerge sync per document*, 1% changed on each side, {n} docs | {r} | {m} | {by} | | lower bound for samod (no framing) |"
    ));
    let budget = new_bytes * 3 / 2 + 100 * changed;
    rows.push(format!(
        "| 1% changed on each side ({changed} of {n} docs) | {} | {} | {} | {:.1} ms | new changes {new_bytes} B compressed; budget 1.5× + 100 B/doc = {budget} B ({}); overhead {:.0} B/changed doc; {} docs loaded |",
        o.round_trips,
        o.messages,
        o.bytes,
        secs * 1e3,
        if (o.bytes as usize) <= budget { "met" } else { "MISSED" },
        (o.bytes as f64 - new_bytes as f64) / changed as f64,
        a.loads + b.loads - loads,
    ));
    // And the same with half of them edited on both sides (concurrent edits).
    let mut rng = SimRng::new(7);
    let both: Vec<DocId> = picked[..k].to_vec();
    let new_bytes = edit_all(a, &both, &mut rng, 1_900_000_000_000)
        + edit_all(b, &both, &mut rng, 1_900_000_000_001);
    let (o, secs) = run(a, b);
    assert_eq!(a.heads(), b.heads());
    let budget = new_bytes * 3 / 2 + 100 * k;
    rows.push(format!(
        "| same {k} docs edited on both sides, {n} docs | {} | {} | {} | {:.1} ms | new changes {new_bytes} B; budget {budget} B ({}) |",
        o.round_trips,
        o.messages,
        o.bytes,
        secs * 1e3,
        if (o.bytes as usize) <= budget { "met" } else { "MISSED" },
    ));
}

/// The Automerge sync protocol run once per document, as automerge-repo / samod do (one
/// sync session per document, fresh sync state per connection), all documents in
/// parallel. Counts Automerge sync messages only (no repo framing): a lower bound for samod.
fn per_document_automerge(a: &MemoryHost, b: &MemoryHost) -> (u64, u64, u64) {
    let (mut rounds, mut messages, mut bytes) = (0u64, 0u64, 0u64);
    for id in a.ids() {
        let da = Automerge::load(a.bytes(id).unwrap()).unwrap();
        let mut da = da;
        let mut db = Automerge::load(b.bytes(id).unwrap()).unwrap();
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        let mut doc_rounds = 0;
        loop {
            let mut sent = false;
            if let Some(m) = da.generate_sync_message(&mut sa) {
                let m = m.encode();
                messages += 1;
                bytes += m.len() as u64;
                db.receive_sync_message(&mut sb, sync::Message::decode(&m).unwrap())
                    .unwrap();
                sent = true;
            }
            if let Some(m) = db.generate_sync_message(&mut sb) {
                let m = m.encode();
                messages += 1;
                bytes += m.len() as u64;
                da.receive_sync_message(&mut sa, sync::Message::decode(&m).unwrap())
                    .unwrap();
                sent = true;
            }
            if !sent {
                break;
            }
            doc_rounds += 1;
        }
        assert_eq!(da.get_heads(), db.get_heads());
        rounds = rounds.max(doc_rounds);
    }
    (rounds, messages, bytes)
}

/// Round trips do not grow with the number of changed documents.
fn changed_on_one_side(a: &mut MemoryHost, b: &mut MemoryHost, n: usize, rows: &mut Vec<String>) {
    let mut rng = SimRng::new(5);
    let ids: Vec<DocId> = a.ids().cloned().collect();
    for k in [1, 10, 100, 1_000] {
        let k = k.min(n / 2);
        let start = (rng.next_u64() % (n - k) as u64) as usize;
        // Every 7th document from a random start: spread over the ID space.
        let picked: Vec<DocId> = (0..k).map(|i| ids[(start + 7 * i) % n].clone()).collect();
        let new_bytes = edit_all(b, &picked, &mut rng, 2_000_000_000_000 + k as i64);
        let (o, secs) = run(a, b);
        assert_eq!(a.heads(), b.heads());
        rows.push(format!(
            "| {k} of {n} docs changed on one side | {} | {} | {} | {:.1} ms | new changes {new_bytes} B; overhead {:.0} B/changed doc |",
            o.round_trips,
            o.messages,
            o.bytes,
            secs * 1e3,
            (o.bytes as f64 - new_bytes as f64) / k as f64,
        ));
    }
}

fn first_sync(a: &MemoryHost, n: usize, rows: &mut Vec<String>) {
    let mut a = a.clone();
    let stored: usize = a.ids().map(|id| a.bytes(id).unwrap().len()).sum();
    let mut fresh = MemoryHost::new(secret(9));
    let (o, secs) = run(&mut fresh, &mut a);
    assert_eq!(fresh.heads(), a.heads());
    rows.push(format!(
        "| first sync of a new device, {n} docs | {} | {} | {} | {:.2} s | {:.0} docs/s; stored size {stored} B |",
        o.round_trips,
        o.messages,
        o.bytes,
        secs,
        n as f64 / secs
    ));
}
