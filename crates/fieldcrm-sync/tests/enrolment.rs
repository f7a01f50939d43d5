//! A device not yet in the roster enrols itself with an admin's invitation: the roster
//! chain accepts exactly that change and nothing like it (forged or tampered invitations,
//! a wrong code, an expired invitation, extra writes, a second use), and a concurrent
//! double use is settled the same way on every replica.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::invitation::{code_secret, enrolment_message};
use fieldcrm_model::sig::workspace_id_for;
use fieldcrm_model::{
    Device, DocId, DocKind, Document, Enrolment, Invitation, InviteCode, Role, Roster, Summary,
    User, hex,
};
use fieldcrm_sync::sim::{Faults, MemoryHost, PairOutcome, SimRng, device, secret, sync_pair};
use fieldcrm_sync::{RefusedChange, RosterScope, Scope, Unrestricted};

const ADMIN: u8 = 1;
const REP: u8 = 3;
const REVOKED_ADMIN: u8 = 5;
const NEW: u8 = 7;
const NEW2: u8 = 8;
const STRANGER: u8 = 9;
const RECEIVER: u8 = 2;

/// Invitations are made at 2 000 000 ms and expire at 3 000 000 ms.
const CREATED: i64 = 2_000_000;
const EXPIRES: i64 = 3_000_000;

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

fn roster(ws: &str) -> Roster {
    let mut r = Roster::new(ws, "测试公司");
    r.users.insert("admin".into(), user(Role::Admin));
    r.users.insert("mgr".into(), user(Role::Manager));
    r.users.insert("rep1".into(), user(Role::Rep));
    for (n, u, revoked_at) in [
        (ADMIN, "admin", None),
        (RECEIVER, "mgr", None),
        (REP, "rep1", None),
        (REVOKED_ADMIN, "admin", Some(1_500_000)),
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

fn roster_id() -> DocId {
    DocId::workspace(&DocKind::Roster)
}

/// The founder's store holding the roster.
fn founded(ws: &str) -> MemoryHost {
    let mut h = MemoryHost::new(secret(ADMIN));
    let mut d =
        Document::create(roster_id(), &device(ADMIN), 1_000_000, &roster(ws), "found").unwrap();
    h.put(&mut d);
    h
}

fn code() -> InviteCode {
    InviteCode::parse("K7QX-4M2P").unwrap()
}

/// An invitation for a new rep 张三 in team 华东, signed by device `by`.
fn invitation(ws: &str, by: u8) -> Invitation {
    let mut inv = Invitation {
        workspace_id: ws.into(),
        id: "1d".repeat(16),
        user: "5e".repeat(16),
        new_user: true,
        name: "张三".into(),
        role: Role::Rep,
        team: Some("华东".into()),
        created_at: CREATED,
        expires_at: EXPIRES,
        code_key: code_secret(&code(), ws).public().to_hex(),
        created_by: String::new(),
        signature: String::new(),
    };
    inv.sign(&secret(by));
    inv
}

/// Device `h` writes its enrolment with `inv` at `now`, proving `code`, plus `extra`.
fn enrol(
    h: &mut MemoryHost,
    inv: &Invitation,
    code: &InviteCode,
    now: i64,
    extra: impl FnOnce(&mut Document),
) -> ChangeHash {
    let ws = inv.workspace_id.clone();
    let me = h.device();
    let proof = hex(&code_secret(code, &ws).sign(&enrolment_message(&ws, &inv.id, &me)));
    let mut hash = None;
    h.edit(&roster_id(), |d| {
        if inv.new_user {
            d.put(&["users", &inv.user], &inv.new_user_record())
                .unwrap();
        }
        d.put(
            &["devices", &me.to_hex()],
            &Device {
                user: inv.user.clone(),
                label: "张三的手机".into(),
                enrolled_at: now,
                revoked_at: None,
                invitation: Some(Enrolment {
                    invitation: inv.clone(),
                    proof,
                }),
            },
        )
        .unwrap();
        extra(d);
        hash = d.commit(now, "受邀加入 join by invitation");
    });
    hash.unwrap()
}

fn summaries(host: &MemoryHost) -> impl Fn(&DocId) -> Option<Summary> + use<> {
    let map: BTreeMap<DocId, Summary> = host
        .ids()
        .map(|id| (id.clone(), host.document(id).unwrap().summary().unwrap()))
        .collect();
    move |id| map.get(id).cloned()
}

fn chain_scope(
    ws: &str,
    host: &MemoryHost,
) -> RosterScope<impl Fn(&DocId) -> Option<Summary> + use<>> {
    let local = host
        .bytes(&roster_id())
        .map(|b| AutoCommit::load(b).unwrap());
    RosterScope::new(roster(ws), "admin", summaries(host)).roster_chain(ws, local)
}

fn sync_into(ws: &str, from: &mut MemoryHost, to: &mut MemoryHost) -> PairOutcome {
    let scope = chain_scope(ws, to);
    sync_with(ws, from, to, scope)
}

fn sync_with<S: Scope>(ws: &str, from: &mut MemoryHost, to: &mut MemoryHost, s: S) -> PairOutcome {
    let mut net = SimRng::new(1);
    let o = sync_pair(ws, from, Unrestricted, to, s, Faults::NONE, &mut net, None);
    assert!(o.finished(), "{o:?}");
    o
}

fn refusals(o: &PairOutcome) -> Vec<&RefusedChange> {
    o.initiator_report
        .refused_changes
        .iter()
        .chain(&o.responder_report.refused_changes)
        .collect()
}

fn saved_roster(h: &MemoryHost) -> Roster {
    h.document(&roster_id()).unwrap().hydrate().unwrap()
}

/// A receiver holding the founder's roster, and the new device holding it too.
fn setup(ws: &str) -> (MemoryHost, MemoryHost, MemoryHost) {
    let founder = founded(ws);
    let mut receiver = MemoryHost::new(secret(RECEIVER));
    receiver.copy_from(&founder, &roster_id());
    let mut new = MemoryHost::new(secret(NEW));
    new.copy_from(&founder, &roster_id());
    (founder, receiver, new)
}

/// Enrol `NEW` with `inv` and `code` (plus `extra`) and sync it to a receiver: the
/// refusal reason, or `None` when accepted.
fn verdict(
    ws: &str,
    inv: &Invitation,
    code: &InviteCode,
    now: i64,
    extra: impl FnOnce(&mut Document),
) -> Option<String> {
    let (_, mut receiver, mut new) = setup(ws);
    let hash = enrol(&mut new, inv, code, now, extra);
    let o = sync_into(ws, &mut new, &mut receiver);
    let r = refusals(&o);
    assert!(r.len() <= 1, "{o:#?}");
    r.first().map(|r| {
        assert_eq!((r.hash, r.author), (hash, Some(device(NEW))));
        r.reason.clone()
    })
}

#[test]
fn a_device_enrols_itself_with_an_admins_invitation() {
    let ws = workspace_id_for(&device(ADMIN));
    let (_, mut receiver, mut new) = setup(&ws);
    let inv = invitation(&ws, ADMIN);
    enrol(&mut new, &inv, &code(), CREATED + 60_000, |_| {});
    let o = sync_into(&ws, &mut new, &mut receiver);
    assert!(refusals(&o).is_empty(), "{o:#?}");
    let r = saved_roster(&receiver);
    let d = &r.devices[&device(NEW).to_hex()];
    assert_eq!(d.user, inv.user);
    assert_eq!(d.invited_by(), Some(device(ADMIN).to_hex().as_str()));
    let u = &r.users[&inv.user];
    assert_eq!((u.name.as_str(), &u.role), ("张三", &Role::Rep));
    assert_eq!(u.team.as_deref(), Some("华东"));

    // An invitation for another device of an existing user leaves the user as it is.
    let mut more = invitation(&ws, ADMIN);
    more.id = "2d".repeat(16);
    more.user = "rep1".into();
    more.new_user = false;
    more.sign(&secret(ADMIN));
    assert_eq!(verdict(&ws, &more, &code(), CREATED, |_| {}), None);
}

#[test]
fn forged_tampered_wrong_and_expired_invitations_are_refused() {
    let ws = workspace_id_for(&device(ADMIN));
    let at = CREATED + 1;
    let cases: Vec<(&str, Invitation, InviteCode, i64, &str)> = vec![
        (
            "signed by a rep's device",
            invitation(&ws, REP),
            code(),
            at,
            "which is not an admin's",
        ),
        (
            "signed by a stranger",
            invitation(&ws, STRANGER),
            code(),
            at,
            "which was not enrolled",
        ),
        (
            "signed by an admin's device after it was revoked",
            invitation(&ws, REVOKED_ADMIN),
            code(),
            at,
            "after it was revoked",
        ),
        (
            "role raised after signing",
            {
                let mut i = invitation(&ws, ADMIN);
                i.role = Role::Admin;
                i
            },
            code(),
            at,
            "signature does not verify",
        ),
        (
            "wrong code",
            invitation(&ws, ADMIN),
            InviteCode::parse("K7QX-4M2Q").unwrap(),
            at,
            "proof of the invitation code does not verify",
        ),
        (
            "used after it expired",
            invitation(&ws, ADMIN),
            code(),
            EXPIRES + 1_000,
            "had expired",
        ),
        (
            "for another workspace",
            {
                let mut i = invitation(&ws, ADMIN);
                i.workspace_id = "0".repeat(32);
                i.sign(&secret(ADMIN));
                i
            },
            code(),
            at,
            "another workspace",
        ),
        (
            "valid for a year",
            {
                let mut i = invitation(&ws, ADMIN);
                i.expires_at = CREATED + 365 * 86_400_000;
                i.sign(&secret(ADMIN));
                i
            },
            code(),
            at,
            "validity",
        ),
    ];
    for (what, inv, code, now, reason) in cases {
        let r =
            verdict(&ws, &inv, &code, now, |_| {}).unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(r.contains("enrolled itself by invitation"), "{what}: {r}");
        assert!(r.contains(reason), "{what}: {r}");
    }
}

/// Something more an enrolment change writes.
type Extra = Box<dyn FnOnce(&mut Document)>;

#[test]
fn an_enrolment_that_writes_anything_else_is_refused() {
    let ws = workspace_id_for(&device(ADMIN));
    let inv = invitation(&ws, ADMIN);
    let at = CREATED + 1;
    let extras: Vec<(&str, Extra, &str)> = vec![
        (
            "promotes another user",
            Box::new(|d: &mut Document| d.put(&["users", "rep1", "role"], &Role::Admin).unwrap()),
            "changes other users",
        ),
        (
            "un-revokes a device",
            Box::new(|d: &mut Document| {
                d.put(
                    &["devices", &device(REVOKED_ADMIN).to_hex(), "revoked_at"],
                    &None::<i64>,
                )
                .unwrap()
            }),
            "changes other devices",
        ),
        (
            "renames the company",
            Box::new(|d: &mut Document| {
                d.automerge_mut()
                    .put(automerge::ROOT, "workspace_name", "别的公司")
                    .unwrap()
            }),
            "writes more than its own device",
        ),
        (
            "adds a key the model does not read",
            Box::new(|d: &mut Document| {
                d.automerge_mut()
                    .put(automerge::ROOT, "trusted_relays", "evil")
                    .unwrap()
            }),
            "writes more than its own device",
        ),
        (
            "makes itself an admin",
            Box::new(|d: &mut Document| {
                d.put(&["users", &"5e".repeat(16), "role"], &Role::Admin)
                    .unwrap()
            }),
            "not the one the invitation names",
        ),
        (
            "enrols a second device",
            Box::new(|d: &mut Document| {
                d.put(
                    &["devices", &device(NEW2).to_hex()],
                    &Device {
                        user: "rep1".into(),
                        label: "x".into(),
                        enrolled_at: 0,
                        revoked_at: None,
                        invitation: None,
                    },
                )
                .unwrap()
            }),
            "changes other devices",
        ),
    ];
    for (what, extra, reason) in extras {
        let r =
            verdict(&ws, &inv, &code(), at, extra).unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(r.contains(reason), "{what}: {r}");
    }

    // A device outside the roster that writes anything but its enrolment is refused as
    // before.
    let (_, mut receiver, mut stranger) = setup(&ws);
    stranger.edit(&roster_id(), |d| {
        d.put(&["users", "rep1", "role"], &Role::Admin).unwrap();
        d.commit(at, "coup");
    });
    let o = sync_into(&ws, &mut stranger, &mut receiver);
    let r = refusals(&o);
    assert_eq!(r.len(), 1, "{o:#?}");
    assert!(
        r[0].reason
            .contains("was not enrolled when it changed the roster"),
        "{}",
        r[0].reason
    );
}

#[test]
fn an_invitation_counts_once() {
    let ws = workspace_id_for(&device(ADMIN));
    let inv = invitation(&ws, ADMIN);
    let (founder, mut receiver, mut first) = setup(&ws);
    enrol(&mut first, &inv, &code(), CREATED + 1, |_| {});

    // Used again by a device that saw the first use: refused.
    let mut second = MemoryHost::new(secret(NEW2));
    second.copy_from(&first, &roster_id());
    let again = enrol(&mut second, &inv, &code(), CREATED + 2, |_| {});
    let o = sync_into(&ws, &mut second, &mut receiver);
    let r = refusals(&o);
    assert_eq!(r.len(), 1, "{o:#?}");
    assert_eq!(r[0].hash, again);
    assert!(
        r[0].reason.contains("already used by device"),
        "{}",
        r[0].reason
    );
    assert_eq!(saved_roster(&receiver).devices.len(), 5);

    // Used concurrently (neither saw the other): both are kept and every replica reads
    // only the device with the lowest key, whichever arrived first.
    let mut concurrent = MemoryHost::new(secret(NEW2));
    concurrent.copy_from(&founder, &roster_id());
    enrol(&mut concurrent, &inv, &code(), CREATED + 3, |_| {});
    let (lo, hi) = if device(NEW) < device(NEW2) {
        (NEW, NEW2)
    } else {
        (NEW2, NEW)
    };
    let mut readings = Vec::new();
    for order in [[0, 1], [1, 0]] {
        let mut r = MemoryHost::new(secret(RECEIVER));
        r.copy_from(&founder, &roster_id());
        for i in order {
            let from = if i == 0 { &mut first } else { &mut concurrent };
            let o = sync_into(&ws, from, &mut r);
            assert!(refusals(&o).is_empty(), "{o:#?}");
        }
        let roster = saved_roster(&r);
        assert!(roster.devices.contains_key(&device(lo).to_hex()));
        assert!(!roster.devices.contains_key(&device(hi).to_hex()));
        readings.push(roster);
    }
    assert_eq!(readings[0], readings[1]);
    assert!(readings[0].users.contains_key(&inv.user));
}

#[test]
fn a_roster_held_here_that_cannot_be_read_refuses_roster_changes_and_says_why() {
    let ws = workspace_id_for(&device(ADMIN));
    let (_, mut receiver, mut new) = setup(&ws);
    let inv = invitation(&ws, ADMIN);
    let hash = enrol(&mut new, &inv, &code(), CREATED + 60_000, |_| {});
    let loads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = loads.clone();
    let scope = RosterScope::new(roster(&ws), "admin", summaries(&receiver)).roster_chain_from(
        &ws,
        Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err("磁盘损坏 disk damaged".into())
        }),
    );
    let o = sync_with(&ws, &mut new, &mut receiver, scope);
    let r = refusals(&o);
    assert_eq!(r.len(), 1, "{o:#?}");
    assert_eq!(r[0].hash, hash);
    assert!(
        r[0].reason
            .contains("the roster held here cannot be read: 磁盘损坏 disk damaged"),
        "{}",
        r[0].reason
    );
    // Read only because roster changes came, and only then.
    assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        !saved_roster(&receiver)
            .devices
            .contains_key(&device(NEW).to_hex())
    );
}

/// A device secret for device number `i` (beyond the `u8` numbers of `sim::secret`).
fn secret_n(i: usize) -> fieldcrm_model::DeviceSecret {
    let mut b = [0x77u8; 32];
    b[0] = (i & 0xff) as u8;
    b[1] = (i >> 8) as u8;
    fieldcrm_model::DeviceSecret::from_bytes(&b).unwrap()
}

/// Invitation number `i` (its own ID and new user), signed by the founder.
fn invitation_n(ws: &str, i: usize) -> Invitation {
    let mut inv = invitation(ws, ADMIN);
    inv.id = format!("{:032x}", i + 1);
    inv.user = format!("{:032x}", i + 1000);
    inv.sign(&secret(ADMIN));
    inv
}

/// Device `i` takes `from`'s roster and enrols itself with `inv`.
fn enrolled_after(from: &MemoryHost, i: usize, inv: &Invitation) -> (MemoryHost, ChangeHash) {
    let mut h = MemoryHost::new(secret_n(i));
    h.copy_from(from, &roster_id());
    let hash = enrol(&mut h, inv, &code(), CREATED + 10 + i as i64, |_| {});
    (h, hash)
}

#[test]
fn invitations_used_earlier_in_the_same_session_count() {
    // One session brings a roster where devices 0..4 enrolled one after another, an
    // admin then added a user, devices 4..6 enrolled, and device 6 reused device 4's
    // invitation: the receiver judges all of it in one pass, with the invitations' holders
    // kept as it goes (and read again after the admin's change).
    let ws = workspace_id_for(&device(ADMIN));
    let founder = founded(&ws);
    let mut last = founder.clone();
    let mut keys = Vec::new();
    for i in 0..6 {
        if i == 4 {
            let mut admin = MemoryHost::new(secret(ADMIN));
            admin.copy_from(&last, &roster_id());
            admin.edit(&roster_id(), |d| {
                d.put(&["users", "mgr2"], &user(Role::Manager)).unwrap();
                d.commit(CREATED + 50, "add a manager");
            });
            last = admin;
        }
        let (h, _) = enrolled_after(&last, i, &invitation_n(&ws, i));
        keys.push(h.device().to_hex());
        last = h;
    }
    let (mut reuser, again) = enrolled_after(&last, 6, &invitation_n(&ws, 4));
    let mut receiver = MemoryHost::new(secret(RECEIVER));
    receiver.copy_from(&founder, &roster_id());
    let o = sync_into(&ws, &mut reuser, &mut receiver);
    let r = refusals(&o);
    assert_eq!(r.len(), 1, "{o:#?}");
    assert_eq!(r[0].hash, again);
    assert!(
        r[0].reason.contains(&format!(
            "the invitation was already used by device {}",
            fieldcrm_model::short_id(&keys[4])
        )),
        "{}",
        r[0].reason
    );
    let roster = saved_roster(&receiver);
    assert!(keys.iter().all(|k| roster.devices.contains_key(k)));
    assert!(roster.users.contains_key("mgr2"));
    assert_eq!(roster.devices.len(), 4 + 6);
}

/// How long a device's first sync takes to judge a roster where `n` devices enrolled
/// by invitation one after another (each checked against the roster before it). Not a
/// pass/fail timing: `SCALE_N=200,400,800 cargo test --release -p fieldcrm-sync --test
/// enrolment -- --ignored --nocapture` prints it (BENCHMARKS.md).
#[test]
#[ignore]
fn roster_of_many_invitations_first_sync() {
    let ws = workspace_id_for(&device(ADMIN));
    let founder = founded(&ws);
    let sizes: Vec<usize> = std::env::var("SCALE_N")
        .map(|s| s.split(',').map(|x| x.trim().parse().unwrap()).collect())
        .unwrap_or(vec![100, 200, 400]);
    for n in sizes {
        let mut last = founder.clone();
        for i in 0..n {
            last = enrolled_after(&last, i, &invitation_n(&ws, i)).0;
        }
        let mut receiver = MemoryHost::new(secret(RECEIVER));
        receiver.copy_from(&founder, &roster_id());
        let t = std::time::Instant::now();
        let o = sync_into(&ws, &mut last, &mut receiver);
        let took = t.elapsed();
        assert!(refusals(&o).is_empty(), "{o:#?}");
        assert_eq!(saved_roster(&receiver).devices.len(), 4 + n);
        println!(
            "| {n} devices enrolled by invitation | {:.0} ms | {:.2} ms per enrolment |",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3 / n as f64
        );
    }
}
