#!/usr/bin/env python3
"""A re-implementation of the predecessor's legacy planner, for benchmarking only.

The predecessor's source is not available here. This script follows its documented
algorithm as cargo-tek's legacy grammar preserves it (src/sot/legacy.rs): a regex,
line-based pass over sot.md that

  * finds the heading `G. Execution Queue & Task Hooks` (any level) and reads up to the
    next heading of the same or a higher level;
  * opens a queue at each numbered item whose bold text is `Queue <LETTER> — <name>`;
  * adds the code-span ids (`TASK-` and three or more digits) of each indented
    `- Tasks:` sub-item to the current queue, titled by their id;
  * assigns each task a layer by its number: 1-21 foundation, 22-29 orchestration,
    30-41 platform, 42-53 services, 54-61 monitoring, anything else execution;

and prints {version, source, generated_at, queues: [{name, tasks: [{id, title, layer}]}]}
as JSON. It is a stand-in with the same algorithm, not the predecessor's code: read its
timings as "this algorithm in CPython", not as the predecessor's exact figures.

With --hooks FILE it also reads hooks.json and attaches to each task the commands it
runs (its own hook, else its queue's), as the predecessor's runner did before running:
the "predecessor with hooks" row of the bigsot benchmark.

usage: predecessor_plan.py SOT.md [--hooks FILE] [--out FILE]
"""

import datetime
import json
import re
import sys

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SECTION = re.compile(r"^G\. Execution Queue & Task Hooks")
QUEUE = re.compile(r"^\s*\d+[.)]\s+\*\*(Queue [A-Z] — \S.*?)\*\*")
TASKS = re.compile(r"^\s+[-*+]\s+Tasks:(.*)$")
TASK_ID = re.compile(r"`\s*(TASK-(\d{3,}))\s*`")


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


def plan(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    queues = []
    level = None  # the section heading's level once inside it
    fenced = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        m = HEADING.match(line)
        if m:
            if level is not None and len(m.group(1)) <= level:
                break
            if level is None and SECTION.match(m.group(2)):
                level = len(m.group(1))
            continue
        if level is None:
            continue
        m = QUEUE.match(line)
        if m:
            queues.append({"name": m.group(1).strip(), "tasks": []})
            continue
        m = TASKS.match(line)
        if m and queues:
            for tid, num in TASK_ID.findall(m.group(1)):
                queues[-1]["tasks"].append({"id": tid, "title": tid, "layer": layer(int(num))})
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
