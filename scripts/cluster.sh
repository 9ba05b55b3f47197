#!/usr/bin/env bash
# A local cluster, no Docker: one redis-server and three `tickwire serve` instances
# sharing every topic through it, and one history through one PostgreSQL
# (docs/STORE.md), on http://127.0.0.1:3000, :3001 and :3002. Redis keeps an
# append-only file fsynced on every write in target/cluster/redis, and PostgreSQL its
# cluster in target/cluster/postgres, so a restarted cluster carries on with its
# topics and its runs. Builds and installs what is missing first, as run.sh does (plus
# Debian's redis-server and postgresql). Extra arguments go to every instance; Ctrl-C
# stops them all, Redis and PostgreSQL.
#
#   scripts/cluster.sh [SERVE FLAGS...]     REDIS_PORT (default 6379), PG_PORT (5433),
#                                           BASE_PORT (3000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --redis
source scripts/env.sh
source scripts/lib/redis.sh
source scripts/lib/postgres.sh

redis_port=${REDIS_PORT:-6379}
pg_port=${PG_PORT:-5433}
base_port=${BASE_PORT:-3000}
ports=("$base_port" "$((base_port + 1))" "$((base_port + 2))")
data=target/cluster
mkdir -p "$data/redis"

pids=()
stop() {
    trap - EXIT INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    stop_redis
    stop_postgres
}
trap stop EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port" "$PWD/$data/redis.log" --dir "$PWD/$data/redis" \
    --appendonly yes --appendfsync always --save ''

start_postgres "$pg_port" "$PWD/$data/postgres"

# Each instance's log lines start with its port.
for port in "${ports[@]}"; do
    "$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" \
        --redis-url "redis://127.0.0.1:$redis_port" \
        --database-url "postgres://postgres@127.0.0.1:$pg_port/postgres" "$@" \
        > >(sed -u "s/^/:$port /") 2>&1 &
    pids+=("$!")
done

# healthy PORT: whether that instance says its Redis backend is up.
healthy() {
    [[ $(curl -fs "http://127.0.0.1:$1/api/ws/health") == *'"backend_healthy":true'* ]]
}
for port in "${ports[@]}"; do
    until healthy "$port"; do
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null || { echo "cluster: an instance exited while starting" >&2; exit 1; }
        done
        sleep 0.2
    done
done
echo "cluster: three instances on redis://127.0.0.1:$redis_port ($data/redis, append-only) and postgres://127.0.0.1:$pg_port ($data/postgres):"
printf '  http://127.0.0.1:%s\n' "${ports[@]}"
echo "cluster: Ctrl-C stops them all."

# Until an instance stops (Ctrl-C stops them all): then the rest go too.
wait -n "${pids[@]}" || true
echo "cluster: an instance stopped; stopping the others" >&2
exit 1
