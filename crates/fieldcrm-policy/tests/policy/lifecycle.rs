//! Findings have a life (`fieldcrm_policy::track`): acknowledgements and waivers are
//! judged by who wrote them, waivers end, concurrent states agree on every device, and a
//! state whose finding no longer fires is listed as resolved.

use fieldcrm_model::{DeviceKey, Document, FindingMark, FindingState, Lang, Millis};
use fieldcrm_policy::{
    Config, Finding, RuleId as R, Status, Tracked, check, render_tracked, track,
};

use crate::support::*;

/// A general customer with no class: one CUST-CLASS-MISSING violation.
fn unclassified() -> Document {
    let mut c = clean_customer("甲公司");
    c.class = None;
    customer_doc(id(1), &REP, &c)
}

fn findings_and_snaps(
    docs: &[&mut Document],
    now: Millis,
) -> (Vec<Finding>, Vec<fieldcrm_model::Snapshot>) {
    let mut snaps = workspace();
    snaps.extend(docs.iter().map(|d| d.snapshot().unwrap()));
    (check(&snaps, &Config::default(), now), snaps)
}

fn tracked(docs: &[&mut Document], now: Millis) -> Vec<Tracked> {
    let (f, snaps) = findings_and_snaps(docs, now);
    track(&f, &snaps, &Config::default(), now)
}

fn class_missing(t: &[Tracked]) -> &Tracked {
    t.iter()
        .find(|t| t.finding.rule == R::CustClassMissing)
        .unwrap_or_else(|| panic!("no CUST-CLASS-MISSING in {t:#?}"))
}

fn key_of(doc: &mut Document) -> String {
    let (f, _) = findings_and_snaps(&[doc], NOW);
    f.iter()
        .find(|f| f.rule == R::CustClassMissing)
        .unwrap()
        .key()
}

fn state(mark: FindingMark, by: &str, at: Millis, until: Option<Millis>) -> FindingState {
    let waived = mark == FindingMark::Waived;
    FindingState {
        state: mark,
        rule: "CUST-CLASS-MISSING".into(),
        severity: Some("violation".into()),
        doc_ids: vec![id(1).to_string()],
        entity: Some("class".into()),
        message_zh: Some("客户未分类".into()),
        message_en: Some("no class".into()),
        note: Some("下周拜访时确认".into()),
        reason: waived.then(|| "客户重组中".into()),
        until,
        by: by.into(),
        at,
    }
}

/// Write `s` as a fresh object under the finding's key, as `device`.
fn put(doc: &mut Document, device: &DeviceKey, key: &str, s: &FindingState) {
    edit_as(doc, device, |d| {
        d.put_new_object(&["finding_states", key], s).unwrap();
    });
}

#[test]
fn keys_are_stable_char_safe_and_hold_no_slash() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    assert_eq!(key, format!("CUST-CLASS-MISSING:{}:class", id(1)));
    assert_eq!(key, key_of(&mut d));
    let (f, _) = findings_and_snaps(&[&mut d], NOW);
    for f in &f {
        assert!(!f.key().contains('/'), "{}", f.key());
    }
}

#[test]
fn a_rep_acknowledges_and_the_finding_stays_open() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    assert_eq!(class_missing(&tracked(&[&mut d], NOW)).status, Status::Open);
    put(
        &mut d,
        &REP,
        &key,
        &state(FindingMark::Acknowledged, "rep1", NOW - DAY, None),
    );
    let t = tracked(&[&mut d], NOW);
    let c = class_missing(&t);
    assert_eq!(c.status, Status::Acknowledged);
    assert!(c.status.is_open());
    let m = c.state.as_ref().unwrap();
    assert_eq!(m.by.name.as_deref(), Some("张伟"));
    assert_eq!(m.note.as_deref(), Some("下周拜访时确认"));
    let text = render_tracked(&t, Lang::Zh, false, 8 * HOUR);
    assert!(
        text.contains("[违规|已确认]") && text.contains(&key),
        "{text}"
    );
    assert!(text.contains("确认：张伟（销售代表）"), "{text}");
}

#[test]
fn a_managers_waiver_counts_a_reps_does_not_and_says_by_whom() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    let w = state(FindingMark::Waived, "mgr1", NOW - DAY, Some(NOW + 30 * DAY));
    let mut by_mgr = replica(&mut d, &REP);
    put(&mut by_mgr, &MGR, &key, &w);
    let c = tracked(&[&mut by_mgr], NOW);
    assert_eq!(class_missing(&c).status, Status::Waived);
    assert!(!class_missing(&c).status.is_open());
    let text = render_tracked(&c, Lang::En, false, 8 * HOUR);
    assert!(
        text.contains("No open findings") && text.contains("1 waived"),
        "{text}"
    );

    // The rep writes the same waiver, claiming the manager's name.
    put(&mut d, &REP, &key, &w);
    let t = tracked(&[&mut d], NOW);
    let c = class_missing(&t);
    assert_eq!(c.status, Status::Open);
    assert!(c.state.is_none());
    let why = c.ignored[0].why_not_en.as_deref().unwrap();
    assert!(
        why.contains("张伟 (rep)") && why.contains("may not waive"),
        "{why}"
    );
    let zh = render_tracked(&t, Lang::Zh, false, 8 * HOUR);
    assert!(zh.contains("豁免不计"), "{zh}");
}

#[test]
fn an_unknown_device_and_a_field_rewritten_by_a_rep_do_not_count() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    put(
        &mut d,
        &STRANGER,
        &key,
        &state(FindingMark::Acknowledged, "rep1", NOW - DAY, None),
    );
    assert_eq!(class_missing(&tracked(&[&mut d], NOW)).status, Status::Open);

    // A manager's waiver whose end date a rep then moved.
    let mut d = unclassified();
    put(
        &mut d,
        &MGR,
        &key,
        &state(FindingMark::Waived, "mgr1", NOW - DAY, Some(NOW - HOUR)),
    );
    assert_eq!(class_missing(&tracked(&[&mut d], NOW)).status, Status::Open);
    edit_as(&mut d, &REP, |d| {
        d.put(&["finding_states", &key, "until"], &Some(NOW + 30 * DAY))
            .unwrap();
    });
    let t = tracked(&[&mut d], NOW);
    let c = class_missing(&t);
    assert_eq!(c.status, Status::Open, "{c:#?}");
    assert!(c.ignored[0].why_not_en.as_deref().unwrap().contains("张伟"));
}

#[test]
fn a_waiver_ends_at_its_date_or_at_the_longest_allowed() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    put(
        &mut d,
        &MGR,
        &key,
        &state(FindingMark::Waived, "mgr1", NOW - DAY, Some(NOW + 10 * DAY)),
    );
    assert_eq!(
        class_missing(&tracked(&[&mut d], NOW)).status,
        Status::Waived
    );
    let later = NOW + 10 * DAY;
    let t = tracked(&[&mut d], later);
    let c = class_missing(&t);
    assert_eq!(c.status, Status::Open);
    assert!(
        c.ignored[0]
            .why_not_en
            .as_deref()
            .unwrap()
            .contains("expired")
    );

    // Ten years asked; 180 days (the default waiver_max) given.
    let mut d = unclassified();
    put(
        &mut d,
        &MGR,
        &key,
        &state(FindingMark::Waived, "mgr1", NOW, Some(NOW + 3650 * DAY)),
    );
    assert_eq!(
        class_missing(&tracked(&[&mut d], NOW + 179 * DAY)).status,
        Status::Waived
    );
    assert_eq!(
        class_missing(&tracked(&[&mut d], NOW + 180 * DAY)).status,
        Status::Open
    );
}

#[test]
fn concurrent_ack_and_waiver_agree_in_both_merge_orders() {
    let mut base = unclassified();
    let key = key_of(&mut base);
    let mut a = replica(&mut base, &REP);
    let mut b = replica(&mut base, &MGR);
    a.put_new_object(
        &["finding_states", &key],
        &state(FindingMark::Acknowledged, "rep1", NOW - DAY, None),
    )
    .unwrap();
    a.commit(NOW - DAY, "ack");
    b.put_new_object(
        &["finding_states", &key],
        &state(FindingMark::Waived, "mgr1", NOW - DAY, Some(NOW + 30 * DAY)),
    )
    .unwrap();
    b.commit(NOW - DAY, "waive");
    merge(&mut a, &mut b);
    merge(&mut b, &mut a);
    let (ta, tb) = (tracked(&[&mut a], NOW), tracked(&[&mut b], NOW));
    assert_eq!(ta, tb);
    assert_eq!(class_missing(&ta).status, Status::Waived);
    // Two values of one finding state are not a conflict someone must decide.
    assert!(
        ta.iter().all(|t| t.finding.rule != R::CustConcurrentEdit),
        "{ta:#?}"
    );
}

#[test]
fn a_fixed_violation_is_listed_as_resolved() {
    let mut d = unclassified();
    let key = key_of(&mut d);
    put(
        &mut d,
        &REP,
        &key,
        &state(FindingMark::Acknowledged, "rep1", NOW - DAY, None),
    );
    edit_as(&mut d, &REP, |d| {
        d.put(&["class"], &Some(fieldcrm_model::CustomerClass::General))
            .unwrap();
    });
    let t = tracked(&[&mut d], NOW);
    let r = t.iter().find(|t| t.key == key).unwrap();
    assert_eq!(r.status, Status::Resolved);
    assert_eq!(r.finding.rule, R::CustClassMissing);
    assert_eq!(r.state.as_ref().unwrap().by.name.as_deref(), Some("张伟"));
    let open = render_tracked(&t, Lang::Zh, false, 8 * HOUR);
    assert!(
        !open.contains(&key) && open.contains("已解决 1 条"),
        "{open}"
    );
    let all = render_tracked(&t, Lang::Zh, true, 8 * HOUR);
    assert!(all.contains("[违规|已解决]") && all.contains(&key), "{all}");
}
