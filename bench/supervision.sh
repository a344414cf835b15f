#!/usr/bin/env bash
# Supervision before and after, in one run (BENCHMARKS.md): spawn1000 and output100 for
# the floor and any number of cargo-tek builds, each with and without cgroups, rounds
# interleaved.
#
#   TEK_BUILDS="before=/path/old-cargo-tek now=target/release/cargo-tek" bash bench/supervision.sh
#
# Environment: TEK_BUILDS (name=binary ...), ROUNDS (9), WORKLOADS (spawn1000 output100;
# sleep200 too),
# WORKERS (4), OUT (bench/out), BENCH_TMP (/dev/shm when writable).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TEK_BUILDS:?name=binary pairs, e.g. before=/tmp/cargo-tek-9e19f03 now=target/release/cargo-tek}"
ROUNDS=${ROUNDS:-9} WORKERS=${WORKERS:-4} OUT=${OUT:-$here/out}
BENCH_TMP=${BENCH_TMP:-$([[ -w /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
work=$(mktemp -d "$BENCH_TMP/tek-supervision.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"
cargo build --quiet --release --manifest-path "$here/floor/Cargo.toml"
floor=$here/floor/target/release/tek-bench-floor
q() { printf '%q' "$1"; }
for w in ${WORKLOADS:-spawn1000 output100}; do
    case $w in
        spawn1000) n=1000 argv='["true"]' shell=true ;;
        output100) n=100 argv='["head", "-c", "1000000", "/dev/zero"]' shell='head -c 1000000 /dev/zero' ;;
        sleep200) n=200 argv='["sleep", "0.02"]' shell='sleep 0.02' ;;
        *) echo "unknown workload $w" >&2; exit 1 ;;
    esac
    python3 "$here/gen.py" runws "$work/$w" --tasks "$n" --cmd "$argv"
    args=(run --workload "$w" --out "$OUT/supervision-$w.json" --rounds "$ROUNDS" --warmup 1
        --baseline floor --rss
        --cmd floor "$(q "$floor") $WORKERS $n $(q "$work/$w-floor") $shell"
        --prepare floor "rm -rf $(q "$work/$w-floor")")
    for build in $TEK_BUILDS; do
        name=${build%%=*} bin=${build#*=}
        for mode in cgroups no-cgroups; do
            env=""
            [[ $mode == no-cgroups ]] && env="CARGO_TEK_NO_CGROUP=1"
            tool="$name, $mode"
            runs=$work/$w-runs-$name-$mode
            args+=(--cmd "$tool" "cd $(q "$work/$w") && $env exec $(q "$bin") tek run -q --max-workers $WORKERS --runs-dir $(q "$runs")"
                --prepare "$tool" "rm -rf $(q "$runs")")
        done
    done
    python3 "$here/measure.py" "${args[@]}"
done
