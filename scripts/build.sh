#!/usr/bin/env bash
# Builds tickwire for release, the server and the dashboard it serves, after
# installing what is missing (scripts/setup.sh, which gets this script's arguments:
# --redis, --e2e). run.sh and cluster.sh start what it built.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
source scripts/env.sh
build_release
