#!/usr/bin/env python3
"""A stand-in for the predecessor's legacy planner, for benchmarking only.

It follows the rules of the predecessor's public planner (`planner.py`), stated as
facts, the same rules src/sot/predecessor.rs applies to warn about tasks the predecessor
planned and cargo-tek does not; it is not the predecessor's code. The rules:

  * the section starts at the first line whose text, stripped, starts with
    `### G. Execution Queue & Task Hooks`;
  * it ends at the first later line that starts with `## `, or with `### ` but not
    `### G.` (a `# ` heading or a second `### G. ...` heading does not end it);
  * every line is read on its own: no code fences, no HTML comments;
  * a queue opens at a line matching QUEUE below (`N.`, an em dash, nothing after the
    closing `**`), named by its bold text;
  * a line whose stripped text starts with `- Tasks:` adds every `TASK-NNN` in
    backticks (three or more digits, nothing else inside) to the current queue, titled
    by its id, with a layer by its number: 1-21 foundation, 22-29 orchestration,
    30-41 platform, 42-53 services, 54-61 monitoring, anything else execution;

and it prints {version, source, generated_at, queues: [{name, tasks: [{id, title,
layer}]}]} as JSON. Read its timings as "these rules in CPython", not as the
predecessor's exact figures.

With --hooks FILE it also reads hooks.json and attaches to each task the commands it
runs (its own hook, else its queue's), as the predecessor's runner did before running:
the "predecessor with hooks" row of the bigsot benchmark.

usage: predecessor_plan.py SOT.md [--hooks FILE] [--out FILE]
"""

import datetime
import json
import re
import sys

SECTION_LINE = "### G. Execution Queue & Task Hooks"
QUEUE = re.compile(r"^\s*\d+\.\s*\*\*(Queue\s+([A-Z])\s+\u2014\s+(.+?))\*\*\s*$")
TASK_ID = re.compile(r"`(TASK-([0-9]{3,}))`")


def layer(number):
    if 1 <= number <= 21:
        return "foundation"
    if 22 <= number <= 29:
        return "orchestration"
    if 30 <= number <= 41:
        return "platform"
    if 42 <= number <= 53:
        return "services"
    if 54 <= number <= 61:
        return "monitoring"
    return "execution"


def ends_section(line):
    return line.startswith("## ") or (line.startswith("### ") and not line.startswith("### G."))


def plan(path):
    # Lines split at "\n" only, a trailing "\r" dropped: as src/sot/predecessor.rs does.
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line.rstrip("\r") for line in f.read().split("\n")]
    queues = []
    inside = False
    for line in lines:
        stripped = line.lstrip()
        if not inside:
            inside = stripped.startswith(SECTION_LINE)
            continue
        if ends_section(line):
            break
        if stripped.startswith("- Tasks:"):
            if queues:
                for tid, num in TASK_ID.findall(line):
                    queues[-1]["tasks"].append({"id": tid, "title": tid, "layer": layer(int(num))})
            continue
        m = QUEUE.match(line)
        if m:
            queues.append({"name": m.group(1), "tasks": []})
    return {
        "version": 1,
        "source": path,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "queues": queues,
    }


def attach_hooks(result, hooks_path):
    with open(hooks_path, encoding="utf-8") as f:
        hooks = json.load(f)
    for queue in result["queues"]:
        queue_hook = hooks.get(queue["name"])
        for task in queue["tasks"]:
            hook = hooks.get(task["id"], queue_hook)
            task["commands"] = hook.get("commands", []) if hook else []
    return result


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 1
    usage = "usage: predecessor_plan.py SOT.md [--hooks FILE] [--out FILE]"
    sot, rest = argv[0], argv[1:]
    options = {}
    while rest:
        if len(rest) < 2 or rest[0] not in ("--out", "--hooks"):
            print(usage, file=sys.stderr)
            return 1
        options[rest[0]] = rest[1]
        rest = rest[2:]
    out = options.get("--out")
    result = plan(sot)
    if "--hooks" in options:
        result = attach_hooks(result, options["--hooks"])
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
