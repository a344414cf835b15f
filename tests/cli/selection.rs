//! `cargo tek run` selection (positional ids, `--queue` by letter or name, `--with-deps`)
//! and the terminal output people read: `-q`, plurals, done tasks, escaped titles.

use crate::harness::Workspace;

const SOT: &str = "# Plan
## Queue A — Build
- [x] `TASK-001` Pin the toolchain
- [ ] `TASK-002` Build
## Queue B — Quality gates
- [ ] `TASK-011` Unit tests — after `TASK-002`
- [ ] `TASK-012` Docs — after `TASK-011`
## Queue C — Quality checks
- [ ] `TASK-020` Lint
";

fn ws() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", SOT);
    ws.file(
        "config/hooks.json",
        r#"{"Queue A — Build": {"commands": [{"cmd": ["true"]}]},
            "Queue B — Quality gates": {"commands": [{"cmd": ["true"]}]},
            "Queue C — Quality checks": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws
}

/// The ids of the latest run's results, in order.
fn ran(ws: &Workspace) -> Vec<String> {
    let text = std::fs::read_to_string(ws.latest_run().join("run.json")).unwrap();
    let run: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut ids: Vec<String> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn positional_ids_select_tasks_and_with_deps_adds_what_they_wait_for() {
    let ws = ws();
    let err = ws
        .tek(&["run", "TASK-011", "TASK-012"])
        .output()
        .expect_code(0)
        .stderr();
    assert_eq!(ran(&ws), ["TASK-011", "TASK-012"]);
    assert!(err.contains("Running 2 tasks on"), "{err}");
    ws.tek(&["run", "--only", "TASK-012"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&ws), ["TASK-012"]);
    ws.tek(&["run", "TASK-012", "--with-deps"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&ws), ["TASK-002", "TASK-011", "TASK-012"]);
    let err = ws
        .tek(&["run", "task-011"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("`task-011` is not a task in the plan; did you mean `TASK-011`?"),
        "{err}"
    );
}

#[test]
fn queues_are_chosen_by_letter_or_short_name_and_ambiguity_is_an_error() {
    let ws = ws();
    for query in [
        "B",
        "b",
        "Quality gates",
        "quality GATES",
        "Queue B — Quality gates",
    ] {
        ws.tek(&["run", "--queue", query]).output().expect_code(0);
        assert_eq!(ran(&ws), ["TASK-011", "TASK-012"], "{query}");
    }
    ws.file(
        "sot.md",
        format!("{SOT}## Queue B — Again\n- [ ] `TASK-030` More\n"),
    );
    let err = ws
        .tek(&["run", "--queue", "b"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("--queue `b` matches 2 queues: Queue B — Quality gates, Queue B — Again"),
        "{err}"
    );
    let err = ws
        .tek(&["run", "--queue", "Z"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("--queue `Z` matches no queue"), "{err}");
}

#[test]
fn a_done_task_is_mentioned_not_dropped() {
    let ws = ws();
    let err = ws.tek(&["run"]).output().expect_code(0).stderr();
    assert!(
        err.contains("Skipping 1 done task (checked in sot.md); --include-done runs it"),
        "{err}"
    );
    assert!(err.contains("Running 4 tasks"), "{err}");
    let err = ws
        .tek(&["run", "--include-done"])
        .output()
        .expect_code(0)
        .stderr();
    assert!(!err.contains("Skipping"), "{err}");
    assert!(err.contains("Running 5 tasks"), "{err}");
}

#[test]
fn quiet_hides_passes_only() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` passes\n- `TASK-2` fails\n- `TASK-3` hangs\n- `TASK-4` waits — after `TASK-2`\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"cmd": ["true"]}]},
        "TASK-2": {"commands": [{"cmd": ["false"]}]},
        "TASK-3": {"commands": [{"cmd": ["sleep", "30"], "timeout": "200ms"}]},
        "TASK-4": {"commands": [{"cmd": ["true"]}]}
    }"#,
    );
    let err = ws
        .tek(&["run", "-q", "--grace-period", "100ms"])
        .output()
        .expect_code(2)
        .stderr();
    assert!(!err.contains("TASK-1"), "{err}");
    assert!(err.contains("Failed TASK-2"), "{err}");
    assert!(err.contains("Timeout TASK-3"), "{err}");
    assert!(err.contains("Skipped TASK-4"), "{err}");
    assert!(
        err.contains("4 tasks in ") && err.contains(": 1 passed, 1 failed, 1 timed out, 1 skipped"),
        "{err}"
    );
}

#[test]
fn words_agree_with_numbers_and_cancelled_is_said_once() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` slow\n- `TASK-2` fails\n");
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"cmd": ["sleep", "30"]}]},
        "TASK-2": {"commands": [{"shell": "sleep 0.2; exit 1"}]}
    }"#,
    );
    let err = ws
        .tek(&["run", "--fail-fast", "-j", "2", "--grace-period", "1s"])
        .output()
        .expect_code(2)
        .stderr();
    assert!(err.contains("Running 2 tasks on 2 workers"), "{err}");
    let cancelled = err
        .lines()
        .find(|l| l.contains("Cancelled TASK-1"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(!cancelled.contains("— cancelled"), "{cancelled}");
    assert!(!err.contains("task(s)"), "{err}");
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let err = ws.tek(&["run", "-j", "1"]).output().expect_code(0).stderr();
    assert!(err.contains("Running 1 task on 1 worker ("), "{err}");
    assert!(err.contains("1 task in "), "{err}");
}

#[test]
fn titles_ids_and_queue_names_are_escaped_for_the_terminal() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue A — \u{1b}[31mred\n- `TASK-1` clear \u{1b}]0;pwned\u{7} screen \u{1b}[2J\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["false"]}]}}"#,
    );
    let out = ws.tek(&["run"]).output().expect_code(2);
    let err = out.stderr();
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("clear \\u{1b}]0;pwned\\u{7} screen"), "{err}");
    assert!(err.contains("Queue A — \\u{1b}[31mred"), "{err}");
    let plan = ws.tek(&["plan"]).output().expect_code(0).stdout();
    assert!(!plan.contains('\u{1b}'), "{plan:?}");
    assert!(plan.contains("\\u{1b}[2J"), "{plan}");
    // An error whose snippet shows such a line escapes it too.
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` a \u{1b}[2J\n- `TASK-1` b \u{1b}[2J\n",
    );
    let err = ws.tek(&["plan"]).output().expect_code(1).stderr();
    assert!(err.contains("duplicate task id"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn the_plan_view_explains_layers() {
    let ws = ws();
    let text = ws.tek(&["plan"]).output().expect_code(0).stdout();
    assert!(!text.contains("<execution>"), "{text}");
    assert!(
        text.contains("layer execution, runs on shell (queue hook):"),
        "{text}"
    );
    assert!(
        text.starts_with(
            "plan of sot.md: 3 queues, 5 tasks (1 done, skipped by `run` unless --include-done)"
        ),
        "{text}"
    );
}
