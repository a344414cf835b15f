//! `cargo tek run`: real processes, evidence, exit codes.

use std::time::{Duration, Instant};

use crate::harness::{result, run_json, Workspace};

#[test]
fn dependency_order_failures_skip_dependents_and_exit_2() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` first\n- `TASK-2` second — after `TASK-1`\n- `TASK-3` broken\n- `TASK-4` needs broken — after `TASK-3`\n- [x] `TASK-5` done already\n");
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"shell": "sleep 0.2; echo one >> order.txt"}]},
        "TASK-2": {"commands": [{"shell": "echo two >> order.txt"}]},
        "TASK-3": {"commands": [{"cmd": ["sh", "-c", "echo boom >&2; exit 7"]}]},
        "TASK-4": {"commands": [{"cmd": ["true"]}]},
        "TASK-5": {"commands": [{"cmd": ["false"]}]}
    }"#,
    );
    let out = ws
        .tek(&["run", "--max-workers", "4"])
        .output()
        .expect_code(2);
    assert_eq!(
        std::fs::read_to_string(ws.join("order.txt")).unwrap(),
        "one\ntwo\n"
    );
    let run = run_json(&ws);
    assert_eq!(run["status"], "error");
    assert_eq!(result(&run, "TASK-1")["status"], "ok");
    let t3 = result(&run, "TASK-3");
    assert_eq!(t3["status"], "error");
    assert_eq!(t3["commands"][0]["rc"], 7);
    let t4 = result(&run, "TASK-4");
    assert_eq!(t4["status"], "skipped");
    assert!(t4["reason"].as_str().unwrap().contains("TASK-3"));
    assert!(
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["task"] != "TASK-5"),
        "done tasks are not run"
    );
    assert!(
        out.stderr().contains("boom"),
        "first failure's log tail is shown: {}",
        out.stderr()
    );
    // Evidence: the stderr log holds exactly what the child wrote (no header, no
    // padding), journal and JUnit present.
    let dir = ws.latest_run();
    let log = std::fs::read(dir.join(t3["commands"][0]["stderr_log"].as_str().unwrap())).unwrap();
    assert_eq!(log, b"boom\n");
    let journal = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(journal.lines().last().unwrap().contains("run_finished"));
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<failure") && junit.contains("TASK-3"),
        "{junit}"
    );
    assert!(
        junit.contains("boom"),
        "a failure carries its output: {junit}"
    );
    assert!(
        !junit.contains("system-out"),
        "passing tasks carry none: {junit}"
    );
    // --include-done runs the done task too.
    ws.tek(&["run", "--include-done", "--only", "TASK-5"])
        .output()
        .expect_code(2);
}

#[test]
fn dry_run_spawns_nothing_and_records_what_would_run() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` would write\n- `TASK-2` no hook\n",
    );
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"cmd": ["touch", "spawned"], "env": {"A": "1"}, "timeout": "90s"}]}}"#);
    ws.tek(&["plan", "--out", "plan.json"])
        .output()
        .expect_code(0);
    ws.tek(&[
        "run",
        "--plan",
        "plan.json",
        "--dry-run",
        "--max-workers",
        "4",
    ])
    .output()
    .expect_code(0);
    assert!(!ws.join("spawned").exists());
    let run = run_json(&ws);
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["status"], "noop");
    assert_eq!(
        t1["commands"][0]["cmd"],
        serde_json::json!(["touch", "spawned"])
    );
    assert_eq!(t1["commands"][0]["env"], serde_json::json!(["A"]));
    assert_eq!(t1["commands"][0]["timeout_ms"], 90_000);
    assert!(t1["reason"].as_str().unwrap().contains("task hook"));
    assert_eq!(result(&run, "TASK-2")["status"], "noop");
}

#[test]
fn tokens_never_reach_tasks_unless_passed_through() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` env dump\n- `TASK-2` passes one\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["env"]}]},
        "TASK-2": {"commands": [{"cmd": ["env"]},
            {"shell": "test \"$GH_TOKEN\" = sentinel-GH_TOKEN-value && echo passed-through"}],
            "pass_env": ["GH_TOKEN"]}}"#,
    );
    let mut run = ws.tek(&["run"]);
    for key in [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_CACHE_URL",
        "INPUT_GITHUB-TOKEN",
    ] {
        run = run.env(key, format!("sentinel-{key}-value"));
    }
    run.output().expect_code(0);
    let dir = ws.latest_run();
    let t1 = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert!(!t1.contains("sentinel"), "{t1}");
    assert!(t1.contains("TEK_TASK_ID=TASK-1"));
    let t2 = std::fs::read_to_string(dir.join("logs/TASK-2/attempt1-cmd1.stdout.log")).unwrap();
    // The task sees the value; its log, like all evidence, holds it masked.
    assert!(t2.contains("GH_TOKEN=***"), "{t2}");
    assert!(!t2.contains("GITHUB_TOKEN"));
    let check = std::fs::read_to_string(dir.join("logs/TASK-2/attempt1-cmd2.stdout.log")).unwrap();
    assert_eq!(check, "passed-through\n");
}

#[test]
fn retries_mark_flaky_and_rerun_failed_runs_only_failures() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` flaky\n- `TASK-2` fails once\n- `TASK-3` passes\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"shell": "test -f f1 || { touch f1; exit 1; }"}], "retries": 2},
        "TASK-2": {"commands": [{"shell": "test -f f2 || { touch f2; exit 1; }"}]},
        "TASK-3": {"commands": [{"shell": "echo x >> t3"}]}
    }"#,
    );
    ws.tek(&["run"]).output().expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-1")["status"], "flaky");
    assert_eq!(result(&run, "TASK-1")["attempts"], 2);
    assert_eq!(result(&run, "TASK-2")["status"], "error");
    std::thread::sleep(Duration::from_millis(5));
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    let run = run_json(&ws);
    // Only TASK-2 ran; the others' results are carried forward from the first run.
    let ran: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["carried_from"].is_null())
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["TASK-2"]);
    assert_eq!(result(&run, "TASK-2")["status"], "ok");
    assert_eq!(result(&run, "TASK-1")["status"], "flaky");
    assert_eq!(run["results"].as_array().unwrap().len(), 3);
    assert_eq!(
        std::fs::read_to_string(ws.join("t3")).unwrap(),
        "x\n",
        "TASK-3 was not run again"
    );
}

#[test]
fn fail_fast_cancels_running_tasks_and_skips_the_rest() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` slow\n- `TASK-2` fails\n- `TASK-3` later — after `TASK-1`\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"cmd": ["sleep", "30"]}]},
        "TASK-2": {"commands": [{"shell": "sleep 0.2; exit 1"}]},
        "TASK-3": {"commands": [{"cmd": ["true"]}]}
    }"#,
    );
    let started = Instant::now();
    ws.tek(&[
        "run",
        "--fail-fast",
        "--max-workers",
        "2",
        "--grace-period",
        "1s",
    ])
    .output()
    .expect_code(2);
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-1")["status"], "cancelled");
    assert_eq!(result(&run, "TASK-2")["status"], "error");
    assert_eq!(result(&run, "TASK-3")["status"], "skipped");
}

#[test]
fn a_missing_program_or_a_cwd_outside_is_refused_before_anything_runs() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` fine\n- `TASK-2` missing program\n- `TASK-3` escapes\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"shell": "touch ran"}]},
  "TASK-2": {"commands": [{"cmd": ["no-such-program-xyz"]}]},
  "TASK-3": {"commands": [{"cmd": ["true"], "cwd": "../"}]}
}"#,
    );
    let out = ws.tek(&["run"]).output().expect_code(1);
    let err = out.stderr();
    assert!(
        err.contains("config/hooks.json:3:3: hook `TASK-2`, command 1: program `no-such-program-xyz` was not found"),
        "{err}"
    );
    assert!(
        err.contains("config/hooks.json:4:3: hook `TASK-3`, command 1:"),
        "{err}"
    );
    assert!(!ws.join("ran").exists(), "no task started");
    assert!(!ws.join(crate::harness::RUNS).exists(), "no run was made");
    // A run of the task that is fine needs only its own tools.
    ws.tek(&["run", "TASK-1"]).output().expect_code(0);
    assert!(ws.join("ran").exists());
}

#[test]
fn timeouts_and_programs_gone_at_run_time_are_task_errors() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` hangs\n- `TASK-2` removes the tool\n- `TASK-3` tool is gone — after `TASK-2`\n- `TASK-4` fine\n",
    );
    // Present when the run starts (so preflight passes), deleted by TASK-2 before
    // TASK-3 starts: the spawn error is the task's.
    ws.file("tool.sh", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(
        ws.join("tool.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"cmd": ["sleep", "30"], "timeout": "300ms"}]},
        "TASK-2": {"commands": [{"cmd": ["rm", "tool.sh"]}]},
        "TASK-3": {"commands": [{"cmd": ["./tool.sh"]}]},
        "TASK-4": {"commands": [{"cmd": ["true"]}]}
    }"#,
    );
    ws.tek(&["run", "--grace-period", "200ms"])
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-1")["status"], "timeout");
    assert_eq!(result(&run, "TASK-1")["commands"][0]["timed_out"], true);
    let t3 = result(&run, "TASK-3");
    assert_eq!(t3["status"], "error", "{t3}");
    assert!(
        t3["commands"][0]["error"]
            .as_str()
            .unwrap()
            .contains("No such file"),
        "{t3}"
    );
    assert_eq!(result(&run, "TASK-4")["status"], "ok");
}

#[test]
fn big_output_arrives_byte_exact_on_both_streams() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` loud\n");
    // 20 MiB on each stream, with a pattern so any loss or reordering shows.
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"shell": "seq 1 3000000 | head -c 20971520; seq 3000000 -1 1 | head -c 20971520 >&2"}]}}"#);
    ws.tek(&["run"]).output().expect_code(0);
    let dir = ws.latest_run();
    let expect = |args: &str| {
        std::process::Command::new("sh")
            .args(["-c", args])
            .output()
            .unwrap()
            .stdout
    };
    // The logs hold the child's bytes and nothing else.
    let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
    let out = read("logs/TASK-1/attempt1-cmd1.stdout.log");
    let err = read("logs/TASK-1/attempt1-cmd1.stderr.log");
    assert_eq!(out.len(), 20 * 1024 * 1024);
    assert!(out == expect("seq 1 3000000 | head -c 20971520"));
    assert!(err == expect("seq 3000000 -1 1 | head -c 20971520"));
}

#[test]
fn on_github_actions_output_is_grouped_and_cannot_inject_commands() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` injector\n");
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"shell": "echo '::error::injected'; echo '::add-mask::x'; exit 1"}]}}"#);
    let out = ws
        .tek(&["run"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect_code(2);
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    let group = lines
        .iter()
        .position(|l| l.starts_with("::group::"))
        .expect("a group per task");
    let stop = lines[group + 1]
        .strip_prefix("::stop-commands::")
        .expect("output fenced by stop-commands");
    assert!(stop.len() >= 32, "an unguessable token");
    let injected = lines
        .iter()
        .position(|l| *l == "::error::injected")
        .unwrap();
    let resume = lines
        .iter()
        .position(|l| *l == format!("::{stop}::"))
        .unwrap();
    assert!(
        group + 1 < injected && injected < resume,
        "task output sits inside the stop-commands fence:\n{stdout}"
    );
    assert_eq!(lines[resume + 1], "::endgroup::");
    assert!(
        lines[resume + 2..]
            .iter()
            .any(|l| l.starts_with("::error file=sot.md,line=2,title=cargo-tek TASK-1::")),
        "{stdout}"
    );
}

#[test]
fn leaked_background_processes_are_killed_and_recorded() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` leaves a child holding stdout\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "sleep 30 & echo started"}]}}"#,
    );
    let started = Instant::now();
    ws.tek(&["run"]).output().expect_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the run must not wait for the background child"
    );
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-1")["commands"][0]["leaked"], true);
}

#[test]
fn color_choice_is_passed_to_child_cargo_commands() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` env\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "echo color=$CARGO_TERM_COLOR"}]}}"#,
    );
    ws.tek(&["run", "--color", "always"])
        .output()
        .expect_code(0);
    let dir = ws.latest_run();
    let log = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert!(log.ends_with("color=always\n"), "{log}");
}

#[test]
fn continue_on_error_runs_the_rest_and_still_fails_the_task() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` all commands\n- `TASK-2` stops early\n",
    );
    ws.file("config/hooks.json", r#"{
        "TASK-1": {"commands": [{"cmd": ["false"], "continue_on_error": true}, {"shell": "touch second-ran"}]},
        "TASK-2": {"commands": [{"cmd": ["false"]}, {"shell": "touch never"}]}
    }"#);
    ws.tek(&["run"]).output().expect_code(2);
    assert!(ws.join("second-ran").exists());
    assert!(!ws.join("never").exists());
    let run = run_json(&ws);
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["status"], "error");
    assert_eq!(t1["commands"].as_array().unwrap().len(), 2);
    assert_eq!(t1["commands"][1]["rc"], 0);
    assert_eq!(
        result(&run, "TASK-2")["commands"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn a_team_id_pattern_from_the_manifest_plans_and_runs() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Ops\n- `OPS-12` rotate keys\n- `OPS-13` deploy — after `OPS-12`\n- `TASK-1` prose, not a task here\n");
    ws.file("config/manifest.json", r#"{"id_pattern": "OPS-[0-9]+"}"#);
    ws.file(
        "config/hooks.json",
        r#"{"Ops": {"commands": [{"shell": "echo $TEK_TASK_ID >> order"}]}}"#,
    );
    ws.tek(&["run", "-j", "2"]).output().expect_code(0);
    assert_eq!(
        std::fs::read_to_string(ws.join("order")).unwrap(),
        "OPS-12\nOPS-13\n"
    );
}

#[test]
fn run_report_writes_the_job_summary_at_the_end() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let summary = ws.join("summary.md");
    ws.tek(&["run", "--report", "job-summary"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect_code(0);
    let body = std::fs::read_to_string(&summary).unwrap();
    assert!(body.contains("all tasks passed"), "{body}");
}

/// While a task runs, cargo-tek holds none of its log files open: the child has its own
/// descriptors, and a long run with many workers should not pile them up.
#[test]
fn cargo_tek_holds_no_descriptor_of_a_running_tasks_logs() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` waits\n");
    let started = ws.join("started");
    ws.file(
        "config/hooks.json",
        format!(
            r#"{{"TASK-1": {{"commands": [{{"shell": "touch '{}'; sleep 2"}}]}}}}"#,
            started.display()
        ),
    );
    let mut child = ws
        .tek(&["run"])
        .cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let fds = || -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/fd", child.id()))
            .unwrap()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .map(|target| target.display().to_string())
            .collect()
    };
    // The task is running (it wrote its marker); allow a moment for the spawning thread.
    let mut open = fds();
    for _ in 0..25 {
        if !open.iter().any(|t| t.contains("/logs/")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        open = fds();
    }
    assert!(
        open.iter().any(|t| t.ends_with("events.jsonl")),
        "the journal is open while the run goes on: {open:?}"
    );
    assert!(
        !open.iter().any(|t| t.contains("/logs/")),
        "cargo-tek holds a task's log open: {open:?}"
    );
    assert!(child.wait().unwrap().success());
}

/// Evidence that cannot be written is an I/O failure (3), not bad input (1).
#[test]
fn an_unwritable_runs_dir_exits_3() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` quick\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.file("not-a-dir", "a file where the runs directory should be");
    let out = ws
        .tek(&["run", "--runs-dir", "not-a-dir/runs"])
        .output()
        .expect_code(3);
    assert!(
        out.stderr().contains("failed to create a run directory"),
        "{}",
        out.stderr()
    );
}
