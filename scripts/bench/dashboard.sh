#!/usr/bin/env bash
# The dashboard's budgets: release wasm sizes (main and lazy chunks), navigation →
# first live data, and chart frame times with 1,000 candles at 50 messages/s, in
# Debian's Chromium against the release server. Prints figures; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh --e2e

# Each wasm file of the release site: the main one (what every page loads first) and the
# lazy routes' chunks (loaded on the backtests and sessions pages), with gzip -9 and
# the brotli copy the server sends (cargo leptos --precompress).
kib() { echo "$(( ($1 + 512) / 1024 ))"; }
for wasm in target/site/pkg/tickwire.*.wasm target/site/pkg/chunk_*.wasm target/site/pkg/split_*.wasm; do
    raw=$(stat -c %s "$wasm")
    gz=$(gzip -9 -c "$wasm" | wc -c)
    br=$(stat -c %s "$wasm.br")
    name=$(basename "$wasm" | sed -E 's/\.[A-Za-z0-9_-]{22}\.wasm$/.wasm/')
    echo "$name: $(kib "$raw") KiB raw, $(kib "$gz") KiB gzip -9, $(kib "$br") KiB brotli"
done

cd end2end
npx playwright test --config playwright.bench.config.ts --reporter=list
