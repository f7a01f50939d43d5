//! Interop with the Automerge JS client (`@automerge/automerge`, pinned in
//! `tests/interop/package.json`): it reads a fieldcrm document and sees today's dates
//! (Automerge change times are seconds; builds that wrote milliseconds showed the year
//! 58,900), and a string it writes — a text object, its default — reads in fieldcrm as a
//! plain string.
//!
//! Needs `node` on PATH and `tests/interop/node_modules`, which `bash scripts/test.sh`
//! installs (`npm ci --prefix tests/interop`); the test itself never reaches the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use fieldcrm_workspace::Workspace;

use crate::support::Rep;

/// `tests/interop`, with its installed `node_modules` (the test fails, never skips,
/// without them).
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        dir.join("node_modules/@automerge/automerge/package.json")
            .exists(),
        "{} is missing @automerge/automerge: run `bash scripts/test.sh` \
         (it runs `npm ci --prefix tests/interop`)",
        dir.join("node_modules").display()
    );
    dir
}

/// Run `node tests/interop/read.mjs IN OUT` and parse its JSON.
fn read_with_js(input: &Path, output: &Path) -> serde_json::Value {
    let dir = interop_dir();
    let out = Command::new("node")
        .arg(dir.join("read.mjs"))
        .arg(input)
        .arg(output)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node` ({e}): install Node.js, e.g. by running `bash scripts/test.sh`"
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node read.mjs failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("node read.mjs:\n{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn js_client_reads_todays_dates_and_its_text_reads_as_a_string() {
    let rep = Rep::new();
    rep.ok(&[
        "init",
        "--user",
        "小张",
        "--role",
        "rep",
        "--team",
        "华东一组",
    ]);
    rep.ok(&["customer", "add", "上海精密机械", "--industry", "贸易"]);
    rep.ok(&["customer", "edit", "上海精密机械", "--region", "华东"]);

    // The document's saved bytes, as a JS client would receive them.
    let input = rep.home.with_file_name("customer.automerge");
    let output = rep.home.with_file_name("customer-js.automerge");
    let id = {
        let ws = Workspace::open(&rep.home).unwrap();
        let id = ws.resolve_any("上海精密机械").unwrap();
        std::fs::write(&input, ws.store().load_bytes(&id).unwrap()).unwrap();
        id
    };

    let js = read_with_js(&input, &output);
    assert_eq!(js["name"], "上海精密机械", "{js:#}");

    // FIELDCRM_NOW is 2026-11-29T09:00:00+08:00, i.e. 2026-11-29T01:00:00Z: the same
    // date in UTC, which is what `toISOString` prints.
    let today = rep.now.split('T').next().unwrap();
    let changes = js["changes"].as_array().unwrap();
    assert!(changes.len() >= 2, "add and edit are changes: {js:#}");
    for c in changes {
        let date = c["date"].as_str().unwrap_or_else(|| panic!("no date: {c}"));
        assert!(
            date.starts_with(&format!("{today}T")),
            "the JS client dates change {} {date}, not {today} \
             (Automerge change times are seconds): {js:#}",
            c["hash"]
        );
        assert!(c["actor"].as_str().is_some_and(|a| !a.is_empty()), "{c}");
    }

    // The JS client's edit: a plain JS string, stored as a text object.
    assert_eq!(js["edit"]["value"], "制造业", "{js:#}");
    assert_eq!(
        js["edit"]["text"], true,
        "the JS edit is a text object: {js:#}"
    );

    // fieldcrm takes the JS client's changes (as from a peer) and reads the text as a
    // plain string.
    {
        let ws = Workspace::open(&rep.home).unwrap();
        let bytes = std::fs::read(&output).unwrap();
        ws.store().apply_changes(&id, &[bytes]).unwrap();
    }
    let shown = rep
        .run(&["customer", "show", "上海精密机械", "--json"])
        .json();
    assert_eq!(shown["industry"], "制造业", "{shown:#}");
    assert_eq!(shown["name"], "上海精密机械", "{shown:#}");
    assert_eq!(shown["region"], "华东", "{shown:#}");

    // And fieldcrm edits the field the JS client made text.
    rep.ok(&["customer", "edit", "上海精密机械", "--industry", "机械"]);
    let shown = rep
        .run(&["customer", "show", "上海精密机械", "--json"])
        .json();
    assert_eq!(shown["industry"], "机械", "{shown:#}");
}
