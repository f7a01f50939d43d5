//! Computes the tag of the cached policy snapshots from what they depend on: the model
//! crate's source (the `Snapshot` type and how a document becomes one) and the preset
//! dictionary the rows are deflated with. Any change there gives a new tag, so cache rows
//! written by another build are recomputed, never misread.

use std::path::Path;

fn main() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fieldcrm-model/src");
    println!("cargo:rerun-if-changed={}", model.display());
    // The preset dictionary the rows are deflated with (`snapshots.rs`).
    let dict = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/snapshot.dict");
    println!("cargo:rerun-if-changed={}", dict.display());
    let mut files = Vec::new();
    collect(&model, &mut files);
    files.sort();
    files.push(dict);
    // FNV-1a over the file names and contents: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &files {
        // Names relative to the model crate (the dictionary by its file name alone), so
        // the tag does not depend on where the source is checked out.
        let name = f
            .strip_prefix(&model)
            .ok()
            .or_else(|| f.file_name().map(Path::new))
            .unwrap_or(f)
            .to_string_lossy();
        let bytes = std::fs::read(f).unwrap_or_default();
        for b in name.as_bytes().iter().chain(&bytes) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=FIELDCRM_SNAPSHOT_TAG=snapshot-json-{h:016x}");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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
