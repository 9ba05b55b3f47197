#!/usr/bin/env bash
# Runs every test of tickwire: the style gates (rustfmt, clippy on the server's and the
# browser's targets), the Rust unit and integration tests, the Python client's tests,
# the property-based API tests generated from docs/openapi.json (scripts/check/api.sh),
# then the Playwright suite in Debian's Chromium against the release build. Installs
# what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --e2e
source scripts/env.sh

echo "== Style: rustfmt and leptosfmt, clippy with warnings as errors (native, wasm32), the server's layers"
cargo fmt --all --check
leptosfmt --check --quiet app/src
cargo clippy --all-targets -p protocol -p app -p server -p bench -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# The server's layers point down, with no import cycle (docs/ARCHITECTURE.md), and every
# citation of the contract names a section docs/SPEC.md has.
python3 scripts/check/layers.py
python3 scripts/check/citations.py

echo "== Rust tests (release profile, shared with the release build below)"
cargo test --release -p protocol -p app -p server -p bench

echo "== Release build (server + hydrating wasm, optimised by wasm-opt)"
build_release

echo "== Python client tests (clients/python, against the release server)"
TICKWIRE_BIN="$PWD/target/release/tickwire" clients/python/run-tests.sh

echo "== The API against its OpenAPI document (Schemathesis, both modes, release build)"
scripts/check/api.sh target/release/tickwire

echo "== Browser tests (Playwright, Chromium, release build)"
cd end2end
npx playwright test
