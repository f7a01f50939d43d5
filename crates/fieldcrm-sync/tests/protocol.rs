//! Two-peer scenarios on the simulated network: costs, refusals, damage, scope.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use fieldcrm_model::{
    Catalog, Device, DocId, DocKind, Document, Product, Role, Roster, Summary, User,
};
use fieldcrm_sync::sim::{
    Faults, MemoryHost, PairOutcome, SimRng, device, fixtures, secret, sync_pair,
};
use fieldcrm_sync::{
    MAX_MESSAGE_SIZE, PROTOCOL_VERSION, RosterScope, Scope, Session, SessionRole, Status,
    SyncError, Unrestricted,
};

const WS: &str = "0123456789abcdef0123456789abcdef";
/// The test devices: A is rep2's phone, B the manager's laptop, C rep1's phone.
const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 3;

use fixtures::host_with;

fn sync(a: &mut MemoryHost, b: &mut MemoryHost) -> PairOutcome {
    let mut rng = SimRng::new(7);
    sync_pair(
        WS,
        a,
        Unrestricted,
        b,
        Unrestricted,
        Faults::NONE,
        &mut rng,
        None,
    )
}

fn assert_same(a: &MemoryHost, b: &MemoryHost) {
    assert_eq!(a.heads(), b.heads());
    for id in a.ids() {
        assert_eq!(
            a.document(id).unwrap().to_json(),
            b.document(id).unwrap().to_json()
        );
    }
}

#[test]
fn first_sync_then_nothing_changed_then_a_few_edits() {
    let mut rng = SimRng::new(1);
    let mut a = host_with(&mut rng, A, 300);
    let mut b = MemoryHost::new(secret(B));
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    assert_eq!(o.responder_report.docs_saved, 300);
    assert_eq!(o.initiator_report.docs_acked, 300);
    assert!(
        o.round_trips <= 2,
        "first sync took {} round trips",
        o.round_trips
    );

    let o = sync(&mut a, &mut b);
    assert!(o.finished());
    assert_eq!(o.round_trips, 1);
    assert!(o.bytes < 256, "nothing changed cost {} bytes", o.bytes);
    assert_eq!(a.loads + b.loads, 300, "nothing changed loaded documents");

    // Three edits on each side, one document edited on both.
    let ids: Vec<DocId> = a.ids().cloned().collect();
    for (i, id) in ids.iter().take(6).enumerate() {
        let host = if i % 2 == 0 { &mut a } else { &mut b };
        host.edit(id, |d| fixtures::edit(&mut rng, d, "rep1", 5_000));
    }
    b.edit(&ids[0], |d| fixtures::edit(&mut rng, d, "rep1", 5_001));
    let loads_before = a.loads + b.loads;
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    // Only the six changed documents are loaded (at most twice per side).
    assert!(
        a.loads + b.loads - loads_before <= 4 * 6,
        "loaded unchanged documents"
    );
    assert_eq!(
        o.initiator_report.docs_saved + o.responder_report.docs_saved,
        7,
        "{o:#?}"
    );
}

#[test]
fn wrong_workspace_and_wrong_version_are_refused_clearly() {
    let mut rng = SimRng::new(2);
    let mut a = host_with(&mut rng, A, 3);
    let mut b = MemoryHost::new(secret(B));
    let mut ia = Session::new(SessionRole::Initiator, WS, Unrestricted, a.index());
    let mut rb = Session::new(
        SessionRole::Responder,
        "another-workspace",
        Unrestricted,
        b.index(),
    );
    for f in ia.run_host(&mut a) {
        rb.receive(&f);
    }
    let err = rb.error().unwrap().clone();
    assert!(matches!(err, SyncError::WorkspaceMismatch { .. }), "{err}");
    for f in rb.run_host(&mut b) {
        ia.receive(&f);
    }
    assert_eq!(ia.status(), Status::Failed);
    let msg = ia.error().unwrap().to_string();
    assert!(msg.contains("another-workspace"), "{msg}");

    // A frame from a future version.
    let mut rb = Session::new(SessionRole::Responder, WS, Unrestricted, b.index());
    let mut frame = Session::new(SessionRole::Initiator, WS, Unrestricted, a.index())
        .run_host(&mut a)
        .remove(0);
    let future = PROTOCOL_VERSION + 1;
    frame[0] = future;
    rb.receive(&frame);
    let err = rb.error().unwrap();
    assert!(
        matches!(err, SyncError::VersionMismatch { ours: PROTOCOL_VERSION, theirs } if *theirs == future),
        "{err}"
    );
    assert!(err.to_string().contains(&format!("fieldcrm/sync/{future}")));
    // The error frame it sends is readable by any version.
    let reply = rb.run_host(&mut b).remove(0);
    assert_eq!(&reply[..3], &[PROTOCOL_VERSION, 2, 1]);
}

/// Run a first sync of `n` documents with `tamper` applied to frames from the initiator.
fn damaged_first_sync(
    tamper: &mut dyn FnMut(bool, Vec<u8>) -> Option<Vec<u8>>,
) -> (PairOutcome, MemoryHost, MemoryHost) {
    let mut rng = SimRng::new(3);
    let mut a = MemoryHost::new(secret(A));
    let mut b = host_with(&mut rng, B, 20);
    let mut net = SimRng::new(3);
    let o = sync_pair(
        WS,
        &mut a,
        Unrestricted,
        &mut b,
        Unrestricted,
        Faults::NONE,
        &mut net,
        Some(tamper),
    );
    (o, a, b)
}

#[test]
fn malformed_truncated_and_oversized_messages_end_the_session_and_change_nothing() {
    // The responder's second message carries all 20 documents to the empty initiator.
    type Damage = Box<dyn FnMut(Vec<u8>) -> Vec<u8>>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "truncated",
            Box::new(|f: Vec<u8>| f[..f.len() / 2].to_vec()),
        ),
        (
            "trailing junk",
            Box::new(|mut f: Vec<u8>| {
                f.extend_from_slice(b"junk");
                f
            }),
        ),
        (
            "oversized",
            Box::new(|mut f: Vec<u8>| {
                f.resize(MAX_MESSAGE_SIZE + 1, 0);
                f
            }),
        ),
        (
            "unknown kind",
            Box::new(|mut f: Vec<u8>| {
                f[1] = 9;
                f
            }),
        ),
    ];
    for (what, mut damage) in cases {
        let mut seen = 0;
        let mut tamper = |from_initiator: bool, f: Vec<u8>| {
            if from_initiator {
                return Some(f);
            }
            seen += 1;
            Some(if seen == 1 { damage(f) } else { f })
        };
        let (o, a, _) = damaged_first_sync(&mut tamper);
        assert_eq!(o.initiator, Status::Failed, "{what}: {o:?}");
        let err = o.initiator_error.clone().unwrap();
        match what {
            "oversized" => assert!(matches!(err, SyncError::TooLarge { .. }), "{what}: {err}"),
            _ => assert!(matches!(err, SyncError::Malformed(_)), "{what}: {err}"),
        }
        assert!(a.is_empty(), "{what}: the store changed");
        assert_eq!(a.commits, 0, "{what}");
        // The peer is told why.
        assert_eq!(o.responder, Status::Failed, "{what}");
        assert!(
            matches!(o.responder_error, Some(SyncError::Rejected { .. })),
            "{what}: {:?}",
            o.responder_error
        );
    }
}

#[test]
fn a_damaged_document_is_set_aside_and_the_others_sync() {
    // The responder's second message carries all 20 documents to the empty initiator;
    // the first one's Automerge checksum is broken on the way.
    let mut seen = 0;
    let mut tamper = |from_initiator: bool, mut f: Vec<u8>| {
        if from_initiator {
            return Some(f);
        }
        seen += 1;
        if seen == 1 {
            // The first Automerge chunk in the frame (magic bytes, then a checksum).
            let at = f
                .windows(4)
                .position(|w| w == [0x85, 0x6f, 0x4a, 0x83])
                .expect("an automerge document in the frame");
            f[at + 5] ^= 0xff;
        }
        Some(f)
    };
    let (o, a, _) = damaged_first_sync(&mut tamper);
    assert!(o.finished(), "{o:?}");
    let refused = &o.initiator_report.refused_here;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].1.contains("arrived damaged"), "{refused:?}");
    assert_eq!(a.len(), 19, "every other document is saved");
    // The sender is told which document and why.
    assert_eq!(o.responder_report.refused_by_peer.len(), 1);
    assert_eq!(o.responder_report.refused_by_peer[0].0, refused[0].0);
}

#[test]
fn an_interrupted_sync_resumes_where_it_stopped() {
    let mut rng = SimRng::new(4);
    let mut a = host_with(&mut rng, A, 2_000);
    let mut b = MemoryHost::new(secret(B));
    // Cut the connection after the first message of A's big turn (about 1 MiB).
    let mut net = SimRng::new(4);
    let mut count = 0;
    let mut cut = |_: bool, f: Vec<u8>| {
        count += 1;
        (count <= 3).then_some(f)
    };
    let o = sync_pair(
        WS,
        &mut a,
        Unrestricted,
        &mut b,
        Unrestricted,
        Faults::NONE,
        &mut net,
        Some(&mut cut),
    );
    assert!(!o.finished());
    let partial = b.len();
    assert!(
        partial > 0 && partial < 2_000,
        "partial sync saved {partial}"
    );
    let loads = a.loads;
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_same(&a, &b);
    // Only the documents still missing are loaded (at most twice: once for a clock,
    // once to send them whole).
    assert!(
        a.loads - loads <= 2 * (2_000 - partial) as u64,
        "resumed sync reloaded documents already sent"
    );
}

#[test]
fn a_failed_save_is_not_acknowledged() {
    let mut rng = SimRng::new(5);
    let mut a = host_with(&mut rng, A, 10);
    let mut b = MemoryHost::new(secret(B));
    b.fail_saves = true;
    let o = sync(&mut a, &mut b);
    assert_eq!(o.responder, Status::Failed);
    assert!(matches!(o.responder_error, Some(SyncError::Host(_))));
    assert_eq!(o.initiator_report.docs_acked, 0);
    assert!(b.is_empty());
}

// ----- scope -------------------------------------------------------------------------

fn roster() -> Roster {
    let mut r = Roster::new(WS, "测试公司");
    let user = |role: Role, team: &str| User {
        name: "u".into(),
        role,
        team: Some(team.into()),
        region: None,
        active: true,
        created_at: 0,
    };
    r.users.insert("rep1".into(), user(Role::Rep, "east"));
    r.users.insert("rep2".into(), user(Role::Rep, "east"));
    r.users.insert("mgr".into(), user(Role::Manager, "east"));
    for (n, u) in [(A, "rep2"), (B, "mgr"), (C, "rep1")] {
        r.devices.insert(
            device(n).to_hex(),
            Device {
                user: u.into(),
                label: "phone".into(),
                enrolled_at: 0,
                revoked_at: None,
                invitation: None,
            },
        );
    }
    r
}

fn summaries(host: &MemoryHost) -> impl Fn(&DocId) -> Option<Summary> + use<> {
    let map: std::collections::BTreeMap<DocId, Summary> = host
        .ids()
        .map(|id| (id.clone(), host.document(id).unwrap().summary().unwrap()))
        .collect();
    move |id| map.get(id).cloned()
}

#[test]
fn a_peer_never_learns_out_of_scope_ids() {
    // B (a manager) holds documents of rep1 and rep2; A is rep2's device.
    let mut rng = SimRng::new(6);
    let mut b = MemoryHost::new(secret(B));
    let mut theirs = Vec::new();
    for i in 0..40 {
        let owner = if i % 4 == 0 { "rep2" } else { "rep1" };
        let mut d = fixtures::customer(&mut rng, &device(B), owner, 1_000 + i);
        if owner == "rep1" {
            theirs.push(d.id().clone());
        }
        b.put(&mut d);
    }
    // The same store without rep1's documents: all B may show rep2.
    let mut b_visible = MemoryHost::new(secret(B));
    for id in b.ids().filter(|id| !theirs.contains(id)) {
        b_visible.copy_from(&b, id);
    }
    // A (rep2's device) holds one new document of its own.
    let mut a = MemoryHost::new(secret(A));
    let mut own = fixtures::customer(&mut rng, &device(A), "rep2", 9_000);
    a.put(&mut own);

    let run = |b_host: &mut MemoryHost| -> (Vec<Vec<u8>>, MemoryHost, PairOutcome) {
        let mut a2 = a.clone();
        let scope_b = RosterScope::new(roster(), "rep2", summaries(b_host));
        let scope_a = RosterScope::new(roster(), "mgr", summaries(&a2)).local_user("rep2");
        let mut sent_by_b = Vec::new();
        let mut tap = |from_a: bool, f: Vec<u8>| {
            if !from_a {
                sent_by_b.push(f.clone());
            }
            Some(f)
        };
        let mut net = SimRng::new(6);
        let o = sync_pair(
            WS,
            &mut a2,
            scope_a,
            b_host,
            scope_b,
            Faults::NONE,
            &mut net,
            Some(&mut tap),
        );
        (sent_by_b, a2, o)
    };
    let (frames_full, a_after, o) = run(&mut b);
    assert!(o.finished(), "{o:?}");
    let (frames_visible, _, _) = run(&mut b_visible);
    // Byte for byte what B would send if it did not hold rep1's documents at all:
    // no ID, fingerprint or count reveals them.
    assert_eq!(frames_full, frames_visible);
    for id in &theirs {
        assert!(a_after.document(id).is_none());
        let raw = fieldcrm_model::unhex(id.as_str()).unwrap();
        assert!(!frames_full.iter().any(|f| f.windows(16).any(|w| w == raw)));
    }
    assert_eq!(a_after.len(), 1 + 10);
    // rep2's own new document reached the manager.
    assert!(b.document(own.id()).is_some());
}

fn catalog_edit(d: &mut Document, sku: &str, now: i64) {
    d.put(
        &["products", sku],
        &Product {
            name: "泵".into(),
            product_line: "pumps".into(),
            list_price: 1,
            floor_price: 0,
        },
    )
    .unwrap();
    d.commit(now, "cheap pumps");
}

#[test]
fn changes_the_peer_may_not_write_are_refused_with_a_reason() {
    // A rep's device changes the catalog, which only managers may write.
    let mut cat = Document::create(
        DocId::workspace(&DocKind::Catalog),
        &device(B),
        1,
        &Catalog::new(),
        "init",
    )
    .unwrap();
    let mut b = MemoryHost::new(secret(B));
    b.put(&mut cat);
    let mut a = MemoryHost::new(secret(A));
    a.copy_from(&b, cat.id());
    let before = b.heads();
    a.edit(cat.id(), |d| catalog_edit(d, "P1", 2_000));
    let scope_b = RosterScope::new(roster(), "rep2", summaries(&b));
    let scope_a = RosterScope::new(roster(), "mgr", summaries(&a));
    let mut net = SimRng::new(8);
    let o = sync_pair(
        WS,
        &mut a,
        scope_a,
        &mut b,
        scope_b,
        Faults::NONE,
        &mut net,
        None,
    );
    assert!(o.finished(), "{o:?}");
    assert_eq!(b.heads(), before, "the refused change was saved");
    let refused = &o.initiator_report.refused_by_peer;
    assert_eq!(refused.len(), 1, "{o:?}");
    assert_eq!(&refused[0].0, cat.id());
    assert!(
        refused[0].1.contains("user rep2") && refused[0].1.contains("may not write catalog"),
        "{}",
        refused[0].1
    );
    let here = &o.responder_report.refused_changes;
    assert_eq!(here.len(), 1, "{here:?}");
    assert_eq!(&here[0].doc, cat.id());
    assert_eq!(here[0].author, Some(device(A)));
}

#[test]
fn relayed_changes_are_judged_by_their_signed_author_not_the_relay() {
    let mut cat = Document::create(
        DocId::workspace(&DocKind::Catalog),
        &device(B),
        1,
        &Catalog::new(),
        "init",
    )
    .unwrap();
    // The manager (B) writes the catalog; rep2's device (A) picks it up and relays it
    // to rep1's device (C): rep2 may not write the catalog, but the change's signed
    // author may, so it is accepted.
    let mut m = MemoryHost::new(secret(B));
    m.put(&mut cat);
    let mut relay = MemoryHost::new(secret(A));
    relay.copy_from(&m, cat.id());
    let mut other = MemoryHost::new(secret(C));
    other.copy_from(&m, cat.id());
    m.edit(cat.id(), |d| {
        d.put(&["product_lines", "pumps"], &"水泵".to_string())
            .unwrap();
        d.commit(3_000, "line");
    });
    let mut net = SimRng::new(8);
    let o = sync_pair(
        WS,
        &mut m,
        Unrestricted,
        &mut relay,
        Unrestricted,
        Faults::NONE,
        &mut net,
        None,
    );
    assert!(o.finished(), "{o:?}");
    assert_eq!(relay.heads(), m.heads());
    // rep2's device also makes a catalog change of its own.
    relay.edit(cat.id(), |d| catalog_edit(d, "P9", 4_000));
    let scope_relay = RosterScope::new(roster(), "rep1", summaries(&relay));
    let scope_other = RosterScope::new(roster(), "rep2", summaries(&other));
    let o = sync_pair(
        WS,
        &mut relay,
        scope_relay,
        &mut other,
        scope_other,
        Faults::NONE,
        &mut net,
        None,
    );
    assert!(o.finished(), "{o:?}");
    // The manager's change is saved; rep2's own is refused, by name.
    let saved = other.document(cat.id()).unwrap().to_json();
    assert_eq!(saved["product_lines"]["pumps"], "水泵", "{saved}");
    assert!(saved["products"].get("P9").is_none(), "{saved}");
    let refused = &o.responder_report.refused_changes;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].author, Some(device(A)));
    assert!(refused[0].reason.contains("rep2"), "{}", refused[0].reason);
    assert_eq!(o.initiator_report.refused_by_peer.len(), 1);
}

#[test]
fn scope_is_asked_once_per_document_at_start() {
    use std::sync::atomic::{AtomicU32, Ordering};
    struct Counting(AtomicU32);
    impl Scope for Counting {
        fn shares(&self, _: &DocId) -> bool {
            self.0.fetch_add(1, Ordering::Relaxed);
            true
        }
        fn accepts(&self, _: &DocId, _: &fieldcrm_sync::Incoming<'_>) -> Result<(), String> {
            Ok(())
        }
    }
    let mut rng = SimRng::new(9);
    let a = host_with(&mut rng, A, 25);
    let c = Counting(Default::default());
    let _s = Session::new(SessionRole::Initiator, WS, &c, a.index());
    assert_eq!(c.0.load(Ordering::Relaxed), 25);
}

#[test]
fn random_damage_never_panics_and_a_failed_session_saves_nothing() {
    // B's first answer to an empty A: every document, whole.
    let mut rng = SimRng::new(10);
    let mut b = host_with(&mut rng, B, 8);
    let mut a = MemoryHost::new(secret(A));
    let mut ia = Session::new(SessionRole::Initiator, WS, Unrestricted, a.index());
    let mut rb = Session::new(SessionRole::Responder, WS, Unrestricted, b.index());
    for f in ia.run_host(&mut a) {
        rb.receive(&f);
    }
    let reply = rb.run_host(&mut b).remove(0);
    let (mut failed, mut refused) = (0, 0);
    for _ in 0..400 {
        let mut f = reply.clone();
        for _ in 0..1 + rng.next_u64() % 3 {
            let at = (rng.next_u64() % f.len() as u64) as usize;
            f[at] ^= 1 << (rng.next_u64() % 8);
        }
        let mut host = MemoryHost::new(secret(A));
        let mut s = Session::new(SessionRole::Initiator, WS, Unrestricted, host.index());
        let _ = s.run_host(&mut host);
        s.receive(&f);
        let _ = s.run_host(&mut host);
        if s.status() == Status::Failed {
            failed += 1;
            assert_eq!(host.commits, 0, "{:?}", s.error());
        } else if !s.report().refused_changes.is_empty() || !s.report().refused_here.is_empty() {
            // Damage in a signature or a change hash: that change is refused, the rest
            // saved; damage inside a document: that document is set aside.
            refused += 1;
        }
        // Whatever was saved is signed by its author.
        assert_eq!(host.bad_signatures(), vec![]);
    }
    assert!(
        failed + refused > 300,
        "only {failed} + {refused} of 400 damaged messages were refused"
    );
}

/// `n` bytes nothing compresses.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn documents_too_big_for_a_message_are_reported_and_block_nothing_else() {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT, ScalarValue};
    let mut rng = SimRng::new(9);
    let mut a = host_with(&mut rng, A, 5);
    let actor = device(A).actor();
    // Eighteen changes of 1 MiB each: saved whole, the document is over the message cap
    // (the peer lacks it, so it would go whole).
    let big = DocId::random();
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    for i in 0..18u64 {
        doc.put(
            ROOT,
            format!("blob{i}"),
            ScalarValue::Bytes(noise(i + 1, 1 << 20)),
        )
        .unwrap();
        doc.commit();
    }
    a.put_automerge(big.clone(), &mut doc);
    assert!(a.bytes(&big).unwrap().len() > MAX_MESSAGE_SIZE);
    // One change of 17 MiB: it cannot go at all.
    let huge = DocId::random();
    let mut doc = AutoCommit::new().with_actor(actor);
    doc.put(ROOT, "blob", ScalarValue::Bytes(noise(99, 17 << 20)))
        .unwrap();
    doc.commit();
    a.put_automerge(huge.clone(), &mut doc);

    let mut b = MemoryHost::new(secret(B));
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_eq!(b.len(), 5, "the five customers");
    assert!(b.bytes(&huge).is_none() && b.bytes(&big).is_none());
    let mut too_large = o.initiator_report.too_large.clone();
    too_large.sort();
    let mut expected = vec![big.clone(), huge.clone()];
    expected.sort();
    assert_eq!(
        too_large.iter().map(|t| t.0.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(too_large.iter().all(|t| t.1 > MAX_MESSAGE_SIZE - 1024));
    // A customer edited since still goes; the next sync reports the same two.
    let id = b.ids().next().unwrap().clone();
    a.edit(&id, |d| fixtures::edit(&mut rng, d, "rep1", 9_000));
    let o = sync(&mut a, &mut b);
    assert!(o.finished(), "{o:?}");
    assert_eq!(o.initiator_report.too_large.len(), 2);
    assert_same_doc(&a, &b, &id);
}

fn assert_same_doc(a: &MemoryHost, b: &MemoryHost, id: &DocId) {
    assert_eq!(
        a.document(id).unwrap().to_json(),
        b.document(id).unwrap().to_json()
    );
}
