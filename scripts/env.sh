# Sourced by the scripts after setup.sh: the tools it installed, first on PATH
# (binaryen's wasm-opt from scripts/tools, then cargo's cargo-leptos and wasm-bindgen).
export PATH="$PWD/scripts/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The release binary cargo builds (under CARGO_TARGET_DIR when that is set).
TICKWIRE_RELEASE="${CARGO_TARGET_DIR:-target}/release/tickwire"
# The benchmark harness beside it (the `bench` crate; scripts/bench/ build it).
TICKWIRE_BENCH="${CARGO_TARGET_DIR:-target}/release/tickwire-bench"
# The one release build: the server, and the dashboard's wasm split at its lazy routes
# (--split: the backtests and sessions pages load their own chunks), with content-hashed
# file names (hash-files in Cargo.toml) and a brotli and a gzip copy beside each file
# (--precompress). cargo-leptos gzips at a middling level; the served copies are
# re-made with gzip -9 (about 15 % smaller for the wasm).
#
# Skipped when nothing it reads has changed since the last build and what that build
# made is still there, untouched (build_fingerprint): a restart serves in seconds
# instead of re-running wasm-bindgen, wasm-opt and the precompression (over a minute).
# FORCE_BUILD=1 builds anyway.
build_release() {
    local stamp="${CARGO_TARGET_DIR:-target}/.release-build" fingerprint
    fingerprint=$(build_fingerprint "$@")
    if [ "${FORCE_BUILD:-0}" != 1 ] && [ -f "$stamp" ] \
        && [ "$(cat "$stamp")" = "$fingerprint$(built_outputs)" ]; then
        echo "build: nothing changed since the last release build (FORCE_BUILD=1 rebuilds)" >&2
        return 0
    fi
    rm -f "$stamp"
    cargo leptos build --release --split --precompress "$@"
    local file
    for file in target/site/pkg/*.gz; do
        gzip -9 -n -c "${file%.gz}" > "$file"
    done
    echo "$fingerprint$(built_outputs)" > "$stamp"
}

# What a release build reads: every file of the crates and assets it compiles (tracked
# or not, with its content), the toolchain, the build's flags and TICKWIRE_BUILD_ID.
build_fingerprint() {
    {
        echo "args: $* build id: ${TICKWIRE_BUILD_ID:-}"
        rustc -V
        cargo leptos --version 2>/dev/null || true
        find Cargo.toml Cargo.lock .cargo app frontend protocol server style public \
            -type f -print0 | sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
}

# What the last release build made, as it is now (name, size and time of each file):
# a file rebuilt, touched or removed since makes the build run again.
built_outputs() {
    find "$TICKWIRE_RELEASE" "${CARGO_TARGET_DIR:-target}/release/hash.txt" target/site \
        -type f -printf '%p %s %T@\n' 2>/dev/null | sort | sha256sum | cut -d' ' -f1
}
