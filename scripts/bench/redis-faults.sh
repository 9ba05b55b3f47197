#!/usr/bin/env bash
# How fast tickwire answers while Redis is away (docs/SPEC.md section 8: 503 within 2 s), and
# how fast it recovers. One instance on a redis-server of its own; a publish and a run
# start are timed with Redis up, hung (SIGSTOP: its connections stay open and nothing
# answers, the worst case), then killed (SIGKILL: the port refuses), then restarted.
# Prints a markdown table; BENCHMARKS.md ("Scale-out on Redis") records it.
#
#   scripts/bench/redis-faults.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || scripts/setup.sh --redis
source scripts/env.sh
source scripts/lib/redis.sh
cargo build --release --quiet -p server --bin tickwire

dir=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "${REDIS_PID:-}" ] && kill -CONT "$REDIS_PID" 2>/dev/null
    stop_redis
    rm -rf "$dir"
}
trap cleanup EXIT
redis_port=$(free_port)
start_redis "$redis_port" "$dir/redis.log" --dir "$dir" --save '' --appendonly no
port=$(free_port)
base="http://127.0.0.1:$port"
"$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" --redis-url "redis://127.0.0.1:$redis_port" \
    --feed off --data-dir data --database-url none > "$dir/tickwire.log" 2>&1 &
server_pid=$!

# healthy BOOL: waits (10 s at most) until the health report's backend_healthy is BOOL.
healthy() {
    for _ in $(seq 200); do
        if curl -s "$base/api/ws/health" | grep -q "\"backend_healthy\":$1"; then
            return 0
        fi
        sleep 0.05
    done
    echo "backend_healthy never became $1" >&2
    return 1
}

# post PATH BODY: "STATUS SECONDS" of one POST.
post() {
    curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'content-type: application/json' \
        -d "$2" "$base$1"
}
publish() {
    post /api/publish '{"topic":"backtest:faults","type":"log","data":{"level":"info","message":"m","target":"faults"}}'
}
start_run() {
    post /api/backtests "{\"id\":\"faults-$1\",\"dataset\":\"GOOG\",\"strategy\":\"buy_and_hold\"}"
}
# answer "STATUS SECONDS": "MS ms (STATUS)".
answer() {
    awk -v status="${1% *}" -v secs="${1#* }" 'BEGIN { printf "%.1f ms (%s)", secs * 1000, status }'
}
row() {
    printf '| %s | %s | %s | %s |\n' "$1" "$(answer "$(publish)")" "$(answer "$(publish)")" \
        "$(answer "$(start_run "$2")")"
}

healthy true
echo "| Redis | first publish | next publish | run start |"
echo "| --- | --- | --- | --- |"
row "up" up
kill -STOP "$REDIS_PID"
row "hung (SIGSTOP)" hung
kill -CONT "$REDIS_PID"
healthy true
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
REDIS_PID=
row "killed" killed
healthy false
started=$(date +%s%N)
start_redis "$redis_port" "$dir/redis.log" --dir "$dir" --save '' --appendonly no
until [ "$(publish | cut -d' ' -f1)" = 200 ]; do sleep 0.02; done
back_ms=$((($(date +%s%N) - started) / 1000000))
echo
echo "Redis restarted: publishing answered 200 again after $back_ms ms (the reconnect backoff caps at 2 s)."
