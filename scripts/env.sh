# Sourced by the scripts after setup.sh: the tools it installed, first on PATH
# (binaryen's wasm-opt from scripts/tools, then cargo's cargo-leptos and wasm-bindgen).
export PATH="$PWD/scripts/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The release binary cargo builds (under CARGO_TARGET_DIR when that is set).
TICKWIRE_RELEASE="${CARGO_TARGET_DIR:-target}/release/tickwire"
