//! Signed changes between real sessions: forged authors, damaged signatures, revoked
//! devices, the roster's chain of authority, forwarding through a third device, and
//! convergence of signing replicas over a lossy network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, Change, ChangeHash};
use fieldcrm_model::sig::{verify_change, workspace_id_for};
use fieldcrm_model::{
    Device, DeviceKey, DocId, DocKind, Document, Role, Roster, Signature, Summary, User,
    change_time_raw,
};
use fieldcrm_sync::sim::{
    Faults, MemoryHost, PairOutcome, SimRng, device, fixtures, secret, sync_pair,
};
use fieldcrm_sync::{RefusedChange, RosterScope, Scope, Unrestricted};

const WS: &str = "0123456789abcdef0123456789abcdef";

// Device numbers (keys from `sim::secret`).
const ADMIN: u8 = 1;
const MGR: u8 = 2;
const REP: u8 = 3;
const OTHER: u8 = 4;
const REVOKED: u8 = 5;
const ADMIN2: u8 = 6;

/// When device REVOKED was revoked (UTC ms).
const REVOKED_AT: i64 = 10_000_000;

fn user(role: Role) -> User {
    User {
        name: "u".into(),
        role,
        team: Some("east".into()),
        region: None,
        active: true,
        created_at: 0,
    }
}

fn roster(workspace_id: &str) -> Roster {
    let mut r = Roster::new(workspace_id, "测试公司");
    r.users.insert("admin".into(), user(Role::Admin));
    r.users.insert("mgr".into(), user(Role::Manager));
    r.users.insert("rep1".into(), user(Role::Rep));
    for (n, u, revoked_at) in [
        (ADMIN, "admin", None),
        (MGR, "mgr", None),
        (REP, "rep1", None),
        (OTHER, "rep1", None),
        (REVOKED, "rep1", Some(REVOKED_AT)),
        (ADMIN2, "admin", None),
    ] {
        r.devices.insert(
            device(n).to_hex(),
            Device {
                user: u.into(),
                label: "phone".into(),
                enrolled_at: 0,
                revoked_at,
                invitation: None,
            },
        );
    }
    r
}

fn summaries(host: &MemoryHost) -> impl Fn(&DocId) -> Option<Summary> + use<> {
    let map: BTreeMap<DocId, Summary> = host
        .ids()
        .map(|id| (id.clone(), host.document(id).unwrap().summary().unwrap()))
        .collect();
    move |id| map.get(id).cloned()
}

fn sync<SA: Scope, SB: Scope>(
    a: &mut MemoryHost,
    scope_a: SA,
    b: &mut MemoryHost,
    scope_b: SB,
) -> PairOutcome {
    sync_in(WS, a, scope_a, b, scope_b)
}

fn sync_in<SA: Scope, SB: Scope>(
    ws: &str,
    a: &mut MemoryHost,
    scope_a: SA,
    b: &mut MemoryHost,
    scope_b: SB,
) -> PairOutcome {
    let mut net = SimRng::new(1);
    let o = sync_pair(ws, a, scope_a, b, scope_b, Faults::NONE, &mut net, None);
    assert!(o.finished(), "{o:?}");
    o
}

/// A customer file of rep1 created on `h` at `now`.
fn new_customer(h: &mut MemoryHost, rng: &mut SimRng, now: i64) -> DocId {
    let mut d = fixtures::customer(rng, &h.device(), "rep1", now);
    h.put(&mut d);
    d.id().clone()
}

/// An honest, signed edit on `h`; returns its change hash.
fn edit(h: &mut MemoryHost, id: &DocId, rng: &mut SimRng, now: i64) -> ChangeHash {
    let mut head = None;
    h.edit(id, |d| {
        fixtures::edit(rng, d, "rep1", now);
        head = d.heads().first().copied();
    });
    head.unwrap()
}

/// A change written with raw Automerge under `actor_of`'s actor ID on top of `base`
/// (a saved document), as any Automerge client could write it.
fn forge(base: &[u8], actor_of: DeviceKey, now: i64) -> Change {
    let mut doc = AutoCommit::load(base).unwrap().with_actor(actor_of.actor());
    doc.put(automerge::ROOT, "annual_value", 99_999_900i64)
        .unwrap();
    doc.commit_with(
        CommitOptions::default()
            .with_message("raise the deal")
            .with_time(change_time_raw(now)),
    )
    .unwrap();
    doc.get_last_local_change().unwrap()
}

/// Add a change to a stored document, with `sig` as its stored signature (none: unsigned).
fn inject(h: &mut MemoryHost, id: &DocId, change: Change, sig: Option<Signature>) {
    let hash = change.hash();
    let mut doc = AutoCommit::load(h.bytes(id).unwrap()).unwrap();
    doc.apply_changes([change]).unwrap();
    h.put_automerge(id.clone(), &mut doc);
    match sig {
        Some(s) => h.set_sig(id, hash, s),
        None => h.remove_sig(id, &hash),
    }
}

/// The stored heads of a document.
fn heads(h: &MemoryHost, id: &DocId) -> Vec<ChangeHash> {
    h.heads().remove(id).unwrap_or_default()
}

fn has_change(h: &MemoryHost, id: &DocId, hash: &ChangeHash) -> bool {
    let mut doc = AutoCommit::load(h.bytes(id).unwrap()).unwrap();
    doc.get_change_meta_by_hash(hash).is_some()
}

fn refused<'a>(o: &'a PairOutcome, hash: &ChangeHash) -> &'a RefusedChange {
    o.initiator_report
        .refused_changes
        .iter()
        .chain(&o.responder_report.refused_changes)
        .find(|r| r.hash == *hash)
        .unwrap_or_else(|| panic!("change {hash} was not refused: {o:#?}"))
}

fn all_refused(o: &PairOutcome) -> usize {
    o.initiator_report.refused_changes.len() + o.responder_report.refused_changes.len()
}

/// A forger's store and a receiver's, both holding two customer files of the forger
/// (synced), the receiver being another device.
fn forger_and_receiver(seed: u64) -> (MemoryHost, MemoryHost, DocId, DocId, SimRng) {
    let mut rng = SimRng::new(seed);
    let mut forger = MemoryHost::new(secret(REP));
    let d1 = new_customer(&mut forger, &mut rng, 1_000_000);
    let d2 = new_customer(&mut forger, &mut rng, 1_000_000);
    let mut receiver = MemoryHost::new(secret(OTHER));
    sync(&mut forger, Unrestricted, &mut receiver, Unrestricted);
    assert_eq!(receiver.heads(), forger.heads());
    (forger, receiver, d1, d2, rng)
}

#[test]
fn a_change_forged_under_another_devices_actor_is_refused_and_the_forgers_honest_changes_saved() {
    // Signed with the forger's own key, or not signed at all.
    for signed in [true, false] {
        let (mut forger, mut receiver, d1, d2, mut rng) = forger_and_receiver(11);
        let victim = device(MGR);
        let fake = forge(forger.bytes(&d1).unwrap(), victim, 2_000_000);
        let fake_hash = fake.hash();
        // An honest change to the same document, concurrent with the forged one, and
        // one to another document.
        let honest1 = edit(&mut forger, &d1, &mut rng, 2_000_000);
        let honest2 = edit(&mut forger, &d2, &mut rng, 2_000_000);
        let sig = signed.then(|| secret(REP).sign_change(&fake_hash));
        inject(&mut forger, &d1, fake, sig);
        assert_eq!(heads(&forger, &d1).len(), 2);

        let o = sync(&mut forger, Unrestricted, &mut receiver, Unrestricted);
        assert_eq!(all_refused(&o), 1, "signed {signed}: {o:#?}");
        let r = refused(&o, &fake_hash);
        assert_eq!(r.doc, d1);
        assert_eq!(r.author, Some(victim), "the author is the actor it names");
        // Sent as a change, an unsigned change travels with an empty signature.
        assert!(
            r.reason.contains("signature does not verify"),
            "signed {signed}: {}",
            r.reason
        );
        // The forger is told, for that document only.
        let told = &o.initiator_report.refused_by_peer;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, d1);
        assert!(told[0].1.contains("signature"), "{}", told[0].1);
        // The forger's honest changes are saved, the forged one is not.
        assert_eq!(heads(&receiver, &d1), vec![honest1]);
        assert_eq!(heads(&receiver, &d2), vec![honest2]);
        assert!(!has_change(&receiver, &d1, &fake_hash));
        assert_eq!(receiver.bad_signatures(), vec![]);
        assert_eq!(o.responder_report.docs_saved, 2);

        // A device that has neither document gets them whole: the same verdict.
        let mut fresh = MemoryHost::new(secret(MGR));
        let o = sync(&mut forger, Unrestricted, &mut fresh, Unrestricted);
        assert_eq!(all_refused(&o), 1, "{o:#?}");
        let r = refused(&o, &fake_hash);
        assert_eq!((&r.doc, r.author), (&d1, Some(victim)));
        let expected = if signed {
            "signature does not verify"
        } else {
            "not signed"
        };
        assert!(r.reason.contains(expected), "{}", r.reason);
        assert_eq!(fresh.heads(), receiver.heads());
        assert_eq!(fresh.bad_signatures(), vec![]);
    }
}

#[test]
fn one_flipped_bit_in_a_signature_refuses_that_change_only() {
    let (mut forger, mut receiver, d1, d2, mut rng) = forger_and_receiver(12);
    let damaged = edit(&mut forger, &d1, &mut rng, 2_000_000);
    let fine = edit(&mut forger, &d2, &mut rng, 2_000_000);
    let mut sig = forger.sigs(&d1)[&damaged];
    sig[17] ^= 0x08;
    forger.set_sig(&d1, damaged, sig);
    let before = heads(&receiver, &d1);

    let o = sync(&mut forger, Unrestricted, &mut receiver, Unrestricted);
    assert_eq!(all_refused(&o), 1, "{o:#?}");
    let r = refused(&o, &damaged);
    assert_eq!((&r.doc, r.author), (&d1, Some(device(REP))));
    assert!(
        r.reason.contains("signature does not verify"),
        "{}",
        r.reason
    );
    assert_eq!(heads(&receiver, &d1), before);
    assert_eq!(heads(&receiver, &d2), vec![fine]);
    assert_eq!(receiver.bad_signatures(), vec![]);
}

#[test]
fn a_change_depending_on_a_refused_change_is_refused_too() {
    // On a forged change (refused for its signature).
    let (mut forger, mut receiver, d1, _, mut rng) = forger_and_receiver(13);
    let base = heads(&forger, &d1);
    let fake = forge(forger.bytes(&d1).unwrap(), device(MGR), 2_000_000);
    let fake_hash = fake.hash();
    inject(&mut forger, &d1, fake, None);
    let on_top = edit(&mut forger, &d1, &mut rng, 3_000_000);
    let o = sync(&mut forger, Unrestricted, &mut receiver, Unrestricted);
    assert_eq!(all_refused(&o), 2, "{o:#?}");
    assert!(refused(&o, &fake_hash).reason.contains("signature"));
    let r = refused(&o, &on_top);
    assert_eq!(r.author, Some(device(REP)));
    assert!(
        r.reason.contains("depends on refused change")
            && r.reason
                .contains(fieldcrm_model::short_id(&fake_hash.to_string())),
        "{}",
        r.reason
    );
    assert_eq!(heads(&receiver, &d1), base);

    // On a change the scope refuses (a revoked device's): an enrolled device's change
    // on top of it is refused as well, and an independent one is saved.
    let ws = workspace_id_for(&device(ADMIN));
    let mut rng = SimRng::new(14);
    let mut revoked = MemoryHost::new(secret(REVOKED));
    let mut rep = MemoryHost::new(secret(REP));
    let mut mgr = MemoryHost::new(secret(MGR));
    let d = new_customer(&mut rep, &mut rng, 1_000_000);
    let other_doc = new_customer(&mut rep, &mut rng, 1_000_000);
    sync(&mut rep, Unrestricted, &mut mgr, Unrestricted);
    revoked.copy_from(&rep, &d);
    let late = edit(&mut revoked, &d, &mut rng, REVOKED_AT + 1_000);
    rep.copy_from(&revoked, &d);
    let on_late = edit(&mut rep, &d, &mut rng, REVOKED_AT + 2_000);
    let independent = edit(&mut rep, &other_doc, &mut rng, REVOKED_AT + 2_000);
    let scope_mgr = RosterScope::new(roster(&ws), "rep1", summaries(&mgr));
    let o = sync(&mut rep, Unrestricted, &mut mgr, scope_mgr);
    assert_eq!(all_refused(&o), 2, "{o:#?}");
    assert!(refused(&o, &late).reason.contains("revoked"));
    let r = refused(&o, &on_late);
    assert_eq!(r.author, Some(device(REP)));
    assert!(
        r.reason.contains("depends on refused change"),
        "{}",
        r.reason
    );
    assert!(!has_change(&mgr, &d, &late) && !has_change(&mgr, &d, &on_late));
    assert_eq!(heads(&mgr, &other_doc), vec![independent]);
}

#[test]
fn a_revoked_devices_changes_are_refused_from_its_revocation_on() {
    let ws = workspace_id_for(&device(ADMIN));
    let mut rng = SimRng::new(15);
    let mut revoked = MemoryHost::new(secret(REVOKED));
    let mut mgr = MemoryHost::new(secret(MGR));
    // A document the manager holds, and one it does not (it arrives whole).
    let held = new_customer(&mut revoked, &mut rng, 1_000_000);
    mgr.copy_from(&revoked, &held);
    let before = edit(&mut revoked, &held, &mut rng, REVOKED_AT - 1_000);
    let after = edit(&mut revoked, &held, &mut rng, REVOKED_AT);
    let new = new_customer(&mut revoked, &mut rng, 2_000_000);
    let created = heads(&revoked, &new)[0];
    let after_new = edit(&mut revoked, &new, &mut rng, REVOKED_AT + 60_000);

    let scope_mgr = RosterScope::new(roster(&ws), "rep1", summaries(&mgr));
    let o = sync(&mut revoked, Unrestricted, &mut mgr, scope_mgr);
    assert_eq!(all_refused(&o), 2, "{o:#?}");
    for (doc, hash) in [(&held, &after), (&new, &after_new)] {
        let r = refused(&o, hash);
        assert_eq!((&r.doc, r.author), (doc, Some(device(REVOKED))));
        assert!(
            r.reason.contains("was revoked before it made this change"),
            "{}",
            r.reason
        );
    }
    assert_eq!(heads(&mgr, &held), vec![before]);
    assert_eq!(heads(&mgr, &new), vec![created]);
    assert_eq!(mgr.bad_signatures(), vec![]);
    assert_eq!(o.initiator_report.refused_by_peer.len(), 2);
}

/// The roster document founded by device `founder`, as the founding device stores it.
fn founded_roster(founder: u8, ws: &str) -> (MemoryHost, DocId) {
    let mut h = MemoryHost::new(secret(founder));
    let mut d = Document::create(
        DocId::workspace(&DocKind::Roster),
        &device(founder),
        1_000_000,
        &roster(ws),
        "found the workspace",
    )
    .unwrap();
    h.put(&mut d);
    (h, d.id().clone())
}

/// The scope a device applies to `peer_user`, judging roster changes by the chain.
fn chain_scope(
    ws: &str,
    host: &MemoryHost,
    peer_user: &str,
) -> RosterScope<impl Fn(&DocId) -> Option<Summary> + use<>> {
    let id = DocId::workspace(&DocKind::Roster);
    let local = host.bytes(&id).map(|b| AutoCommit::load(b).unwrap());
    RosterScope::new(roster(ws), peer_user, summaries(host)).roster_chain(ws, local)
}

#[test]
fn roster_changes_follow_the_chain_of_authority() {
    let ws = workspace_id_for(&device(ADMIN));
    let (mut founder, id) = founded_roster(ADMIN, &ws);
    // A manager's device with no roster yet receives the founder's roster whole.
    let mut mgr = MemoryHost::new(secret(MGR));
    let scope = chain_scope(&ws, &mgr, "admin");
    let o = sync_in(&ws, &mut founder, Unrestricted, &mut mgr, scope);
    assert_eq!(all_refused(&o), 0, "{o:#?}");
    assert_eq!(mgr.heads(), founder.heads());

    // A rep's device makes its user an admin: refused by the roster it was made on.
    let mut rep = MemoryHost::new(secret(REP));
    rep.copy_from(&founder, &id);
    let mut coup = None;
    rep.edit(&id, |d| {
        d.put(&["users", "rep1", "role"], &Role::Admin).unwrap();
        coup = d.commit(2_000_000, "promote myself");
    });
    let coup = coup.unwrap();
    // A second admin device adds a user: accepted.
    let mut admin2 = MemoryHost::new(secret(ADMIN2));
    admin2.copy_from(&founder, &id);
    let mut hire = None;
    admin2.edit(&id, |d| {
        d.put(&["users", "rep2"], &user(Role::Rep)).unwrap();
        hire = d.commit(2_000_000, "hire");
    });
    let hire = hire.unwrap();

    let scope = chain_scope(&ws, &mgr, "rep1");
    let o = sync_in(&ws, &mut rep, Unrestricted, &mut mgr, scope);
    assert_eq!(all_refused(&o), 1, "{o:#?}");
    let r = refused(&o, &coup);
    assert_eq!((&r.doc, r.author), (&id, Some(device(REP))));
    assert!(
        r.reason
            .contains("only an admin's device may change the roster"),
        "{}",
        r.reason
    );
    assert!(!has_change(&mgr, &id, &coup));

    let scope = chain_scope(&ws, &mgr, "admin");
    let o = sync_in(&ws, &mut admin2, Unrestricted, &mut mgr, scope);
    assert_eq!(all_refused(&o), 0, "{o:#?}");
    assert_eq!(heads(&mgr, &id), vec![hire]);
    let saved: Roster = mgr.document(&id).unwrap().hydrate().unwrap();
    assert!(saved.users.contains_key("rep2"));
    assert_eq!(saved.users["rep1"].role, Role::Rep);

    // The admin relays the rep's change it picked up: still refused (the chain judges
    // the author, not the carrier).
    admin2.copy_from(&rep, &id);
    let scope = chain_scope(&ws, &mgr, "admin");
    let o = sync_in(&ws, &mut admin2, Unrestricted, &mut mgr, scope);
    assert!(refused(&o, &coup).reason.contains("only an admin's device"));
    assert_eq!(heads(&mgr, &id), vec![hire]);
}

#[test]
fn only_the_founding_device_may_start_the_roster() {
    let ws = workspace_id_for(&device(ADMIN));
    // ADMIN2 is an admin in the roster it writes, but the workspace ID commits to ADMIN.
    let (mut usurper, id) = founded_roster(ADMIN2, &ws);
    let root = heads(&usurper, &id)[0];
    let mut fresh = MemoryHost::new(secret(MGR));
    let scope = chain_scope(&ws, &fresh, "admin");
    let o = sync_in(&ws, &mut usurper, Unrestricted, &mut fresh, scope);
    assert_eq!(all_refused(&o), 1, "{o:#?}");
    let r = refused(&o, &root);
    assert_eq!((&r.doc, r.author), (&id, Some(device(ADMIN2))));
    assert!(
        r.reason
            .contains("only the device that founded this workspace may start its roster"),
        "{}",
        r.reason
    );
    assert!(fresh.is_empty(), "nothing of the roster was saved");

    // A device holding the genuine roster receives the usurper's second root merged in.
    let (mut founder, _) = founded_roster(ADMIN, &ws);
    let mut holder = MemoryHost::new(secret(MGR));
    holder.copy_from(&founder, &id);
    let genuine = heads(&founder, &id);
    let mut merged = AutoCommit::load(founder.bytes(&id).unwrap()).unwrap();
    merged
        .load_incremental(usurper.bytes(&id).unwrap())
        .unwrap();
    usurper.put_automerge(id.clone(), &mut merged);
    for (h, s) in founder.sigs(&id) {
        usurper.set_sig(&id, h, s);
    }
    let scope = chain_scope(&ws, &holder, "admin");
    let o = sync_in(&ws, &mut usurper, Unrestricted, &mut holder, scope);
    assert_eq!(all_refused(&o), 1, "{o:#?}");
    assert!(refused(&o, &root).reason.contains("founded this workspace"));
    assert_eq!(heads(&holder, &id), genuine);
    // And the founder's own roster is accepted by a fresh device.
    let mut fresh = MemoryHost::new(secret(REP));
    let scope = chain_scope(&ws, &fresh, "admin");
    let o = sync_in(&ws, &mut founder, Unrestricted, &mut fresh, scope);
    assert_eq!(all_refused(&o), 0, "{o:#?}");
    assert_eq!(heads(&fresh, &id), genuine);
}

#[test]
fn a_change_forwarded_through_a_third_device_keeps_its_author_and_verifies() {
    let ws = workspace_id_for(&device(ADMIN));
    let mut rng = SimRng::new(16);
    let mut a = MemoryHost::new(secret(REP));
    let mut b = MemoryHost::new(secret(MGR));
    let mut c = MemoryHost::new(secret(ADMIN));
    let id = new_customer(&mut a, &mut rng, 1_000_000);
    sync(&mut a, Unrestricted, &mut b, Unrestricted);
    sync(&mut b, Unrestricted, &mut c, Unrestricted);
    let hash = edit(&mut a, &id, &mut rng, 2_000_000);
    let o = sync(&mut a, Unrestricted, &mut b, Unrestricted);
    assert_eq!(all_refused(&o), 0, "{o:#?}");
    // C judges by the roster: the manager relays, the rep wrote it.
    let scope_c = RosterScope::new(roster(&ws), "mgr", summaries(&c));
    let o = sync(&mut b, Unrestricted, &mut c, scope_c);
    assert_eq!(all_refused(&o), 0, "{o:#?}");
    assert_eq!(heads(&c, &id), vec![hash]);
    let mut doc = AutoCommit::load(c.bytes(&id).unwrap()).unwrap();
    let meta = doc.get_change_meta_by_hash(&hash).unwrap();
    assert_eq!(*meta.actor, device(REP).actor(), "A is the author");
    assert_eq!(
        verify_change(&meta.actor, &hash, c.sigs(&id).get(&hash)),
        Ok(device(REP))
    );
    assert_eq!(c.bad_signatures(), vec![]);
    assert_eq!(c.heads(), a.heads());
}

#[test]
fn signing_replicas_converge_over_a_lossy_network() {
    const HOSTS: usize = 5;
    let ws = workspace_id_for(&device(ADMIN));
    let users = ["rep1", "rep1", "rep1", "mgr", "mgr"];
    let mut r = roster(&ws);
    for (i, u) in users.iter().enumerate() {
        r.devices.insert(
            device(20 + i as u8).to_hex(),
            Device {
                user: (*u).into(),
                label: "phone".into(),
                enrolled_at: 0,
                revoked_at: None,
                invitation: None,
            },
        );
    }
    let faults = Faults {
        drop: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
    };
    let mut broken = 0;
    for seed in 1..=6u64 {
        let mut rng = SimRng::new(seed);
        let mut net = SimRng::new(seed ^ 0x5eed);
        let mut hosts: Vec<MemoryHost> = (0..HOSTS)
            .map(|i| MemoryHost::new(secret(20 + i as u8)))
            .collect();
        // A few shared documents, created on different devices.
        let mut ids = Vec::new();
        for k in 0..3 {
            let h = (rng.next_u64() % HOSTS as u64) as usize;
            let id = new_customer(&mut hosts[h], &mut rng, 1_000_000 + k);
            let src = hosts[h].clone();
            for (j, host) in hosts.iter_mut().enumerate() {
                if j != h {
                    host.copy_from(&src, &id);
                }
            }
            ids.push(id);
        }
        let mut now = 2_000_000;
        let mut refusals: Vec<String> = Vec::new();
        let mut sync_two = |hosts: &mut [MemoryHost], i: usize, j: usize, f: Faults| {
            let (a, b) = two(hosts, i, j);
            let scope_a = RosterScope::new(r.clone(), users[j], summaries(a));
            let scope_b = RosterScope::new(r.clone(), users[i], summaries(b));
            let o = sync_pair(&ws, a, scope_a, b, scope_b, f, &mut net, None);
            refusals.extend(
                o.initiator_report
                    .refused_changes
                    .iter()
                    .chain(&o.responder_report.refused_changes)
                    .map(RefusedChange::describe),
            );
            refusals.extend(
                o.initiator_report
                    .refused_here
                    .iter()
                    .chain(&o.responder_report.refused_here)
                    .map(|(doc, reason)| format!("{doc}: {reason}")),
            );
            o
        };
        for _round in 0..8 {
            now += 60_000;
            for _ in 0..1 + rng.next_u64() % 4 {
                let h = (rng.next_u64() % HOSTS as u64) as usize;
                let id = &ids[(rng.next_u64() % ids.len() as u64) as usize];
                edit(&mut hosts[h], id, &mut rng, now);
            }
            for _ in 0..2 {
                let i = (rng.next_u64() % HOSTS as u64) as usize;
                let j = (i + 1 + (rng.next_u64() % (HOSTS as u64 - 1)) as usize) % HOSTS;
                if !sync_two(&mut hosts, i, j, faults).finished() {
                    broken += 1;
                }
            }
        }
        // A final clean round between all pairs.
        for i in 0..HOSTS {
            for j in i + 1..HOSTS {
                let o = sync_two(&mut hosts, i, j, Faults::NONE);
                assert!(o.finished(), "seed {seed}: {o:?}");
            }
        }
        assert!(refusals.is_empty(), "seed {seed}: {refusals:#?}");
        for h in &hosts {
            assert_eq!(h.heads(), hosts[0].heads(), "seed {seed}");
            assert_eq!(h.bad_signatures(), vec![], "seed {seed}");
        }
        for id in &ids {
            let json = hosts[0].document(id).unwrap().to_json();
            for h in &hosts[1..] {
                assert_eq!(h.document(id).unwrap().to_json(), json, "seed {seed}");
            }
        }
    }
    assert!(broken > 0, "the network never lost a session");
    eprintln!("{broken} of {} lossy sessions broken", 6 * 8 * 2);
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
