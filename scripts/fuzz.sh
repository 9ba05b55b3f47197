#!/usr/bin/env bash
# Fuzzes the wire protocol's parsers and snapshot folds with cargo fuzz (libFuzzer and
# AddressSanitizer) for SECONDS per target, printing each target's figures. A crash
# stops the script and leaves its input in fuzz/artifacts/. docs/PROTOCOL.md has the
# last run's result. Not part of the README's test command.
#
#   scripts/fuzz.sh [SECONDS]    (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz needs nightly compiler flags: a nightly toolchain when one is installed,
# otherwise the stable one with RUSTC_BOOTSTRAP=1 (no nightly can be downloaded here).
toolchain=()
if rustup toolchain list | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
# Each target starts from one valid input of every message type (protocol::fixtures).
cargo run --quiet -p protocol --example fuzz_seeds -- fuzz/corpus
cd fuzz
for target in $(cargo "${toolchain[@]}" fuzz list); do
    echo "== $target: $seconds s"
    log=$(mktemp)
    status=0
    cargo "${toolchain[@]}" fuzz run "$target" -- -max_total_time="$seconds" -max_len=65536 \
        >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|ERROR|SUMMARY|panicked' "$log" || true
    if [ "$status" != 0 ]; then
        tail -40 "$log"
        echo "fuzz: $target failed (input in fuzz/artifacts/$target/)" >&2
        exit "$status"
    fi
    rm -f "$log"
done
