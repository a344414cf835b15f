#!/usr/bin/env bash
# The real-workspace benchmark (see BENCHMARKS.md, "Real workspace: tracing"):
# tokio-rs/tracing, a workspace nobody here wrote, with a proc-macro crate
# (tracing-attributes), gated by its CI's check, clippy, docs, fmt, doctest and test steps
# as 21 tasks, by hand, by cargo-tek's shell agent and by its cargo agent with compile once.
#
#   bash bench/tracing.sh
#   TRACING_SRC=/path/to/a/tracing/clone bash bench/tracing.sh
#   PLAN="once:0 once:1" bash bench/tracing.sh        # some variants only
#   bash bench/tracing.sh report                       # the tables again, from the logs in $OUT
#
# Environment:
#   BENCH_WS        where tracing is checked out (default /work/bench-tracing); cloned from
#                   TRACING_SRC at TRACING_COMMIT when missing. The checkout is scratch:
#                   nothing of it is committed here.
#   TRACING_SRC     a clone URL or local mirror (default https://github.com/tokio-rs/tracing)
#   TRACING_COMMIT  the commit measured (default: the one in BENCHMARKS.md)
#   TEK_BIN         this cargo-tek (default: $CARGO_TARGET_DIR or target, debug build)
#   BENCH_TARGETS   where the target dir(s) go (default $BENCH_WS/../bench-tracing-targets)
#   SHARED_TARGET   1 (default): all variants share one target dir, each runs twice and the
#                   second (warm) run is compared; 0: a target dir per variant
#   PLAN            variant:n items, variants hand, shell, once (default: each twice)
#   WORKERS (2)     cargo-tek's --max-workers
#   NICE (10)       the niceness everything runs at; the machine is shared
#   OUT (bench/out) results: tracing-*.json, tracing.md, the generated configs and runs
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
export BENCH_WS=${BENCH_WS:-/work/bench-tracing}
export OUT=${OUT:-$root/bench/out}
export BENCH_TARGETS=${BENCH_TARGETS:-$(dirname "$BENCH_WS")/bench-tracing-targets}
export TEK_BIN=${TEK_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/cargo-tek}
TRACING_SRC=${TRACING_SRC:-https://github.com/tokio-rs/tracing}
TRACING_COMMIT=${TRACING_COMMIT:-f40ccdaa03cf114c7ee1ef14949207626bf6be57}
mkdir -p "$OUT" "$BENCH_TARGETS"

if [[ ${1:-} == report ]]; then
  BENCH_SHIM_DIR=/nonexistent exec python3 "$here/tracing_bench.py" rescan
fi
[[ -x $TEK_BIN ]] || { echo "no cargo-tek at $TEK_BIN: build it or set TEK_BIN" >&2; exit 1; }

if [[ ! -f $BENCH_WS/Cargo.toml ]]; then
  git clone -q "$TRACING_SRC" "$BENCH_WS"
  git -C "$BENCH_WS" checkout -q --detach "$TRACING_COMMIT"
fi
# tracing commits no Cargo.lock: resolve one (newest versions the registry has, which is
# what its CI builds against), then every task runs --locked against it.
if [[ ! -f $BENCH_WS/Cargo.lock ]]; then
  (cd "$BENCH_WS" && cargo generate-lockfile -q)
fi
(cd "$BENCH_WS" && cargo fetch --locked -q)

# The shim is found as `cargo` first on PATH, and runs the real one.
# shellcheck source=bench/shim.sh
source "$here/shim.sh"

{ uname -srm; nproc; cargo --version; rustc --version;
  echo "tracing $(git -C "$BENCH_WS" rev-parse HEAD)"; } >"$OUT/tracing-machine.txt"
python3 "$here/tracing_bench.py"
