//! A lean engine saved, written as the workspace writes it (MessagePack) and restored
//! in another process is the engine it was: the same findings, and updated from there
//! it evaluates only what changed, as the one kept running does.

use fieldcrm_model::{DeviceKey, Snapshot};
use fieldcrm_policy::{Config, Engine, SavedEngine};

use crate::claims::{claim, sales_with_claims};
use crate::engine::docs;
use crate::support::*;

/// The engine of `run` written out and read back, fed by the same store as `run`.
fn written_and_read(run: &LeanRun, holder: Option<&DeviceKey>) -> LeanRun {
    let bytes = rmp_serde::to_vec(&run.engine.saved()).unwrap();
    let saved: SavedEngine<'static> = rmp_serde::from_slice(&bytes).unwrap();
    LeanRun {
        engine: Engine::restore(Config::default(), holder, saved).expect("restored"),
        held: run.held.clone(),
        asked: 0,
    }
}

/// Files, channels, and two reps' claims on the same company (a 撞单 notice).
fn everything() -> (
    Vec<Snapshot>,
    fieldcrm_model::Document,
    fieldcrm_model::Document,
) {
    let (sales, a, b) = sales_with_claims();
    let mut all: Vec<Snapshot> = docs()
        .into_iter()
        .filter(|s| !matches!(s.body, fieldcrm_model::Body::Sales(_)))
        .collect();
    all.push(sales.snapshot().unwrap());
    let (a, b) = (a, b);
    all.push(a.snapshot().unwrap());
    all.push(b.snapshot().unwrap());
    (all, sales, b)
}

#[test]
fn a_restored_engine_goes_on_as_the_one_kept_running() {
    for holder in [None, Some(REP2)] {
        let (all, mut sales, mut b) = everything();
        let mut kept = LeanRun::new();
        if let Some(h) = &holder {
            kept.engine = Engine::new(Config::default()).lean().with_holder(h);
        }
        kept.update(all.clone(), &[], NOW);
        let found = kept.engine.findings();
        assert!(
            found
                .iter()
                .any(|f| f.rule == fieldcrm_policy::RuleId::CustDuplicate && f.doc_ids.len() == 1),
            "the test needs a 撞单 notice: {found:#?}"
        );
        assert!(found.iter().any(|f| f.doc_ids.len() == 2), "and a pair");

        let mut restored = written_and_read(&kept, holder.as_ref());
        assert_eq!(restored.engine.findings(), found);
        assert_eq!(restored.engine.len(), kept.engine.len());
        for d in [id(1), id(2), id(5), id(9), id(101)] {
            assert_eq!(
                restored.engine.findings_for(&d),
                kept.engine.findings_for(&d),
                "{d}"
            );
        }

        // A file changes, one goes, and a claim is written again by another rep (it no
        // longer counts): the same documents are read again, the same findings result.
        let mut c = clean_customer("全新客户");
        c.contacts.get_mut("c1").unwrap().phone = Some("13900009999".into());
        let changed = customer_doc(id(3), &REP, &c).snapshot().unwrap();
        claim(&mut sales, &mut b, &REP);
        let sales = sales.snapshot().unwrap();
        let later = NOW + 2 * DAY;
        let step = |r: &mut LeanRun| {
            let before = r.asked;
            let out = r.update(vec![changed.clone(), sales.clone()], &[id(7)], later);
            (out, r.asked - before)
        };
        let (a, asked_a) = step(&mut kept);
        let (b, asked_b) = step(&mut restored);
        assert!(!a.full);
        assert_eq!((a, asked_a), (b, asked_b));
        assert_eq!(restored.engine.findings(), kept.engine.findings());
        assert_ne!(
            restored.engine.findings(),
            found,
            "the step changed findings"
        );

        // Time passes: the same wake times come.
        for days in [11, 40, 200] {
            let t = NOW + days * DAY;
            let x = kept.update(Vec::new(), &[], t);
            let y = restored.update(Vec::new(), &[], t);
            assert_eq!(x, y, "at +{days} days");
            assert_eq!(restored.engine.findings(), kept.engine.findings());
        }
    }
}

#[test]
fn a_state_of_another_holder_or_damaged_is_not_restored() {
    let (all, _, _) = everything();
    let mut run = LeanRun::new();
    run.update(all, &[], NOW);
    let bytes = rmp_serde::to_vec(&run.engine.saved()).unwrap();
    let read = || rmp_serde::from_slice::<SavedEngine<'static>>(&bytes).unwrap();
    assert!(Engine::<Snapshot>::restore(Config::default(), None, read()).is_some());
    assert!(Engine::<Snapshot>::restore(Config::default(), Some(&REP), read()).is_none());
    // Every strict prefix of the bytes fails to decode or to restore; none panics.
    for cut in (0..bytes.len()).step_by(97) {
        let Ok(saved) = rmp_serde::from_slice::<SavedEngine<'static>>(&bytes[..cut]) else {
            continue;
        };
        let _ = Engine::<Snapshot>::restore(Config::default(), None, saved);
    }
    // An owner number out of range: not restored.
    let mut v = serde_json::to_value(run.engine.saved()).unwrap();
    let names = v["claims"]["owners"].as_array_mut().unwrap();
    assert!(!names.is_empty());
    names.pop();
    let damaged: SavedEngine<'static> = serde_json::from_value(v).unwrap();
    assert!(Engine::<Snapshot>::restore(Config::default(), None, damaged).is_none());
}
