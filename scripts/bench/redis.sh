#!/usr/bin/env bash
# Scale-out on Redis, measured: `tickwire-bench bench` with the hub embedded, on Redis with
# one instance, and on Redis with two instances sharing the subscribers, each as one
# burst and paced at 1,000 msg/s, and paced with 10 subscribers (the latency Redis adds
# without the fan-out's queues). Prints a markdown table, then what Redis spent per
# published message: its commands (INFO commandstats) and its CPU (INFO cpu), in those
# runs and once more with the fan-out out of the way (one subscriber per instance).
# Starts its own redis-server on a free port, without persistence, gone on exit.
# BENCHMARKS.md ("Scale-out on Redis") records the figures.
#
#   scripts/bench/redis.sh        SUBSCRIBERS (default 1000), MESSAGES (default 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || scripts/setup.sh --redis
source scripts/env.sh
source scripts/lib/redis.sh
cargo build --release --quiet -p server --bin tickwire -p bench --bin tickwire-bench

subscribers=${SUBSCRIBERS:-1000}
messages=${MESSAGES:-1000}
dir=$(mktemp -d)
trap 'stop_redis; rm -rf "$dir"' EXIT
port=$(free_port)
start_redis "$port" "$dir/redis.log" --dir "$dir" --save '' --appendonly no
url="redis://127.0.0.1:$port"

# Redis's command counters and CPU time, for redis_cost.
redis_counters() {
    { redis-cli -p "$port" info commandstats; redis-cli -p "$port" info cpu; } | tr -d '\r'
}

# redis_cost BEFORE AFTER MESSAGES: Redis's work between two redis_counters per
# published message, as four tab-separated fields: CPU µs, commands, the commands by
# name, and the µs the scripts (EVALSHA) took per message.
redis_cost() {
    awk -F'[:,=]' -v messages="$3" '
        /^cmdstat_/ {
            name = substr($1, 9)
            if (FNR == NR) { calls[name] -= $3; usec[name] -= $5 } else { calls[name] += $3; usec[name] += $5 }
        }
        /^used_cpu_(user|sys):/ { cpu += (FNR == NR ? -$2 : $2) }
        END {
            delete calls["info"]
            n = split("evalsha hmget hincrby xadd pexpire publish", order, " ")
            for (i = 1; i <= n; i++) listed[order[i]] = 1
            for (name in calls) if (!(name in listed)) order[++n] = name
            for (i = 1; i <= n; i++) {
                per = calls[order[i]] / messages
                total += per
                if (per >= 0.005) names = names sprintf("%s%s %.2f", names == "" ? "" : ", ", order[i], per)
            }
            evalsha = usec["evalsha"] / messages
            printf "%.1f µs\t%.2f\t%s\t%.1f µs\n", cpu * 1e6 / messages, total, names, evalsha
        }' "$1" "$2"
}

# grouped NUMBER: rounded, with thousands separated by commas.
grouped() {
    awk -v n="$1" 'BEGIN {
        s = sprintf("%.0f", n)
        while (length(s) > 3) { t = "," substr(s, length(s) - 2) t; s = substr(s, 1, length(s) - 3) }
        print s t
    }'
}

# bench OUT BENCH-FLAGS...: one `tickwire-bench bench` run into OUT, Redis's counters
# around it in $dir/before and $dir/after.
bench() {
    local out=$1
    shift
    redis_counters >"$dir/before"
    "$TICKWIRE_BENCH" bench "$@" >"$out"
    redis_counters >"$dir/after"
}

rows=()
details=()
alone=()

# measure SETUP SUBSCRIBERS PACE BENCH-FLAGS...: a run of the comparison, kept as a
# table row (and, on Redis, its cost and the per-instance lines as details).
measure() {
    local setup=$1 n=$2 pace=$3 out=$dir/bench.out
    shift 3
    bench "$out" --subscribers "$n" --messages "$messages" "$@"
    local delivered p50 p99 cpu commands names evalsha published
    delivered=$(grouped "$(awk '/^delivered:/ { print $2 }' "$out")")
    read -r p50 p99 < <(awk '/^publish→receive latency:/ { print $4, $7 }' "$out")
    if [[ " $* " == *" --redis-url "* ]]; then
        IFS=$'\t' read -r cpu commands names evalsha < <(redis_cost "$dir/before" "$dir/after" "$messages")
        published=$(sed -n 's/.*published through instance 0 in \(.*\)$/\1/p' "$out")
        details+=("- $setup, $n subscribers, $pace: published in $published; $names (the scripts: $evalsha per message)"
            "$(sed -n 's/^instance /  - instance /p' "$out")")
    else
        cpu=—
        commands=—
    fi
    rows+=("| $setup | $(grouped "$n") | $pace | $delivered | $p50 ms | $p99 ms | $cpu | $commands |")
}

# measure_alone INSTANCES: Redis's cost with the fan-out out of the way, one
# subscriber per instance and ten times the messages in one burst, as a row.
measure_alone() {
    local n=$1 k=$((messages * 10)) out=$dir/alone.out
    bench "$out" --subscribers "$n" --messages "$k" --batch 100 --redis-url "$url" --instances "$n"
    local cpu commands names evalsha seconds
    IFS=$'\t' read -r cpu commands names evalsha < <(redis_cost "$dir/before" "$dir/after" "$k")
    seconds=$(sed -n 's/.*published through instance 0 in \(.*\) s$/\1/p' "$out")
    local setup="Redis, $n instance"
    [ "$n" = 1 ] || setup+=s
    alone+=("| $setup | $(grouped "$(awk -v k="$k" -v s="$seconds" 'BEGIN { print k / s }')") | $cpu | $evalsha | $commands |")
}

# compare SUBSCRIBERS PACE BENCH-FLAGS...: the three setups, one after the other.
compare() {
    measure "embedded, 1 instance" "$@"
    measure "Redis, 1 instance" "$@" --redis-url "$url"
    measure "Redis, 2 instances" "$@" --redis-url "$url" --instances 2
}

paced="1,000 msg/s, batches of 10"
compare "$subscribers" "one burst, batches of 100" --batch 100
compare "$subscribers" "$paced" --rate 1000 --batch 10
# Light load: the latency Redis adds to a message, without the fan-out's queues.
compare 10 "$paced" --rate 1000 --batch 10
measure_alone 1
measure_alone 2

echo "$(grouped "$messages") messages in each run; every subscriber saw every seq in order."
echo
echo "| setup | subscribers | publishing | deliveries/s | p50 | p99 | Redis CPU per message | Redis commands per message |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "On Redis: how long publishing took, Redis commands per published message by name, then each instance's share:"
printf '%s\n' "${details[@]}" | sed '/^$/d'
echo
echo "Redis's own cost, one subscriber per instance, $(grouped $((messages * 10))) messages in one burst through instance 0:"
echo
echo "| setup | published msg/s | Redis CPU per message | of which the script | Redis commands per message |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${alone[@]}"
