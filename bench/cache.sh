#!/usr/bin/env bash
# The result cache on a real workspace (issue 22): ripgrep 15.2.0 gated by the tasks of
# bench/cargo-ws (build, clippy, docs, fmt, the tests of each crate). After a run that
# stored every pass, one leaf crate changes (ripgrep's own crates/core, which no other
# crate depends on) and the run is timed twice on the same warm target dir, each time
# after a fresh edit of that crate so both compile it: with `--cache`, then without.
# Reported: tasks run vs total, and wall time of each.
#
#   RIPGREP_GIT=/work/.mirror/BurntSushi+ripgrep/repo bash bench/cache.sh
#
# Environment:
#   RIPGREP_GIT   a git directory holding ripgrep's tag 15.2.0 (the search tool's
#                 `fetch github:BurntSushi/ripgrep` gives one); or BENCH_WS already set up
#   BENCH_WS      where the workspace is extracted (default /work/bench-cache-ws)
#   TEK_BIN       this cargo-tek (default: $CARGO_TARGET_DIR or target, debug build)
#   WORKERS (2)   -j for every run
#   NICE (10)     the niceness everything runs at; the machine is shared
#   OUT           results (default bench/out/cache.md)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
ws=${BENCH_WS:-/work/bench-cache-ws}
tek=${TEK_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/cargo-tek}
workers=${WORKERS:-2}
nice=${NICE:-10}
out=${OUT:-$root/bench/out/cache.md}
mkdir -p "$(dirname "$out")"
[[ -x $tek ]] || { echo "no cargo-tek at $tek: build it or set TEK_BIN" >&2; exit 1; }

if [[ ! -f $ws/Cargo.toml ]]; then
  [[ -n ${RIPGREP_GIT:-} ]] || { echo "set RIPGREP_GIT (see the header) or BENCH_WS" >&2; exit 1; }
  mkdir -p "$ws"
  git --git-dir="$RIPGREP_GIT" archive 15.2.0 | tar -x -C "$ws"
  cp "$here/cargo-ws/sot.md" "$ws/sot.md"
  mkdir -p "$ws/config"
  cp "$here/cargo-ws/config/hooks.json" "$ws/config/hooks.json"
  (cd "$ws" && cargo fetch --locked -q)
  # The cache lists a package's files as git sees them.
  (cd "$ws" && printf 'target/\n.tek/\n' >>.gitignore && git init -q -b main && git add -A \
    && git -c user.name=b -c user.email=b@example.com commit -q -m base)
fi
unset CARGO_TARGET_DIR
cd "$ws"

# run LABEL ARGS...: one timed run; prints "label tasks ran cached seconds".
run() {
  local label=$1
  shift
  local start end
  start=$(date +%s.%N)
  # Its output goes under .tek/ (ignored): a file at the root would be an input of the
  # root package's tasks.
  mkdir -p .tek
  nice -n "$nice" "$tek" tek run -j "$workers" "$@" >/dev/null 2>".tek/bench-$label.log" || true
  end=$(date +%s.%N)
  python3 - "$label" "$start" "$end" <<'EOF'
import json, os, sys
label, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
runs = sorted(d for d in os.listdir(".tek/runs") if not d.startswith("."))
run = json.load(open(os.path.join(".tek/runs", runs[-1], "run.json")))
c = run["counts"]
ran = c["total"] - c.get("cached", 0)
bad = c["error"] + c["timeout"]
print(f"{label} {c['total']} {ran} {c.get('cached', 0)} {end - start:.1f} {bad}")
EOF
}

edit() {
  printf '\n// bench edit %s\n' "$1" >>crates/core/main.rs
}

{
  echo "# The result cache on ripgrep 15.2.0 ($(nproc) CPUs, -j $workers, $(rustc --version))"
  echo
  echo "| run | tasks | ran | cached | wall (s) | failed |"
  echo "|---|---:|---:|---:|---:|---:|"
  # Stores every pass (on a fresh workspace: compiles everything first).
  run store --cache
  edit 1
  run leaf-changed-cache --cache
  edit 2
  run leaf-changed-full
  # Store that state, then nothing changed since the last stored pass.
  run store-again --cache
  run unchanged-cache --cache
} | while read -r label total ran cached secs bad; do
  if [[ $label == "#"* || $label == "|"* || -z $label ]]; then echo "$label $total $ran $cached $secs $bad" | sed 's/ *$//'; continue; fi
  echo "| $label | $total | $ran | $cached | $secs | $bad |"
done | tee "$out"
