#!/usr/bin/env bash
# The end-to-end benchmark (issue 16): builds the release binaries, then drives the real
# `fieldcrm` and `fieldcrm-relay` on loopback and prints the goal table.
#   bash bench/e2e.sh                      # 100,000 / 10,000 customers, median of 3 runs
#   bash bench/e2e.sh --customers 20000    # options: see bench/e2e/src/main.rs
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fieldcrm -p fieldcrm-relay -p fieldcrm-e2e
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/fieldcrm-e2e" "$@"
