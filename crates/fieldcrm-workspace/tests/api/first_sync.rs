//! A device's first sync: it holds no roster when the session starts. The peer sends the
//! roster first, alone in its first message; from the message after it on, each
//! change's author is judged with it (refused in the session, by name, as any later sync
//! would). What a peer sent with the roster, before it was saved, would be checked when
//! the session ends (`Workspace::after_sync`).

use automerge::ChangeHash;
use fieldcrm_model::{DocId, DocKind};
use fieldcrm_store::Filter;
use fieldcrm_testkit::Kit;
use fieldcrm_workspace::Workspace;

/// Customer files on the sender: their whole documents take more than one message
/// (1 MiB each).
const FILES: usize = 4_000;
const FORGED: &str = "未登记设备写的行业 🚫";

/// Commit a change to `id` on `dev` under `by`'s device key (a device no roster names),
/// signed by it, and store it on `dev` behind the API's back.
fn plant(dev: &Workspace, by: &Workspace, id: &DocId, now: i64) -> ChangeHash {
    let mut doc = dev.load(id).unwrap();
    let before = doc.heads();
    doc.automerge_mut().set_actor(by.device().actor());
    doc.put(&["industry"], &Some(FORGED.to_string())).unwrap();
    let hash = doc.commit(now, "forged").unwrap();
    let data = doc.automerge_mut().save_after(&before);
    let sigs = [(hash, by.secret().sign_change(&hash))];
    dev.store()
        .apply_batch([(id, data.as_slice(), sigs.as_slice())])
        .unwrap();
    hash
}

#[test]
fn a_first_sync_judges_authors_with_the_roster_it_receives_first() {
    let kit = Kit::new();
    let t = kit.team();
    let mut csv = String::from("名称,负责人,联系人,电话\n");
    for i in 0..FILES {
        csv.push_str(&format!(
            "華東機電{i}號有限公司,小张,陈先生{i},１３８-0000-{:04}\n",
            i % 10_000
        ));
    }
    t.rep.import_customers_csv(&csv, kit.now()).unwrap();
    // A tablet for the rep's user, enrolled by the admin; the rep's device learns of it.
    let tablet = kit.rep_tablet(&t);
    // Two forged changes on the rep's device, by a device the roster does not name: in
    // the first customer file in ID order (it went in the first message, with the
    // roster, before the roster was sent alone) and in the last.
    let mut ids: Vec<DocId> = t
        .rep
        .list(&Filter::default().kind(DocKind::Customer))
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert!(ids.len() >= FILES);
    ids.sort();
    let stranger = kit.joined(&t.admin);
    let (first, last) = (ids[0].clone(), ids[ids.len() - 1].clone());
    let early = plant(&t.rep, &stranger, &first, kit.now());
    let late = plant(&t.rep, &stranger, &last, kit.now());

    let s = kit.sync(&tablet, &t.rep);
    assert!(
        s.a.messages_received >= 3,
        "the files took more than one message: {}",
        s.a.messages_received
    );
    // The roster came alone in the first message: both are refused in the session, by
    // name, the early one too.
    let refused: Vec<_> = s.a.refused_changes.iter().map(|r| r.describe()).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    let mut hashes: Vec<ChangeHash> = s.a.refused_changes.iter().map(|r| r.hash).collect();
    hashes.sort();
    let mut planted = vec![early, late];
    planted.sort();
    assert_eq!(hashes, planted);
    assert!(
        refused.iter().all(|r| r.contains("is not enrolled")),
        "{refused:?}"
    );
    // The end of the session finds nothing more to remove.
    let after = tablet.after_sync(&[], kit.now()).unwrap();
    assert!(
        after.removed_changes.is_empty(),
        "{:?}",
        after.removed_changes
    );
    for id in [&first, &last] {
        let json = tablet.load(id).unwrap().to_json().to_string();
        assert!(!json.contains(FORGED), "{json}");
        assert!(json.contains("華東機電"), "{json}");
    }
    // Every honest file arrived, and a second look finds nothing more to remove.
    let held = tablet
        .list(&Filter::default().kind(DocKind::Customer))
        .unwrap()
        .len();
    assert_eq!(held, ids.len());
    assert!(tablet.verify_authors().unwrap().is_empty());
}
