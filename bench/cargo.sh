#!/usr/bin/env bash
# The cargo-heavy benchmark (see BENCHMARKS.md, "Cargo workloads"): ripgrep's workspace
# gated by build + clippy + docs + fmt + one test task per crate, by hand and by
# cargo-tek, cold and warm, with cargo's lock waits counted and timed.
#
#   BENCH_WS=/work/bench-ws TEK_BASELINE_BIN=/path/to/old/cargo-tek bash bench/cargo.sh
#
# Environment:
#   BENCH_WS           an extracted ripgrep 15.2.0 (git archive 15.2.0 | tar -x -C DIR),
#                      its crates fetched (`cargo fetch --locked`); default /work/bench-ws
#   TEK_BIN            this cargo-tek (default: $CARGO_TARGET_DIR or target, debug build)
#   TEK_BASELINE_BIN   a cargo-tek from before the resource model, for variant (b)
#   BENCH_TARGETS      where the variants' target dirs go (default $BENCH_WS/../bench-targets)
#   PLAN               variant:temp:workers items (default: see bench/cargo_bench.py)
#   NICE (10)          the niceness everything runs at; the machine is shared
#   OUT (bench/out)    results: cargo-*.json and cargo.md
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
export BENCH_WS=${BENCH_WS:-/work/bench-ws}
export OUT=${OUT:-$root/bench/out}
export BENCH_TARGETS=${BENCH_TARGETS:-$(dirname "$BENCH_WS")/bench-targets}
export TEK_BIN=${TEK_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/cargo-tek}
mkdir -p "$OUT" "$BENCH_TARGETS"
[[ -f $BENCH_WS/Cargo.toml ]] || { echo "no workspace at $BENCH_WS (see the header)" >&2; exit 1; }
[[ -x $TEK_BIN ]] || { echo "no cargo-tek at $TEK_BIN: build it or set TEK_BIN" >&2; exit 1; }

# The shim is found as `cargo` first on PATH, and runs the real one.
# shellcheck source=bench/shim.sh
source "$here/shim.sh"

(cd "$BENCH_WS" && cargo fetch --locked -q)
{ uname -srm; nproc; cargo --version; rustc --version; } >"$OUT/cargo-machine.txt"
python3 "$here/cargo_bench.py"
