//! The `schema/` contract (style point 7: "Schema is a contract").
//!
//! * `schema/<kind>.schema.json` describes the JSON form of each document kind. The tests
//!   walk the JSON of documents built by [`build_fixtures`] (which between them set every
//!   optional field and fill every collection) against the schemas: at every level the
//!   property names equal the schema's, types agree, enum values equal the model's `ALL`
//!   lists, a property is `required` exactly when hydration fails without it, and a
//!   property allows `null` exactly when the model field is an `Option`.
//! * `schema/fixtures/v<N>/` holds saved documents of every released schema version with
//!   their expected JSON; this build must load and hydrate every one of them and print
//!   the same JSON.
//!
//! Fixtures of a new schema version are written once, by
//! `cargo test -p fieldcrm-model --test schema -- --ignored regenerate_fixtures`, which
//! refuses to touch a version folder that already exists.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fieldcrm_model::{
    Agreement, Approval, Assessment, Authority, Body, Catalog, Channel, ChannelKind, ChannelStatus,
    Claim, Complaint, Contact, Contract, Customer, CustomerClass, DAY_MS, Device, DeviceKey,
    DocError, DocId, DocKind, Document, Enrolment, Escalation, FindingMark, FindingState, Gift,
    GiftDirection, GiftKind, HOUR_MS, Interaction, InteractionKind, Investigation, Invitation,
    Millis, Note, Opportunity, Order, Plan, PolicySettings, PriceReport, Product, Quote, Review,
    ReviewResult, RiskAssessment, RiskLevel, Role, Roster, RuleSetting, SCHEMA_VERSION, Sales,
    SalesReport, Severity, Stage, Survey, Target, Territory, User, fields,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// Every object's property names, every type, every enum and every `$defs` entry of the
/// schemas agree with the model, and the fixtures exercise every schema property.
#[test]
fn schemas_match_the_model() {
    let fixtures = build_fixtures();
    let mut failures = Vec::new();
    for kind in DocKind::ALL {
        let schema = load_schema(kind);
        let mut declared = Declared::default();
        declare(&schema, &schema, "", &mut declared);
        failures.extend(declared.problems.iter().map(|p| format!("{kind}: {p}")));

        if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
            failures.push(format!(
                "{kind}: `$schema` must be JSON Schema draft 2020-12"
            ));
        }
        if schema["$id"] != format!("urn:fieldcrm:schema:v{SCHEMA_VERSION}:{kind}") {
            failures.push(format!(
                "{kind}: `$id` must be urn:fieldcrm:schema:v{SCHEMA_VERSION}:{kind}"
            ));
        }
        if schema["properties"]["kind"]["const"] != kind.as_str() {
            failures.push(format!(
                "{kind}: property `kind` must be the const `{kind}`"
            ));
        }
        if schema["properties"]["schema_version"]["maximum"] != SCHEMA_VERSION {
            failures.push(format!(
                "{kind}: `schema_version` must have maximum {SCHEMA_VERSION} (SCHEMA_VERSION)"
            ));
        }
        let mut refs = BTreeSet::new();
        collect_refs(&schema, &mut refs);
        for name in schema["$defs"]
            .as_object()
            .into_iter()
            .flat_map(|d| d.keys())
        {
            if !refs.contains(&format!("#/$defs/{name}")) {
                failures.push(format!("{kind}: `$defs/{name}` is never used"));
            }
        }

        let mut seen = BTreeSet::new();
        for f in fixtures.iter().filter(|f| f.kind() == *kind) {
            let json = serde_body(&f.doc);
            let mut walk = Walk::new(&schema, Mode::Exact);
            walk.walk(&schema, &json, &mut Vec::new(), "", None);
            failures.extend(walk.errors.iter().map(|e| format!("{}: {e}", f.name)));
            seen.extend(walk.seen);
        }
        for path in declared.paths.difference(&seen) {
            failures.push(format!(
                "{kind}: no fixture sets `{path}`; add it to build_fixtures() so that the \
                 schema of every property is checked against the model"
            ));
        }

        let model = model_enums(kind);
        for (path, values) in &declared.enums {
            match model.get(path.as_str()) {
                None => failures.push(format!(
                    "{kind}: `{path}` has an enum in the schema, but model_enums() does not \
                     name the model vocabulary it must equal"
                )),
                Some(expected) if expected != values => failures.push(format!(
                    "{kind}: enum of `{path}` is {values:?} in the schema but {expected:?} in \
                     the model"
                )),
                Some(_) => {}
            }
        }
        for path in model.keys() {
            if !declared.enums.contains_key(*path) {
                failures.push(format!(
                    "{kind}: `{path}` is a model vocabulary but has no enum in the schema"
                ));
            }
        }
    }
    let files = schema_files();
    let expected: BTreeSet<String> = DocKind::ALL
        .iter()
        .map(|k| format!("{k}.schema.json"))
        .collect();
    if files != expected {
        failures.push(format!(
            "schema/ holds {files:?}; expected one schema per document kind: {expected:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "schema/ is out of step with the model:\n  {}",
        failures.join("\n  ")
    );
}

/// A property is in the schema's `required` list exactly when the model cannot hydrate a
/// document that lacks it (fields that are neither `Option` nor
/// `#[autosurgeon(missing = "Default::default")]`).
#[test]
fn required_properties_are_the_ones_hydration_needs() {
    let mut failures = Vec::new();
    for mut f in build_fixtures() {
        let schema = load_schema(&f.kind());
        let bytes = f.doc.save();
        let mut walk = Walk::new(&schema, Mode::Exact);
        walk.walk(&schema, &serde_body(&f.doc), &mut Vec::new(), "", None);
        for place in walk.places.iter().filter(|p| !p.in_array) {
            let Some(required) = place.required else {
                continue;
            };
            let mut doc = Document::load(f.doc.id().clone(), &bytes, &READER).unwrap();
            let path: Vec<&str> = place.path.iter().map(String::as_str).collect();
            doc.delete(&path).unwrap();
            doc.commit(0, "delete");
            let hydrates = doc.body().is_ok();
            let at = format!("{}: {}", f.name, place.path.join("/"));
            if required && hydrates {
                failures.push(format!(
                    "{at}: the schema lists it as required, but the model loads a document \
                     without it; drop it from `required`"
                ));
            } else if !required && !hydrates {
                failures.push(format!(
                    "{at}: the model cannot load a document without it, so the schema must \
                     list it in `required` (or, for a new field, the model must add \
                     #[autosurgeon(missing = \"Default::default\")])"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n  {}", failures.join("\n  "));
}

/// A value may be `null` in the schema exactly when the model field is an `Option`.
#[test]
fn nullable_properties_are_the_options() {
    let mut failures = Vec::new();
    for f in build_fixtures() {
        let kind = f.kind();
        let schema = load_schema(&kind);
        let json = serde_body(&f.doc);
        let mut walk = Walk::new(&schema, Mode::Exact);
        walk.walk(&schema, &json, &mut Vec::new(), "", None);
        for place in &walk.places {
            let mut changed = json.clone();
            *changed.pointer_mut(&pointer(&place.path)).unwrap() = Value::Null;
            let accepts_null = serde_json::from_value::<Body>(
                json!({ "kind_body": kind.as_str(), "body": changed }),
            )
            .is_ok();
            if accepts_null != place.nullable {
                failures.push(format!(
                    "{}: {}: null is {} by the model but {} by the schema",
                    f.name,
                    place.path.join("/"),
                    if accepts_null { "accepted" } else { "refused" },
                    if place.nullable {
                        "allowed"
                    } else {
                        "not allowed"
                    },
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n  {}", failures.join("\n  "));
}

/// A string property has an `enum` in the schema exactly when the model stores a
/// vocabulary there: a value it does not know hydrates as `Unknown(…)` rather than as
/// text. (Which vocabulary, and its values, `schemas_match_the_model` checks.)
#[test]
fn vocabulary_fields_have_enums() {
    const MARKER: &str = "no-such-value-本值不存在";
    let mut failures = Vec::new();
    for f in build_fixtures() {
        let kind = f.kind();
        let schema = load_schema(&kind);
        let json = serde_body(&f.doc);
        let mut walk = Walk::new(&schema, Mode::Exact);
        walk.walk(&schema, &json, &mut Vec::new(), "", None);
        for place in &walk.places {
            let ptr = pointer(&place.path);
            if !json.pointer(&ptr).is_some_and(Value::is_string) {
                continue;
            }
            let mut changed = json.clone();
            *changed.pointer_mut(&ptr).unwrap() = json!(MARKER);
            let body: Body =
                serde_json::from_value(json!({ "kind_body": kind.as_str(), "body": changed }))
                    .unwrap();
            let vocabulary = format!("{body:?}").contains(&format!("Unknown({MARKER:?})"));
            if vocabulary != place.has_enum {
                failures.push(format!(
                    "{}: {}: the model stores {} there but the schema {}",
                    f.name,
                    place.path.join("/"),
                    if vocabulary {
                        "a vocabulary"
                    } else {
                        "free text"
                    },
                    if place.has_enum {
                        "lists an enum"
                    } else {
                        "has no enum"
                    },
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n  {}", failures.join("\n  "));
}

/// The schemas describe two things at once: `Document::to_json()` (the Automerge
/// document) and the serde form of the model (`fieldcrm … show --json`). They must agree.
#[test]
fn automerge_json_equals_serde_json() {
    for f in build_fixtures() {
        // The whole document (body() leaves removed records out, for lists and rules).
        let body = match f.doc.kind().unwrap() {
            DocKind::Customer => Body::Customer(f.doc.hydrate().unwrap()),
            DocKind::Channel => Body::Channel(f.doc.hydrate().unwrap()),
            DocKind::Sales => Body::Sales(f.doc.hydrate().unwrap()),
            _ => f.doc.body().unwrap(),
        };
        let serde = serde_json::to_value(&body).unwrap();
        assert_eq!(f.doc.to_json(), serde["body"], "{}", f.name);
        let back: Body = serde_json::from_value(serde).unwrap();
        assert_eq!(back, body, "{}: serde round trip", f.name);
    }
}

/// Every saved fixture of every schema version loads, hydrates, prints the saved JSON,
/// still validates against the current schema, and keeps its concurrent values.
#[test]
fn every_fixture_loads() {
    let versions = fixture_versions();
    assert!(
        versions.contains_key(&SCHEMA_VERSION),
        "schema/fixtures/v{SCHEMA_VERSION}/ is missing: every schema version needs saved \
         fixtures (run `cargo test -p fieldcrm-model --test schema -- --ignored \
         regenerate_fixtures`)"
    );
    let mut failures = Vec::new();
    for (version, dir) in &versions {
        let version = *version;
        if version > SCHEMA_VERSION {
            failures.push(format!(
                "{}: fixtures of a version newer than this build's {SCHEMA_VERSION}",
                dir.display()
            ));
            continue;
        }
        let mut kinds = BTreeSet::new();
        let mut with_conflicts = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = file
                .strip_suffix(".json")
                .map(|s| s.strip_suffix(".conflicts").unwrap_or(s))
            {
                if !dir.join(format!("{stem}.automerge")).exists() {
                    failures.push(format!("{}: no {stem}.automerge beside it", path.display()));
                }
                continue;
            }
            let Some(stem) = file.strip_suffix(".automerge") else {
                failures.push(format!("{}: not a fixture file", path.display()));
                continue;
            };
            let at = format!("v{version}/{stem}");
            let bytes = std::fs::read(&path).unwrap();
            let doc = match Document::load(DocId::random(), &bytes, &READER) {
                Ok(doc) => doc,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let body = match doc.body() {
                Ok(body) => body,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let kind = doc.kind().unwrap();
            kinds.insert(kind.as_str().to_string());
            if stem.split('-').next() != Some(kind.as_str()) {
                failures.push(format!("{at}: a {kind} document; name it `{kind}-…`"));
            }
            if doc.schema_version() != version {
                failures.push(format!(
                    "{at}: schema_version is {} in a v{version} folder",
                    doc.schema_version()
                ));
            }
            let json = doc.to_json();
            match read_json(&dir.join(format!("{stem}.json"))) {
                Ok(expected) if expected == json => {}
                Ok(_) => failures.push(format!(
                    "{at}: to_json() differs from {stem}.json:\n{}",
                    serde_json::to_string_pretty(&json).unwrap()
                )),
                Err(e) => failures.push(format!("{at}: {e}")),
            }
            let schema = load_schema(&kind);
            let mut walk = Walk::new(&schema, Mode::Stored);
            walk.walk(&schema, &json, &mut Vec::new(), "", None);
            failures.extend(walk.errors.iter().map(|e| format!("{at}: {e}")));

            let conflicts = serde_json::to_value(fields::conflicts(doc.automerge())).unwrap();
            let conflicts_file = dir.join(format!("{stem}.conflicts.json"));
            if conflicts_file.exists() {
                with_conflicts += 1;
                match read_json(&conflicts_file) {
                    Ok(expected) if expected == conflicts => {}
                    Ok(_) => failures.push(format!(
                        "{at}: concurrent values differ from {stem}.conflicts.json:\n{}",
                        serde_json::to_string_pretty(&conflicts).unwrap()
                    )),
                    Err(e) => failures.push(format!("{at}: {e}")),
                }
            } else if conflicts != json!([]) {
                failures.push(format!(
                    "{at}: holds concurrent values but there is no {stem}.conflicts.json"
                ));
            }

            // Save and load again: nothing is lost.
            let mut doc = doc;
            let again = Document::load(DocId::random(), &doc.save(), &READER).unwrap();
            if again.to_json() != json || again.body().ok().as_ref() != Some(&body) {
                failures.push(format!("{at}: changes after save and load"));
            }
        }
        let all: BTreeSet<String> = DocKind::ALL.iter().map(|k| k.to_string()).collect();
        if kinds != all {
            failures.push(format!(
                "v{version}: fixtures of {kinds:?}; expected every kind {all:?}"
            ));
        }
        if with_conflicts == 0 {
            failures.push(format!("v{version}: no fixture holds concurrent edits"));
        }
    }
    assert!(failures.is_empty(), "\n  {}", failures.join("\n  "));
}

/// What schema/README.md promises about versions: a document from a newer schema version
/// is refused with an error that says to upgrade, and a vocabulary value this build does
/// not know hydrates as `Unknown` and is kept.
#[test]
fn versioning_policy_holds() {
    let mut f = build_fixtures().remove(0);
    assert_eq!(f.kind(), DocKind::Customer);

    let mut newer = replica(&mut f.doc, &READER);
    newer
        .put(&["schema_version"], &(SCHEMA_VERSION + 1))
        .unwrap();
    newer.commit(bj(2027, 1, 1, 9, 0), "from the future");
    match Document::load(DocId::random(), &newer.save(), &READER) {
        Err(e @ DocError::TooNew { .. }) => {
            assert!(e.to_string().contains("upgrade fieldcrm"), "{e}")
        }
        other => panic!("a newer document must be refused, got {other:?}"),
    }

    let mut doc = replica(&mut f.doc, &READER);
    doc.put(&["class"], &"strategic".to_string()).unwrap();
    doc.put(
        &["complaints", &id(1201), "severity"],
        &"critical".to_string(),
    )
    .unwrap();
    doc.commit(bj(2027, 1, 1, 9, 0), "values from a newer client");
    let doc = Document::load(DocId::random(), &doc.save(), &READER).unwrap();
    let Body::Customer(c) = doc.body().unwrap() else {
        panic!("not a customer")
    };
    assert_eq!(c.class, Some(CustomerClass::Unknown("strategic".into())));
    assert_eq!(
        c.complaints[&id(1201)].severity,
        Severity::Unknown("critical".into())
    );
    assert_eq!(doc.to_json()["class"], "strategic");
    assert_eq!(serde_json::to_value(&c).unwrap()["class"], "strategic");
}

/// The time helper the fixtures use.
#[test]
fn beijing_time_helper() {
    assert_eq!(bj(2026, 9, 1, 8, 0), 1_788_220_800_000);
    assert_eq!(bj(2026, 1, 1, 8, 0), 1_767_225_600_000);
    assert_eq!(bj(2027, 9, 30, 8, 0), 1_822_262_400_000);
}

/// Write the fixtures of the current schema version. Run once when a schema version is
/// introduced; a folder that exists is never rewritten (documents saved by released
/// versions are exactly what must keep loading).
#[test]
#[ignore = "writes schema/fixtures/v<SCHEMA_VERSION>/; run by hand for a new schema version"]
fn regenerate_fixtures() {
    let dir = fixtures_dir().join(format!("v{SCHEMA_VERSION}"));
    assert!(
        !dir.exists(),
        "{} already exists. Fixtures of a released schema version are never rewritten; \
         bump SCHEMA_VERSION to write a new folder. (Only if version {SCHEMA_VERSION} was \
         never released may you delete the folder by hand and run this again.)",
        dir.display()
    );
    std::fs::create_dir_all(&dir).unwrap();
    for mut f in build_fixtures() {
        std::fs::write(dir.join(format!("{}.automerge", f.name)), f.doc.save()).unwrap();
        write_json(&dir.join(format!("{}.json", f.name)), &f.doc.to_json());
        let conflicts = fields::conflicts(f.doc.automerge());
        if !conflicts.is_empty() {
            write_json(
                &dir.join(format!("{}.conflicts.json", f.name)),
                &serde_json::to_value(conflicts).unwrap(),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// The device fixtures are loaded with (never writes).
const READER: DeviceKey = DeviceKey([0xee; 32]);

fn schema_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    workspace.join("schema")
}

fn fixtures_dir() -> PathBuf {
    schema_dir().join("fixtures")
}

fn load_schema(kind: &DocKind) -> Value {
    let path = schema_dir().join(format!("{kind}.schema.json"));
    read_json(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    std::fs::write(path, text).unwrap();
}

fn schema_files() -> BTreeSet<String> {
    std::fs::read_dir(schema_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".schema.json"))
        .collect()
}

/// `schema/fixtures/v<N>/` folders by N.
fn fixture_versions() -> BTreeMap<u64, PathBuf> {
    let Ok(entries) = std::fs::read_dir(fixtures_dir()) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let n = p.file_name()?.to_str()?.strip_prefix('v')?.parse().ok()?;
            Some((n, p))
        })
        .collect()
}

/// The serde JSON of a document's typed content.
fn serde_body(doc: &Document) -> Value {
    serde_json::to_value(doc.body().unwrap()).unwrap()["body"].take()
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The model's vocabularies, by schema path
// ---------------------------------------------------------------------------------------

macro_rules! vocab {
    ($t:ty) => {
        <$t>::ALL
            .iter()
            .map(|v| v.as_str().to_string())
            .collect::<Vec<String>>()
    };
}

/// Where each document kind stores a model vocabulary. `*` is any map key, `{key}` the
/// keys of a map.
fn model_enums(kind: &DocKind) -> BTreeMap<&'static str, Vec<String>> {
    match kind {
        DocKind::Customer => BTreeMap::from([
            ("class", vocab!(CustomerClass)),
            ("interactions/*/kind", vocab!(InteractionKind)),
            ("complaints/*/severity", vocab!(Severity)),
            ("opportunities/*/stage", vocab!(Stage)),
            ("contracts/*/legal_review/result", vocab!(ReviewResult)),
            ("gifts/*/kind", vocab!(GiftKind)),
            ("gifts/*/direction", vocab!(GiftDirection)),
            ("finding_states/*/state", vocab!(FindingMark)),
        ]),
        DocKind::Channel => BTreeMap::from([
            ("channel_kind", vocab!(ChannelKind)),
            ("status", vocab!(ChannelStatus)),
            ("qualification/result", vocab!(ReviewResult)),
            ("risk/level", vocab!(RiskLevel)),
            ("finding_states/*/state", vocab!(FindingMark)),
        ]),
        DocKind::Roster => BTreeMap::from([
            ("users/*/role", vocab!(Role)),
            ("devices/*/invitation/invitation/role", vocab!(Role)),
        ]),
        DocKind::Sales => BTreeMap::from([("finding_states/*/state", vocab!(FindingMark))]),
        DocKind::Catalog => BTreeMap::from([("discount_allowance_bp/{key}", vocab!(Role))]),
        DocKind::Policy => BTreeMap::new(),
        DocKind::Unknown(k) => panic!("no schema for unknown kind {k}"),
    }
}

// ---------------------------------------------------------------------------------------
// A small structural JSON Schema reader: the subset the schema files use
// (type, const, enum, minimum, maximum, hex patterns, properties, required,
// additionalProperties, propertyNames, items, local $ref, anyOf [schema, null]).
// ---------------------------------------------------------------------------------------

/// A schema node seen through `$ref` and a nullable `anyOf`.
struct Node<'a> {
    schema: &'a Value,
    ty: &'a str,
    nullable: bool,
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let Some(r) = schema.get("$ref") else {
        return schema;
    };
    let name = r
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .unwrap_or_else(|| panic!("only local `#/$defs/…` references are supported: {r}"));
    let def = root["$defs"]
        .get(name)
        .unwrap_or_else(|| panic!("`$ref` to a missing `$defs/{name}`"));
    resolve(root, def)
}

fn node<'a>(root: &'a Value, schema: &'a Value) -> Node<'a> {
    if let Some(any) = schema.get("anyOf") {
        let any = any.as_array().expect("anyOf is an array");
        let null = json!({ "type": "null" });
        let others: Vec<&Value> = any.iter().filter(|s| **s != null).collect();
        assert!(
            any.len() == 2 && others.len() == 1,
            "anyOf must be [schema, {{\"type\": \"null\"}}]: {schema}"
        );
        return Node {
            nullable: true,
            ..node(root, others[0])
        };
    }
    let schema = resolve(root, schema);
    let mut types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
        _ => panic!("schema node without `type`: {schema}"),
    };
    let nullable = types.contains(&"null");
    types.retain(|t| *t != "null");
    assert_eq!(
        types.len(),
        1,
        "one type (and maybe null) per node: {schema}"
    );
    Node {
        schema,
        ty: types[0],
        nullable,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// `^[0-9a-f]{N}$` is the only pattern the schemas use (IDs and device keys).
fn matches_pattern(pattern: &str, s: &str) -> bool {
    let n: usize = pattern
        .strip_prefix("^[0-9a-f]{")
        .and_then(|p| p.strip_suffix("}$"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("only ^[0-9a-f]{{N}}$ patterns are supported: {pattern}"));
    s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a schema declares, by pattern path: `*` any map key, `[]` any array item,
/// `{key}` the keys of a map whose key names are constrained.
#[derive(Default)]
struct Declared {
    paths: BTreeSet<String>,
    enums: BTreeMap<String, Vec<String>>,
    problems: Vec<String>,
}

fn declare(root: &Value, schema: &Value, pattern: &str, out: &mut Declared) {
    let n = node(root, schema);
    out.paths.insert(pattern.to_string());
    if let Some(e) = n.schema.get("enum") {
        out.enums.insert(pattern.to_string(), strings(e));
    }
    match n.ty {
        "object" => {
            if let Some(props) = n.schema.get("properties").and_then(Value::as_object) {
                if n.schema.get("additionalProperties") != Some(&Value::Bool(false)) {
                    out.problems.push(format!(
                        "`{pattern}`: an object with properties needs additionalProperties: false"
                    ));
                }
                for r in strings(n.schema.get("required").unwrap_or(&json!([]))) {
                    if !props.contains_key(&r) {
                        out.problems
                            .push(format!("`{pattern}`: requires `{r}`, which is no property"));
                    }
                }
                for (key, sub) in props {
                    let described = sub
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.trim().is_empty());
                    if !described {
                        out.problems
                            .push(format!("`{}` has no description", join(pattern, key)));
                    }
                    declare(root, sub, &join(pattern, key), out);
                }
            } else if let Some(values) = n
                .schema
                .get("additionalProperties")
                .filter(|v| v.is_object())
            {
                if let Some(names) = n.schema.get("propertyNames") {
                    let keys = join(pattern, "{key}");
                    out.paths.insert(keys.clone());
                    if let Some(e) = resolve(root, names).get("enum") {
                        out.enums.insert(keys, strings(e));
                    }
                }
                declare(root, values, &join(pattern, "*"), out);
            } else {
                out.problems.push(format!(
                    "`{pattern}`: an object needs `properties` (a struct) or an \
                     `additionalProperties` schema (a map)"
                ));
            }
        }
        "array" => declare(root, &n.schema["items"], &join(pattern, "[]"), out),
        _ => {}
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The serde JSON of a model value: every property the schema declares is present.
    Exact,
    /// A stored document (perhaps from an older version): properties outside `required`
    /// may be missing.
    Stored,
}

/// A concrete place in a JSON value.
struct Place {
    path: Vec<String>,
    /// Whether the schema allows null here.
    nullable: bool,
    /// For a struct property: whether the schema requires it.
    required: Option<bool>,
    /// Inside an array item.
    in_array: bool,
    /// The schema lists the allowed values (`enum`).
    has_enum: bool,
}

struct Walk<'a> {
    root: &'a Value,
    mode: Mode,
    errors: Vec<String>,
    /// Pattern paths met with a non-null value.
    seen: BTreeSet<String>,
    places: Vec<Place>,
}

impl<'a> Walk<'a> {
    fn new(root: &'a Value, mode: Mode) -> Self {
        Walk {
            root,
            mode,
            errors: Vec::new(),
            seen: BTreeSet::new(),
            places: Vec::new(),
        }
    }

    fn walk(
        &mut self,
        schema: &'a Value,
        value: &Value,
        path: &mut Vec<String>,
        pattern: &str,
        required: Option<bool>,
    ) {
        let n = node(self.root, schema);
        let at = if path.is_empty() {
            "(document)".to_string()
        } else {
            path.join("/")
        };
        if !path.is_empty() {
            self.places.push(Place {
                path: path.clone(),
                nullable: n.nullable,
                required,
                in_array: pattern.contains("[]"),
                has_enum: n.schema.get("enum").is_some(),
            });
        }
        if value.is_null() {
            if !n.nullable {
                self.errors
                    .push(format!("{at}: null, but the schema does not allow null"));
            }
            return;
        }
        self.seen.insert(pattern.to_string());
        let type_ok = match n.ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("unknown schema type {other}"),
        };
        if !type_ok {
            self.errors
                .push(format!("{at}: {value} is not of schema type {}", n.ty));
            return;
        }
        if let Some(c) = n.schema.get("const")
            && value != c
        {
            self.errors.push(format!("{at}: {value} is not {c}"));
        }
        if let Some(e) = n.schema.get("enum").and_then(Value::as_array)
            && !e.contains(value)
        {
            self.errors
                .push(format!("{at}: {value} is not one of the schema's {e:?}"));
        }
        if let Some(min) = n.schema.get("minimum").and_then(Value::as_i64)
            && value.as_i64().is_some_and(|v| v < min)
        {
            self.errors.push(format!("{at}: {value} is below {min}"));
        }
        if let Some(max) = n.schema.get("maximum").and_then(Value::as_i64)
            && value.as_i64().is_none_or(|v| v > max)
        {
            self.errors.push(format!("{at}: {value} is above {max}"));
        }
        if let Some(p) = n.schema.get("pattern").and_then(Value::as_str)
            && !matches_pattern(p, value.as_str().unwrap_or_default())
        {
            self.errors
                .push(format!("{at}: {value} does not match {p}"));
        }
        match n.ty {
            "object" => self.object(n.schema, value.as_object().unwrap(), path, pattern, &at),
            "array" => {
                for (i, item) in value.as_array().unwrap().iter().enumerate() {
                    path.push(i.to_string());
                    self.walk(&n.schema["items"], item, path, &join(pattern, "[]"), None);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn object(
        &mut self,
        schema: &'a Value,
        value: &serde_json::Map<String, Value>,
        path: &mut Vec<String>,
        pattern: &str,
        at: &str,
    ) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let required = strings(schema.get("required").unwrap_or(&json!([])));
            for key in value.keys() {
                if !props.contains_key(key) {
                    self.errors.push(format!(
                        "{at}: has property `{key}`, which the schema does not declare"
                    ));
                }
            }
            for (key, sub) in props {
                let is_required = required.contains(key);
                match value.get(key) {
                    Some(v) => {
                        path.push(key.clone());
                        self.walk(sub, v, path, &join(pattern, key), Some(is_required));
                        path.pop();
                    }
                    None if self.mode == Mode::Exact => self.errors.push(format!(
                        "{at}: the schema declares `{key}`, which the model does not have"
                    )),
                    None if is_required => self
                        .errors
                        .push(format!("{at}: required property `{key}` is missing")),
                    None => {}
                }
            }
        } else if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            if let Some(names) = schema.get("propertyNames") {
                let names = resolve(self.root, names);
                for key in value.keys() {
                    let ok = match (names.get("enum"), names.get("pattern")) {
                        (Some(e), _) => e.as_array().unwrap().contains(&json!(key)),
                        (None, Some(p)) => matches_pattern(p.as_str().unwrap(), key),
                        (None, None) => panic!("propertyNames needs enum or pattern"),
                    };
                    if !ok {
                        self.errors
                            .push(format!("{at}: key `{key}` is not allowed by propertyNames"));
                    }
                    self.seen.insert(join(pattern, "{key}"));
                }
            }
            for (key, v) in value {
                path.push(key.clone());
                self.walk(values, v, path, &join(pattern, "*"), None);
                path.pop();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures: realistic documents, built the way devices build them (create, put, commit,
// load a replica on another device, edit concurrently, merge). Deterministic: fixed
// device keys, IDs and times.
// ---------------------------------------------------------------------------------------

struct Fixture {
    name: &'static str,
    doc: Document,
}

impl Fixture {
    fn kind(&self) -> DocKind {
        self.doc.kind().unwrap()
    }
}

/// Beijing time (UTC+8) as UTC milliseconds.
fn bj(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> Millis {
    // Days from 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * DAY_MS + (hour - 8) * HOUR_MS + minute * 60_000
}

/// Yuan to fen.
fn yuan(y: i64) -> i64 {
    y * 100
}

fn mix(mut z: u64) -> u64 {
    // splitmix64
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic 32-hex ID.
fn id(seed: u64) -> String {
    format!("{:016x}{:016x}", mix(seed), mix(seed ^ 0x5eed_0000_0000))
}

fn doc_id(seed: u64) -> DocId {
    id(seed).parse().unwrap()
}

/// A deterministic device key.
fn device(seed: u64) -> DeviceKey {
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(seed * 16 + i as u64).to_be_bytes());
    }
    DeviceKey(key)
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

struct Person {
    id: String,
    name: &'static str,
    role: Role,
    team: Option<String>,
    region: Option<String>,
    device: DeviceKey,
    device_label: &'static str,
}

fn person(
    n: u64,
    name: &'static str,
    role: Role,
    team: Option<&str>,
    region: Option<&str>,
    device_label: &'static str,
) -> Person {
    Person {
        id: id(n),
        name,
        role,
        team: team.map(Into::into),
        region: region.map(Into::into),
        device: device(n),
        device_label,
    }
}

/// The people of the sample workspace (苏州科锐数控设备有限公司, a CNC machine maker).
struct Cast {
    wang: Person,
    lina: Person,
    chen: Person,
    zhao: Person,
    sun: Person,
    zhou: Person,
    liu: Person,
    /// 王磊's phone.
    wang_phone: DeviceKey,
    /// 周涛's laptop (the admin's second device).
    zhou_laptop: DeviceKey,
}

fn cast() -> Cast {
    Cast {
        wang: person(
            1,
            "王磊",
            Role::Rep,
            Some("华东一组"),
            Some("华东"),
            "王磊的笔记本",
        ),
        lina: person(
            2,
            "李娜",
            Role::Rep,
            Some("华东一组"),
            Some("华东"),
            "李娜的笔记本",
        ),
        chen: person(
            3,
            "陈刚",
            Role::Manager,
            Some("华东一组"),
            Some("华东"),
            "陈刚的笔记本",
        ),
        zhao: person(
            4,
            "赵敏",
            Role::ChannelManager,
            None,
            Some("华东"),
            "赵敏的笔记本",
        ),
        sun: person(5, "孙静", Role::Legal, Some("法务部"), None, "法务部台式机"),
        zhou: person(6, "周涛", Role::Admin, Some("信息部"), None, "信息部台式机"),
        liu: person(
            7,
            "刘洋",
            Role::Rep,
            Some("华南组"),
            Some("华南"),
            "刘洋的旧手机",
        ),
        wang_phone: device(11),
        zhou_laptop: device(16),
    }
}

fn replica(doc: &mut Document, device: &DeviceKey) -> Document {
    Document::load(doc.id().clone(), &doc.save(), device).unwrap()
}

/// Exchange changes both ways, as a sync does.
fn sync(a: &mut Document, b: &mut Document) {
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
    b.automerge_mut().merge(a.automerge_mut()).unwrap();
}

fn add<T: autosurgeon::Reconcile>(
    doc: &mut Document,
    collection: &str,
    key: &str,
    value: &T,
    at: Millis,
    message: &str,
) {
    doc.put(&[collection, key], value).unwrap();
    doc.commit(at, message);
}

/// Every fixture of the current schema version.
fn build_fixtures() -> Vec<Fixture> {
    let c = cast();
    vec![
        Fixture {
            name: "customer-huadong-key",
            doc: customer_huadong(&c),
        },
        Fixture {
            name: "customer-xinrui-potential",
            doc: customer_xinrui(&c),
        },
        Fixture {
            name: "customer-merged-tombstone",
            doc: customer_merged(&c),
        },
        Fixture {
            name: "channel-hengtong-distributor",
            doc: channel_hengtong(&c),
        },
        Fixture {
            name: "channel-merged-dealer",
            doc: channel_merged(&c),
        },
        Fixture {
            name: "roster",
            doc: roster(&c),
        },
        Fixture {
            name: "catalog",
            doc: catalog(&c),
        },
        Fixture {
            name: "policy",
            doc: policy(&c),
        },
        Fixture {
            name: "sales",
            doc: sales(&c),
        },
    ]
}

const HUADONG: u64 = 100;
const XINRUI: u64 = 101;
const HUADONG_DUPLICATE: u64 = 102;
const HENGTONG: u64 = 200;
const HENGTONG_DEALER: u64 = 201;

/// A key customer with the whole history: contacts, interactions, a major complaint
/// handled to the end, a survey, a plan, opportunities, a discounted quote approved by the
/// manager, a contract reviewed by legal, signed and archived, an order through a channel
/// partner and declared hospitality. The rep and the manager classified the customer
/// concurrently (key vs general): `class` holds both values.
fn customer_huadong(c: &Cast) -> Document {
    let t0 = bj(2026, 9, 1, 9, 30);
    let mut cust = Customer::new("华东精密机械有限公司", t0);
    cust.credit_code = s("91320594MA1N8K2Q7X");
    cust.industry = s("通用设备制造");
    cust.region = s("华东");
    cust.address = s("江苏省苏州市工业园区星湖街 328 号");
    cust.owner = Some(c.wang.id.clone());
    cust.team = c.wang.team.clone();
    cust.annual_value = Some(yuan(850_000));
    let mut a = Document::create(
        doc_id(HUADONG),
        &c.wang.device,
        t0,
        &cust,
        "新建客户档案 create customer",
    )
    .unwrap();

    let (zhang, lijing) = (id(1001), id(1002));
    let t = bj(2026, 9, 1, 9, 40);
    add(
        &mut a,
        "contacts",
        &zhang,
        &Contact {
            name: "张伟".into(),
            title: s("采购部经理"),
            phone: s("13912345678"),
            email: s("zhangwei@hdjm.com.cn"),
            created_at: t,
        },
        t,
        "添加联系人 add contact",
    );
    let t = bj(2026, 9, 3, 17, 50);
    add(
        &mut a,
        "contacts",
        &lijing,
        &Contact {
            name: "李静".into(),
            title: s("总工程师"),
            phone: s("0512-66881234"),
            email: None,
            created_at: t,
        },
        t,
        "添加联系人 add contact",
    );
    // A contact entered twice by mistake, then removed (it stays in the document).
    let twice = id(1003);
    add(
        &mut a,
        "contacts",
        &twice,
        &Contact {
            name: "李静".into(),
            title: None,
            phone: s("0512-66881234"),
            email: None,
            created_at: t,
        },
        t,
        "添加联系人 add contact",
    );
    let t = bj(2026, 9, 3, 18, 0);
    a.put(
        &["removed", &format!("contacts/{twice}")],
        &Note {
            text: "重复录入".into(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "删除记录 remove contacts");
    add(
        &mut a,
        "interactions",
        &id(1101),
        &Interaction {
            kind: InteractionKind::Visit,
            occurred_at: bj(2026, 9, 3, 14, 0),
            recorded_at: bj(2026, 9, 3, 18, 0),
            summary: "首次拜访，参观二期厂房，了解立式加工中心更新需求".into(),
            by: c.wang.id.clone(),
            contact: Some(zhang.clone()),
        },
        bj(2026, 9, 3, 18, 0),
        "记录拜访 record visit",
    );
    add(
        &mut a,
        "interactions",
        &id(1102),
        &Interaction {
            kind: InteractionKind::Call,
            occurred_at: bj(2026, 9, 10, 10, 0),
            recorded_at: bj(2026, 9, 10, 10, 30),
            summary: "电话沟通 VM850 主轴转速与定位精度参数".into(),
            by: c.wang.id.clone(),
            contact: Some(lijing.clone()),
        },
        bj(2026, 9, 10, 10, 30),
        "记录电话 record call",
    );
    add(
        &mut a,
        "interactions",
        &id(1103),
        &Interaction {
            kind: InteractionKind::Email,
            occurred_at: bj(2026, 9, 11, 9, 0),
            recorded_at: bj(2026, 9, 11, 9, 5),
            summary: "发送 VM850 技术方案与参考报价".into(),
            by: c.wang.id.clone(),
            contact: None,
        },
        bj(2026, 9, 11, 9, 5),
        "记录邮件 record email",
    );

    // The manager's laptop receives the file; both classify the customer offline.
    let mut b = replica(&mut a, &c.chen.device);
    a.put(&["class"], &CustomerClass::Key).unwrap();
    a.commit(bj(2026, 9, 12, 9, 0), "设为重要客户 set class key");
    b.put(&["class"], &CustomerClass::General).unwrap();
    b.commit(bj(2026, 9, 12, 9, 20), "设为一般客户 set class general");
    add(
        &mut b,
        "interactions",
        &id(1104),
        &Interaction {
            kind: InteractionKind::Meeting,
            occurred_at: bj(2026, 9, 12, 14, 0),
            recorded_at: bj(2026, 9, 12, 17, 0),
            summary: "与客户高层座谈，确认二期产线 2027 年投产计划".into(),
            by: c.chen.id.clone(),
            contact: Some(zhang.clone()),
        },
        bj(2026, 9, 12, 17, 0),
        "记录会议 record meeting",
    );
    sync(&mut a, &mut b);
    b.put_new_object(
        &["class_exception"],
        &Approval {
            covers: covers_of(&b, &[], Authority::ClassException),
            by: c.chen.id.clone(),
            at: bj(2026, 9, 13, 10, 0),
            note: s("年采购额预计 2027 年超过 100 万元，按重要客户管理"),
        },
    )
    .unwrap();
    b.commit(
        bj(2026, 9, 13, 10, 0),
        "批准分类例外 approve class exception",
    );
    sync(&mut a, &mut b);

    // A major complaint, handled to the end.
    let major = id(1201);
    add(
        &mut a,
        "complaints",
        &major,
        &Complaint {
            severity: Severity::Major,
            summary: "VM850 主轴异响导致停机 6 小时，客户要求赔偿".into(),
            opened_at: bj(2026, 9, 15, 10, 0),
            opened_by: c.wang.id.clone(),
            first_response: None,
            escalation: None,
            investigation: None,
            resolution: None,
            closed_at: None,
        },
        bj(2026, 9, 15, 10, 5),
        "记录重点投诉 record major complaint",
    );
    let t = bj(2026, 9, 15, 11, 30);
    a.put(
        &["complaints", &major, "first_response"],
        &Note {
            text: "已电话致歉，安排售后工程师次日上门检修".into(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "首次响应 first response");
    let t = bj(2026, 9, 15, 12, 0);
    a.put_new_object(
        &["complaints", &major, "escalation"],
        &Escalation {
            to: c.chen.id.clone(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "向上级汇报 escalate");
    let t = bj(2026, 9, 17, 16, 0);
    a.put(
        &["complaints", &major, "investigation"],
        &Investigation {
            departments: vec!["质量部".into(), "售后服务部".into(), "生产部".into()],
            findings: "主轴轴承批次缺陷，同批次 12 台需排查".into(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "调查结论 investigation");
    let t = bj(2026, 9, 18, 15, 0);
    a.put(
        &["complaints", &major, "resolution"],
        &Note {
            text: "免费更换主轴轴承并延长保修一年，客户确认满意".into(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    a.put(&["complaints", &major, "closed_at"], &t).unwrap();
    a.commit(t, "投诉结案 close complaint");
    let normal = id(1202);
    add(
        &mut a,
        "complaints",
        &normal,
        &Complaint {
            severity: Severity::Normal,
            summary: "增值税发票抬头有误，需重开".into(),
            opened_at: bj(2026, 10, 9, 9, 0),
            opened_by: c.wang.id.clone(),
            first_response: Some(Note {
                text: "已通知财务部重开发票".into(),
                at: bj(2026, 10, 9, 10, 0),
                by: c.wang.id.clone(),
            }),
            escalation: None,
            investigation: None,
            resolution: None,
            closed_at: None,
        },
        bj(2026, 10, 9, 10, 0),
        "记录投诉 record complaint",
    );
    add(
        &mut a,
        "surveys",
        &id(1301),
        &Survey {
            score: 4,
            at: bj(2026, 9, 25, 15, 0),
            by: c.wang.id.clone(),
            comment: s("维修响应及时，希望备件供应更快"),
        },
        bj(2026, 9, 25, 15, 10),
        "客户回访 record survey",
    );
    let t = bj(2026, 9, 26, 9, 0);
    a.put(
        &["plan"],
        &Plan {
            text:
                "2027 年推进二期产线 8 台加工中心替换；每季度高层拜访一次；年底前完成备件框架续签"
                    .into(),
            review_at: bj(2026, 12, 31, 9, 0),
            by: c.wang.id.clone(),
            at: t,
        },
    )
    .unwrap();
    a.commit(t, "客户发展计划 set plan");
    add(
        &mut a,
        "opportunities",
        &id(1401),
        &Opportunity {
            title: "二期产线立式加工中心替换".into(),
            stage: Stage::Negotiation,
            amount: yuan(3_280_000),
            last_activity_at: bj(2026, 10, 12, 16, 0),
            created_at: bj(2026, 9, 11, 9, 10),
            by: c.wang.id.clone(),
        },
        bj(2026, 10, 12, 16, 0),
        "更新销售机会 update opportunity",
    );
    add(
        &mut a,
        "opportunities",
        &id(1402),
        &Opportunity {
            title: "年度主轴备件框架协议".into(),
            stage: Stage::Won,
            amount: yuan(360_000),
            last_activity_at: bj(2026, 9, 30, 11, 0),
            created_at: bj(2026, 9, 19, 9, 0),
            by: c.wang.id.clone(),
        },
        bj(2026, 9, 30, 11, 0),
        "赢单 opportunity won",
    );

    // A quote 18% below list: beyond the rep's 10%, approved by the manager.
    let quote = id(1501);
    add(
        &mut a,
        "quotes",
        &quote,
        &Quote {
            product: "CNC-VM850".into(),
            quantity: 4,
            list_price: yuan(980_000),
            price: yuan(803_600),
            created_at: bj(2026, 10, 12, 15, 0),
            by: c.wang.id.clone(),
            approval: None,
            cancelled: None,
        },
        bj(2026, 10, 12, 15, 0),
        "报价 quote",
    );
    sync(&mut a, &mut b);
    let t = bj(2026, 10, 12, 18, 30);
    b.put_new_object(
        &["quotes", &quote, "approval"],
        &Approval {
            covers: covers_of(&b, &["quotes", &quote], Authority::DiscountApproval),
            by: c.chen.id.clone(),
            at: t,
            note: s("战略客户首单，同意 18% 折扣"),
        },
    )
    .unwrap();
    b.commit(t, "批准折扣 approve discount");
    sync(&mut a, &mut b);

    // The contract: drafted by the rep, reviewed by legal on another device.
    let contract = id(1601);
    add(
        &mut a,
        "contracts",
        &contract,
        &Contract {
            title: "二期立式加工中心采购合同（4 台）".into(),
            amount: yuan(3_214_400),
            created_at: bj(2026, 10, 15, 10, 0),
            by: c.wang.id.clone(),
            ..Default::default()
        },
        bj(2026, 10, 15, 10, 0),
        "起草合同 draft contract",
    );
    let mut legal = replica(&mut a, &c.sun.device);
    let t = bj(2026, 10, 16, 14, 0);
    legal
        .put_new_object(
            &["contracts", &contract, "legal_review"],
            &Review {
                covers: covers_of(&legal, &["contracts", &contract], Authority::LegalReview),
                result: ReviewResult::Passed,
                by: c.sun.id.clone(),
                at: t,
                note: s("付款与违约条款已按法务模板修订"),
            },
        )
        .unwrap();
    legal.commit(t, "法务审核通过 legal review passed");
    sync(&mut a, &mut legal);
    let t = bj(2026, 10, 18, 11, 0);
    a.put(&["contracts", &contract, "signed_at"], &t).unwrap();
    a.commit(t, "合同签订 contract signed");
    let t = bj(2026, 10, 20, 9, 0);
    a.put(
        &["contracts", &contract, "archive_ref"],
        &"HDJM-HT-2026-0917".to_string(),
    )
    .unwrap();
    a.put(&["contracts", &contract, "archived_at"], &t).unwrap();
    a.commit(t, "合同归档 contract archived");

    // The order goes through the distributor; the manager approves its discount.
    let order = id(1701);
    add(
        &mut a,
        "orders",
        &order,
        &Order {
            product: "CNC-VM850".into(),
            quantity: 4,
            list_price: yuan(980_000),
            price: yuan(803_600),
            channel: Some(id(HENGTONG)),
            ordered_at: bj(2026, 10, 20, 10, 0),
            promised_at: bj(2026, 11, 20, 17, 0),
            delivered_at: None,
            by: c.wang.id.clone(),
            approval: None,
            cancelled: None,
        },
        bj(2026, 10, 20, 10, 0),
        "下单 order",
    );
    sync(&mut a, &mut b);
    let t = bj(2026, 10, 20, 11, 0);
    b.put_new_object(
        &["orders", &order, "approval"],
        &Approval {
            covers: covers_of(&b, &["orders", &order], Authority::OrderApproval),
            by: c.chen.id.clone(),
            at: t,
            note: s("同报价审批"),
        },
    )
    .unwrap();
    b.commit(t, "批准订单折扣 approve order discount");
    sync(&mut a, &mut b);
    let t = bj(2026, 11, 18, 16, 0);
    a.put(&["orders", &order, "delivered_at"], &t).unwrap();
    a.commit(t, "已交付 delivered");

    // A second quote and order for a model the customer dropped: both cancelled by the
    // rep before any approval (who, when, why kept on the record).
    let (dropped_quote, dropped_order) = (id(1502), id(1702));
    let t = bj(2026, 11, 19, 9, 0);
    add(
        &mut a,
        "quotes",
        &dropped_quote,
        &Quote {
            product: "CNC-VM850".into(),
            quantity: 1,
            list_price: yuan(980_000),
            price: yuan(960_000),
            created_at: t,
            by: c.wang.id.clone(),
            approval: None,
            cancelled: None,
        },
        t,
        "报价 quote",
    );
    add(
        &mut a,
        "orders",
        &dropped_order,
        &Order {
            product: "CNC-VM850".into(),
            quantity: 1,
            list_price: yuan(980_000),
            price: yuan(960_000),
            channel: None,
            ordered_at: t,
            promised_at: bj(2026, 12, 19, 17, 0),
            delivered_at: None,
            by: c.wang.id.clone(),
            approval: None,
            cancelled: None,
        },
        t,
        "下单 order",
    );
    let t = bj(2026, 11, 19, 16, 0);
    for (collection, eid, why) in [
        ("quotes", &dropped_quote, "客户改选 VM650"),
        ("orders", &dropped_order, "客户撤单"),
    ] {
        a.put_new_object(
            &[collection, eid, "cancelled"],
            &Note {
                text: why.into(),
                at: t,
                by: c.wang.id.clone(),
            },
        )
        .unwrap();
    }
    a.commit(t, "取消报价和订单 cancel quote and order");

    // Hospitality, declared and approved.
    let gift = id(1801);
    add(
        &mut a,
        "gifts",
        &gift,
        &Gift {
            kind: GiftKind::Hospitality,
            direction: GiftDirection::Given,
            description: "项目启动商务晚宴（8 人）".into(),
            value: yuan(1_280),
            at: bj(2026, 10, 18, 19, 0),
            by: c.wang.id.clone(),
            declared: true,
            approval: None,
        },
        bj(2026, 10, 19, 9, 0),
        "申报招待 declare hospitality",
    );
    sync(&mut a, &mut b);
    let t = bj(2026, 10, 19, 10, 0);
    b.put_new_object(
        &["gifts", &gift, "approval"],
        &Approval {
            covers: covers_of(&b, &["gifts", &gift], Authority::GiftApproval),
            by: c.chen.id.clone(),
            at: t,
            note: s("符合公司招待标准"),
        },
    )
    .unwrap();
    b.commit(t, "批准招待 approve hospitality");
    sync(&mut a, &mut b);
    let doc = doc_id(HUADONG).to_string();
    waive(
        &mut a,
        c,
        "CUST-CLASS-CRITERIA",
        &doc,
        Some("class"),
        bj(2026, 11, 2, 9, 0),
    );
    a
}

/// A prospect just entered: most fields unset.
fn customer_xinrui(c: &Cast) -> Document {
    let t0 = bj(2026, 11, 2, 15, 0);
    let mut cust = Customer::new("苏州新锐电子科技有限公司", t0);
    cust.class = Some(CustomerClass::Potential);
    cust.owner = Some(c.lina.id.clone());
    cust.team = c.lina.team.clone();
    let mut doc = Document::create(
        doc_id(XINRUI),
        &c.lina.device,
        t0,
        &cust,
        "新建客户档案 create customer",
    )
    .unwrap();
    add(
        &mut doc,
        "contacts",
        &id(2001),
        &Contact {
            name: "周先生".into(),
            created_at: t0,
            ..Default::default()
        },
        t0,
        "添加联系人 add contact",
    );
    // Archived later by the manager (a duplicate registration kept for its history).
    let mut wang = replica(&mut doc, &c.wang.device);
    let t = bj(2026, 11, 20, 10, 0);
    wang.put_new_object(
        &["archived"],
        &Note {
            text: "重复录入".into(),
            at: t,
            by: c.wang.id.clone(),
        },
    )
    .unwrap();
    wang.commit(t, "归档 archive");
    sync(&mut doc, &mut wang);
    doc
}

/// A duplicate of 华东精密机械 entered by another rep, merged into the original: a
/// tombstone.
fn customer_merged(c: &Cast) -> Document {
    let t0 = bj(2026, 9, 2, 11, 0);
    let mut cust = Customer::new("华东精密机械（苏州）有限公司", t0);
    cust.owner = Some(c.lina.id.clone());
    cust.team = c.lina.team.clone();
    let mut doc = Document::create(
        doc_id(HUADONG_DUPLICATE),
        &c.lina.device,
        t0,
        &cust,
        "新建客户档案 create customer",
    )
    .unwrap();
    let mut wang = replica(&mut doc, &c.wang.device);
    let t = bj(2026, 9, 4, 9, 0);
    wang.put(&["merged_into"], &Some(id(HUADONG))).unwrap();
    wang.commit(t, "合并重复客户 merge duplicate");
    sync(&mut doc, &mut wang);
    doc
}

/// A distributor with qualification, risk, agreement, territory, communications, training,
/// assessment and a price report (and a communication entered twice, removed); one product
/// line was taken off its set (`false`). The channel manager activated it while the sales
/// manager, offline, suspended it: `status` and `status_at` hold both values.
fn channel_hengtong(c: &Cast) -> Document {
    let t0 = bj(2026, 9, 5, 10, 0);
    let mut ch = Channel::new("江苏恒通工控设备有限公司", ChannelKind::Distributor, t0);
    ch.region = s("华东");
    ch.owner = Some(c.zhao.id.clone());
    ch.product_lines.insert("CNC".into(), true);
    ch.product_lines.insert("SP".into(), true);
    ch.product_lines.insert("AUTO".into(), true);
    let mut a = Document::create(
        doc_id(HENGTONG),
        &c.zhao.device,
        t0,
        &ch,
        "新建渠道档案 create channel",
    )
    .unwrap();

    let mut legal = replica(&mut a, &c.sun.device);
    let t = bj(2026, 9, 8, 15, 0);
    legal
        .put_new_object(
            &["qualification"],
            &Review {
                covers: covers_of(&legal, &[], Authority::ChannelQualification),
                result: ReviewResult::Passed,
                by: c.sun.id.clone(),
                at: t,
                note: s("营业执照、经营许可与代理资质齐全"),
            },
        )
        .unwrap();
    legal.commit(t, "资质审核通过 qualification passed");
    sync(&mut a, &mut legal);

    let t = bj(2026, 9, 9, 10, 0);
    a.put_new_object(
        &["risk"],
        &RiskAssessment {
            level: RiskLevel::Medium,
            by: c.zhao.id.clone(),
            at: t,
            note: s("应收账款周期偏长，建议 30 天账期"),
        },
    )
    .unwrap();
    a.commit(t, "风险评估 risk assessment");
    let t = bj(2026, 9, 28, 16, 0);
    a.put_new_object(
        &["agreement"],
        &Agreement {
            rights: "苏州市范围内数控机床独家分销；享受渠道价与季度返利".into(),
            responsibilities: "年销售额不低于 800 万元；不得跨区域销售；不得低于限价销售".into(),
            plan: "2026 Q4 完成 10 家重点客户推介；2027 年设立苏州展厅".into(),
            term_start: bj(2026, 10, 1, 0, 0),
            term_end: bj(2027, 9, 30, 23, 59),
            products: vec!["CNC".into()],
            signed_at: Some(bj(2026, 9, 30, 10, 0)),
            by: c.zhao.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "签订合作协议 sign agreement");
    add(
        &mut a,
        "territories",
        &id(3001),
        &Territory {
            region: "苏州市".into(),
            product_line: "CNC".into(),
            start: bj(2026, 10, 1, 0, 0),
            end: bj(2027, 9, 30, 23, 59),
            exclusive: true,
            by: c.zhao.id.clone(),
            at: bj(2026, 9, 30, 10, 30),
        },
        bj(2026, 9, 30, 10, 30),
        "授权区域 grant territory",
    );

    let t = bj(2026, 9, 29, 9, 0);
    a.put(&["product_lines", "AUTO"], &false).unwrap();
    a.commit(t, "停止代理自动化产品线 drop product line");

    // Activation (channel manager) and suspension (sales manager), concurrently.
    let mut b = replica(&mut a, &c.chen.device);
    let t = bj(2026, 10, 1, 9, 0);
    a.put(&["status"], &ChannelStatus::Active).unwrap();
    a.put(&["status_at"], &t).unwrap();
    a.put(&["activated_at"], &t).unwrap();
    a.commit(t, "激活渠道 activate channel");
    let t = bj(2026, 10, 1, 9, 30);
    b.put(&["status"], &ChannelStatus::Suspended).unwrap();
    b.put(&["status_at"], &t).unwrap();
    b.commit(t, "暂停渠道，待风险复核 suspend pending risk review");
    sync(&mut a, &mut b);

    add(
        &mut a,
        "communications",
        &id(3101),
        &Note {
            text: "2026 年第三季度渠道座谈会：通报价格政策，收集客户需求".into(),
            at: bj(2026, 10, 10, 14, 0),
            by: c.zhao.id.clone(),
        },
        bj(2026, 10, 10, 17, 0),
        "记录座谈 record meeting",
    );
    // The same meeting entered twice by mistake, then removed (it stays in the document).
    let twice = id(3102);
    add(
        &mut a,
        "communications",
        &twice,
        &Note {
            text: "2026 年第三季度渠道座谈会".into(),
            at: bj(2026, 10, 10, 14, 0),
            by: c.zhao.id.clone(),
        },
        bj(2026, 10, 10, 17, 5),
        "记录座谈 record meeting",
    );
    let t = bj(2026, 10, 11, 9, 0);
    a.put(
        &["removed", &format!("communications/{twice}")],
        &Note {
            text: "重复录入".into(),
            at: t,
            by: c.zhao.id.clone(),
        },
    )
    .unwrap();
    a.commit(t, "删除渠道记录 remove communications");
    add(
        &mut a,
        "trainings",
        &id(3201),
        &Note {
            text: "VM850 操作与日常维护培训，渠道技术人员 6 人参加".into(),
            at: bj(2026, 10, 15, 9, 0),
            by: c.zhao.id.clone(),
        },
        bj(2026, 10, 15, 12, 0),
        "记录培训 record training",
    );
    add(
        &mut a,
        "assessments",
        &id(3301),
        &Assessment {
            period: "2026-Q3".into(),
            score: 86,
            note: s("无串货，价格合规"),
            by: c.zhao.id.clone(),
            at: bj(2026, 10, 8, 10, 0),
        },
        bj(2026, 10, 8, 10, 0),
        "季度考核 assessment",
    );
    add(
        &mut a,
        "price_reports",
        &id(3401),
        &PriceReport {
            product: "CNC-VM850".into(),
            price: yuan(955_000),
            at: bj(2026, 10, 25, 10, 0),
            by: c.zhao.id.clone(),
        },
        bj(2026, 10, 25, 10, 0),
        "价格上报 price report",
    );
    let doc = doc_id(HENGTONG).to_string();
    waive(
        &mut a,
        c,
        "CHANNEL-TRAINING",
        &doc,
        Some("trainings"),
        bj(2026, 11, 2, 9, 0),
    );
    a
}

/// A dealer record found to be the same partner, merged into 江苏恒通 and terminated.
fn channel_merged(c: &Cast) -> Document {
    let t0 = bj(2026, 9, 6, 10, 0);
    let mut doc = Document::create(
        doc_id(HENGTONG_DEALER),
        &c.zhao.device,
        t0,
        &Channel::new("恒通工控（苏州）销售部", ChannelKind::Dealer, t0),
        "新建渠道档案 create channel",
    )
    .unwrap();
    let t = bj(2026, 9, 7, 9, 0);
    doc.put(&["merged_into"], &Some(id(HENGTONG))).unwrap();
    doc.put(&["status"], &ChannelStatus::Terminated).unwrap();
    doc.put(&["status_at"], &t).unwrap();
    doc.commit(t, "合并重复渠道 merge duplicate");
    let t = bj(2026, 9, 8, 9, 0);
    doc.put_new_object(
        &["archived"],
        &Note {
            text: "合并后归档".into(),
            at: t,
            by: c.zhao.id.clone(),
        },
    )
    .unwrap();
    doc.commit(t, "归档 archive");
    doc
}

/// Users of every role and their devices. The admin revoked a device on the desktop while
/// enrolling the rep's phone on the laptop; the two edits merged.
fn roster(c: &Cast) -> Document {
    let t0 = bj(2026, 8, 28, 9, 0);
    let mut r = Roster::new(&id(1), "苏州科锐数控设备有限公司");
    r.share_team_customers = true;
    for p in [&c.wang, &c.lina, &c.chen, &c.zhao, &c.sun, &c.zhou, &c.liu] {
        r.users.insert(
            p.id.clone(),
            User {
                name: p.name.into(),
                role: p.role.clone(),
                team: p.team.clone(),
                region: p.region.clone(),
                active: true,
                created_at: t0,
            },
        );
        r.devices.insert(
            p.device.to_hex(),
            Device {
                user: p.id.clone(),
                label: p.device_label.into(),
                enrolled_at: t0,
                revoked_at: None,
                invitation: None,
            },
        );
    }
    r.devices.insert(
        c.zhou_laptop.to_hex(),
        Device {
            user: c.zhou.id.clone(),
            label: "周涛的笔记本".into(),
            enrolled_at: t0,
            revoked_at: None,
            invitation: None,
        },
    );
    let mut desk = Document::create(
        DocId::workspace(&DocKind::Roster),
        &c.zhou.device,
        t0,
        &r,
        "创建花名册 create roster",
    )
    .unwrap();
    let mut laptop = replica(&mut desk, &c.zhou_laptop);
    let t = bj(2026, 9, 1, 9, 0);
    let liu = c.liu.device.to_hex();
    desk.put(&["devices", &liu, "revoked_at"], &t).unwrap();
    desk.put(&["users", &c.liu.id, "active"], &false).unwrap();
    desk.commit(t, "停用离职员工设备 revoke device");
    let t = bj(2026, 9, 1, 9, 5);
    laptop
        .put(
            &["devices", &c.wang_phone.to_hex()],
            &Device {
                user: c.wang.id.clone(),
                label: "王磊的手机".into(),
                enrolled_at: t,
                revoked_at: None,
                // The phone enrolled itself with the admin's invitation (the shape only:
                // the signatures here are not real).
                invitation: Some(Enrolment {
                    invitation: Invitation {
                        workspace_id: id(1),
                        id: id(90),
                        user: c.wang.id.clone(),
                        new_user: false,
                        name: c.wang.name.into(),
                        role: c.wang.role.clone(),
                        team: c.wang.team.clone(),
                        created_at: t - HOUR_MS,
                        expires_at: t + 71 * HOUR_MS,
                        code_key: "c0".repeat(32),
                        created_by: c.zhou.device.to_hex(),
                        signature: "5a".repeat(64),
                    },
                    proof: "9f".repeat(64),
                }),
            },
        )
        .unwrap();
    laptop.commit(t, "登记设备 enroll device");
    sync(&mut desk, &mut laptop);
    desk
}

fn catalog(c: &Cast) -> Document {
    let t0 = bj(2026, 8, 28, 9, 10);
    let mut cat = Catalog::new();
    for (code, name) in [("CNC", "数控机床"), ("AUTO", "自动化设备"), ("SP", "备件")] {
        cat.product_lines.insert(code.into(), name.into());
    }
    let mut doc = Document::create(
        DocId::workspace(&DocKind::Catalog),
        &c.zhou.device,
        t0,
        &cat,
        "创建产品目录 create catalog",
    )
    .unwrap();
    let mut manager = replica(&mut doc, &c.chen.device);
    for (sku, name, line, list, floor) in [
        ("CNC-VM850", "立式加工中心 VM850", "CNC", 980_000, 880_000),
        (
            "CNC-HM630",
            "卧式加工中心 HM630",
            "CNC",
            1_650_000,
            1_480_000,
        ),
        ("AUTO-R6", "六轴工业机器人 R6", "AUTO", 268_000, 238_000),
        ("SP-SPINDLE-850", "VM850 主轴总成", "SP", 46_000, 41_000),
    ] {
        let t = bj(2026, 8, 29, 10, 0);
        add(
            &mut manager,
            "products",
            sku,
            &Product {
                name: name.into(),
                product_line: line.into(),
                list_price: yuan(list),
                floor_price: yuan(floor),
            },
            t,
            "新增产品 add product",
        );
    }
    manager
        .put(&["discount_allowance_bp", "manager"], &3000i64)
        .unwrap();
    manager.commit(bj(2026, 8, 29, 10, 30), "调整经理折扣权限 set allowance");
    sync(&mut doc, &mut manager);
    doc
}

fn policy(c: &Cast) -> Document {
    let t0 = bj(2026, 8, 28, 9, 20);
    let mut p = PolicySettings::new();
    p.rules.insert(
        "general".into(),
        RuleSetting {
            severity: None,
            params: [("utc_offset".to_string(), "+08:00".to_string())].into(),
        },
    );
    p.rules.insert(
        "CUST-KEY-VISIT".into(),
        RuleSetting {
            severity: None,
            params: [("interval".to_string(), "60d".to_string())].into(),
        },
    );
    p.rules.insert(
        "SALES-REPORT".into(),
        RuleSetting {
            severity: s("off"),
            params: Default::default(),
        },
    );
    let mut doc = Document::create(
        DocId::workspace(&DocKind::Policy),
        &c.zhou.device,
        t0,
        &p,
        "创建规则配置 create policy settings",
    )
    .unwrap();
    let mut manager = replica(&mut doc, &c.chen.device);
    add(
        &mut manager,
        "rules",
        "GIFT-DECLARATION",
        &RuleSetting {
            severity: s("violation"),
            params: [("limit".to_string(), "300".to_string())].into(),
        },
        bj(2026, 9, 2, 9, 0),
        "礼品申报限额 300 元 gift limit",
    );
    sync(&mut doc, &mut manager);
    doc
}

/// Targets set by the manager and a report written by a rep at the same time on two
/// devices.
fn sales(c: &Cast) -> Document {
    let t0 = bj(2026, 8, 28, 9, 30);
    let mut doc = Document::create(
        DocId::workspace(&DocKind::Sales),
        &c.zhou.device,
        t0,
        &Sales::new(),
        "创建销售目标 create sales",
    )
    .unwrap();
    let mut manager = replica(&mut doc, &c.chen.device);
    let mut rep = replica(&mut doc, &c.wang.device);
    let t = bj(2026, 9, 30, 17, 0);
    add(
        &mut manager,
        "targets",
        &id(4001),
        &Target {
            scope: "team".into(),
            subject: "华东一组".into(),
            period: "2026".into(),
            amount: yuan(20_000_000),
            by: c.chen.id.clone(),
            at: t,
        },
        t,
        "设定团队目标 set team target",
    );
    add(
        &mut manager,
        "targets",
        &id(4002),
        &Target {
            scope: "user".into(),
            subject: c.wang.id.clone(),
            period: "2026-Q4".into(),
            amount: yuan(3_000_000),
            by: c.chen.id.clone(),
            at: t,
        },
        t,
        "设定个人目标 set user target",
    );
    let t = bj(2026, 11, 20, 18, 0);
    add(
        &mut rep,
        "reports",
        &id(4101),
        &SalesReport {
            user: c.wang.id.clone(),
            period: "2026-W47".into(),
            summary: "华东精密机械 4 台 VM850 已交付；新锐电子完成首次拜访".into(),
            amount: yuan(3_214_400),
            submitted_at: t,
        },
        t,
        "提交周报 submit report",
    );
    // A target set twice by mistake, then removed (it stays in the document).
    let t = bj(2026, 10, 1, 9, 0);
    add(
        &mut manager,
        "targets",
        &id(4003),
        &Target {
            scope: "user".into(),
            subject: c.wang.id.clone(),
            period: "2026-Q4".into(),
            amount: yuan(300_000),
            by: c.chen.id.clone(),
            at: t,
        },
        t,
        "设定个人目标 set user target",
    );
    manager
        .put(
            &["removed", &format!("targets/{}", id(4003))],
            &Note {
                text: "金额少写一个零".into(),
                at: t,
                by: c.chen.id.clone(),
            },
        )
        .unwrap();
    manager.commit(t, "删除销售目标 remove targets");
    // The rep's device claims a customer file it registered (hashed keys only).
    let t = bj(2026, 11, 21, 9, 0);
    rep.put_new_object(
        &["claims", &id(4201)],
        &Claim {
            owner: c.wang.id.clone(),
            since: t,
            keys: [
                (id(4202), "name".to_string()),
                (id(4203), "credit_code".to_string()),
                (id(4204), "phone".to_string()),
            ]
            .into_iter()
            .collect(),
        },
    )
    .unwrap();
    rep.commit(t, "登记客户 claim customer");
    sync(&mut doc, &mut manager);
    sync(&mut doc, &mut rep);
    let roster = DocId::workspace(&DocKind::Roster).to_string();
    waive(
        &mut doc,
        c,
        "SALES-REPORT",
        &roster,
        Some("reports"),
        bj(2026, 11, 2, 9, 0),
    );
    doc
}

/// What a sign-off on the entity at `path` of `doc` covers, as the application layer
/// records it.
fn covers_of(doc: &Document, path: &[&str], authority: Authority) -> BTreeMap<String, String> {
    let mut v = doc.to_json();
    for p in path {
        v = v.get(*p).cloned().unwrap_or(Value::Null);
    }
    fieldcrm_model::signoff::covered_values(authority, |f| v.get(f).cloned().unwrap_or(Value::Null))
}

/// A manager's waiver of a finding about `doc` (every field of a finding state set).
fn waive(d: &mut Document, c: &Cast, rule: &str, doc: &str, entity: Option<&str>, t: Millis) {
    let key = match entity {
        Some(e) => format!("{rule}:{doc}:{}", e.replace('/', ".")),
        None => format!("{rule}:{doc}"),
    };
    d.put_new_object(
        &["finding_states", &key],
        &FindingState {
            state: FindingMark::Waived,
            rule: rule.into(),
            severity: s("warning"),
            doc_ids: vec![doc.to_string()],
            entity: entity.map(str::to_string),
            message_zh: s("示例问题"),
            message_en: s("an example finding"),
            note: s("已知悉"),
            reason: s("客户年底停产检修，下季度再安排"),
            until: Some(t + 60 * DAY_MS),
            by: c.chen.id.clone(),
            at: t,
        },
    )
    .unwrap();
    d.commit(t, "豁免问题 waive finding");
}
