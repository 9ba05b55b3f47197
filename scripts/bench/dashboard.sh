#!/usr/bin/env bash
# The dashboard's budgets: release wasm size, navigation → first live data, and chart
# frame times with 1,000 candles at 50 messages/s, in Debian's Chromium against the
# release server. Prints figures; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh --e2e

wasm=target/site/pkg/tickwire.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "release wasm: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzipped (gzip -9)"

cd end2end
npx playwright test --config playwright.bench.config.ts --reporter=list
