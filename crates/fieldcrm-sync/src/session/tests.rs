//! Unit tests of the session state machine (two sessions, hosts that must not be called).

use super::*;
use crate::Unrestricted;
use crate::sim::{MemoryHost, SimRng, fixtures};
use crate::wire::{ClockPart, Turn};

const WS: &str = "ws";

/// A host with no documents: any load or save is a bug in these tests.
struct NoHost;
impl Host for NoHost {
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
        panic!("loaded {} documents", ids.len())
    }
    fn save(&mut self, _: Vec<SaveDoc>) -> Result<(), HostError> {
        panic!("saved")
    }
}

/// A host whose documents have all vanished since the index was read.
struct GoneHost;
impl Host for GoneHost {
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
        Ok(ids
            .iter()
            .map(|id| LoadedDoc {
                id: id.clone(),
                bytes: None,
                sigs: Vec::new(),
            })
            .collect())
    }
    fn save(&mut self, _: Vec<SaveDoc>) -> Result<(), HostError> {
        panic!("saved")
    }
}

fn index(n: usize, seed: u64) -> Vec<(DocId, Vec<ChangeHash>)> {
    let mut rng = SimRng::new(seed);
    (0..n)
        .map(|_| {
            let id = crate::sim::fixtures::doc_id(&mut rng);
            let mut h = [0u8; 32];
            for c in h.chunks_mut(8) {
                c.copy_from_slice(&rng.next_u64().to_le_bytes());
            }
            (id, vec![ChangeHash(h)])
        })
        .collect()
}

/// Run two sessions to the end with a host that must never be called.
fn exchange(a: &mut Session<Unrestricted>, b: &mut Session<Unrestricted>) -> (u64, u64) {
    let (mut turns, mut bytes) = (0, 0);
    let mut frames = a.run_host(&mut NoHost);
    let mut to_b = true;
    while !frames.is_empty() {
        turns += 1;
        let next = if to_b { &mut *b } else { &mut *a };
        for f in &frames {
            bytes += f.len() as u64;
            next.receive(f);
        }
        frames = next.run_host(&mut NoHost);
        to_b = !to_b;
    }
    (turns, bytes)
}

#[test]
fn nothing_changed_costs_one_round_trip_whatever_the_size() {
    for n in [0, 10, 1_000, 100_000] {
        let idx = index(n, 1);
        let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
        let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
        let (turns, bytes) = exchange(&mut a, &mut b);
        assert_eq!(a.status(), Status::Finished, "{n}");
        assert_eq!(b.status(), Status::Finished, "{n}");
        assert!(turns <= 2, "{n}: {turns} turns");
        assert!(
            bytes <= 8 + 8 + 2 * 4 + 8 + 16 * 8 + 16,
            "{n}: {bytes} bytes"
        );
    }
}

#[test]
fn duplicated_and_reordered_messages_end_the_session() {
    let mut idx = index(50, 2);
    let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
    idx.truncate(40);
    let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
    let first = a.run_host(&mut NoHost).remove(0);
    b.receive(&first);
    let reply = b.run_host(&mut NoHost);
    assert_eq!(b.status(), Status::Running);
    // The duplicate arrives while it is A's turn: refused.
    b.receive(&first);
    assert_eq!(b.status(), Status::Failed);
    assert!(matches!(b.error(), Some(SyncError::Protocol(_))));
    let told = b.run_host(&mut NoHost);
    assert_eq!(told.len(), 1);
    // A gets B's reply and then the error frame.
    for f in reply.iter().chain(&told) {
        a.receive(f);
    }
    let _ = a.run_host(&mut GoneHost);
    assert_eq!(a.status(), Status::Failed);
    assert!(matches!(a.error(), Some(SyncError::Rejected { .. })));

    // A message from the future (sequence number skipped).
    let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
    let mut t = Turn {
        seq: 1,
        hello: Some(WS.into()),
        ..Turn::default()
    };
    c.receive(&wire::encode_turn(&t));
    assert!(
        matches!(c.error(), Some(SyncError::Protocol(m)) if m.contains("out of order")),
        "{:?}",
        c.error()
    );
    // A first message without a hello.
    let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
    t.seq = 0;
    t.hello = None;
    c.receive(&wire::encode_turn(&t));
    assert!(matches!(c.error(), Some(SyncError::Protocol(_))));
    // A clock naming an actor never introduced.
    let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
    t.hello = Some(WS.into());
    t.clocks.push(ClockPart {
        id: [1; 16],
        want: true,
        clock: vec![(3, 1)],
    });
    c.receive(&wire::encode_turn(&t));
    assert!(matches!(c.error(), Some(SyncError::Protocol(_))));
}

#[test]
fn a_closed_transport_fails_an_unfinished_session_only() {
    let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, index(3, 3));
    a.closed();
    assert_eq!(a.error(), Some(&SyncError::Closed));
    let idx = index(3, 3);
    let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
    let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
    exchange(&mut a, &mut b);
    a.closed();
    assert_eq!(a.status(), Status::Finished);
}

#[test]
fn roster_changes_sent_out_of_causal_order_are_still_judged() {
    use crate::RosterScope;
    use crate::sim::{MemoryHost, device, secret};
    use crate::wire::ChangesPart;
    use automerge::AutoCommit;
    use fieldcrm_model::sig::workspace_id_for;
    use fieldcrm_model::{Device, DocKind, Document, Role, Roster, User};

    let ws = workspace_id_for(&device(1));
    let mut roster = Roster::new(&ws, "W");
    for (user, role, n) in [("admin", Role::Admin, 1), ("rep1", Role::Rep, 3)] {
        roster.users.insert(
            user.into(),
            User {
                name: user.into(),
                role,
                team: None,
                region: None,
                active: true,
                created_at: 0,
            },
        );
        roster.devices.insert(
            device(n).to_hex(),
            Device {
                user: user.into(),
                label: "phone".into(),
                enrolled_at: 0,
                revoked_at: None,
                invitation: None,
            },
        );
    }
    let id = DocId::workspace(&DocKind::Roster);
    let mut founder = MemoryHost::new(secret(1));
    let mut d = Document::create(id.clone(), &device(1), 1_000_000, &roster, "found").unwrap();
    founder.put(&mut d);
    let mut receiver = MemoryHost::new(secret(2));
    receiver.copy_from(&founder, &id);
    // The admin's change, then the rep's on top of it.
    let mut admins = None;
    founder.edit(&id, |d| {
        d.put(&["workspace_name"], &"W2".to_string()).unwrap();
        admins = d.commit(2_000_000, "rename");
    });
    let mut rep = MemoryHost::new(secret(3));
    rep.copy_from(&founder, &id);
    let mut reps = None;
    rep.edit(&id, |d| {
        d.put(&["users", "rep1", "role"], &Role::Admin).unwrap();
        reps = d.commit(3_000_000, "promote myself");
    });
    let (admins, reps) = (admins.unwrap(), reps.unwrap());
    // A peer sends the rep's change first: it cannot be judged before the admin's.
    let mut am = AutoCommit::load(rep.bytes(&id).unwrap()).unwrap();
    let sigs = rep.sigs(&id);
    let mut chunk = |h: ChangeHash| {
        let mut c = am.get_change_by_hash(&h).unwrap();
        (c.bytes().into_owned(), sigs[&h])
    };
    let turn = Turn {
        hello: Some(ws.clone()),
        changes: vec![ChangesPart::Changes {
            id: crate::recon::raw_id(&id),
            chunks: vec![chunk(reps), chunk(admins)],
        }],
        ..Turn::default()
    };
    let summary = receiver.document(&id).unwrap().summary().unwrap();
    let local = AutoCommit::load(receiver.bytes(&id).unwrap()).unwrap();
    let scope = RosterScope::new(roster, "rep1", move |_: &DocId| Some(summary.clone()))
        .roster_chain(&ws, Some(local));
    let mut s = Session::new(SessionRole::Responder, &ws, scope, receiver.index());
    s.receive(&wire::encode_turn(&turn));
    let _ = s.run_host(&mut receiver);
    assert_eq!(s.error(), None);
    let refused = &s.report().refused_changes;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].hash, reps);
    assert!(refused[0].reason.contains("admin"), "{}", refused[0].reason);
    assert_eq!(receiver.heads()[&id], vec![admins]);
}

#[test]
fn names_after_the_first_message_end_the_session() {
    let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, index(40, 4));
    let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, index(40, 3));
    for f in a.run_host(&mut NoHost) {
        b.receive(&f);
    }
    assert!(!b.run_host(&mut GoneHost).is_empty());
    assert_eq!(b.status(), Status::Running);
    let t = Turn {
        seq: 1,
        named: Some(vec![([1; 16], 1)]),
        ..Turn::default()
    };
    b.receive(&wire::encode_turn(&t));
    assert_eq!(b.status(), Status::Failed);
    assert!(
        matches!(b.error(), Some(SyncError::Protocol(m)) if m.contains("named")),
        "{:?}",
        b.error()
    );
}

/// What a peer sends for `id` of `host`: the whole document with its signatures.
fn whole(host: &MemoryHost, id: &DocId) -> wire::ChangesPart {
    wire::ChangesPart::Whole {
        id: crate::recon::raw_id(id),
        bytes: host.bytes(id).unwrap().to_vec(),
        sigs: host.sigs(id).into_iter().collect(),
    }
}

/// The tickets of the saves the session asks for now (and nothing else but frames).
fn saves_asked<S: Scope>(s: &mut Session<S>) -> Vec<(Ticket, Vec<DocId>)> {
    let mut out = Vec::new();
    while let Some(o) = s.poll_output() {
        match o {
            Output::Save { ticket, docs } => {
                out.push((ticket, docs.into_iter().map(|d| d.id).collect()));
            }
            Output::Send(_) => {}
            Output::Load { .. } => panic!("a load"),
        }
    }
    out
}

/// A host that saves in the background: the next message is judged while a save is in
/// flight, unless it changes a document that save holds, or that save holds the roster
/// (which decides how every change is judged); then it waits for the save, in order.
#[test]
fn a_message_waits_only_for_the_saves_it_depends_on() {
    use fieldcrm_model::{DocKind, Document, Roster};

    let mut rng = SimRng::new(21);
    let mut peer = fixtures::host_with(&mut rng, 1, 3);
    let ids: Vec<DocId> = peer.ids().cloned().collect();
    let roster = DocId::workspace(&DocKind::Roster);
    let ws = fieldcrm_model::sig::workspace_id_for(&peer.device());
    let mut d = Document::create(
        roster.clone(),
        &peer.device(),
        1_000_000,
        &Roster::new(&ws, "W"),
        "found",
    )
    .unwrap();
    peer.put(&mut d);
    let turn = |seq: u64, parts: Vec<wire::ChangesPart>| {
        wire::encode_turn(&Turn {
            seq,
            hello: (seq == 0).then(|| WS.to_string()),
            more: true,
            changes: parts,
            ..Turn::default()
        })
    };
    let mut s = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
    s.receive(&turn(0, vec![whole(&peer, &ids[0])]));
    let first = saves_asked(&mut s);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(s.awaits_peer());
    // Another document: judged at once, while the first save is in flight.
    s.receive(&turn(1, vec![whole(&peer, &ids[1])]));
    let second = saves_asked(&mut s);
    assert_eq!(second.len(), 1);
    assert!(s.awaits_peer());
    // The first save's document again: waits for it, and so does what comes after.
    s.receive(&turn(2, vec![whole(&peer, &ids[0])]));
    s.receive(&turn(3, vec![whole(&peer, &ids[2])]));
    assert!(saves_asked(&mut s).is_empty());
    assert!(!s.awaits_peer());
    s.saved(second[0].0, Ok(()));
    assert!(
        saves_asked(&mut s).is_empty(),
        "still waiting for the first"
    );
    s.saved(first[0].0, Ok(()));
    let then = saves_asked(&mut s);
    let then: Vec<&DocId> = then.iter().flat_map(|(_, d)| d).collect();
    assert_eq!(then, vec![&ids[0], &ids[2]], "in the order they came");
    assert!(s.awaits_peer());
    assert_eq!(s.status(), Status::Running);
    assert_eq!(s.report().docs_saved, 2);

    // A save holding the roster: every later message with changes waits for it.
    let mut s = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
    s.receive(&turn(0, vec![whole(&peer, &roster)]));
    let first = saves_asked(&mut s);
    assert_eq!(first.len(), 1);
    s.receive(&turn(1, vec![whole(&peer, &ids[1])]));
    assert!(saves_asked(&mut s).is_empty());
    assert!(!s.awaits_peer());
    s.saved(first[0].0, Ok(()));
    assert_eq!(saves_asked(&mut s).len(), 1);
}

/// A turn of thousands of documents leaves message by message: the host is asked for
/// the next documents only after the messages before them are handed out to send, so
/// the peer starts on the first while this side loads the rest.
#[test]
fn a_large_turn_leaves_message_by_message_as_its_documents_load() {
    let mut rng = SimRng::new(33);
    let mut a_host = fixtures::host_with(&mut rng, 1, 2_500);
    let mut b_host = MemoryHost::new(crate::sim::secret(2));
    let total = a_host.len() as u64;
    let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, a_host.index());
    let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, b_host.index());
    // How many documents this side had loaded when each of its messages was ready.
    let mut loaded_at_send = Vec::new();
    for _ in 0..1_000 {
        let frames = a.run_host_step(&mut a_host);
        for f in &frames {
            loaded_at_send.push(a_host.loads);
            b.receive(f);
        }
        if a.has_output() {
            assert!(
                !frames.is_empty(),
                "a step that sends nothing must be the last"
            );
            continue;
        }
        let back = b.run_host(&mut b_host);
        if back.is_empty() {
            break;
        }
        for f in &back {
            a.receive(f);
        }
    }
    assert_eq!(a.status(), Status::Finished);
    assert_eq!(b.status(), Status::Finished);
    assert_eq!(b_host.len() as u64, total);
    assert_eq!(b_host.heads(), a_host.heads());
    let early = loaded_at_send
        .iter()
        .filter(|&&n| n > 0 && n < total)
        .count();
    assert!(
        early >= 2,
        "messages ready before every document was loaded: {early} ({loaded_at_send:?})"
    );
}
