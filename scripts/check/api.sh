#!/usr/bin/env bash
# The published API is what the server does: Schemathesis, a property-based tester
# driven only by the OpenAPI document, sends generated requests (valid and invalid) to a
# release server in anonymous mode and in token mode, and checks every answer against
# the document — status codes, content types, headers, bodies, 5xx, methods, auth,
# use after delete (scripts/check/schemathesis.toml says what it expects).
#
#   scripts/check/api.sh [path/to/tickwire]     (default target/release/tickwire)
#
# Schemathesis is pinned and kept in a venv under target/ (installed once from PyPI).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/release/tickwire}"
version=4.32.5
venv=target/schemathesis-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
secret="$(head -c 32 /dev/urandom | base64)"
log="$(mktemp)"
store="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$log"; rm -rf "$store"; }
trap cleanup EXIT

# Starts the server with "$@" and sets $addr once it listens.
start() {
    : > "$log"
    # A store of its own for each start, so PATCH, DELETE and the CSV exports run on one.
    rm -rf "$store" && mkdir -p "$store"
    NO_COLOR=1 "$bin" serve --addr 127.0.0.1:0 --data-dir data \
        --database-url "sqlite://$store/tickwire.db" "$@" > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        addr="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's|.*http://||' || true)"
        [ -n "$addr" ] && return 0
        sleep 0.1
    done
    cat "$log" >&2
    echo "the server did not start" >&2
    exit 1
}

# One worker: with deterministic generation, the same requests in the same order every
# run (two workers interleave the stateful phase differently each time).
run() { # MODE [HEADER]
    local mode="$1"
    shift
    echo "-- $mode mode"
    "$venv/bin/schemathesis" --config-file scripts/check/schemathesis.toml --no-color run \
        "http://$addr/api/openapi.json" \
        --checks all --exclude-path-regex '^/api/ws' \
        --max-examples 150 --workers 1 \
        --suppress-health-check all "$@"
}

start --feed synthetic
run anonymous
kill "$pid"; wait "$pid" 2>/dev/null || true

TICKWIRE_JWT_SECRET="$secret" start --feed synthetic
token="$(TICKWIRE_JWT_SECRET="$secret" "$bin" token --sub api-tester --admin --topics '*' --publish '*' --ttl 1h)"
run token -H "Authorization: Bearer $token"
