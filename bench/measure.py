#!/usr/bin/env python3
"""Round-robin timing of several commands, and the Markdown report of the results.

  measure.py run --workload NAME --out FILE.json [--rounds N] [--warmup W]
                 [--baseline TOOL | --ideal SECONDS] [--rss]
                 --cmd TOOL 'SHELL' [--prepare TOOL 'SHELL'] [--note TOOL 'TEXT']
                 [--skip TOOL 'REASON'] ...
      Runs every TOOL's command once per round, W warm-up rounds first (discarded),
      the tools interleaved round-robin with the starting tool rotated each round, so
      that drift in the machine's load is spread over all of them. A tool's --prepare
      command runs untimed just before each of its runs (e.g. to empty its output
      directory). Each run is `bash -c SHELL` under `/usr/bin/time -v` (with --rss or
      whenever it is installed), timed with time.perf_counter; peak RSS is time's
      "Maximum resident set size" (the largest of the process tree's members, children
      included). With --rss the measured process's own peak (VmHWM, without its
      children) is also sampled every 5 ms from /proc. A run
      exiting non-zero marks its tool failed: its stderr is kept and it gets no figures.
      A --skip tool is listed as not measured, with its reason.

  measure.py report FILE.json... [--md OUT.md]
      The Markdown table: median, min, ratio to the workload's baseline (or efficiency
      against its ideal time), peak RSS, and the verdict on each target.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TIME = "/usr/bin/time"


def rss_kib(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if "Maximum resident set size" in line:
                    return int(line.rsplit(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class OwnRss(threading.Thread):
    """Samples VmHWM (the peak RSS so far) of the measured process itself, not of its
    children, every few milliseconds. The measured process is the one `bash -c` execs
    into, so commands must end in a simple command or `exec CMD`."""

    def __init__(self, top, through_time):
        super().__init__(daemon=True)
        self.top, self.through_time = top, through_time
        self.peak = None
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            pids = children(self.top) if self.through_time else [self.top]
            for pid in pids[:1]:
                kib = vm_hwm_kib(pid)
                if kib is not None:
                    self.peak = kib if self.peak is None else max(self.peak, kib)
            self.stop.wait(0.005)


def run_once(cmd, use_time, sample_own, tmp):
    tfile = os.path.join(tmp, "time.txt")
    efile = os.path.join(tmp, "stderr.txt")
    argv = ["bash", "-c", cmd]
    if use_time:
        argv = [TIME, "-v", "-o", tfile] + argv
    with open(efile, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        sampler = None
        if sample_own:
            sampler = OwnRss(proc.pid, use_time)
            sampler.start()
        code = proc.wait()
        elapsed = time.perf_counter() - t0
        if sampler:
            sampler.stop.set()
            sampler.join()
    with open(efile, "rb") as f:
        stderr = f.read()[-4000:].decode("utf-8", "replace")
    tree = rss_kib(tfile) if use_time else None
    return elapsed, code, tree, (sampler.peak if sampler else None), stderr


def cmd_run(a):
    tools = [name for name, _ in a.cmd]
    cmds = dict(a.cmd)
    skips = dict(a.skip or [])
    prepare = dict(a.prepare or [])
    notes = dict(a.note or [])
    use_time = os.access(TIME, os.X_OK)
    if a.rss and not use_time:
        print(f"measure: {TIME} missing: peak RSS not measured (apt-get install time)", file=sys.stderr)
    res = {t: {"samples": [], "rss_kib": [], "own_kib": [], "failed": None} for t in tools}
    tmp = tempfile.mkdtemp(prefix="tek-measure-")
    total = a.warmup + a.rounds
    try:
        for r in range(total):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for t in order:
                if res[t]["failed"]:
                    continue
                if t in prepare:
                    subprocess.run(["bash", "-c", prepare[t]], check=True)
                elapsed, code, rss, own, stderr = run_once(cmds[t], use_time, a.rss, tmp)
                if code != 0:
                    res[t]["failed"] = f"exit {code}: {stderr.strip()[-600:]}"
                    print(f"measure: {a.workload}/{t} failed ({code}):\n{stderr}", file=sys.stderr)
                    continue
                if r >= a.warmup:
                    res[t]["samples"].append(elapsed)
                    if rss is not None:
                        res[t]["rss_kib"].append(rss)
                    if own is not None:
                        res[t]["own_kib"].append(own)
            done = "warm-up" if r < a.warmup else f"round {r - a.warmup + 1}/{a.rounds}"
            print(f"  {a.workload}: {done}: " + ", ".join(
                f"{t} {res[t]['samples'][-1]:.3f}s" if res[t]["samples"] and r >= a.warmup else t
                for t in tools if not res[t]["failed"]), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {
        "workload": a.workload,
        "rounds": a.rounds,
        "warmup": a.warmup,
        "baseline": a.baseline,
        "ideal": a.ideal,
        "rss": a.rss,
        "tools": [
            {
                "name": t,
                "command": cmds[t],
                "note": notes.get(t),
                "failed": res[t]["failed"],
                "skipped": None,
                "samples": res[t]["samples"],
                "median": statistics.median(res[t]["samples"]) if res[t]["samples"] else None,
                "min": min(res[t]["samples"]) if res[t]["samples"] else None,
                "peak_rss_kib": max(res[t]["rss_kib"]) if res[t]["rss_kib"] else None,
                "own_rss_kib": max(res[t]["own_kib"]) if res[t]["own_kib"] else None,
            }
            for t in tools
        ] + [
            {"name": t, "command": None, "note": None, "failed": None, "skipped": why,
             "samples": [], "median": None, "min": None, "peak_rss_kib": None,
             "own_rss_kib": None}
            for t, why in skips.items()
        ],
    }
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------- report

TEK = "cargo-tek"
CEILING = "ceiling (1 slot)"
TOKIO_FLOOR = "tokio floor"


def by_name(w):
    return {t["name"]: t for t in w["tools"]}


def fmt_s(x):
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.2f}")


def targets(w):
    """The verdicts for one workload: a list of (target, verdict) strings."""
    tools = by_name(w)
    name = w["workload"]

    def med(t):
        x = tools.get(t)
        return x["median"] if x else None

    out = []

    def ratio_target(label, tek_tool, base_tool, limit):
        a, b = med(tek_tool), med(base_tool)
        if a is None:
            out.append((label, f"not measured ({tek_tool} {why(tek_tool)})"))
        elif b is None:
            out.append((label, f"not measured ({base_tool} {why(base_tool)})"))
        else:
            out.append((label, f"{'met' if a <= b * limit else 'NOT met'} ({a / b:.2f}×)"))

    def why(t):
        x = tools.get(t)
        if x is None:
            return "was not run"
        if x.get("skipped"):
            return "skipped: " + x["skipped"]
        return "failed" if x["failed"] else "has no samples"

    def against_tokio_floor():
        # Context, not a target: how much of the gap is the Tokio model itself.
        a, t, f = med(TEK), med(TOKIO_FLOOR), med("floor")
        if None not in (a, t, f):
            out.append(("(context) the tokio floor; cargo-tek over it",
                        f"tokio floor {t / f:.2f}× floor; cargo-tek {a / t:.2f}× the tokio floor"))

    if name == "spawn1000":
        ratio_target("cargo-tek ≤ 1.2× floor", TEK, "floor", 1.2)
        ratio_target("cargo-tek ≤ make -j4", TEK, "make -j4", 1.0)
        against_tokio_floor()
    elif name == "sleep200":
        m = med(TEK)
        if m is None:
            out.append(("cargo-tek ≥ 95% of ideal", f"not measured ({TEK} {why(TEK)})"))
        else:
            e = w["ideal"] / m
            verdict = f"{'met' if e >= 0.95 else 'NOT met'} ({e:.1%})"
            c = med(CEILING)
            if c is not None:
                verdict += (f"; the ceiling on this machine is {w['ideal'] / c:.1%} (one slot's "
                            f"tasks back to back take {c:.3f} s), and cargo-tek reaches "
                            f"{c / m:.1%} of it")
            out.append(("cargo-tek ≥ 95% of ideal", verdict))
    elif name == "output100":
        ratio_target("cargo-tek ≤ 1.1× floor", TEK, "floor", 1.1)
        against_tokio_floor()
        t = tools.get(TEK)
        if t is None or t["peak_rss_kib"] is None:
            out.append(("cargo-tek peak RSS < 16 MiB", "not measured"))
        else:
            r = t["peak_rss_kib"] / 1024
            verdict = f"{'met' if r < 16 else 'NOT met'} ({r:.1f} MiB, process tree)"
            own = t.get("own_rss_kib")
            if own is not None:
                verdict += f"; cargo-tek's own process: {own / 1024:.1f} MiB"
            out.append(("cargo-tek peak RSS < 16 MiB", verdict))
    elif name == "bigsot":
        a, b = med(f"{TEK} (legacy)"), med("predecessor.py (legacy)")
        label = "cargo-tek (legacy) faster than predecessor.py"
        if a is None or b is None:
            out.append((label, "not measured"))
        else:
            out.append((label, f"{'met' if a < b else 'NOT met'} ({b / a:.1f}× faster)" if a < b
                        else f"NOT met ({a / b:.2f}× slower)"))
        ratio_target("cargo-tek (native) ≤ 1.5× rawparse", f"{TEK} (native)", "rawparse (native)", 1.5)
        ratio_target("cargo-tek (legacy) ≤ 1.5× rawparse", f"{TEK} (legacy)", "rawparse (legacy)", 1.5)
    return out


def base_for(w, tool):
    """The baseline a tool's ratio is taken against, and its label."""
    if w["workload"] == "bigsot":
        form = "(legacy)" if tool["name"].endswith("(legacy)") else "(native)"
        b = by_name(w).get(f"rawparse {form}")
        return (b["median"] if b else None), f"rawparse {form}"
    b = by_name(w).get(w["baseline"]) if w["baseline"] else None
    return (b["median"] if b else None), w["baseline"]


def cmd_report(a):
    works = []
    for p in a.files:
        with open(p, encoding="utf-8") as f:
            works.append(json.load(f))
    lines = [
        "| Workload | Tool | Median (s) | Min (s) | Ratio | Peak RSS, tree (MiB) | Own RSS (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    notes = []
    tool_notes = {}
    for w in works:
        for t in w["tools"]:
            if t["median"] is None:
                if t.get("skipped"):
                    why = t["skipped"]
                elif t["failed"]:
                    why = "failed: " + " ".join(t["failed"].split())[:300]
                else:
                    why = "no samples"
                lines.append(f"| {w['workload']} | {t['name']} | not measured | | | | |")
                notes.append(f"- {w['workload']} / {t['name']}: not measured: {why}")
                continue
            if w.get("ideal"):
                ratio = f"{w['ideal'] / t['median']:.1%} of ideal"
            else:
                b, label = base_for(w, t)
                ratio = "—" if b is None else ("1.00 (baseline)" if t["median"] == b
                                                else f"{t['median'] / b:.2f}× {label}")
            rss = "—" if t["peak_rss_kib"] is None else f"{t['peak_rss_kib'] / 1024:.1f}"
            own = "—" if t.get("own_rss_kib") is None else f"{t['own_rss_kib'] / 1024:.1f}"
            lines.append(f"| {w['workload']} | {t['name']} | {fmt_s(t['median'])} | {fmt_s(t['min'])} "
                         f"| {ratio} | {rss} | {own} |")
            if t.get("note"):
                key = (t["name"], t["note"])
                if key not in tool_notes:
                    tool_notes[key] = []
                tool_notes[key].append(w["workload"])
    rounds = sorted({(w["rounds"], w["warmup"]) for w in works})
    lines.append("")
    lines.append(f"Rounds: {', '.join(f'{r} (after {wu} warm-up)' for r, wu in rounds)}; "
                 "tools interleaved round-robin. Ratios are of medians. "
                 "Peak RSS, tree: /usr/bin/time's maximum resident set size, the largest single "
                 "process of the tree (children included). Own RSS: the measured process alone "
                 "(VmHWM sampled every 5 ms; workloads run with --rss only). Both are the largest "
                 "over the measured rounds.")
    lines += ["", "| Target | Verdict |", "| --- | --- |"]
    for w in works:
        for label, verdict in targets(w):
            lines.append(f"| {w['workload']}: {label} | {verdict} |")
    notes += [f"- {name} ({', '.join(ws)}): {note}" for (name, note), ws in tool_notes.items()]
    if notes:
        lines += ["", "Notes:", ""] + notes
    text = "\n".join(lines) + "\n"
    if a.md:
        with open(a.md, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run")
    r.add_argument("--workload", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--rounds", type=int, default=5)
    r.add_argument("--warmup", type=int, default=1)
    r.add_argument("--baseline")
    r.add_argument("--ideal", type=float)
    r.add_argument("--rss", action="store_true")
    r.add_argument("--cmd", nargs=2, action="append", required=True, metavar=("TOOL", "SHELL"))
    r.add_argument("--prepare", nargs=2, action="append", metavar=("TOOL", "SHELL"))
    r.add_argument("--note", nargs=2, action="append", metavar=("TOOL", "TEXT"))
    r.add_argument("--skip", nargs=2, action="append", metavar=("TOOL", "REASON"))
    q = sub.add_parser("report")
    q.add_argument("files", nargs="+")
    q.add_argument("--md")
    a = p.parse_args()
    if a.what == "run":
        if a.rounds < 1:
            p.error("--rounds must be at least 1")
        cmd_run(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
