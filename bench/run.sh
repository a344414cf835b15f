#!/usr/bin/env bash
# cargo-tek's benchmarks: cargo-tek against its peers, in one run, interleaved.
#
#   bash bench/run.sh                 # all workloads, 5 rounds after 1 warm-up
#   ROUNDS=9 bash bench/run.sh        # more rounds
#   WORKLOADS="spawn1000 bigsot" bash bench/run.sh
#
# Environment:
#   ROUNDS (5), WARMUP (1)   measured and discarded rounds per workload
#   WORKLOADS                any of: spawn1000 spawn1000-sandbox sleep200 output100 bigsot
#                            (default: all but spawn1000-sandbox)
#   WORKERS (4)              parallelism for every tool
#   BIGSOT_TASKS (50000)     tasks in the bigsot files
#   TEK_BIN                  use this cargo-tek binary instead of building target/release
#   OUT (bench/out)          where the JSON results and results.md are written
#   BENCH_TMP                where workspaces and task logs go (default: /dev/shm when
#                            writable, so that runs measure the runners rather than the
#                            disk's inode allocator; else $TMPDIR or /tmp)
#
# Builds (not timed): cargo-tek in release (skipped with TEK_BIN), bench/floor and
# bench/rawparse. Results: $OUT/<workload>.json, $OUT/machine.txt and $OUT/results.md
# (the Markdown table); bench/out/ is ignored by git. See BENCHMARKS.md for what is measured.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-4}
BIGSOT_TASKS=${BIGSOT_TASKS:-50000}
WORKLOADS=${WORKLOADS:-spawn1000 sleep200 output100 bigsot}
out=${OUT:-$root/bench/out}
mkdir -p "$out"
if [[ -z ${BENCH_TMP:-} ]]; then
    BENCH_TMP=${TMPDIR:-/tmp}
    if [[ -d /dev/shm && -w /dev/shm ]]; then BENCH_TMP=/dev/shm; fi
fi
work=$(mktemp -d "$BENCH_TMP/tek-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

CEILING="ceiling (1 slot)"
TOKIO_FLOOR="tokio floor"
say() { printf '==> %s\n' "$*" >&2; }
measure() { python3 "$here/measure.py" "$@"; }
q() { printf '%q' "$1"; }

# ------------------------------------------------------------------ builds (untimed)
say "building bench/floor, bench/tokio-floor and bench/rawparse (release)"
cargo build --quiet --release --manifest-path "$here/floor/Cargo.toml"
cargo build --quiet --release --manifest-path "$here/tokio-floor/Cargo.toml"
cargo build --quiet --release --manifest-path "$here/rawparse/Cargo.toml"
floor=$here/floor/target/release/tek-bench-floor
tokio_floor=$here/tokio-floor/target/release/tek-bench-tokio-floor
rawparse=$here/rawparse/target/release/tek-bench-rawparse

tek_why=""
if [[ -n ${TEK_BIN:-} ]]; then
    # The workloads run in their own directories: a relative path would not be found.
    tek=$(realpath -- "$TEK_BIN")
else
    tek=$root/target/release/cargo-tek
    say "building cargo-tek (release; the first build takes several minutes)"
    if ! (cd "$root" && cargo build --quiet --release); then
        tek_why="the release build of cargo-tek failed"
    fi
fi
tek_run=yes
tek_plan=yes
if [[ -n $tek_why || ! -x $tek ]]; then
    tek_why=${tek_why:-"no cargo-tek binary at $tek"}
    tek_run="" tek_plan=""
else
    "$tek" tek plan --help >/dev/null 2>&1 || { tek_plan=""; tek_why="\`cargo-tek tek plan\` is not available in this build"; }
    if ! "$tek" tek run --help >/dev/null 2>&1; then
        tek_run=""
        run_why="\`cargo-tek tek run\` is not available in this build"
    fi
fi
run_why=${run_why:-$tek_why}
[[ -n $tek_run ]] || say "cargo-tek run: not measured: $run_why"
[[ -n $tek_plan ]] || say "cargo-tek plan: not measured: $tek_why"

have_parallel=""
if command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
    have_parallel=yes
else
    say "GNU parallel not found: skipped (apt-get install -y parallel)"
fi
have_make=""
if command -v make >/dev/null; then have_make=yes; else say "make not found: skipped"; fi
[[ -x /usr/bin/time ]] || say "/usr/bin/time not found: no peak RSS figures (apt-get install -y time)"

# ------------------------------------------------------------------ the machine
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc: $(nproc)"
    lscpu 2>/dev/null | grep 'Model name' | sed 's/  */ /g' || true
    echo "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
    echo "kernel: $(uname -sr)"
    echo "rustc: $(rustc --version)"
    if [[ -x $tek ]]; then echo "cargo-tek: $("$tek" --version 2>/dev/null || echo unknown) ($tek)"; fi
    if [[ -n $have_parallel ]]; then echo "parallel: $(parallel --version | head -1)"; fi
    if [[ -n $have_make ]]; then echo "make: $(make --version | head -1)"; fi
    echo "xargs: $(xargs --version | head -1)"
    echo "python3: $(python3 --version)"
    echo "rounds: $ROUNDS (after $WARMUP warm-up), workers: $WORKERS"
    echo "work dir: $work ($(df -T "$work" | awk 'NR == 2 {print $2}'))"
} > "$out/machine.txt"
cat "$out/machine.txt" >&2

# A Makefile with N phony targets, each running CMD (make -j runs simple recipes
# without a shell).
makefile() { # FILE N CMD
    local i
    {
        printf '.PHONY: all'
        for ((i = 1; i <= $2; i++)); do printf ' t%d' "$i"; done
        printf '\nall:'
        for ((i = 1; i <= $2; i++)); do printf ' t%d' "$i"; done
        printf '\n'
        for ((i = 1; i <= $2; i++)); do printf 't%d:\n\t@%s\n' "$i" "$3"; done
    } > "$1"
}

# One workload of N copies of one command: cargo-tek, the floor and the peers.
# spawn_workload NAME N ARGV_JSON SHELL_CMD [measure.py options...]
spawn_workload() {
    local name=$1 n=$2 argv=$3 cmd=$4
    shift 4
    local ws=$work/$name
    python3 "$here/gen.py" runws "$ws" --tasks "$n" --cmd "$argv" ${SANDBOX:+--sandbox "$SANDBOX"}
    makefile "$work/$name.mk" "$n" "$cmd"
    # The floor's argv: the same command without a shell.
    local floor_argv
    floor_argv=$(python3 -c 'import json,shlex,sys; print(" ".join(shlex.quote(a) for a in json.loads(sys.argv[1])))' "$argv")
    local args=(run --workload "$name" --out "$out/$name.json" --rounds "$ROUNDS" --warmup "$WARMUP" "$@")
    args+=(--cmd floor "$(q "$floor") $WORKERS $n $(q "$work/$name-floor") $floor_argv"
        --prepare floor "rm -rf $(q "$work/$name-floor")"
        --note floor "std-only Rust, $WORKERS threads, a log file per task's stdout and stderr"
        --cmd "$TOKIO_FLOOR" "$(q "$tokio_floor") $WORKERS $n $(q "$work/$name-tokio-floor") $floor_argv"
        --prepare "$TOKIO_FLOOR" "rm -rf $(q "$work/$name-tokio-floor")"
        --note "$TOKIO_FLOOR" "tokio::process in a JoinSet on a multi-thread runtime, a log file per stream, nothing else: the least a Tokio runner does")
    if [[ -n $tek_run ]]; then
        args+=(--cmd cargo-tek "cd $(q "$ws") && exec $(q "$tek") tek run --max-workers $WORKERS --runs-dir $(q "$work/$name-runs")"
            --prepare cargo-tek "rm -rf $(q "$work/$name-runs")")
    else
        args+=(--skip cargo-tek "$run_why")
    fi
    if [[ $name != output100 ]]; then
        args+=(--cmd "xargs -P$WORKERS" "seq $n | xargs -P$WORKERS -I{} $cmd"
            --note "xargs -P$WORKERS" "output not captured (inherits /dev/null)")
        if [[ -n $have_parallel ]]; then
            args+=(--cmd "GNU parallel" "seq $n | parallel --will-cite -j$WORKERS -N0 $cmd"
                --note "GNU parallel" "buffers each job's output (default --group)")
        fi
        if [[ -n $have_make ]]; then
            args+=(--cmd "make -j$WORKERS" "make -s -j$WORKERS -f $(q "$work/$name.mk")"
                --note "make -j$WORKERS" "a generated Makefile, one phony target per task; output not captured")
        fi
    fi
    say "$name"
    measure "${args[@]}"
}

results=()
for w in $WORKLOADS; do
    case $w in
    spawn1000)
        spawn_workload spawn1000 1000 '["true"]' true --baseline floor
        ;;
    spawn1000-sandbox)
        # The same tasks in a sandbox (Landlock ruleset and seccomp filter per command);
        # the peers run unconfined, for scale.
        SANDBOX='{"write": ["out"], "net": "none"}' \
            spawn_workload spawn1000-sandbox 1000 '["true"]' true --baseline floor
        ;;
    sleep200)
        # Ideal: 200 × 0.02 s / WORKERS.
        ideal=$(python3 -c "print(200 * 0.02 / $WORKERS)")
        # The ceiling: one slot running its 50 sleeps back to back with nothing else
        # going on. That is the best any runner can do per slot on this machine, since
        # each `sleep 0.02` process costs more than 0.02 s (exec, loader, exit).
        per_slot=$((200 / WORKERS))
        spawn_workload sleep200 200 '["sleep", "0.02"]' 'sleep 0.02' --ideal "$ideal" \
            --cmd "$CEILING" "$(q "$floor") 1 $per_slot $(q "$work/sleep200-ceiling") sleep 0.02" \
            --prepare "$CEILING" "rm -rf $(q "$work/sleep200-ceiling")" \
            --note "$CEILING" "the floor with 1 worker running $per_slot tasks: one slot's share, back to back"
        ;;
    output100)
        spawn_workload output100 100 '["head", "-c", "1000000", "/dev/zero"]' \
            'head -c 1000000 /dev/zero' --baseline floor --rss
        ;;
    bigsot)
        ws=$work/bigsot
        say "bigsot: generating $BIGSOT_TASKS tasks (native and legacy) and $BIGSOT_TASKS hooks"
        python3 "$here/gen.py" bigsot "$ws" --tasks "$BIGSOT_TASKS"
        args=(run --workload bigsot --out "$out/bigsot.json" --rounds "$ROUNDS" --warmup "$WARMUP" --rss)
        # Untimed check that the planners read the same tasks, so that they do equal work.
        count() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(q["tasks"]) for q in d["queues"]))'; }
        py_count=$(python3 "$here/predecessor_plan.py" "$ws/legacy-sot.md" | count)
        for form in native legacy; do
            sot=$ws/sot.md
            [[ $form == legacy ]] && sot=$ws/legacy-sot.md
            args+=(--cmd "rawparse ($form)" "$(q "$rawparse") $(q "$sot") $(q "$ws/config/hooks.json")"
                --note "rawparse ($form)" "pulldown-cmark events + hooks.json into serde_json::Value; builds no plan")
            if [[ -n $tek_plan ]]; then
                args+=(--cmd "cargo-tek ($form)" "cd $(q "$ws") && exec $(q "$tek") tek plan --sot $(q "$sot") --config config --format json > /dev/null")
                n=$(cd "$ws" && "$tek" tek plan --sot "$sot" --config config --format json | count)
                note="plans $n of $BIGSOT_TASKS tasks"
                [[ $form == legacy ]] && note+=" (predecessor.py: $py_count)"
                [[ $n == "$BIGSOT_TASKS" ]] || say "WARNING: cargo-tek ($form) $note"
                args+=(--note "cargo-tek ($form)" "$note")
            else
                args+=(--skip "cargo-tek ($form)" "$tek_why")
            fi
        done
        args+=(--cmd "predecessor.py (legacy)" "exec python3 $(q "$here/predecessor_plan.py") $(q "$ws/legacy-sot.md") > /dev/null"
            --note "predecessor.py (legacy)" "CPython stand-in following the rules of the predecessor's public line-based planner (not its code)"
            --cmd "predecessor.py + hooks (legacy)" "exec python3 $(q "$here/predecessor_plan.py") $(q "$ws/legacy-sot.md") --hooks $(q "$ws/config/hooks.json") > /dev/null"
            --note "predecessor.py + hooks (legacy)" "the same planner, also reading hooks.json and attaching each task's commands, as the predecessor did before a run")
        say "bigsot"
        measure "${args[@]}"
        ;;
    *)
        echo "run.sh: unknown workload \`$w\` (known: spawn1000 sleep200 output100 bigsot)" >&2
        exit 1
        ;;
    esac
    results+=("$out/$w.json")
done

say "results ($out/results.md)"
measure report "${results[@]}" --md "$out/results.md"
