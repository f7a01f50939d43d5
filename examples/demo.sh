#!/usr/bin/env bash
# The main job: build fieldcrm and its relay, then run `fieldcrm demo` (all on loopback,
# in a temporary directory that is removed afterwards). `bash examples/demo.sh --app`
# instead serves a rep's and a manager's web app over demo data until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --locked --quiet
exec "${CARGO_TARGET_DIR:-target}/release/fieldcrm" demo "$@"
