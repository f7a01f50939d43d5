//! Convergence: replicas edit the same documents concurrently and sync over a network that
//! drops, duplicates and reorders messages; once it heals, every replica ends identical.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use fieldcrm_model::{DocId, fields};
use fieldcrm_sync::sim::{Faults, MemoryHost, SimRng, fixtures, secret, sync_pair};
use fieldcrm_sync::{Status, SyncError, Unrestricted};

const WS: &str = "fedcba9876543210fedcba9876543210";
const REPLICAS: usize = 6;
const CHAOS_ROUNDS: usize = 14;
/// Rounds of healed gossip after which every replica must be identical.
const WATCHDOG_ROUNDS: usize = 12;

fn converged(hosts: &[MemoryHost]) -> bool {
    hosts.windows(2).all(|w| w[0].heads() == w[1].heads())
}

/// Runs one seed; returns how many fields ended with concurrent values (proof that the
/// replicas really wrote the same fields concurrently).
fn run(seed: u64) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fx = SimRng::new(seed);
    let mut net = SimRng::new(seed ^ 0xabcd);
    let mut hosts: Vec<MemoryHost> = (0..REPLICAS)
        .map(|i| MemoryHost::new(secret(i as u8 + 1)))
        .collect();
    let mut clock = 1_000i64;
    // Each document is created once, on one replica, and then only replicated.
    for _ in 0..6 {
        let h = rng.gen_range(0..REPLICAS);
        let device = hosts[h].device();
        let mut d = fixtures::customer(&mut fx, &device, "rep1", clock);
        hosts[h].put(&mut d);
    }
    let faults = Faults {
        drop: 0.08,
        duplicate: 0.08,
        reorder: 0.08,
    };
    let mut failures = 0;
    for _ in 0..CHAOS_ROUNDS {
        clock += 60_000;
        // Concurrent edits: several replicas edit whatever they hold, often the same
        // documents and the same fields, and insert into the same collections.
        for _ in 0..rng.gen_range(1..6) {
            let h = rng.gen_range(0..REPLICAS);
            let ids: Vec<DocId> = hosts[h].ids().cloned().collect();
            if ids.is_empty() {
                continue;
            }
            let id = ids[rng.gen_range(0..ids.len())].clone();
            hosts[h].edit(&id, |d| fixtures::edit(&mut fx, d, "rep1", clock));
        }
        if rng.gen_bool(0.3) {
            let h = rng.gen_range(0..REPLICAS);
            let device = hosts[h].device();
            let mut d = fixtures::customer(&mut fx, &device, "rep1", clock);
            hosts[h].put(&mut d);
        }
        for _ in 0..rng.gen_range(1..4) {
            let (i, j) = pair(&mut rng);
            let (a, b) = two(&mut hosts, i, j);
            let o = sync_pair(WS, a, Unrestricted, b, Unrestricted, faults, &mut net, None);
            for e in [&o.initiator_error, &o.responder_error]
                .into_iter()
                .flatten()
            {
                failures += 1;
                assert!(
                    matches!(
                        e,
                        SyncError::Protocol(_) | SyncError::Closed | SyncError::Rejected { .. }
                    ),
                    "seed {seed}: a faulty network caused {e}"
                );
            }
        }
    }
    // Heal: random gossip, each replica syncing with a random other one per round.
    let mut rounds = 0;
    while !converged(&hosts) {
        rounds += 1;
        assert!(
            rounds <= WATCHDOG_ROUNDS,
            "seed {seed}: not converged after {WATCHDOG_ROUNDS} healed rounds"
        );
        for i in 0..REPLICAS {
            let mut j = rng.gen_range(0..REPLICAS - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = two(&mut hosts, i, j);
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
            assert!(o.finished(), "seed {seed}: healed sync failed: {o:?}");
            assert_eq!(o.initiator, Status::Finished);
        }
    }
    let reference = &hosts[0];
    assert!(reference.len() >= 6);
    for h in &hosts {
        assert_eq!(
            h.bad_signatures(),
            vec![],
            "seed {seed}: unsigned changes stored"
        );
    }
    for h in &hosts[1..] {
        assert_eq!(h.heads(), reference.heads(), "seed {seed}");
        for id in reference.ids() {
            assert_eq!(
                h.document(id).unwrap().to_json(),
                reference.document(id).unwrap().to_json(),
                "seed {seed}: document {id} differs"
            );
        }
    }
    let conflicts: usize = reference
        .ids()
        .map(|id| fields::conflicts(reference.document(id).unwrap().automerge()).len())
        .sum();
    eprintln!(
        "seed {seed}: {} documents, {conflicts} concurrent fields, {failures} sessions broken by faults, converged after {rounds} healed rounds",
        reference.len()
    );
    conflicts
}

fn pair(rng: &mut StdRng) -> (usize, usize) {
    let i = rng.gen_range(0..REPLICAS);
    let mut j = rng.gen_range(0..REPLICAS - 1);
    if j >= i {
        j += 1;
    }
    (i, j)
}

fn two(hosts: &mut [MemoryHost], i: usize, j: usize) -> (&mut MemoryHost, &mut MemoryHost) {
    assert_ne!(i, j);
    if i < j {
        let (l, r) = hosts.split_at_mut(j);
        (&mut l[i], &mut r[0])
    } else {
        let (l, r) = hosts.split_at_mut(i);
        (&mut r[0], &mut l[j])
    }
}

#[test]
fn replicas_converge_after_a_faulty_network_heals() {
    let conflicts: usize = [1, 2, 3, 4, 5, 6].into_iter().map(run).sum();
    assert!(
        conflicts > 0,
        "no seed produced concurrent writes to one field"
    );
}
