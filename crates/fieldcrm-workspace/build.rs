//! Computes the tags of what the workspace caches in the store from what it depends on,
//! so rows written by another build are computed again, never misread:
//! - the policy snapshots (`FIELDCRM_SNAPSHOT_TAG`): the model crate's source (the
//!   `Snapshot` type and how a document becomes one) and the preset dictionary the rows
//!   are deflated with;
//! - the saved state of the rule engine (`FIELDCRM_ENGINE_TAG`): the model and policy
//!   crates' source (the rules, and the engine's state) and the workspace's lean engine
//!   (what it keeps beside it, and how it is written).

use std::path::{Path, PathBuf};

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = here.join("../fieldcrm-model/src");
    let policy = here.join("../fieldcrm-policy/src");
    // The preset dictionary the rows are deflated with (`snapshots.rs`).
    let dict = here.join("src/snapshot.dict");
    let lean = here.join("src/lean.rs");
    let lean_state = here.join("src/lean_state.rs");
    for p in [&model, &policy, &dict, &lean, &lean_state] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let snapshot = tag(&[&model], &[&dict]);
    println!("cargo:rustc-env=FIELDCRM_SNAPSHOT_TAG=snapshot-json-{snapshot:016x}");
    let engine = tag(&[&model, &policy], &[&lean, &lean_state]);
    println!("cargo:rustc-env=FIELDCRM_ENGINE_TAG=engine-state-{engine:016x}");
}

/// FNV-1a over the names and contents of the `.rs` files under `dirs` (each named
/// relative to its directory, so the tag does not depend on where the source is checked
/// out), then of `files` (each by its file name alone): stable across builds and
/// platforms.
fn tag(dirs: &[&Path], files: &[&Path]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |name: &str, bytes: &[u8]| {
        for b in name.as_bytes().iter().chain(bytes) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for dir in dirs {
        let mut found = Vec::new();
        collect(dir, &mut found);
        found.sort();
        for f in &found {
            let name = f.strip_prefix(dir).unwrap_or(f).to_string_lossy();
            add(&name, &std::fs::read(f).unwrap_or_default());
        }
    }
    for f in files {
        let name = f.file_name().map(Path::new).unwrap_or(f).to_string_lossy();
        add(&name, &std::fs::read(f).unwrap_or_default());
    }
    h
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}
