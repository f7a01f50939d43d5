//! Signed changes, the forgery matrix: every forged change is refused at every entry —
//! a direct sync, a sync through a peer that forwards it, a bundle — by name (document,
//! change, author device, reason), its value never shows on the receiver, and the honest
//! changes that travel with it (to the same document and to another) arrive. The relay
//! entry and the CLI's exit code are in the binary's tests (`tests/forgery.rs`).
//!
//! The forgeries, each planted on 小张's (the rep's) device behind the API's back:
//! - a manager's sign-off (`class_exception`) written under the manager's actor ID,
//!   stored unsigned, or signed with the rep's own key;
//! - the rep's own change whose signature has one bit flipped;
//! - a change by the rep's old phone made after an admin revoked it (and, as a control,
//!   one it made before, which is accepted);
//! - a roster change by the rep (promoting itself to admin).
//!
//! In every world the rep is the sender (A), the admin the forwarding peer (B) and the
//! manager the receiver (C); all three may read the rep's customer 甲公司.

use automerge::ChangeHash;
use fieldcrm_model::{
    Approval, CustomerClass, DeviceKey, DocId, DocKind, Role, Signature, short_id,
};
use fieldcrm_sync::{RefusedChange, Report};
use fieldcrm_testkit::{Device, Kit, MINUTE, Team};
use fieldcrm_workspace::{CustomerEdit, DeviceSecret, Workspace};

/// The forgeries of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// The manager's sign-off written by the rep under the manager's actor ID, unsigned.
    Unsigned,
    /// The same, signed with the rep's own key.
    SignedByForger,
    /// The rep's own change, its signature with one flipped bit.
    FlippedBit,
    /// A change by a revoked device made after its revocation.
    Revoked,
    /// A roster change by a rep's device (promoting itself to admin).
    RosterByRep,
}

/// The ways a change reaches another device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// The rep syncs with the manager.
    Direct,
    /// The rep syncs with the admin, whose device carries the change on (as a device that
    /// did not judge it would) to the manager.
    Forwarded,
    /// A bundle from the rep, imported by the manager.
    Bundle,
}

/// How a planted change is signed.
enum Sign<'a> {
    /// Not at all.
    Not,
    /// By this key.
    By(&'a DeviceSecret),
    /// By this key, then one bit of the signature flipped.
    Flipped(&'a DeviceSecret),
}

/// One world: the team, the rep's old phone (same user), and the rep's customer 甲公司
/// held by the rep, the old phone, the admin and the manager.
struct World {
    kit: Kit,
    t: Team,
    old_phone: Device,
    c: DocId,
}

/// What a case planted on the rep's device, and what must become of it.
struct Planted {
    /// The document of the forged change.
    doc: DocId,
    /// The forged change.
    hash: ChangeHash,
    /// The device its actor ID names.
    author: DeviceKey,
    /// The refusal reason must contain one of these.
    reasons: &'static [&'static str],
    /// Text of an honest change to the same document, sent in the same sync or bundle.
    honest_same: String,
    /// Another document, new to the receiver, sent in the same sync or bundle.
    other: DocId,
    /// Revoked case: text of the change the device made before its revocation.
    control: Option<String>,
}

const FORGED_NOTE: &str = "伪造的经理审批";
const TAMPERED: &str = "篡改过的行业";
const AFTER_REVOCATION: &str = "吊销后写的行业";
const BEFORE_REVOCATION: &str = "吊销前写的地区";

fn world() -> World {
    let kit = Kit::new();
    let t = kit.team();
    let old_phone = kit.device_of(&t.admin, "小张");
    let c = kit.customer(&t.rep, "甲公司");
    for d in [&t.rep, &t.manager] {
        kit.sync(d, &t.admin);
    }
    kit.sync(&t.rep, &old_phone);
    for d in [&t.admin, &t.manager, &old_phone] {
        assert!(d.store().contains(&c).unwrap());
    }
    kit.advance(MINUTE);
    World {
        kit,
        t,
        old_phone,
        c,
    }
}

/// Commit `edit` on `dev`'s copy of `id` under `actor` (the device's own when `None`),
/// and store it on `dev` signed as `sign` says, bypassing the API. Returns the change.
fn plant(
    dev: &Workspace,
    id: &DocId,
    actor: Option<DeviceKey>,
    now: i64,
    sign: Sign<'_>,
    edit: impl FnOnce(&mut fieldcrm_model::Document),
) -> ChangeHash {
    let mut doc = dev.load(id).unwrap();
    let before = doc.heads();
    if let Some(a) = actor {
        doc.automerge_mut().set_actor(a.actor());
    }
    edit(&mut doc);
    let hash = doc.commit(now, "forged").unwrap();
    let data = doc.automerge_mut().save_after(&before);
    let sigs: Vec<(ChangeHash, Signature)> = match sign {
        Sign::Not => Vec::new(),
        Sign::By(s) => vec![(hash, s.sign_change(&hash))],
        Sign::Flipped(s) => {
            let mut sig = s.sign_change(&hash);
            sig[17] ^= 0x08;
            vec![(hash, sig)]
        }
    };
    dev.store()
        .apply_batch([(id, data.as_slice(), sigs.as_slice())])
        .unwrap();
    assert_eq!(dev.store().heads(id).unwrap().unwrap(), [hash]);
    hash
}

/// Copy change `hash` of `id`, with the signature `from` holds for it (if any), into
/// `to`'s store: `to` now carries it as a device that did not judge it would.
fn carry(from: &Workspace, to: &Workspace, id: &DocId, hash: ChangeHash) {
    let (bytes, sigs) = from.store().load_signed(id).unwrap();
    let mut am = automerge::AutoCommit::load(&bytes).unwrap();
    let change = am.get_change_by_hash(&hash).unwrap();
    let sigs: Vec<_> = sigs.into_iter().filter(|(h, _)| *h == hash).collect();
    to.store()
        .apply_batch([(id, change.raw_bytes(), sigs.as_slice())])
        .unwrap();
    assert!(
        to.history(id)
            .unwrap()
            .iter()
            .any(|h| h.hash == hash.to_string())
    );
}

/// The rep's honest work of the day: an edit of 甲公司 and a new customer.
fn honest_work(w: &World, address: &str, other: &str) -> DocId {
    w.t.rep
        .edit_customer_fields(
            &w.c,
            CustomerEdit {
                address: Some(address.into()),
                ..Default::default()
            },
            w.kit.now(),
        )
        .unwrap();
    w.kit.customer(&w.t.rep, other)
}

/// Plant the case's forgery on the rep's device, with honest work around it.
fn forge(w: &World, case: Case) -> Planted {
    let (kit, t) = (&w.kit, &w.t);
    let address = "上海市浦东新区世纪大道1号".to_string();
    match case {
        Case::Unsigned | Case::SignedByForger => {
            let other = honest_work(w, &address, "乙公司");
            let sign = match case {
                Case::Unsigned => Sign::Not,
                _ => Sign::By(t.rep.secret()),
            };
            let sign_off = Approval {
                covers: Default::default(),
                by: t.manager.user_id.clone(),
                at: kit.now(),
                note: Some(FORGED_NOTE.into()),
            };
            let hash = plant(
                &t.rep,
                &w.c,
                Some(t.manager.device()),
                kit.now(),
                sign,
                |doc| {
                    doc.put_new_object(&["class_exception"], &sign_off).unwrap();
                },
            );
            Planted {
                doc: w.c.clone(),
                hash,
                author: t.manager.device(),
                reasons: if case == Case::Unsigned {
                    // Sent as changes it travels with an empty signature; sent whole, with
                    // none.
                    &["is not signed", "signature does not verify"]
                } else {
                    &["signature does not verify under the key of the device it names"]
                },
                honest_same: address,
                other,
                control: None,
            }
        }
        Case::FlippedBit => {
            let other = honest_work(w, &address, "乙公司");
            let hash = plant(
                &t.rep,
                &w.c,
                None,
                kit.now(),
                Sign::Flipped(t.rep.secret()),
                |doc| doc.put(&["industry"], &Some(TAMPERED.to_string())).unwrap(),
            );
            Planted {
                doc: w.c.clone(),
                hash,
                author: t.rep.device(),
                reasons: &["signature does not verify under the key of the device it names"],
                honest_same: address,
                other,
                control: None,
            }
        }
        Case::Revoked => {
            let old = &w.old_phone;
            // Before the revocation: accepted everywhere.
            old.edit(&w.c, kit.now(), "修改客户 edit customer", |doc| {
                Ok(doc.put(&["region"], &Some(BEFORE_REVOCATION.to_string()))?)
            })
            .unwrap();
            kit.advance(MINUTE);
            t.admin.revoke_device(&old.key_hex(), kit.now()).unwrap();
            kit.sync(&t.manager, &t.admin); // the receiver knows of the revocation
            kit.advance(MINUTE);
            // After it: the old phone does not know it yet, nor does the rep's device.
            old.edit(&w.c, kit.now(), "修改客户 edit customer", |doc| {
                Ok(doc.put(&["industry"], &Some(AFTER_REVOCATION.to_string()))?)
            })
            .unwrap();
            let hash = old.store().heads(&w.c).unwrap().unwrap()[0];
            let other = honest_work(w, &address, "乙公司");
            let s = kit.sync(&old.ws, &t.rep);
            assert!(s.b.refused_changes.is_empty(), "{:?}", s.b.refused_changes);
            assert!(
                t.rep
                    .history(&w.c)
                    .unwrap()
                    .iter()
                    .any(|h| h.hash == hash.to_string())
            );
            Planted {
                doc: w.c.clone(),
                hash,
                author: old.device(),
                reasons: &["was revoked before it made this change"],
                honest_same: address,
                other,
                control: Some(BEFORE_REVOCATION.into()),
            }
        }
        Case::RosterByRep => {
            // An honest roster change the manager lacks, carried by the rep.
            t.admin
                .add_user(
                    "新来的小王",
                    Role::Rep,
                    Some("华东一组".into()),
                    None,
                    kit.now(),
                )
                .unwrap();
            kit.sync(&t.admin, &t.rep);
            kit.advance(MINUTE);
            let other = honest_work(w, &address, "乙公司");
            let roster = Kit::singleton(DocKind::Roster);
            let uid = t.rep.user_id.clone();
            t.rep
                .edit(&roster, kit.now(), "提升为管理员 promote", |doc| {
                    Ok(doc.put(&["users", &uid, "role"], &Role::Admin)?)
                })
                .unwrap();
            assert_eq!(t.rep.roster().unwrap().users[&uid].role, Role::Admin);
            let hash = t.rep.store().heads(&roster).unwrap().unwrap()[0];
            Planted {
                doc: roster,
                hash,
                author: t.rep.device(),
                reasons: &["only an admin's device may change the roster"],
                honest_same: "新来的小王".into(),
                other,
                control: None,
            }
        }
    }
}

/// The refusal of `p` among `refused`, checked for document, author and reason.
#[track_caller]
fn find_refusal<'a>(refused: &'a [RefusedChange], p: &Planted) -> &'a RefusedChange {
    let r = refused
        .iter()
        .find(|r| r.hash == p.hash)
        .unwrap_or_else(|| panic!("the forged change was not refused: {refused:?}"));
    assert_eq!(r.doc, p.doc, "{r:?}");
    assert_eq!(r.author, Some(p.author), "{r:?}");
    assert!(
        p.reasons.iter().any(|x| r.reason.contains(x)),
        "unexpected reason: {r:?}"
    );
    r
}

/// A line naming the document, the change, the author device and the reason.
#[track_caller]
fn assert_names(line: &str, p: &Planted) {
    let hash = p.hash.to_string();
    let author = p.author.to_hex();
    for part in [p.doc.short(), short_id(&hash), short_id(&author)] {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
    assert!(
        p.reasons.iter().any(|x| line.contains(x)),
        "no reason in: {line}"
    );
}

/// What a sync refused of `p`: on the receiving side by name, and reported to the sender.
#[track_caller]
fn check_sync(sender: &Report, receiver: &Report, p: &Planted) {
    let r = find_refusal(&receiver.refused_changes, p);
    assert_names(&format!("document {} {}", r.doc.short(), r.describe()), p);
    assert!(
        receiver.refused_here.is_empty(),
        "{:?}",
        receiver.refused_here
    );
    let told = sender
        .refused_by_peer
        .iter()
        .find(|(id, why)| *id == p.doc && why.contains(short_id(&p.hash.to_string())))
        .unwrap_or_else(|| panic!("the sender was not told: {:?}", sender.refused_by_peer));
    assert_names(&format!("document {} {}", told.0.short(), told.1), p);
}

/// Deliver the rep's work to the manager through `entry`, checking the refusal on the way.
fn deliver(w: &World, entry: Entry, p: &Planted) {
    let (kit, t) = (&w.kit, &w.t);
    match entry {
        Entry::Direct => {
            let s = kit.sync(&t.rep, &t.manager);
            check_sync(&s.a, &s.b, p);
        }
        Entry::Forwarded => {
            // The admin refuses it too …
            let s = kit.sync(&t.rep, &t.admin);
            check_sync(&s.a, &s.b, p);
            assert!(!shows_forgery(&t.admin, p), "the admin kept the forgery");
            // … then carries it, with the rep's honest work, as a device that did not judge it.
            carry(&t.rep, &t.admin, &p.doc, p.hash);
            let s = kit.sync(&t.admin, &t.manager);
            check_sync(&s.a, &s.b, p);
            assert_eq!(s.b.refused_changes.len(), 1, "{:?}", s.b.refused_changes);
        }
        Entry::Bundle => {
            let r = kit.bundle(&t.rep, &t.manager).unwrap();
            let line = r
                .refused
                .iter()
                .find(|l| l.contains(short_id(&p.hash.to_string())))
                .unwrap_or_else(|| panic!("not refused: {:?}", r.refused));
            assert_names(line, p);
            assert_eq!(r.refused.len(), 1, "{:?}", r.refused);
            assert!(r.updated.contains(&p.other), "{:?}", r.updated);
        }
    }
}

/// Whether `ws` holds the forged change or shows its value.
fn shows_forgery(ws: &Workspace, p: &Planted) -> bool {
    let held = ws
        .history(&p.doc)
        .unwrap()
        .iter()
        .any(|h| h.hash == p.hash.to_string());
    let json = ws.load(&p.doc).unwrap().to_json().to_string();
    let value = [FORGED_NOTE, TAMPERED, AFTER_REVOCATION]
        .iter()
        .any(|v| json.contains(v));
    let promoted = p.doc == Kit::singleton(DocKind::Roster)
        && ws
            .roster()
            .unwrap()
            .users
            .values()
            .any(|u| u.name == "小张" && u.role == Role::Admin);
    held || value || promoted
}

/// One cell of the matrix.
fn run(case: Case, entry: Entry) {
    let w = world();
    let p = forge(&w, case);
    deliver(&w, entry, &p);
    let m = &w.t.manager;
    assert!(
        !shows_forgery(m, &p),
        "{case:?} via {entry:?}: the forgery arrived"
    );
    // Nothing else is lost or blocked.
    let same = m.load(&p.doc).unwrap().to_json().to_string();
    assert!(
        same.contains(&p.honest_same),
        "{case:?} via {entry:?}: {same}"
    );
    let c = m.load(&w.c).unwrap().to_json().to_string();
    assert!(c.contains("上海市浦东新区世纪大道1号"), "{c}");
    if let Some(control) = &p.control {
        assert!(c.contains(control.as_str()), "{c}");
    }
    let other = m.load(&p.other).unwrap().to_json();
    assert_eq!(other["name"], "乙公司");
    // Nothing is left to move but the forgery itself, which is refused again by name.
    let s = w.kit.sync(&w.t.rep, m);
    find_refusal(&s.b.refused_changes, &p);
    assert_eq!(s.b.docs_saved, 0);
    assert!(!shows_forgery(m, &p));
}

macro_rules! matrix {
    ($($case:ident => $name:ident,)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn direct_sync() {
                run(Case::$case, Entry::Direct);
            }

            #[test]
            fn forwarded_by_a_peer() {
                run(Case::$case, Entry::Forwarded);
            }

            #[test]
            fn bundle_import() {
                run(Case::$case, Entry::Bundle);
            }
        }
    )*};
}

matrix! {
    Unsigned => unsigned_under_another_devices_actor,
    SignedByForger => forger_signed_under_another_devices_actor,
    FlippedBit => signature_with_a_flipped_bit,
    Revoked => made_by_a_revoked_device_after_revocation,
    RosterByRep => roster_change_by_a_non_admin,
}

/// A change keeps its author however it travels: made on the rep's device, forwarded by
/// the admin's, it shows the rep's device and user as the author on the manager's.
#[test]
fn forwarded_changes_keep_their_author() {
    let w = world();
    let (kit, t) = (&w.kit, &w.t);
    t.rep
        .edit_customer_fields(
            &w.c,
            CustomerEdit {
                class: Some(CustomerClass::Potential),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    kit.sync(&t.rep, &t.admin);
    let s = kit.sync(&t.admin, &t.manager);
    assert!(s.b.refused_changes.is_empty(), "{:?}", s.b.refused_changes);
    let history = t.manager.history(&w.c).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.author.device, t.rep.key_hex());
    assert_eq!(last.author.user.as_deref(), Some("小张"));
    let snap = t.manager.load(&w.c).unwrap().snapshot().unwrap();
    assert_eq!(snap.author("class"), Some(t.rep.device()));
}

/// A forgery inside a document the receiver does not hold yet (sent whole): the document
/// arrives without it, and without the honest change made on top of it (which depends on
/// it), refused by name; what was written before it arrives.
#[test]
fn a_forgery_in_a_document_new_to_the_receiver_is_cut_out_of_it() {
    let w = world();
    let (kit, t) = (&w.kit, &w.t);
    let fresh = kit.customer(&t.rep, "丙公司");
    let address = "南京市鼓楼区中山路3号";
    t.rep
        .edit_customer_fields(
            &fresh,
            CustomerEdit {
                address: Some(address.into()),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    let sign_off = Approval {
        covers: Default::default(),
        by: t.manager.user_id.clone(),
        at: kit.now(),
        note: Some(FORGED_NOTE.into()),
    };
    let hash = plant(
        &t.rep,
        &fresh,
        Some(t.manager.device()),
        kit.now(),
        Sign::Not,
        |doc| {
            doc.put_new_object(&["class_exception"], &sign_off).unwrap();
        },
    );
    kit.advance(MINUTE);
    let after = t
        .rep
        .edit_customer_fields(
            &fresh,
            CustomerEdit {
                industry: Some("在伪造之上".into()),
                ..Default::default()
            },
            kit.now(),
        )
        .map(|()| t.rep.store().heads(&fresh).unwrap().unwrap()[0])
        .unwrap();
    let p = Planted {
        doc: fresh.clone(),
        hash,
        author: t.manager.device(),
        reasons: &["is not signed"],
        honest_same: address.into(),
        other: fresh.clone(),
        control: None,
    };
    let s = kit.sync(&t.rep, &t.manager);
    check_sync(&s.a, &s.b, &p);
    let on_top =
        s.b.refused_changes
            .iter()
            .find(|r| r.hash == after)
            .unwrap();
    assert_eq!(on_top.author, Some(t.rep.device()));
    assert!(
        on_top.reason.contains(&format!(
            "depends on refused change {}",
            short_id(&hash.to_string())
        )),
        "{on_top:?}"
    );
    assert_eq!(s.b.refused_changes.len(), 2, "{:?}", s.b.refused_changes);
    assert!(!shows_forgery(&t.manager, &p));
    let got = t.manager.load(&fresh).unwrap().to_json();
    assert_eq!(got["name"], "丙公司");
    assert_eq!(got["address"], address);
    assert!(got["class_exception"].is_null(), "{got}");
    assert!(got["industry"].is_null(), "{got}");
}

/// A change its device made after an admin revoked it, carried by the rep's device, which
/// accepted it before it learnt of the revocation and has learnt of it since; the
/// receiver has not. Returns the world and the change.
fn late_change_with_its_revocation() -> (World, ChangeHash) {
    let w = world();
    let (kit, t) = (&w.kit, &w.t);
    let old = &w.old_phone;
    t.admin.revoke_device(&old.key_hex(), kit.now()).unwrap();
    kit.advance(MINUTE);
    old.edit(&w.c, kit.now(), "修改客户 edit customer", |doc| {
        Ok(doc.put(&["industry"], &Some(AFTER_REVOCATION.to_string()))?)
    })
    .unwrap();
    let hash = old.store().heads(&w.c).unwrap().unwrap()[0];
    kit.sync(&old.ws, &t.rep);
    let s = kit.sync(&t.rep, &t.admin);
    assert_eq!(s.b.refused_changes.len(), 1, "the admin refuses it");
    assert!(
        t.rep.roster().unwrap().devices[&old.key_hex()]
            .revoked_at
            .is_some()
    );
    (w, hash)
}

/// A receiver that learns of a revocation in the same session (or bundle) as a change
/// the revoked device made after it must refuse the change, as it would in any later
/// session: the session judges by the roster it started with, and what runs after it
/// (`Workspace::after_sync`, the end of `import_bundle`) checks authors again when the
/// roster took something away, removing the change and naming it.
#[test]
fn a_revocation_arriving_with_a_later_change_of_the_device_refuses_the_change() {
    let mut kept = Vec::new();
    for bundle in [false, true] {
        let (w, hash) = late_change_with_its_revocation();
        let (kit, t) = (&w.kit, &w.t);
        let refused: Vec<String> = if bundle {
            kit.bundle(&t.rep, &t.manager).unwrap().refused
        } else {
            let s = kit.sync(&t.rep, &t.manager);
            // What every transport runs after a session (`fieldcrm_connect`, `serve`).
            let after = t.manager.after_sync(&[], kit.now()).unwrap();
            s.b.refused_changes
                .iter()
                .map(|r| r.describe())
                .chain(after.removed_changes)
                .collect()
        };
        let revoked = t.manager.roster().unwrap().devices[&w.old_phone.key_hex()].revoked_at;
        assert!(revoked.is_some(), "the manager learnt of the revocation");
        let json = t.manager.load(&w.c).unwrap().to_json().to_string();
        if json.contains(AFTER_REVOCATION)
            || !refused
                .iter()
                .any(|l| l.contains(short_id(&hash.to_string())))
        {
            kept.push(format!(
                "{}: refused {refused:?}, the manager shows the change: {}",
                if bundle { "bundle" } else { "sync" },
                json.contains(AFTER_REVOCATION)
            ));
        }
    }
    assert!(kept.is_empty(), "{kept:#?}");
}
