#!/usr/bin/env bash
# The project's test command (README "Tests"): installs what the tests need when it is
# missing — cargo-nextest, Chromium with its WebDriver for the browser tests, and Node.js
# with the Automerge JS client (tests/interop) for the JS interop test — then runs every
# test of the workspace. Extra arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "==> installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
if ! command -v chromedriver >/dev/null 2>&1 && [ -z "${FIELDCRM_SKIP_BROWSER:-}" ]; then
    echo "==> installing chromium and chromium-driver (browser tests)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium chromium-driver
fi
# Chinese glyphs for the browser: without a CJK font every page (and every screenshot)
# shows empty boxes and line widths are not what a user sees.
if command -v chromedriver >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    echo "==> installing fonts-noto-cjk (Chinese text in the browser tests)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y fonts-noto-cjk
fi
if [ ! -d tests/interop/node_modules ]; then
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "==> installing nodejs and npm (JS interop test)"
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y nodejs npm
    fi
    echo "==> installing the Automerge JS client (tests/interop)"
    npm ci --prefix tests/interop
fi
exec cargo nextest run --workspace --no-fail-fast "$@"
