#!/usr/bin/env bash
# Builds tickwire for release (installing what is missing) and serves it on
# http://127.0.0.1:3000. Extra arguments go to `tickwire serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo leptos build --release
exec target/release/tickwire serve "$@"
