#!/usr/bin/env python3
"""The real-workspace benchmark: tokio-rs/tracing (16 members, tracing-attributes a
proc-macro crate), its CI's check, clippy, docs, fmt, doctest and test steps as 21 tasks
(one `cargo test -p X --locked` per member, so compile once applies), run three ways:

  hand   the same commands by hand, one after the other (cwd: the workspace root)
  shell  cargo-tek, every hook `"agent": "shell"` (no cargo agent, no compile once)
  once   cargo-tek, the cargo agent (the default for `cargo` commands) with manifest
         `"compile_once": true`

Run it through bench/tracing.sh, which fetches and prepares the workspace. The sot.md and
config are generated here (from the workspace's member list), outside the workspace, and
so are the run directories. All variants share one target dir by default: the first run
of the first variant compiles everything, and each variant runs twice, the second
("warm") run being the one to compare. A `cargo` shim on PATH (bench/cargo_shim.py) times
every "Blocking waiting for file lock"; the logs are searched for that line too.

Per run: wall time, CPU seconds, each task's status, the libtest totals (passed, failed,
ignored: summed over every "test result:" line of the task's logs; for the cargo agent
also counted from run.json's `cargo.tests`), lock waits. The gate: every task that passes
by hand passes under compile once; a task that does not is printed with its exit codes
and the tail of its logs.

Results: $OUT/tracing-<variant>-<n>.json and $OUT/tracing.md.
"""
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

here = Path(__file__).resolve().parent
ws = Path(os.environ["BENCH_WS"])
out = Path(os.environ["OUT"])
targets = Path(os.environ["BENCH_TARGETS"])
tek = os.environ["TEK_BIN"]
shim_dir = Path(os.environ["BENCH_SHIM_DIR"])
workers = os.environ.get("WORKERS", "2")
shared_target = os.environ.get("SHARED_TARGET", "1") == "1"
nice = ["nice", "-n", os.environ.get("NICE", "10")]

RESULT = re.compile(rb"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
DOCTEST = re.compile(rb"(?m)^test .+ - .*\(line \d+\)")
LOCK = b"Blocking waiting for file lock"


def members():
    """(directory, package name) of every workspace member, in Cargo.toml's order."""
    manifest = tomllib.loads((ws / "Cargo.toml").read_text())
    result = []
    for member in manifest["workspace"]["members"]:
        package = tomllib.loads((ws / member / "Cargo.toml").read_text())["package"]["name"]
        result.append((member, package))
    return result


def tasks():
    """The 21 tasks: id -> (title, after, argv). The commands are those of tracing's
    .github/workflows/CI.yml (`check`, `warnings`, `style`, `test`'s doctest step; the
    `test` job's `cargo nextest run --workspace` as one `cargo test -p` per member) and
    its netlify.toml docs build on stable (`cargo doc --no-deps`, without the nightly-only
    `--cfg docsrs`), each `--locked` where cargo takes it."""
    t = {
        "TASK-001": ("cargo check", [], ["cargo", "check", "--all", "--tests", "--benches", "--locked"]),
        "TASK-002": ("Clippy", [], ["cargo", "clippy", "--all", "--examples", "--tests", "--benches",
                                    "--locked", "--", "-D", "warnings"]),
        "TASK-003": ("Docs", [], ["cargo", "doc", "--workspace", "--no-deps", "--locked"]),
        "TASK-004": ("Format", [], ["cargo", "fmt", "--all", "--", "--check"]),
        "TASK-005": ("Doctests", ["TASK-001"], ["cargo", "test", "--doc", "--workspace", "--locked"]),
    }
    for i, (_, package) in enumerate(members()):
        t[f"TASK-{10 + i:03}"] = (f"Tests of {package}", ["TASK-001"],
                                  ["cargo", "test", "-p", package, "--locked"])
    return t


def configure(variant):
    base = out / "tracing-config" / variant
    config = base / "config"
    shutil.rmtree(base, ignore_errors=True)
    config.mkdir(parents=True)
    lines = ["# tracing CI — source of truth", "", "## Queue A — Cargo"]
    hooks = {}
    for task, (title, after, argv) in tasks().items():
        lines.append(f"- `{task}` {title}" + (" — after " + ", ".join(f"`{a}`" for a in after) if after else ""))
        hook = {"commands": [{"cmd": argv}]}
        if variant == "shell":
            hook["agent"] = "shell"
        hooks[task] = hook
    (base / "sot.md").write_text("\n".join(lines) + "\n")
    (config / "hooks.json").write_text(json.dumps(hooks, indent=2) + "\n")
    if variant == "once":
        (config / "manifest.json").write_text(json.dumps({"compile_once": True}) + "\n")
    return base


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def totals(paths, doctests_only=False):
    """passed, failed, ignored over every "test result:" line of `paths`; with
    `doctests_only`, over the doctest binaries' only (a block whose tests are named
    `path - item (line N)`): `cargo test -p X` runs X's doctests, a split task does not."""
    p = f = i = 0
    for path in paths:
        if not path.exists():
            continue
        text = ANSI.sub(b"", path.read_bytes())
        start = 0
        for m in RESULT.finditer(text):
            block = text[start:m.start()]
            start = m.end()
            if doctests_only and not DOCTEST.search(block):
                continue
            p, f, i = p + int(m[1]), f + int(m[2]), i + int(m[3])
    return [p, f, i]


TEST_LINE = re.compile(rb"(?m)^test (\S+) \.\.\. (ok|FAILED|ignored)")


def test_names(paths):
    """The names of the tests outside doctest binaries that ran, with their outcome."""
    names = set()
    for path in paths:
        if path.exists():
            text = ANSI.sub(b"", path.read_bytes())
            start = 0
            for m in RESULT.finditer(text):
                block, start = text[start:m.start()], m.end()
                if not DOCTEST.search(block):
                    names |= {f"{t[1].decode()} {t[2].decode()}" for t in TEST_LINE.finditer(block)}
    return sorted(names)


def lock_lines(paths):
    return sum(path.read_bytes().count(LOCK) for path in paths if path.exists())


def tail(paths, n=12):
    lines = []
    for path in paths:
        if path.exists():
            text = ANSI.sub(b"", path.read_bytes()).decode("utf-8", "replace").splitlines()
            lines += [f"    {path.name}: {line}" for line in text[-n:]]
    return lines


def run_hand(env, logs):
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    per_task = {}
    for task, (_, _, argv) in tasks().items():
        t0 = time.monotonic()
        so, se = logs / f"{task}.stdout.log", logs / f"{task}.stderr.log"
        with open(so, "wb") as o, open(se, "wb") as e:
            rc = subprocess.run(nice + argv, cwd=ws, env=env, stdout=o, stderr=e,
                                stdin=subprocess.DEVNULL).returncode
        per_task[task] = {
            "status": "ok" if rc == 0 else "failed", "rc": [rc],
            "duration_s": round(time.monotonic() - t0, 2),
            "libtest": totals([so, se]), "doctests": totals([so, se], True),
            "names": test_names([so, se]), "lock_lines": lock_lines([se]),
            "tail": tail([so, se]) if rc else [],
        }
    return {"tasks": per_task}


def run_tek(variant, env, base, runs_dir, terminal):
    cmd = nice + [tek, "tek", "run", "--max-workers", workers,
                  "--sot", str(base / "sot.md"), "--config", str(base / "config"),
                  "--runs-dir", str(runs_dir)]
    with open(terminal, "wb") as t:
        rc = subprocess.run(cmd, cwd=ws, env=env, stdout=t, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    run_dir = sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))[-1]
    record = json.loads((run_dir / "run.json").read_text())
    per_task, suites = {}, set()
    for r in record["results"]:
        text, raw = [], []
        for c in r.get("commands", []):
            for key in ("log", "stderr_log"):
                if c.get(key):
                    text.append(run_dir / c[key])
            if c.get("log"):
                cargo_log = run_dir / c["log"].replace(".stdout.log", ".cargo.log")
                raw.append(cargo_log if cargo_log.exists() else None)
        # Lock lines: in cargo's own stream (the cargo agent's cargo.log), else stderr.
        lock_files = [p for p in raw if p] or [p for p in text if p.name.endswith("stderr.log")]
        entry = {
            "status": r["status"], "agent": r.get("agent"),
            "rc": [c.get("rc") for c in r.get("commands", [])],
            "duration_s": round(r["duration_ms"] / 1000, 2),
            "wait_s": round(r.get("wait_ms", 0) / 1000, 2),
            "libtest": totals(text), "doctests": totals(text, True),
            "names": test_names(text), "lock_lines": lock_lines(lock_files),
            "reason": r.get("reason"),
        }
        tests = (r.get("cargo") or {}).get("tests")
        if tests is not None:
            entry["cargo_tests"] = [sum(1 for x in tests if x["status"] == s)
                                    for s in ("passed", "failed", "ignored")]
            suites |= {f"{x.get('package')}/{x.get('binary')}" for x in tests}
        if r["status"] not in ("ok", "flaky"):
            entry["commands"] = [" ".join(c["cmd"])[:160] + f" -> rc {c.get('rc')}"
                                 for c in r.get("commands", [])]
            entry["tail"] = tail(text)
        per_task[r["task"]] = entry
    compile_log = run_dir / "logs/%compile-once/cmd1.stdout.log"
    result = {"rc": rc, "run_dir": str(run_dir), "tek_wall_s": record["duration_ms"] / 1000,
              "compile_s": (record.get("compile_ms") or 0) / 1000 or None,
              "tasks": per_task, "suites": sorted(suites)}
    if compile_log.exists():
        result["compile_lock_lines"] = lock_lines([run_dir / "logs/%compile-once/cmd1.cargo.log"])
    return result


def run(variant, n):
    target = targets / ("shared" if shared_target else variant)
    if n == 0 and os.environ.get("COLD") == "1" and not shared_target:
        shutil.rmtree(target, ignore_errors=True)
    name = f"tracing-{variant}-{n}"
    locklog = out / f"{name}.locks"
    locklog.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(CARGO_TARGET_DIR=str(target), PATH=f"{shim_dir}:{os.environ['PATH']}",
               BENCH_LOCKLOG=str(locklog), CARGO_TEK_NO_CACHE="1",
               # tracing's CI env.
               CARGO_INCREMENTAL="0", RUST_BACKTRACE="short")
    env.pop("CARGO_BUILD_JOBS", None)
    cpu0, start = cpu_seconds(), time.monotonic()
    if variant == "hand":
        result = run_hand(env, out / "tracing-hand-logs" / str(n))
    else:
        base = configure(variant)
        result = run_tek(variant, env, base, out / "tracing-runs" / variant, out / f"{name}.terminal.log")
    result.update(variant=variant, n=n, wall_s=round(time.monotonic() - start, 2),
                  cpu_s=round(cpu_seconds() - cpu0, 2))
    waits = [float(x) for x in locklog.read_text().split()] if locklog.exists() else []
    result["shim_lock_waits"] = len(waits)
    result["shim_lock_wait_s"] = round(sum(waits), 2)
    ts = result["tasks"].values()
    result["failed"] = [k for k, v in result["tasks"].items() if v["status"] not in ("ok", "flaky")]
    result["libtest"] = [sum(v["libtest"][i] for v in ts) for i in range(3)]
    result["doctests"] = [sum(v["doctests"][i] for v in ts) for i in range(3)]
    result["lock_lines"] = sum(v["lock_lines"] for v in ts) + result.get("compile_lock_lines", 0)
    if any("cargo_tests" in v for v in ts):
        result["cargo_tests"] = [sum(v.get("cargo_tests", [0, 0, 0])[i] for v in ts) for i in range(3)]
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name}: wall {result['wall_s']:.1f}s, cpu {result['cpu_s']:.1f}s, libtest {result['libtest']}, "
          f"lock lines {result['lock_lines']}, shim waits {len(waits)}, failed {result['failed']}", flush=True)
    return result


def report():
    rows = {}
    for p in out.glob("tracing-*-[0-9].json"):
        r = json.loads(p.read_text())
        rows[(r["variant"], r["n"])] = r
    order = ["hand", "shell", "once"]
    names = {"hand": "(1) by hand, in sequence", "shell": "(2) cargo-tek, shell agent",
             "once": "(3) cargo-tek, cargo agent + compile once"}
    lines = [f"| variant | run | wall s | CPU s | tasks ok / failed | libtest passed / failed / ignored "
             f"| of which doctests | cargo.tests p/f/i | lock-wait lines (shim waits, s) | failed tasks |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for v in order:
        for n in sorted(k[1] for k in rows if k[0] == v):
            r = rows[(v, n)]
            ok = len(r["tasks"]) - len(r["failed"])
            ct = "/".join(map(str, r["cargo_tests"])) if "cargo_tests" in r else "—"
            lines.append(f"| {names[v]} | {'warm' if n else 'first'} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                         f"{ok} / {len(r['failed'])} | {' / '.join(map(str, r['libtest']))} | "
                         f"{' / '.join(map(str, r.get('doctests', ['?'] * 3)))} | {ct} | "
                         f"{r['lock_lines']} ({r['shim_lock_waits']}, {r['shim_lock_wait_s']:.1f}) | "
                         f"{', '.join(r['failed']) or '—'} |")
    # Per task, warm runs (else the newest of each variant).
    latest = {v: rows[max((k for k in rows if k[0] == v), key=lambda k: k[1])]
              for v in order if any(k[0] == v for k in rows)}
    titles = {k: t[0] for k, t in tasks().items()}
    lines += ["", "| task | " + " | ".join(names[v] for v in latest) + " |",
              "| --- |" + " --- |" * len(latest)]
    for task in titles:
        cells = []
        for v, r in latest.items():
            e = r["tasks"].get(task)
            cells.append("—" if e is None else
                         f"{e['status']} {e['duration_s']:.1f}s " + "/".join(map(str, e["libtest"]))
                         + (" (doc " + "/".join(map(str, e["doctests"])) + ")" if any(e.get("doctests", [])) else ""))
        lines.append(f"| {task} {titles[task]} | " + " | ".join(cells) + " |")
    gate = []
    if "hand" in latest and "once" in latest:
        for task, e in latest["hand"]["tasks"].items():
            o = latest["once"]["tasks"].get(task)
            if e["status"] == "ok" and (o is None or o["status"] not in ("ok", "flaky")):
                gate.append(f"- FALSE FAILURE under compile once: {task} {titles[task]}: "
                            f"{o and o['status']}, rc {o and o['rc']}, reason {o and o.get('reason')}")
                gate += (o or {}).get("commands", []) + (o or {}).get("tail", [])
    if "hand" in latest and "once" in latest:
        # Outside doctests (which split tasks leave to TASK-005), by test name and outcome.
        lines += ["", "Tests outside doctests, by name and outcome, by hand against compile once:"]
        for task, e in latest["hand"]["tasks"].items():
            o = latest["once"]["tasks"].get(task, {})
            a, b = set(e.get("names", [])), set(o.get("names", []))
            if a or b:
                lines.append(f"- {task} {titles[task]}: {len(a)} by hand, {len(b)} under compile once, "
                             f"{len(a - b)} only by hand{(' (' + ', '.join(sorted(a - b)[:5]) + ')') if a - b else ''}, "
                             f"{len(b - a)} only under compile once"
                             f"{(' (' + ', '.join(sorted(b - a)[:5]) + ')') if b - a else ''}")
    lines += ["", "Gate (passes by hand ⇒ passes under compile once): "
              + ("held" if not gate else "BROKEN")] + gate
    if "once" in latest:
        lines += ["", "Suites under compile once (package/binary): " + ", ".join(latest["once"]["suites"])]
    (out / "tracing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if gate else 0


def rescan():
    """Recomputes the per-task test figures of every result in $OUT from its logs."""
    for p in out.glob("tracing-*-[0-9].json"):
        r = json.loads(p.read_text())
        for task, e in r["tasks"].items():
            if r["variant"] == "hand":
                logs = out / "tracing-hand-logs" / str(r["n"])
                text = [logs / f"{task}.stdout.log", logs / f"{task}.stderr.log"]
            else:
                run_dir = Path(r["run_dir"])
                record = json.loads((run_dir / "run.json").read_text())
                result = next(x for x in record["results"] if x["task"] == task)
                text = [run_dir / c[k] for c in result.get("commands", [])
                        for k in ("log", "stderr_log") if c.get(k)]
            e.update(libtest=totals(text), doctests=totals(text, True), names=test_names(text))
        ts = r["tasks"].values()
        r["libtest"] = [sum(v["libtest"][i] for v in ts) for i in range(3)]
        r["doctests"] = [sum(v["doctests"][i] for v in ts) for i in range(3)]
        p.write_text(json.dumps(r, indent=2) + "\n")


def main():
    if sys.argv[1:] == ["report"]:
        return report()
    if sys.argv[1:] == ["rescan"]:
        rescan()
        return report()
    plan = os.environ.get("PLAN", "hand:0 hand:1 shell:0 shell:1 once:0 once:1")
    for item in plan.split():
        v, n = item.split(":")
        run(v, int(n))
    return report()


if __name__ == "__main__":
    sys.exit(main())
