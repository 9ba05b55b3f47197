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
build_release() {
    cargo leptos build --release --split --precompress "$@"
    local file
    for file in target/site/pkg/*.gz; do
        gzip -9 -n -c "${file%.gz}" > "$file"
    done
}
