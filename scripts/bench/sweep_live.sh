#!/usr/bin/env bash
# Live delivery while a sweep takes every core (issue 34, item 3): the paced load of
# peers.sh (SWEEP_LIVE_SUBSCRIBERS subscribers of one topic, a message every 10 ms, p99
# publish → receive) against one release server, first idle, then while a sweep of
# SWEEP_LIVE_COMBOS combinations runs on it, on every core. Prints both p99s and their
# ratio (the target: at most 2x).
#
#   scripts/bench/sweep_live.sh    SWEEP_LIVE_SUBSCRIBERS (200), SWEEP_LIVE_MESSAGES (1000),
#                                  SWEEP_LIVE_WRITE_DELAY_MS (the server's --write-delay-ms, 50),
#                                  SWEEP_LIVE_COMBOS (a grid on data/EURUSD.csv: 1,000,000, about 40 s of
#                                  work on 2 cores: it outlasts the load)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
source scripts/lib/redis.sh # free_port
subscribers=${SWEEP_LIVE_SUBSCRIBERS:-200}
messages=${SWEEP_LIVE_MESSAGES:-1000}
write_delay=${SWEEP_LIVE_WRITE_DELAY_MS:-50}
cargo build --release --quiet -p server --bin tickwire -p bench --bin tickwire-bench
port=$(free_port)
url="http://127.0.0.1:$port"
RUST_LOG=warn "$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" --feed off --database-url none \
    --data-dir data --max-sweep-combos 1000000 --outbox 65536 --write-delay-ms "$write_delay" \
    --max-connections 1000000 --max-connections-per-ip 1000000 \
    --client-rate 1000000 --client-burst 1000000 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do
    curl -sf "$url/api/ws/health" >/dev/null && break
    sleep 0.1
done

paced() {
    "$TICKWIRE_BENCH" bench --target "$url" --target-pid "$server" --subscribers "$subscribers" \
        --messages "$messages" --rate 100 --batch 1 --settle-secs 0 --json
}
p99() { python3 -c 'import json, sys; d = json.load(sys.stdin); print("%.2f %.2f" % (d["p99_ms"], d["p50_ms"]))'; }

read -r idle_p99 idle_p50 < <(paced | p99)
echo "idle:          p50 $idle_p50 ms, p99 $idle_p99 ms"

# 250 x (combos / 250) combinations of sma_cross on EURUSD's 5,000 bars.
combos=${SWEEP_LIVE_COMBOS:-1000000}
slow_to=$(( 10 + combos / 250 - 1 ))
sweep=$(curl -sf -X POST "$url/api/sweeps" -H 'Content-Type: application/json' \
    -d "{\"dataset\":\"EURUSD\",\"strategy\":\"sma_cross\",\"grid\":{\"fast\":{\"from\":2,\"to\":251,\"step\":1},\"slow\":{\"from\":10,\"to\":$slow_to,\"step\":1}}}")
id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["sweep_id"])' "$sweep")
# Under way before the load starts.
for _ in $(seq 100); do
    done_=$(curl -sf "$url/api/sweeps/$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"]["data"]["done"])')
    [ "$done_" -gt 0 ] && break
    sleep 0.1
done
read -r busy_p99 busy_p50 < <(paced | p99)
state=$(curl -sf "$url/api/sweeps/$id" | python3 -c 'import json, sys; d = json.load(sys.stdin)["state"]["data"]; print(d["status"], d["done"], (d.get("progress") or {}).get("combos_per_sec", 0))')
echo "during sweep:  p50 $busy_p50 ms, p99 $busy_p99 ms  (sweep $id: $state combinations/s when the load ended)"
python3 -c "print(f'p99 ratio: {$busy_p99 / $idle_p99:.2f}x (target: at most 2x)')"
curl -sf -X POST "$url/api/sweeps/$id/cancel" >/dev/null || true
