#!/usr/bin/env bash
# The long chaos and soak runs, kept out of the README's test command: the chaos
# scenarios at full length (1,000 forced reconnects of a resuming client under
# publishing, a throttled reader, half-open peers) and the soak (CYCLES
# connect/subscribe/disconnect cycles under publishing, then connections, tokio tasks
# and RSS back to their baseline). Prints the figures; BENCHMARKS.md has the last ones.
#
#   scripts/soak.sh [CYCLES]     (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export SOAK_CYCLES="${1:-10000}" TICKWIRE_CHAOS=long
cargo test --release -p server --test chaos -- --include-ignored --nocapture --test-threads 1 2>&1 \
    | grep -E '^(test |soak:|test result)|panicked|assert'
