#!/usr/bin/env bash
# Side by side with the peers: tickwire, a Node server on `ws` and a FastAPI server with
# the seeds' ConnectionManager (scripts/bench/peers/, see its README), driven by the same
# load generator — `tickwire-bench bench --target URL --target-pid PID`, a process of its
# own — for two workloads:
#   burst:  PEERS_SUBSCRIBERS subscribers, PEERS_MESSAGES messages in batches of 200
#   paced:  PEERS_SUBSCRIBERS subscribers, PEERS_PACED_MESSAGES messages, PEERS_PACED_RATE
#           a second (100: one every 10 ms)
#   rated:  PEERS_RATED_MESSAGES (3000) `progress` messages (a later one replaces the
#           earlier) at PEERS_PACED_RATE, each subscriber asking for PEERS_MAX_RATE a
#           second (10; `?max_rate=`): tickwire sends each the latest at that rate, the
#           peers send every message. Longer than the paced load: the stream's last
#           value waits up to 1/max_rate for its release, and in a 5 s run those waits
#           are 2 % of the deliveries, the p99 itself
# and, beside them, the loopback floor of the paced load (scripts/bench/loopback_floor.py):
# the kernel's own cost per delivery of writing each frame to each socket at once, and of
# writing tickwire's --write-delay-ms worth of frames in one write.
# Each server is started afresh (on a free loopback port) for each workload and stopped
# after it. Prints one markdown table: server CPU per delivery (from /proc), deliveries/s,
# p50/p99 publish→receive latency, the server's RSS (fresh, with the subscribers, after
# the messages, and settled: once idle for 5 s after the last delivery, the subscribers
# still connected) and the generator's own CPU per delivery. BENCHMARKS.md ("Side by
# side with the peers") records the figures.
#
#   scripts/bench/peers.sh    PEERS_SUBSCRIBERS (default 1000), PEERS_MESSAGES (1000),
#                             PEERS_PACED_MESSAGES (500), PEERS_PACED_RATE (100),
#                             PEERS_SERVERS ("tickwire node
#                             fastapi"), PEERS_PIN (0, the default: server and generator
#                             on every core; 1: the server on core 0 and the generator on
#                             core 1, with taskset — less steady here, see BENCHMARKS.md),
#                             PEERS_WRITE_DELAY_MS (tickwire's --write-delay-ms, 50),
#                             PEERS_MAX_RATE (the rated load's max_rate, 10),
#                             PEERS_RATED_MESSAGES (3000)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
source scripts/lib/redis.sh # free_port

subscribers=${PEERS_SUBSCRIBERS:-1000}
messages=${PEERS_MESSAGES:-1000}
paced_messages=${PEERS_PACED_MESSAGES:-500}
paced_rate=${PEERS_PACED_RATE:-100}
case $paced_rate in
    '' | *[!0-9]* | 0) echo "peers: PEERS_PACED_RATE must be a whole number of messages a second, at least 1 (got '$paced_rate')" >&2; exit 2 ;;
esac
servers=${PEERS_SERVERS:-tickwire node fastapi}
pin=${PEERS_PIN:-0}
write_delay=${PEERS_WRITE_DELAY_MS:-50}
max_rate=${PEERS_MAX_RATE:-10}
rated_messages=${PEERS_RATED_MESSAGES:-3000}
peers=scripts/bench/peers
venv=target/peers-venv

say() { echo "peers: $*" >&2; }

# installed_for FILE STAMP: whether STAMP records FILE's hash (what was installed from it).
installed_for() { [ "$(cat "$2" 2>/dev/null)" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

# The peers' packages, each only when its pinned list changed since the last install.
install_peers() {
    if ! installed_for "$peers/node/package-lock.json" "$peers/node/node_modules/.tickwire-lock-hash"; then
        say "installing the Node peer's packages (npm ci)"
        (cd "$peers/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
        stamp "$peers/node/package-lock.json" "$peers/node/node_modules/.tickwire-lock-hash"
    fi
    if ! installed_for "$peers/fastapi/requirements.txt" "$venv/.tickwire-requirements-hash"; then
        say "installing the FastAPI peer's packages into $venv"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$peers/fastapi/requirements.txt" >&2
        stamp "$peers/fastapi/requirements.txt" "$venv/.tickwire-requirements-hash"
    fi
}

install_peers
say "building tickwire (release) if it is not up to date"
cargo build --release --quiet -p server --bin tickwire -p bench --bin tickwire-bench

# The peers know nothing of these; tickwire runs here as it would without them.
unset TICKWIRE_REDIS_URL TICKWIRE_JWT_SECRET TICKWIRE_API_KEY
ulimit -n "$(ulimit -Hn)"
if [ "$pin" = 1 ]; then
    server_cpus=(taskset -c 0)
    generator_cpus=(taskset -c 1)
else
    server_cpus=()
    generator_cpus=()
fi

dir=$(mktemp -d)
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap 'stop_server; rm -rf "$dir"' EXIT

# start_server NAME PORT: starts that server on 127.0.0.1:PORT (its log in $dir), sets
# server_pid, and returns once it answers its health check (10 s at most).
start_server() {
    local name=$1 port=$2 command
    case $name in
        tickwire)
            # A load test raises docs/SPEC.md section 12's caps rather than measure them, as
            # `tickwire-bench bench` does for the servers it starts.
            command=("$TICKWIRE_RELEASE" serve --addr "127.0.0.1:$port" --feed off --outbox 65536
                --database-url none
                --write-delay-ms "$write_delay"
                --max-connections 1000000 --max-connections-per-ip 1000000
                --client-rate 1000000 --client-burst 1000000) ;;
        node) command=(node "$peers/node/server.js" "$port") ;;
        fastapi) command=("$venv/bin/python" "$peers/fastapi/app.py" "$port") ;;
        *) say "unknown server $name (PEERS_SERVERS takes tickwire, node, fastapi)"; return 1 ;;
    esac
    # taskset execs the server, so $! is the server's own pid.
    RUST_LOG=warn "${server_cpus[@]}" "${command[@]}" >"$dir/$name.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            say "$name exited before it answered; the end of its log:"
            tail -n 5 "$dir/$name.log" >&2
            return 1
        fi
        curl -sf "http://127.0.0.1:$port/api/ws/health" >/dev/null && return 0
        sleep 0.1
    done
    say "$name did not answer its health check within 10 s"
    return 1
}

# measure WORKLOAD NAME BENCH-FLAGS...: one run of the generator against a fresh NAME
# server; appends "WORKLOAD<TAB>NAME<TAB>JSON" (or the error) to $dir/results.
measure() {
    local workload=$1 name=$2 port out
    shift 2
    port=$(free_port)
    start_server "$name" "$port"
    say "$workload, $name ($subscribers subscribers)"
    if out=$("${generator_cpus[@]}" "$TICKWIRE_BENCH" bench --target "http://127.0.0.1:$port" \
        --target-pid "$server_pid" --subscribers "$subscribers" --json "$@" 2>"$dir/bench.err"); then
        printf '%s\t%s\t%s\n' "$workload" "$name" "$out" >>"$dir/results"
    else
        printf '%s\t%s\t{"error": %s}\n' "$workload" "$name" \
            "$(tail -n 1 "$dir/bench.err" | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().strip()))')" >>"$dir/results"
    fi
    stop_server
}

burst="burst: $messages msgs, batches of 200"
paced_interval_ms=$(python3 -c "print(f'{1000 / $paced_rate:g}')")
paced="paced: $paced_messages msgs, 1 every $paced_interval_ms ms"
rated="rated: $rated_messages msgs, 1 every $paced_interval_ms ms, max_rate $max_rate"
for name in $servers; do
    measure "$burst" "$name" --messages "$messages" --batch 200
    measure "$paced" "$name" --messages "$paced_messages" --rate "$paced_rate" --batch 1
    measure "$rated" "$name" --messages "$rated_messages" --rate "$paced_rate" --batch 1 \
        --max-rate "$max_rate"
done

# The paced load's floor: one write per frame, and one per write delay's worth of frames.
say "the loopback floor of the paced load"
gathered=$(( write_delay * paced_rate / 1000 ))
[ "$gathered" -ge 1 ] || gathered=1
floor() {
    python3 scripts/bench/loopback_floor.py --sockets "$subscribers" --interval-ms "$paced_interval_ms" \
        --messages "$paced_messages" --frames-per-write "$1" | sed -n 's/^sender system time: .*, \([0-9.]*\) µs per delivered frame.*/\1/p'
}
# A floor that cannot run (say, too many sockets for the open-file limit: its error is
# above) is n/a, and does not cost the table.
floor_each=$(floor 1) || floor_each="n/a"
floor_line="$floor_each µs per delivery writing each frame at once"
if [ "$gathered" -gt 1 ]; then
    floor_gathered=$(floor "$gathered") || floor_gathered="n/a"
    floor_line+="; $floor_gathered µs writing $gathered frames at a time (--write-delay-ms $write_delay)"
else
    floor_line+=" (--write-delay-ms $write_delay gathers nothing at this pace)"
fi

pinning="server on core 0, generator on core 1 (taskset)"
[ "$pin" = 1 ] || pinning="server and generator unpinned, sharing all $(nproc) cores"
echo "$(date -u +%F) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores · $pinning"
echo "$subscribers subscribers on one topic · tickwire $(git rev-parse --short HEAD) (--write-delay-ms $write_delay) · node $(node --version), ws $(node -p "require('./$peers/node/node_modules/ws/package.json').version") · python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), fastapi $("$venv/bin/python" -c 'import fastapi; print(fastapi.__version__)'), uvicorn $("$venv/bin/python" -c 'import uvicorn; print(uvicorn.__version__)')"
echo
python3 - "$dir/results" <<'EOF'
import json, sys

print("| workload | server | server CPU / delivery (system) | server CPU / viewer-second | deliveries/s | window | p50 | p99 | RSS fresh → connected → after → settled | generator CPU / delivery |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    workload, name, text = line.rstrip("\n").split("\t", 2)
    r = json.loads(text)
    if "error" in r:
        print(f"| {workload} | {name} | failed: {r['error']} | | | | | | | |")
        continue
    mib = lambda kib: kib / 1024
    window = f"{r['window_s']:.2f} s"
    # Paced: the window should be the offered messages/rate; much longer, and the
    # figures are no steady state at that pace. If publishing took as long, the server
    # answered late; if not, the deliveries lagged (the server's writes or the
    # generator's reads).
    if r["rate"] and r["window_s"] > 1.1 * r["messages"] / r["rate"]:
        window += f" (behind the pace; published in {r['publishing_s']:.2f} s)"
    print(
        f"| {workload} | {name} | {r['server_cpu_us_per_delivery']:.2f} µs ({r['server_system_us_per_delivery']:.2f}) | {r['server_cpu_us_per_viewer_s']:.1f} µs | {r['deliveries_per_s']:,.0f} "
        f"| {window} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {mib(r['rss_fresh_kib']):.1f} → {mib(r['rss_connected_kib']):.1f} → {mib(r['rss_after_kib']):.1f} → {mib(r['rss_settled_kib']):.1f} MiB "
        f"| {r['bench_cpu_us_per_delivery']:.2f} µs |"
    )
EOF
echo
echo "Server CPU: /proc/PID/stat utime + stime ($(getconf CLK_TCK) ticks/s) over the window, from just before the first publish to the last delivery; in parentheses stime alone."
echo "Loopback floor of the paced load (scripts/bench/loopback_floor.py, the kernel's system time alone): $floor_line."
