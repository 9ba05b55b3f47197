# Sourced by run.sh and test.sh after setup.sh: the tools it installed, first on PATH
# (binaryen's wasm-opt from scripts/tools, then cargo's cargo-leptos and wasm-bindgen).
export PATH="$PWD/scripts/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
