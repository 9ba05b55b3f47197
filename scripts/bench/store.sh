#!/usr/bin/env bash
# The store with a large history (docs/STORE.md): a page of a 100,000-run history and
# opening one run, on SQLite and on PostgreSQL (Debian's, started here on a free port
# in a folder of its own, gone on exit); then what keeping runs costs the engine's
# streaming (bench-engine without and with --keep). Figures go to BENCHMARKS.md.
#
#   scripts/bench/store.sh [RUNS]     (default 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-100000}
source scripts/env.sh
source scripts/lib/redis.sh # free_port
source scripts/lib/postgres.sh
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || scripts/setup.sh --redis
cargo build --release --quiet -p bench

dir=$(mktemp -d)
chmod 755 "$dir" # the postgres user works in it when this runs as root
trap 'stop_postgres; rm -rf "$dir"' EXIT

echo "== SQLite"
"$TICKWIRE_BENCH" bench-store --database-url "sqlite://$dir/sqlite/tickwire.db" --runs "$runs"

echo "== PostgreSQL"
port=$(free_port)
start_postgres "$port" "$dir/postgres"
"$TICKWIRE_BENCH" bench-store --database-url "postgres://postgres@127.0.0.1:$port/postgres" --runs "$runs"

echo "== The engine's streaming, runs recorded, without and with the store (SQLite)"
"$TICKWIRE_BENCH" bench-engine --data data/EURUSD.csv --synthetic-bars 1000000
"$TICKWIRE_BENCH" bench-engine --data data/EURUSD.csv --synthetic-bars 1000000 \
    --keep "sqlite://$dir/engine/tickwire.db"
