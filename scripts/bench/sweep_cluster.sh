#!/usr/bin/env bash
# One sweep on one instance in memory, on one instance over Redis, and spread over two
# instances over Redis (docs/SPEC.md section 8, "Shared work"): each one's time from
# the POST to `complete`, and whether every result equals the in-memory instance's.
# Release servers of its own, and a redis-server of its own, on free ports.
#
#   scripts/bench/sweep_cluster.sh [DATASET] [FAST FROM:TO:STEP] [SLOW FROM:TO:STEP]
#                                  (default: EURUSD 2:100:1 10:400:2, 19,404 combinations)
#   SWEEP_CLUSTER_THREADS: sweep threads per instance (default: one per core; the two
#   spread instances get half each, so every layout has the same cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
dataset=${1:-EURUSD}
fast=${2:-2:100:1}
slow=${3:-10:400:2}
cores=$(nproc)
threads=${SWEEP_CLUSTER_THREADS:-$cores}
half=$(( threads > 1 ? threads / 2 : 1 ))
source scripts/env.sh
source scripts/lib/redis.sh
cargo build --release --quiet -p server --bin tickwire
work=$(mktemp -d)
pids=()
stop() {
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    stop_redis
    rm -rf "$work"
}
trap stop EXIT

# serve PORT THREADS [FLAGS...]: a release instance on PORT, once it answers.
serve() {
    local port=$1 threads=$2
    shift 2
    RUST_LOG=warn "$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" --feed off \
        --database-url none --data-dir data --max-sweep-combos 1000000 \
        --sweep-threads "$threads" "$@" >/dev/null 2>&1 &
    pids+=("$!")
    until [[ $(curl -fs "http://127.0.0.1:$port/api/ws/health") == *'"status":"ok"'* ]]; do
        sleep 0.1
    done
}

redis_port=$(free_port)
start_redis "$redis_port" "$work/redis.log" --save '' --appendonly no
redis="redis://127.0.0.1:$redis_port"
alone=$(free_port); serve "$alone" "$threads"
one=$(free_port); serve "$one" "$threads" --redis-url "$redis"
first=$(free_port); serve "$first" "$half" --redis-url "$redis"
second=$(free_port); serve "$second" "$half" --redis-url "$redis"

python3 - "$dataset" "$fast" "$slow" "$alone" "$one" "$first" "$threads" "$half" <<'PY'
import json, sys, time, urllib.request

dataset, fast, slow, alone, one, first, threads, half = sys.argv[1:]

def call(port, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)

def axis(text):
    start, stop, step = (float(x) for x in text.split(":"))
    return {"from": start, "to": stop, "step": step}

def sweep(port, name):
    body = {"id": name, "dataset": dataset, "strategy": "sma_cross", "objective": "sharpe",
            "grid": {"fast": axis(fast), "slow": axis(slow)}}
    began = time.perf_counter()
    combos = call(port, "/api/sweeps", body)["combos"]
    while call(port, f"/api/sweeps/{name}")["state"]["data"]["status"] != "complete":
        time.sleep(0.02)
    took = time.perf_counter() - began
    results, offset = [], 0
    while True:
        page = call(port, f"/api/sweeps/{name}/results?offset={offset}&limit=100000")["results"]
        if not page:
            break
        results += page
        offset = page[-1]["index"] + 1
    return combos, took, results

combos, base, reference = sweep(alone, "alone")
print(f"{dataset}, fast {fast} x slow {slow}: {combos} combinations")
print(f"one instance, in memory, {threads} threads:   {base:6.2f} s  {combos / base:9.0f} combos/s")
for label, port, name in [(f"one instance on Redis, {threads} threads:  ", one, "one"),
                          (f"two instances on Redis, {half} thread(s) each:", first, "two")]:
    _, took, results = sweep(port, name)
    same = "yes" if results == reference else "NO"
    print(f"{label} {took:6.2f} s  {combos / took:9.0f} combos/s  ({took / base:.2f}x)  results equal: {same}")
PY
