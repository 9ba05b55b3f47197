#!/usr/bin/env bash
# First contact, timed: `scripts/run.sh` (setup, release build, serve) until the
# dashboard answers on http://127.0.0.1:$PORT, then `scripts/setup.sh --e2e` (what the
# test command adds). Run it on a fresh machine or clone to measure the README's
# "fresh machine" figures; on a warm one it measures the warm path.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PORT:-3000}
log=$(mktemp)
start=$(date +%s)
scripts/run.sh --addr "127.0.0.1:$port" >"$log" 2>&1 &
runner=$!
trap 'kill $runner 2>/dev/null || true; pkill -f "tickwire serve --addr 127.0.0.1:$port" || true' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
    if ! kill -0 $runner 2>/dev/null; then
        echo "scripts/run.sh exited before the dashboard answered; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 2
done
ready=$(date +%s)
echo "scripts/run.sh → dashboard answering: $(( (ready - start) / 60 )) min $(( (ready - start) % 60 )) s"
scripts/setup.sh --e2e
done_e2e=$(date +%s)
echo "scripts/setup.sh --e2e afterwards: $(( done_e2e - ready )) s"
