#!/usr/bin/env bash
# The same sma_cross grid through Python's `backtesting` (`Backtest.optimize`) and
# through tickwire's sweeps (`POST /api/sweeps`), side by side: both times and whether
# the best parameters agree. Sets up its own virtualenv under target/ (the one
# engines.sh uses) and a release server of its own on a free port.
#
#   scripts/bench/sweeps.sh [DATA.csv] [FAST FROM:TO:STEP] [SLOW FROM:TO:STEP]
#                           (default: data/GOOG.csv 5:50:1 20:200:5)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-data/GOOG.csv}
fast=${2:-5:50:1}
slow=${3:-20:200:5}
venv=target/bench-venv
BACKTESTING_VERSION=0.6.6

if ! "$venv/bin/python" -c "import backtesting; assert backtesting.__version__ == '$BACKTESTING_VERSION'" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "backtesting==$BACKTESTING_VERSION"
fi
source scripts/env.sh
source scripts/lib/redis.sh # free_port
cargo build --release --quiet -p server --bin tickwire
port=$(free_port)
RUST_LOG=warn "$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" --feed off --database-url none \
    --data-dir "$(dirname "$data")" --max-sweep-combos 1000000 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/api/ws/health" >/dev/null && break
    sleep 0.1
done
"$venv/bin/python" scripts/bench/sweep_vs_backtesting_py.py --server "http://127.0.0.1:$port" \
    --data "$data" --fast "$fast" --slow "$slow"
