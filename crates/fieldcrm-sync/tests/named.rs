//! Documents named from the change log: each side names what it changed since its last
//! finished sync with the peer, and ranges are reconciled over the rest. Right names
//! make a few changes cheap; wrong, missing or hostile names cost bytes, never a
//! difference left behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use fieldcrm_model::DocId;
use fieldcrm_sync::sim::{Faults, MemoryHost, PairOutcome, SimRng, fixtures, secret, sync_pair};
use fieldcrm_sync::{MAX_NAMED, Unrestricted};

const WS: &str = "0123456789abcdef0123456789abcdef";

use fixtures::host_with;

fn sync_with(a: &mut MemoryHost, b: &mut MemoryHost, faults: Faults, seed: u64) -> PairOutcome {
    let mut rng = SimRng::new(seed);
    sync_pair(WS, a, Unrestricted, b, Unrestricted, faults, &mut rng, None)
}

fn sync(a: &mut MemoryHost, b: &mut MemoryHost) -> PairOutcome {
    sync_with(a, b, Faults::NONE, 7)
}

fn assert_same(a: &MemoryHost, b: &MemoryHost) {
    assert_eq!(a.heads(), b.heads());
}

/// Two hosts holding the same `n` documents, synced.
fn pair(seed: u64, n: usize) -> (MemoryHost, MemoryHost, Vec<DocId>, SimRng) {
    let mut rng = SimRng::new(seed);
    let mut a = host_with(&mut rng, 1, n);
    let mut b = MemoryHost::new(secret(2));
    assert!(sync(&mut a, &mut b).finished());
    // Spread over the ID space (stored IDs are sorted), as real edits are: every 97th
    // (no test size is a multiple of 97, so this visits each once).
    let sorted: Vec<DocId> = a.ids().cloned().collect();
    let ids = (0..n).map(|i| sorted[(i * 97) % n].clone()).collect();
    (a, b, ids, rng)
}

/// Edit `ids[range]` on one host (it names them, as its change log would).
fn edit(host: &mut MemoryHost, rng: &mut SimRng, ids: &[DocId], at: i64) {
    for id in ids {
        host.edit(id, |d| fixtures::edit(rng, d, "rep1", at));
    }
}

#[test]
fn named_changes_cost_far_less_than_ranges_and_sync_the_same() {
    // The same edits, once named and once not: both converge; naming saves the range
    // splitting (about 100 bytes a changed document at 2,000 documents).
    let mut bytes = Vec::new();
    for named in [true, false] {
        let (mut a, mut b, ids, mut rng) = pair(11, 2_000);
        edit(&mut a, &mut rng, &ids[..20], 5_000);
        edit(&mut b, &mut rng, &ids[20..40], 5_001);
        // One document edited on both sides.
        edit(&mut b, &mut rng, &ids[..1], 5_002);
        if !named {
            a.named.clear();
            b.named.clear();
        }
        let o = sync(&mut a, &mut b);
        assert!(o.finished(), "{o:?}");
        assert_same(&a, &b);
        assert_eq!(
            o.initiator_report.docs_saved + o.responder_report.docs_saved,
            41,
            "{o:#?}"
        );
        assert!(a.named.is_empty() && b.named.is_empty());
        bytes.push(o.bytes);
        // Nothing changed afterwards: one round trip, a few hundred bytes.
        let o = sync(&mut a, &mut b);
        assert!(o.finished() && o.round_trips == 1 && o.bytes < 256, "{o:?}");
    }
    let (named, ranges) = (bytes[0], bytes[1]);
    assert!(
        named + 40 * 60 < ranges,
        "named {named} B, ranges {ranges} B"
    );
}

#[test]
fn wrong_and_missing_names_still_find_every_difference() {
    let (mut a, mut b, ids, mut rng) = pair(12, 500);
    edit(&mut a, &mut rng, &ids[..10], 5_000);
    edit(&mut b, &mut rng, &ids[10..20], 5_001);
    // A names half of what it changed, plus unchanged documents and IDs nobody holds;
    // B names nothing it changed, only unchanged ones (twice).
    a.named = ids[..5].to_vec();
    a.named.extend(ids[100..110].iter().cloned());
    a.named.extend((0..5).map(|_| fixtures::doc_id(&mut rng)));
    b.named = ids[200..210].to_vec();
    b.named.extend(ids[200..210].iter().cloned());
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    assert_eq!(
        o.initiator_report.docs_saved + o.responder_report.docs_saved,
        20
    );
}

#[test]
fn a_side_that_lost_everything_gets_it_all_back() {
    // B names what it changed, but A was reset since (a new device, same peer).
    let (_, mut b, ids, mut rng) = pair(13, 300);
    edit(&mut b, &mut rng, &ids[..7], 5_000);
    let mut fresh = MemoryHost::new(secret(1));
    fresh.named = ids[..3].to_vec(); // names of documents it no longer holds
    let o = sync(&mut fresh, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&fresh, &b);
    assert_eq!(fresh.len(), 300);
}

#[test]
fn only_the_responder_naming_is_enough() {
    let (mut a, mut b, ids, mut rng) = pair(14, 1_000);
    edit(&mut b, &mut rng, &ids[..15], 5_000);
    assert!(a.named.is_empty());
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    assert_eq!(o.initiator_report.docs_saved, 15);
}

#[test]
fn named_sessions_converge_on_a_faulty_network() {
    // Drops end a session (it resumes next time); duplicates and reordering are refused
    // as protocol errors. Whatever happens, repeated sessions converge and nothing
    // saved is lost.
    let (mut a, mut b, ids, mut rng) = pair(15, 400);
    for round in 0..6u64 {
        let at = 6_000 + round as i64;
        edit(&mut a, &mut rng, &ids[(round as usize * 7)..][..5], at);
        edit(
            &mut b,
            &mut rng,
            &ids[(200 + round as usize * 7)..][..5],
            at,
        );
        let faults = Faults {
            drop: 0.05,
            duplicate: 0.02,
            reorder: 0.02,
        };
        let _ = sync_with(&mut a, &mut b, faults, 100 + round);
    }
    let mut last = sync(&mut a, &mut b);
    for _ in 0..3 {
        if last.finished() {
            break;
        }
        last = sync(&mut a, &mut b);
    }
    assert!(last.finished(), "{last:?}");
    assert_same(&a, &b);
}

#[test]
fn too_many_names_are_not_sent() {
    let (mut a, mut b, ids, mut rng) = pair(16, 50);
    edit(&mut a, &mut rng, &ids[..2], 5_000);
    // More than MAX_NAMED names: none go, ranges find the two.
    a.named = (0..=MAX_NAMED)
        .map(|i| ids[i % ids.len()].clone())
        .collect();
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    assert!(o.bytes < 4_000, "{o:?}");
}
