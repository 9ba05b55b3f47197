#!/usr/bin/env bash
# Builds tickwire for release (installing what is missing) and serves it on
# http://127.0.0.1:3000. Extra arguments go to `tickwire serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
source scripts/env.sh
exec "$TICKWIRE_RELEASE" serve "$@"
