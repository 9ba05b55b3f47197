#!/usr/bin/env bash
# tickwire's backtest engine and Python's `backtesting` package, side by side, on the
# same file and the same sma_cross rules. Sets up its own virtualenv under target/.
#
#   scripts/bench/engines.sh [DATA.csv]     (default: data/EURUSD.csv)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-data/EURUSD.csv}
venv=target/bench-venv
BACKTESTING_VERSION=0.6.6

if ! "$venv/bin/python" -c "import backtesting; assert backtesting.__version__ == '$BACKTESTING_VERSION'" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "backtesting==$BACKTESTING_VERSION"
fi
source scripts/env.sh
cargo build --release --quiet -p bench
"$TICKWIRE_BENCH" bench-engine --data "$data"
"$venv/bin/python" scripts/bench/backtesting_py.py "$data"
