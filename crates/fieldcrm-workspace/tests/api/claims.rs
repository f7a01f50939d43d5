//! The 撞单 notice: two reps register the same company offline (one in traditional
//! characters, one in simplified), then sync through their manager. The later
//! registrant's device tells its rep on their own file, without anything of the other
//! file reaching it; claims forged by a rep do not count; old files get their claims
//! after a sync.

use std::collections::BTreeMap;

use fieldcrm_model::{Claim, Contact, DocId, DocKind};
use fieldcrm_policy::claims::claim_id;
use fieldcrm_policy::{Finding, RuleId};
use fieldcrm_testkit::{DAY, Kit, Team};
use fieldcrm_workspace::{CheckQuery, NewCustomer, Workspace};

const TRAD_NAME: &str = "廣州華東機電有限公司";
const SECRET_CONTACT: &str = "陈秘书";
const SECRET_PHONE: &str = "13812345678";

fn sales_id() -> DocId {
    DocId::workspace(&DocKind::Sales)
}

fn register(kit: &Kit, dev: &Workspace, name: &str, contact: &str, phone: &str) -> DocId {
    let id = dev
        .add_customer(
            NewCustomer {
                name: name.into(),
                credit_code: None,
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    dev.add_contact(
        &id,
        Contact {
            name: contact.into(),
            phone: Some(phone.into()),
            ..Default::default()
        },
        kit.now(),
    )
    .unwrap();
    id
}

/// The notices (CUST-DUPLICATE on one file) a device shows.
fn notices(dev: &Workspace, kit: &Kit) -> Vec<Finding> {
    dev.check(&CheckQuery::default(), kit.now())
        .unwrap()
        .into_iter()
        .filter(|f| f.rule == RuleId::CustDuplicate && f.doc_ids.len() == 1)
        .collect()
}

fn user_id(dev: &Workspace) -> String {
    dev.whoami().user_id.unwrap()
}

/// Every claim in a device's Sales document, by key.
fn claims(dev: &Workspace) -> BTreeMap<String, Claim> {
    dev.load(&sales_id())
        .unwrap()
        .hydrate::<fieldcrm_model::Sales>()
        .unwrap()
        .claims
}

/// The device's backfill after a sync writes no claim, and its Sales document stays as
/// it is.
fn writes_nothing(kit: &Kit, dev: &Workspace) {
    let before = dev.store().heads(&sales_id()).unwrap();
    assert_eq!(dev.after_sync(&[], kit.now()).unwrap().claims_written, 0);
    assert_eq!(dev.store().heads(&sales_id()).unwrap(), before);
}

/// Both reps register the company offline, the rep (小张) a day before rep2 (小李); then
/// each syncs with the manager, twice round.
fn world() -> (Kit, Team, DocId, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    let first = register(&kit, &t.rep, TRAD_NAME, SECRET_CONTACT, SECRET_PHONE);
    kit.advance(DAY);
    let later = register(
        &kit,
        &t.rep2,
        "广州华东机电（集团）",
        "王工",
        "020-8888 6666",
    );
    for _ in 0..2 {
        kit.sync(&t.rep, &t.manager);
        kit.sync(&t.rep2, &t.manager);
    }
    (kit, t, first, later)
}

#[test]
fn the_later_registrant_is_told_and_the_manager_sees_the_same_and_the_duplicate() {
    let (kit, t, first, later) = world();
    let on_rep2 = notices(&t.rep2, &kit);
    assert_eq!(on_rep2.len(), 1, "{on_rep2:#?}");
    let n = &on_rep2[0];
    assert_eq!(n.doc_ids, vec![later.clone()]);
    let ws = t.rep2.whoami().workspace_id;
    assert_eq!(n.entity, Some(format!("claims/{}", claim_id(&ws, &first))));
    assert!(
        n.message_zh.contains("该客户已由其他销售代表于")
            && n.message_zh.contains("登记，请联系经理确认归属"),
        "{}",
        n.message_zh
    );
    assert_eq!(n.facts["matched"], serde_json::json!(["name"]));
    // The earlier registrant is told nothing.
    assert!(notices(&t.rep, &kit).is_empty());
    // The manager: the same notice, and the duplicate between both files.
    let mgr = t.manager.check(&CheckQuery::default(), kit.now()).unwrap();
    let mgr_notices: Vec<&Finding> = mgr
        .iter()
        .filter(|f| f.rule == RuleId::CustDuplicate && f.doc_ids.len() == 1)
        .collect();
    assert_eq!(mgr_notices, vec![n]);
    let mut pair = vec![first.clone(), later.clone()];
    pair.sort();
    assert!(
        mgr.iter()
            .any(|f| f.rule == RuleId::CustDuplicate && f.doc_ids == pair),
        "{mgr:#?}"
    );
}

/// The check after a sync reads the Sales snapshot back from the store's snapshot cache,
/// where its claims are records that the rules walk in place: a new process, without
/// the rules' saved state, reads every snapshot from the cache and tells the same.
#[test]
fn the_notice_is_the_same_when_the_claims_are_read_from_the_snapshot_cache() {
    let (kit, t, _, _) = world();
    let before = notices(&t.rep2, &kit);
    assert_eq!(before.len(), 1, "{before:#?}");
    let heads = t.rep2.store().heads(&sales_id()).unwrap().unwrap();
    let row = t.rep2.store().derived(&[(sales_id(), heads)]).unwrap();
    assert!(row[0].is_some(), "the check kept the Sales snapshot");
    let home = t.rep2.home().to_path_buf();
    let fieldcrm_testkit::Team { rep2, .. } = t;
    drop(rep2);
    std::fs::remove_file(home.join("workspace.redb.engine-state")).unwrap();
    let again = Workspace::open(&home).unwrap();
    assert_eq!(notices(&again, &kit), before);
}

#[test]
fn the_notice_leaks_no_field_of_the_other_file() {
    let (kit, t, first, _) = world();
    assert!(!t.rep2.store().contains(&first).unwrap());
    // No document on rep2's device holds the other file's name, contact or phone.
    for (id, _) in t.rep2.store().all_heads().unwrap() {
        let json = t.rep2.load(&id).unwrap().to_json().to_string();
        for secret in [TRAD_NAME, "華東", SECRET_CONTACT, SECRET_PHONE, "12345678"] {
            assert!(!json.contains(secret), "{secret} in {id}: {json}");
        }
    }
    // Nor do the findings rep2 sees.
    for f in t.rep2.check(&CheckQuery::default(), kit.now()).unwrap() {
        let text = format!("{} {} {}", f.message_zh, f.message_en, f.facts);
        for secret in [TRAD_NAME, "華東", SECRET_CONTACT, SECRET_PHONE, "小张"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    // The claim rep2 holds is owner, since and hashes.
    let ws = t.rep2.whoami().workspace_id;
    let c = &claims(&t.rep2)[&claim_id(&ws, &first)];
    // Not even the other file's ID reaches rep2's device.
    let json = t.rep2.load(&sales_id()).unwrap().to_json().to_string();
    assert!(!json.contains(first.as_str()));
    assert_eq!(c.owner, user_id(&t.rep));
    assert!(
        c.keys
            .iter()
            .all(|(h, k)| h.len() == 32 && ["name", "phone"].contains(&k.as_str()))
    );
}

#[test]
fn a_claim_forged_by_a_rep_does_not_count_and_is_written_again() {
    let kit = Kit::new();
    let t = kit.team();
    let mine = register(&kit, &t.rep, "深圳新锐电子", "赵工", "0755-2222 3333");
    kit.sync(&t.rep, &t.manager);
    kit.sync(&t.rep2, &t.manager);
    // rep2 claims the company for the manager, a year earlier, under a made-up file.
    let ws = t.rep2.whoami().workspace_id;
    let c: fieldcrm_model::Customer = t.rep.load(&mine).unwrap().hydrate().unwrap();
    let forged = Claim {
        owner: user_id(&t.manager),
        since: kit.now() - 365 * DAY,
        keys: fieldcrm_policy::claims::customer_keys(&ws, &c),
    };
    let fake = DocId::random().to_string();
    t.rep2
        .edit(&sales_id(), kit.now(), "forge", |d| {
            d.put_new_object(&["claims", &fake], &forged)?;
            // And pushes the rep's real claim a year later.
            d.put(
                &["claims", &claim_id(&ws, &mine), "since"],
                &(kit.now() + 365 * DAY),
            )?;
            Ok(())
        })
        .unwrap();
    kit.sync(&t.rep2, &t.manager);
    kit.sync(&t.rep, &t.manager);
    assert!(notices(&t.rep, &kit).is_empty());
    assert!(notices(&t.manager, &kit).is_empty());

    // The rep's device writes its tampered claim again after the sync.
    let after = t.rep.after_sync(&[], kit.now()).unwrap();
    assert_eq!(after.claims_written, 1);
    assert_eq!(claims(&t.rep)[&claim_id(&ws, &mine)].since, c.created_at);
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 0);

    // rep2 replaces the claim whole with the same content, in its own hand: the owner
    // and the date were not written by the rep's device or a manager's, so it does not
    // count, and the rep's device writes it again. (An empty map in its place is refused
    // before it is saved: a Sales document must read as one.)
    kit.sync(&t.rep, &t.manager);
    kit.sync(&t.rep2, &t.manager);
    let key = claim_id(&ws, &mine);
    let same = Claim {
        owner: user_id(&t.rep),
        since: c.created_at,
        keys: fieldcrm_policy::claims::customer_keys(&ws, &c),
    };
    t.rep2
        .edit(&sales_id(), kit.now(), "forge", |d| {
            d.put_new_object(&["claims", &key], &same)?;
            Ok(())
        })
        .unwrap();
    assert!(
        t.rep2
            .edit(&sales_id(), kit.now(), "forge", |d| {
                d.put_new_object(
                    &["claims", &key],
                    &std::collections::BTreeMap::<String, String>::new(),
                )?;
                Ok(())
            })
            .is_err()
    );
    kit.sync(&t.rep2, &t.manager);
    kit.sync(&t.rep, &t.manager);
    assert!(notices(&t.manager, &kit).is_empty());
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 1);
    let held = &claims(&t.rep)[&key];
    assert_eq!(held.owner, user_id(&t.rep));
    assert_eq!(held.since, c.created_at);

    // rep2 writes one of the claim's keys again, the same value in its own hand: the
    // claim reads the same, but it does not count, and the rep's device writes it again.
    kit.sync(&t.rep, &t.manager);
    kit.sync(&t.rep2, &t.manager);
    let (hash, what) = same.keys.iter().next().unwrap();
    t.rep2
        .edit(&sales_id(), kit.now(), "forge", |d| {
            // (Removed first: Automerge does not record a value put over itself.)
            use automerge::transaction::Transactable;
            let keys = d.map_at(&["claims", &key, "keys"]).unwrap();
            let am = d.automerge_mut();
            am.delete(&keys, hash).unwrap();
            am.put(&keys, hash, what.as_str()).unwrap();
            Ok(())
        })
        .unwrap();
    kit.sync(&t.rep2, &t.manager);
    kit.sync(&t.rep, &t.manager);
    assert_eq!(claims(&t.rep)[&key], same);
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 1);
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 0);
}

#[test]
fn claims_follow_reassignment_and_merge_and_old_files_are_backfilled() {
    let kit = Kit::new();
    let t = kit.team();
    let a = register(&kit, &t.rep, "杭州东方阀门", "钱工", "0571-8888 1111");
    let ws = t.rep.whoami().workspace_id;
    let key = |d: &DocId| claim_id(&ws, d);
    // An old file: its claim is missing (written before claims existed).
    t.rep
        .edit(&sales_id(), kit.now(), "old workspace", |d| {
            d.delete(&["claims", &key(&a)])?;
            Ok(())
        })
        .unwrap();
    assert!(!claims(&t.rep).contains_key(&key(&a)));
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 1);
    assert_eq!(claims(&t.rep)[&key(&a)].owner, user_id(&t.rep));

    // The manager reassigns the file to rep2: the claim follows, written by the manager.
    kit.sync(&t.rep, &t.manager);
    t.manager
        .edit_customer_fields(
            &a,
            fieldcrm_workspace::CustomerEdit {
                owner: Some("小李".into()),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    assert_eq!(claims(&t.manager)[&key(&a)].owner, user_id(&t.rep2));

    // A duplicate merged away loses its claim, in the same write as the merge.
    let b = kit.customer_of(&t.manager, "杭州东方阀门有限公司", "小李");
    // A new file's claim goes out with its owner's next sync, not with the file.
    assert!(!claims(&t.manager).contains_key(&key(&b)));
    t.manager
        .merge_docs(&DocKind::Customer, &a, &b, &Default::default(), kit.now())
        .unwrap();
    let after = claims(&t.manager);
    assert!(after.contains_key(&key(&a)) && !after.contains_key(&key(&b)));
}

#[test]
fn a_file_received_whole_has_its_claim_kept_from_the_session() {
    let kit = Kit::new();
    let t = kit.team();
    let id = register(
        &kit,
        &t.rep,
        "杭州云栖科技 🌿",
        "钱工",
        "０５７１-8888 9999",
    );
    let row = |dev: &Workspace| -> Option<(u64, Option<Claim>)> {
        let key = format!("claims-cache-v2/{id}");
        let rows = dev.store().get_cache_rows(&[key]).unwrap();
        serde_json::from_slice(rows[0].as_deref()?).ok()
    };
    assert_eq!(row(&t.manager), None);
    kit.sync(&t.rep, &t.manager);
    // The manager's device received the file whole: its claim was computed from the
    // document the session loaded, and kept for the backfill at the file's heads.
    let ws = t.rep.whoami().workspace_id;
    let c: fieldcrm_model::Customer = t.manager.load(&id).unwrap().hydrate().unwrap();
    let kept = row(&t.manager).expect("the received file's claim is kept");
    assert_eq!(kept.1, fieldcrm_policy::claims::claim_for(&ws, &c));
    assert!(kept.1.is_some());
    // The rep's own device computed it from the file itself: the same claim, at the
    // same heads.
    assert_eq!(row(&t.rep), Some(kept));
    // The cache of older versions (one blob of every claim) is gone after a backfill.
    t.rep.store().set_blob("claims-cache-v1", b"{}").unwrap();
    t.rep
        .add_customer(
            fieldcrm_workspace::NewCustomer {
                name: "另一家公司".into(),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    t.rep.backfill_claims(kit.now()).unwrap();
    assert_eq!(t.rep.store().get_blob("claims-cache-v1").unwrap(), None);
}

/// A device whose user owns no file writes no claim and leaves the Sales document as it
/// is, whatever changed; once the user has a file, its claim is written.
#[test]
fn a_user_without_files_writes_no_claim_until_they_have_one() {
    let kit = Kit::new();
    let t = kit.team();
    register(&kit, &t.rep, "无锡远东纺织", "周工", "0510-8123 4567");
    kit.sync(&t.rep, &t.manager);
    kit.sync(&t.rep2, &t.manager);
    writes_nothing(&kit, &t.rep2);
    let mine = register(&kit, &t.rep2, "无锡新城物流", "吴工", "0510-8765 4321");
    assert_eq!(t.rep2.after_sync(&[], kit.now()).unwrap().claims_written, 1);
    let ws = t.rep2.whoami().workspace_id;
    assert_eq!(
        claims(&t.rep2)[&claim_id(&ws, &mine)].owner,
        user_id(&t.rep2)
    );
}

/// A rep with one file among many claims: their claim is looked up by its key. Tampered
/// with, it is written again; when others' claims change, it is left as it is.
#[test]
fn a_claim_among_many_is_looked_up_and_kept_right() {
    let kit = Kit::new();
    let t = kit.team();
    for i in 0..8 {
        let name = format!("南京第{i}机床厂");
        register(&kit, &t.manager, &name, "郑工", &format!("025-5555 000{i}"));
    }
    let mine = register(&kit, &t.rep, "南京鼓楼商贸", "冯工", "025-8888 1234");
    kit.sync(&t.rep, &t.manager);
    kit.sync(&t.rep2, &t.manager);
    let ws = t.rep.whoami().workspace_id;
    let key = claim_id(&ws, &mine);
    assert!(claims(&t.rep).len() >= 9);
    let right = claims(&t.rep)[&key].clone();
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 0);

    // rep2 pushes the rep's claim a year later.
    t.rep2
        .edit(&sales_id(), kit.now(), "forge", |d| {
            d.put(&["claims", &key, "since"], &(kit.now() + 365 * DAY))?;
            Ok(())
        })
        .unwrap();
    kit.sync(&t.rep2, &t.manager);
    kit.sync(&t.rep, &t.manager);
    assert_eq!(t.rep.after_sync(&[], kit.now()).unwrap().claims_written, 1);
    assert_eq!(claims(&t.rep)[&key], right);

    // The manager registers one more: the Sales document changed, the rep's claim did
    // not, and nothing is written.
    kit.sync(&t.rep, &t.manager);
    register(&kit, &t.manager, "南京第九机床厂", "郑工", "025-5555 0009");
    kit.sync(&t.manager, &t.rep2);
    kit.sync(&t.rep, &t.manager);
    writes_nothing(&kit, &t.rep);
    assert_eq!(claims(&t.rep)[&key], right);
    assert!(claims(&t.rep).len() >= 10);
}
