//! Property tests ("fuzzing" with proptest, which runs on stable Rust) of every parser of
//! outside input: text a person types, CSV files, bundle files, and documents a peer or
//! another Automerge client can produce. Each property: no panic, and a clear error or a
//! value that keeps its invariants. Case counts are fixed so CI time is bounded; failing
//! cases proptest finds are saved under `proptest-regressions/` and committed.

use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use fieldcrm_model::{DeviceKey, DocId, Document};
use fieldcrm_policy::{Config, check_device};
use fieldcrm_workspace::{Bundle, input, parse_csv, write_csv};
use proptest::prelude::*;

/// Any text, biased toward what breaks parsers: CJK, full-width digits, emoji, separators.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9０-９一二三〇年月日季度第QWq:：.,，T -]{0,24}",
        "[\\p{Han}\\p{Emoji}a-zA-Z0-9,\"\n\r ]{0,40}",
    ]
}

fn config() -> ProptestConfig {
    // 256 cases in CI; `PROPTEST_CASES=20000` for a longer hunt.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn typed_text_parsers_never_panic(t in text()) {
        if let Ok(fen) = input::money("price", &t) {
            prop_assert!(fen >= 0);
        }
        let _ = input::int("quantity", &t);
        if let Ok(bp) = input::percent_bp("allowance", &t) {
            prop_assert!((0..=10_000).contains(&bp));
        }
        if let Ok(label) = input::period("period", &t) {
            // A canonical label parses to itself.
            prop_assert_eq!(input::period("period", &label).ok(), Some(label.clone()));
        }
        let clock = input::Clock::new("Asia/Shanghai", 0).unwrap();
        let _ = clock.parse("at", &t);
        let _ = clock.parse_end("to", &t);
        let _ = input::Clock::new(&t, 0);
        let _ = fieldcrm_model::short_id(&t);
        let _ = t.parse::<fieldcrm_model::CustomerClass>();
    }

    #[test]
    fn csv_parsing_never_panics_and_round_trips(
        t in text(),
        rows in proptest::collection::vec(proptest::collection::vec(text(), 2), 0..8),
    ) {
        let _ = parse_csv(&t);
        let written = write_csv(&["a", "b"], &rows);
        let parsed = parse_csv(&written).unwrap();
        // Rows that are one blank cell are skipped as blank lines; the rest come back.
        let kept: Vec<&Vec<String>> = rows
            .iter()
            .filter(|r| !r.iter().all(|c| c.trim().is_empty()))
            .collect();
        prop_assert!(parsed.len() >= kept.len());
    }

    #[test]
    fn bundle_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut with_magic = fieldcrm_workspace::BUNDLE_MAGIC.to_vec();
        with_magic.extend(&bytes);
        prop_assert!(Bundle::parse(Path::new("x.bundle"), &bytes).is_err());
        prop_assert!(Bundle::parse(Path::new("x.bundle"), &with_magic).is_err());
    }

    #[test]
    fn any_document_shape_from_a_peer_is_handled_without_panic(
        base in 0..4usize,
        ops in proptest::collection::vec((path(), value()), 0..12),
        period_text in text(),
    ) {
        // Start from a real document (a customer with a quote and a contact, a channel,
        // or a bare map) and let the "peer" write anything on top of it.
        let mut am = match base {
            0 => customer_doc(),
            1 => channel_doc(),
            2 => doc_of(&fieldcrm_model::Sales::new()),
            _ => AutoCommit::new(),
        };
        for (path, v) in ops {
            put_at(&mut am, &path, v);
        }
        am.commit();
        let Ok(doc) = Document::from_automerge(DocId::random(), am) else {
            return Ok(());
        };
        let _ = doc.to_json();
        let _ = doc.body();
        if let Ok(snap) = doc.snapshot() {
            let reader = DeviceKey([1; 32]);
            let _ = check_device(&[snap], &Config::default(), 1_800_000_000_000, &reader);
        }
        // A sales document whose target has any period text (`２０２６-Q4`, `二〇二六年`,
        // emoji) must not break the rules that read it.
        let mut sales = doc_of(&fieldcrm_model::Sales::new());
        put_at(&mut sales, &["targets".into(), "t1".into(), "period".into()],
            V::Scalar(ScalarValue::Str(period_text.into())));
        put_at(&mut sales, &["targets".into(), "t1".into(), "scope".into()],
            V::Scalar(ScalarValue::Str("team".into())));
        sales.commit();
        if let Ok(snap) = Document::from_automerge(
            DocId::workspace(&fieldcrm_model::DocKind::Sales), sales).and_then(|d| d.snapshot())
        {
            let reader = DeviceKey([1; 32]);
            let _ = check_device(&[snap], &Config::default(), 1_800_000_000_000, &reader);
        }
    }
}

/// A customer file as a device writes it, with entities in its collections.
fn customer_doc() -> AutoCommit {
    use fieldcrm_model::{Contact, Customer, CustomerClass, Quote};
    let mut c = Customer::new("甲公司", 1_000);
    c.class = Some(CustomerClass::Key);
    c.owner = Some("u1".into());
    c.contacts.insert(
        "c1".into(),
        Contact {
            name: "张伟".into(),
            title: None,
            phone: Some("13800000001".into()),
            email: None,
            created_at: 1_000,
        },
    );
    c.quotes.insert(
        "q1".into(),
        Quote {
            product: "P-1".into(),
            quantity: 2,
            list_price: 100_000,
            price: 75_000,
            ..Default::default()
        },
    );
    doc_of(&c)
}

/// A channel record as a device writes it.
fn channel_doc() -> AutoCommit {
    let ch =
        fieldcrm_model::Channel::new("乙渠道", fieldcrm_model::ChannelKind::Distributor, 1_000);
    doc_of(&ch)
}

fn doc_of<T: autosurgeon::Reconcile>(content: &T) -> AutoCommit {
    let mut d = Document::create(
        DocId::random(),
        &DeviceKey([2; 32]),
        1_000,
        content,
        "create",
    )
    .unwrap();
    d.automerge_mut().fork()
}

/// A path into a document: known field names (so the model and rules look at it) mixed
/// with arbitrary keys.
fn path() -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![
        proptest::sample::select(vec![
            "name",
            "owner",
            "team",
            "class",
            "region",
            "schema_version",
            "created_at",
            "merged_into",
            "class_exception",
            "annual_value",
            "contacts",
            "interactions",
            "complaints",
            "quotes",
            "orders",
            "contracts",
            "gifts",
            "plan",
            "surveys",
            "opportunities",
            "approval",
            "price",
            "list_price",
            "quantity",
            "at",
            "by",
            "occurred_at",
            "status",
            "users",
            "devices",
            "role",
            "products",
            "rules",
            "targets",
            "period",
            "amount",
            "legal_review",
            "result",
            "escalation",
            "channel",
            "territories",
            "qualification",
            "risk",
            "agreement",
            "product_lines",
        ])
        .prop_map(str::to_string),
        "[a-z0-9]{1,6}",
    ];
    proptest::collection::vec(key, 1..4)
}

#[derive(Debug, Clone)]
enum V {
    Scalar(ScalarValue),
    Text(String),
    Map,
    List,
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        text().prop_map(|s| V::Scalar(ScalarValue::Str(s.into()))),
        any::<i64>().prop_map(|i| V::Scalar(ScalarValue::Int(i))),
        any::<u64>().prop_map(|i| V::Scalar(ScalarValue::Uint(i))),
        any::<f64>().prop_map(|f| V::Scalar(ScalarValue::F64(f))),
        any::<bool>().prop_map(|b| V::Scalar(ScalarValue::Boolean(b))),
        Just(V::Scalar(ScalarValue::Null)),
        any::<i64>().prop_map(|t| V::Scalar(ScalarValue::Timestamp(t))),
        any::<i64>().prop_map(|c| V::Scalar(ScalarValue::counter(c))),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| V::Scalar(ScalarValue::Bytes(b))),
        text().prop_map(V::Text),
        Just(V::Map),
        Just(V::List),
    ]
}

/// Put `v` at `path`, creating maps on the way (replacing whatever is in the way).
fn put_at(am: &mut AutoCommit, path: &[String], v: V) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut obj = ROOT;
    for seg in parents {
        obj = match am.get(&obj, seg.as_str()) {
            Ok(Some((automerge::Value::Object(ObjType::Map), id))) => id,
            _ => match am.put_object(&obj, seg.as_str(), ObjType::Map) {
                Ok(id) => id,
                Err(_) => return,
            },
        };
    }
    let _ = match v {
        V::Scalar(s) => am.put(&obj, last.as_str(), s).map(|_| ()),
        V::Text(t) => am
            .put_object(&obj, last.as_str(), ObjType::Text)
            .and_then(|id| am.splice_text(&id, 0, 0, &t)),
        V::Map => am.put_object(&obj, last.as_str(), ObjType::Map).map(|_| ()),
        V::List => am
            .put_object(&obj, last.as_str(), ObjType::List)
            .map(|_| ()),
    };
}

/// Excel import (`sheets.rs`): arbitrary bytes, and real .xlsx files with bytes changed or
/// cut short, never panic; an import that fails writes nothing; text cells round-trip.
#[cfg(feature = "sheets")]
mod xlsx {
    use fieldcrm_model::{DocKind, Role};
    use fieldcrm_testkit::Kit;
    use fieldcrm_workspace::Filter;
    use fieldcrm_workspace::sheets::{Cell, Sheet, read_xlsx, write_xlsx};
    use proptest::prelude::*;

    use super::config;

    /// A small valid customer sheet to damage.
    fn valid() -> Vec<u8> {
        write_xlsx(&[Sheet {
            name: "客户".into(),
            header: vec!["名称".into(), "分类".into(), "年销售额".into()],
            rows: vec![
                vec![
                    Cell::from("華東精密１号"),
                    Cell::from("重要"),
                    Cell::Number(12.5),
                ],
                vec![Cell::from("笑脸😀公司"), Cell::from("一般"), Cell::from("")],
            ],
        }])
        .unwrap()
    }

    fn cell_text() -> impl Strategy<Value = String> {
        "[\\p{Han}\\p{Emoji}a-zA-Z0-9０-９,\"'<>& \n]{0,30}"
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn xlsx_import_of_any_bytes_never_panics_and_writes_nothing_on_refusal(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
            damage_real_file in any::<bool>(),
        ) {
            let bytes = if damage_real_file {
                let mut b = valid();
                for (at, v) in &edits {
                    let i = at.index(b.len());
                    b[i] = *v;
                }
                if edits.len() % 3 == 0 {
                    b.truncate(cut.index(b.len() + 1));
                }
                b
            } else {
                bytes
            };
            let _ = read_xlsx(&bytes);
            let kit = Kit::new();
            let ws = kit.init("王经理", Role::Manager);
            let before = ws.list(&Filter::default().kind(DocKind::Customer)).unwrap().len();
            if ws.import_customers_xlsx("fuzz.xlsx", &bytes, kit.now()).is_err() {
                let after = ws.list(&Filter::default().kind(DocKind::Customer)).unwrap().len();
                prop_assert_eq!(before, after);
            }
            let _ = ws.import_channels_xlsx("fuzz.xlsx", &bytes, kit.now());
        }

        #[test]
        fn xlsx_text_cells_round_trip(rows in proptest::collection::vec(
            proptest::collection::vec(cell_text(), 1..5), 0..20)
        ) {
            let sheet = Sheet {
                name: "数据".into(),
                header: vec!["a".into()],
                rows: rows.iter().map(|r| r.iter().map(|t| Cell::from(t.as_str())).collect()).collect(),
            };
            let back = read_xlsx(&write_xlsx(&[sheet]).unwrap()).unwrap();
            let got = &back[0].1;
            for (i, row) in rows.iter().enumerate() {
                let read = got.get(i + 1).cloned().unwrap_or_default();
                for (j, text) in row.iter().enumerate() {
                    prop_assert_eq!(read.get(j).map(String::as_str).unwrap_or(""), text.as_str());
                }
            }
        }
    }
}
