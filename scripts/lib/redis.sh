# Sourced by scripts/cluster.sh and scripts/bench/redis.sh: a redis-server of their
# own, started in the background, and a free port to put one on.

# free_port: a loopback TCP port nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis PORT LOGFILE [REDIS-SERVER FLAGS...]: starts redis-server on
# 127.0.0.1:PORT, sets REDIS_PID, and returns once that process answers PING; fails,
# with the end of LOGFILE, if it exits first (the port taken by another Redis, say).
start_redis() {
    local port=$1 log=$2
    shift 2
    redis-server --port "$port" --bind 127.0.0.1 --logfile "$log" "$@" &
    REDIS_PID=$!
    for _ in $(seq 100); do
        if ! kill -0 "$REDIS_PID" 2>/dev/null; then
            echo "redis-server did not start on port $port; the end of $log:" >&2
            tail -n 5 "$log" >&2
            return 1
        fi
        if redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$REDIS_PID"; then
            return 0
        fi
        sleep 0.1
    done
    echo "redis-server on port $port did not answer within 10 s (see $log)" >&2
    return 1
}

# stop_redis: stops the redis-server start_redis started (if any) and waits for it.
stop_redis() {
    if [ -n "${REDIS_PID:-}" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=
    fi
}
