//! The end-to-end benchmark at a small size, as CI runs it: every row is produced and its
//! numbers are consistent with what was done (counts, bytes), not fast.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fieldcrm-e2e"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn row<'a>(rows: &'a [Value], starts: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["what"].as_str().unwrap().starts_with(starts))
        .unwrap_or_else(|| panic!("no row `{starts}` in {rows:#?}"))
        .get("values")
        .unwrap()
}

#[test]
fn every_row_is_measured_at_a_small_size() {
    let dir = bin_dir();
    for b in ["fieldcrm", "fieldcrm-relay"] {
        assert!(
            dir.join(b).exists(),
            "{b} is not built next to the harness (cargo build --workspace builds it)"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("rows.json");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldcrm-e2e"))
        .args([
            "--customers",
            "300",
            "--small",
            "200",
            "--users",
            "3",
            "--runs",
            // Two: the `check` after a sync is measured once per device synced.
            "2",
        ])
        .arg("--dir")
        .arg(tmp.path().join("work"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "harness failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| what | goal | measured |"), "{stdout}");
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(rows.len(), 13, "{rows:#?}");

    assert_eq!(row(&rows, "import 300")["customers"], 300);
    assert!(row(&rows, "first sync")["docs"].as_f64().unwrap() as u64 >= 300);
    let reconnect = row(&rows, "reconnect, nothing changed, 300");
    assert_eq!(reconnect["docs"], 0, "nothing changed, nothing moved");
    assert!(reconnect["bytes"].as_u64().unwrap() > 0);
    assert!(reconnect["turns"].as_u64().unwrap() >= 1);
    assert!(row(&rows, "`customer list`")["lines"].as_u64().unwrap() >= 300);
    // 1% of 300 new customers arrived, and the Sales document with their claims.
    assert_eq!(row(&rows, "`check`")["after_docs"], 4);
    assert!(row(&rows, "`check`")["after_ms"].as_f64().unwrap() > 0.0);
    let cache = row(&rows, "snapshot cache");
    assert!(
        cache["cache_bytes"].as_u64().unwrap() > 0,
        "check filled the cache"
    );
    assert!(cache["docs_bytes"].as_u64().unwrap() > 0);
    // 1% of 200 = 2 edited on each side: each side receives the other's two.
    let relay = row(&rows, "1% changed on each side (2 + 2 of 200), relay");
    assert_eq!(relay["received_b"], 2);
    assert_eq!(relay["received_a"], 2);
    assert!(relay["new_change_bytes"].as_u64().unwrap() > 0);
    let direct = row(&rows, "1% changed on each side (2 + 2 of 200), direct");
    assert_eq!(direct["received"], 2);
    assert_eq!(direct["sent"], 2);
    assert!(
        row(&rows, "one CLI edit, 200")["p50_ms_many"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}
