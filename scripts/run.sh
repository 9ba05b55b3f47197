#!/usr/bin/env bash
# Builds tickwire for release (installing what is missing) and serves it on
# http://127.0.0.1:3000, with the sample datasets of data/ for backtests (unless
# TICKWIRE_DATA_DIR or --data-dir says otherwise). Extra arguments go to
# `tickwire serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
source scripts/env.sh
export TICKWIRE_DATA_DIR="${TICKWIRE_DATA_DIR:-$PWD/data}"
exec "$TICKWIRE_RELEASE" serve "$@"
