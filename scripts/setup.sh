#!/usr/bin/env bash
# Installs what tickwire needs to build (and, with --e2e, to run the browser tests),
# skipping everything that is already there at the right version. Safe to run often;
# prints nothing when there is nothing to do.
#
#   scripts/setup.sh         toolchain for building and running tickwire
#   scripts/setup.sh --e2e   also what the test command needs: Chromium, Redis,
#                            PostgreSQL, the end2end npm packages and leptosfmt
#   scripts/setup.sh --redis also Debian's redis-server and postgresql
#                            (scripts/cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
LEPTOSFMT_VERSION=0.1.33

say() { echo "setup: $*" >&2; }

# Whether `cargo install` already installed crate $1 at version $2.
cargo_has() { cargo install --list | grep -q "^$1 v$2:"; }

# `npm ci` in folder $1, only when its lockfile changed since the last install.
npm_install_locked() {
    local lock_hash stamp
    lock_hash=$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)
    stamp="$1/node_modules/.tickwire-lock-hash"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
        say "installing the npm packages of $1"
        (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
        echo "$lock_hash" > "$stamp"
    fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The style gates of scripts/test.sh.
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        say "adding the $component component"
        rustup component add "$component"
    fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! cargo_has cargo-leptos "$CARGO_LEPTOS_VERSION"; then
    # A debug build of the tool takes half the time to compile and drives release
    # builds just as fast: its own work is tiny next to rustc's and wasm-bindgen's.
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 8 minutes cold)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --debug
fi

# wasm-bindgen-cli must match the wasm-bindgen the workspace pins, byte for byte.
wasm_bindgen_version=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;q}' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
    say "cannot find wasm-bindgen's version in Cargo.lock"
    exit 1
fi
if ! cargo_has wasm-bindgen-cli "$wasm_bindgen_version"; then
    say "installing wasm-bindgen-cli $wasm_bindgen_version"
    cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --locked \
        || cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# Release builds need a recent binaryen: Debian's 108 emits wasm that fails to
# hydrate. binaryen 123 (the version cargo-leptos 0.3.10 expects) comes from the npm
# registry in seconds instead of compiling binaryen from source for 9 minutes;
# scripts/env.sh puts its wasm-opt on PATH.
npm_install_locked scripts/tools

# The Redis backend's tests and scripts/cluster.sh start their own redis-server.
if [ "${1:-}" = "--e2e" ] || [ "${1:-}" = "--redis" ]; then
    if ! command -v redis-server >/dev/null; then
        say "installing Debian's redis-server"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
fi

# The store's tests run every scenario on PostgreSQL too (docs/STORE.md): they start
# Debian's server on a free port in a folder of their own, never the system service.
if [ "${1:-}" = "--e2e" ] || [ "${1:-}" = "--redis" ]; then
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
        say "installing Debian's postgresql"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
fi

if [ "${1:-}" = "--e2e" ]; then
    if ! command -v chromium >/dev/null; then
        say "installing Debian's chromium"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    npm_install_locked end2end
    if ! cargo_has leptosfmt "$LEPTOSFMT_VERSION"; then
        say "installing leptosfmt $LEPTOSFMT_VERSION (the view! formatter the style gate runs)"
        cargo install leptosfmt --version "$LEPTOSFMT_VERSION" --locked
    fi
fi
