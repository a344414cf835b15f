#!/usr/bin/env python3
"""The cargo-heavy benchmark: a real workspace (ripgrep), build + clippy + docs + fmt +
one test task per crate, run (a) by hand, one command after the other; (b) by a
cargo-tek from before the resource model (TEK_BASELINE_BIN); (c1) by this cargo-tek with
the same config (cargo commands take turns on the target dir); (c2) by this cargo-tek
with compile once (plus a doctest task, since the split tasks no longer run doctests).

Run it through bench/cargo.sh, which prepares the workspace. Every variant has its own
target dir: "cold" empties it first (the registry's sources are already downloaded),
"warm" runs again right after, with nothing changed. A `cargo` shim on PATH
(bench/cargo_shim.py) logs every "Blocking waiting for file lock" and how long it lasted.

Results: $OUT/cargo-<variant>-<temp>-w<workers>.json and $OUT/cargo.md.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
ws = Path(os.environ["BENCH_WS"])
out = Path(os.environ["OUT"])
targets = Path(os.environ["BENCH_TARGETS"])
tek = os.environ["TEK_BIN"]
baseline = os.environ.get("TEK_BASELINE_BIN")
shim_dir = Path(os.environ["BENCH_SHIM_DIR"])
nice = ["nice", "-n", os.environ.get("NICE", "10")]


def hooks(name):
    return json.loads((here / "cargo-ws/config" / name).read_text())


def configure(variant):
    """Writes sot.md and config/ for `variant`, outside the workspace: ripgrep's build
    script declares no inputs, so cargo reruns it (and rebuilds ripgrep) whenever any
    file of the root package changes, and a file written there (sot.md, a run
    directory) would make every later cargo command rebuild ripgrep."""
    base = out / "cargo-config" / variant
    config = base / "config"
    shutil.rmtree(base, ignore_errors=True)
    config.mkdir(parents=True)
    sot = (here / "cargo-ws/sot.md").read_text()
    if variant == "c2":
        sot += "- `TASK-020` Doctests — after `TASK-001`\n"
        shutil.copy(here / "cargo-ws/config/hooks.compile-once.json", config / "hooks.json")
        shutil.copy(here / "cargo-ws/config/manifest.compile-once.json", config / "manifest.json")
    else:
        shutil.copy(here / "cargo-ws/config/hooks.json", config / "hooks.json")
    (base / "sot.md").write_text(sot)
    return base


def lock_waits(path):
    if not path.exists():
        return []
    return [float(x) for x in path.read_text().split()]


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(variant, temp, workers):
    # c1 runs b's commands, so it shares b's target dir (and its warmth).
    target = targets / ("b" if variant == "c1" else variant)
    if temp == "cold":
        shutil.rmtree(target, ignore_errors=True)
    base = configure(variant)
    name = f"cargo-{variant}-{temp}-w{workers}"
    locklog = out / f"{name}.locks"
    locklog.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        CARGO_TARGET_DIR=str(target),
        PATH=f"{shim_dir}:{os.environ['PATH']}",
        BENCH_LOCKLOG=str(locklog),
        CARGO_TEK_NO_CACHE="1",
    )
    env.pop("CARGO_BUILD_JOBS", None)
    result = {"variant": variant, "temp": temp, "workers": workers}
    cpu0 = cpu_seconds()
    start = time.monotonic()
    if variant == "a":
        failed, durations = [], {}
        for task, hook in hooks("hooks.json").items():
            t0 = time.monotonic()
            for command in hook["commands"]:
                rc = subprocess.run(nice + command["cmd"], cwd=ws, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
                if rc != 0:
                    failed.append(task)
            durations[task] = time.monotonic() - t0
        result["wall_s"] = time.monotonic() - start
        result["sum_task_s"] = sum(durations.values())
        result["sum_wait_s"] = 0.0
        result["failed"] = failed
        result["tasks"] = {k: round(v, 2) for k, v in durations.items()}
    else:
        binary = baseline if variant == "b" else tek
        runs_dir = out / "cargo-runs"
        cmd = nice + [binary, "tek", "run", "--max-workers", str(workers), "-q",
                      "--sot", str(base / "sot.md"), "--config", str(base / "config"),
                      "--runs-dir", str(runs_dir)]
        rc = subprocess.run(cmd, cwd=ws, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        result["wall_s"] = time.monotonic() - start
        runs = sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        record = json.loads((runs[-1] / "run.json").read_text())
        results = record["results"]
        result["rc"] = rc
        result["run_dir"] = str(runs[-1])
        result["tek_wall_s"] = record["duration_ms"] / 1000
        result["sum_task_s"] = sum(r["duration_ms"] for r in results) / 1000
        result["sum_wait_s"] = sum(r.get("wait_ms", 0) for r in results) / 1000
        result["failed"] = [r["task"] for r in results if r["status"] not in ("ok", "flaky")]
        result["tasks"] = {
            r["task"]: [round(r["duration_ms"] / 1000, 2), round(r.get("wait_ms", 0) / 1000, 2)]
            for r in results
        }
        compile_log = runs[-1] / "logs/%compile-once/cmd1.stdout.log"
        if compile_log.exists():
            # The shared compile belongs to no task; its time is in the wall clock only.
            result["shared_compile"] = True
    # CPU seconds of everything the variant ran (cargo, rustc, test binaries): divided by
    # the cores, the shortest wall time any scheduler could reach for the same work.
    result["cpu_s"] = round(cpu_seconds() - cpu0, 2)
    result["cpu_bound_s"] = round(result["cpu_s"] / os.cpu_count(), 2)
    waits = lock_waits(locklog)
    result["lock_waits"] = len(waits)
    result["lock_wait_s"] = round(sum(waits), 2)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name}: wall {result['wall_s']:.1f}s, tasks {result['sum_task_s']:.1f}s, "
          f"waited {result['sum_wait_s']:.1f}s, cpu {result['cpu_s']:.1f}s, lock waits {len(waits)} ({result['lock_wait_s']}s), "
          f"failed {result['failed']}", flush=True)
    return result


def cpu(result):
    if "cpu_s" not in result:
        return "—"
    return f"{result['cpu_s']:.1f} ({result['cpu_bound_s']:.1f})"


def main():
    plan = os.environ.get("PLAN", "a:cold:2 a:warm:2 b:cold:2 b:warm:2 c2:cold:2 c2:warm:2 c1:warm:2 b:warm:4 c2:warm:4")
    for v, t, w in (item.split(":") for item in plan.split()):
        run(v, t, int(w))
    # The table holds every result in $OUT, so that a plan run in parts adds up.
    order = {"a": 0, "b": 1, "c1": 2, "c2": 3}
    rows = [json.loads(p.read_text()) for p in out.glob("cargo-*-w*.json")]
    rows.sort(key=lambda r: (r["temp"] != "cold", r["workers"], order[r["variant"]]))
    names = {"a": "(a) by hand, sequential", "b": "(b) cargo-tek before (shell agent)",
             "c1": "(c1) target dir taken in turns", "c2": "(c2) turns + compile once"}
    lines = ["| variant | temp | workers | wall s | CPU s (÷ cores) | sum of task durations s | recorded wait s | lock waits (s) | failed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {names[r['variant']]} | {r['temp']} | {r['workers']} | {r['wall_s']:.1f} | "
                     f"{cpu(r)} | {r['sum_task_s']:.1f} | {r['sum_wait_s']:.1f} | {r['lock_waits']} ({r['lock_wait_s']:.1f}) | "
                     f"{', '.join(r['failed']) or '—'} |")
    (out / "cargo.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
