//! A CI gate never goes green by accident: nothing runs as a noop unless asked, timeouts
//! mean what users read in hooks.json, and `check` and `--dry-run` refuse what `run`
//! would reject.

use std::time::Instant;

use crate::harness::{result, run_json, Workspace};

fn two_tasks() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n- `TASK-2` two\n");
    ws
}

// ------------------------------------------------------------------ 1. no accidental noop

#[test]
fn a_config_dir_that_does_not_exist_is_an_error() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    for command in ["run", "check", "plan"] {
        let out = ws
            .tek(&[command, "--config", "no/such/dir"])
            .output()
            .expect_code(1);
        assert!(
            out.stderr()
                .contains("no/such/dir` (from --config) does not exist"),
            "{command}: {}",
            out.stderr()
        );
    }
    assert!(!ws.join("target/tek/runs").exists(), "no run was started");
    ws.file("cfgfile", "");
    let out = ws
        .tek(&["check", "--config", "cfgfile"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains("is not a directory"),
        "{}",
        out.stderr()
    );

    ws.file("Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[workspace.metadata.tek]\nconfig = \"conf\"\n");
    let out = ws.tek(&["run"]).output().expect_code(1);
    assert!(
        out.stderr()
            .contains("(from `config` in [workspace.metadata.tek]) does not exist"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_run_where_no_task_has_a_hook_is_refused() {
    let ws = two_tasks();
    for (hooks, why) in [
        (None, "`config/hooks.json` does not exist"),
        (Some("{}"), "`config/hooks.json` has no hooks"),
        (
            Some(r#"{"TASK-9": {"commands": [{"cmd": ["true"]}]}}"#),
            "none of the 1 hook in `config/hooks.json` names one of these tasks",
        ),
    ] {
        let _ = std::fs::remove_file(ws.join("config/hooks.json"));
        if let Some(text) = hooks {
            ws.file("config/hooks.json", text);
        }
        let typo = hooks == Some(r#"{"TASK-9": {"commands": [{"cmd": ["true"]}]}}"#);
        let out = ws.tek(&["run"]).output().expect_code(1);
        let err = out.stderr();
        if typo {
            // The hook names no task: that is said first, where it is, with the fix.
            assert!(
                err.contains("config/hooks.json:1:2: hook `TASK-9` names no task or queue"),
                "{err}"
            );
            assert!(err.contains("did you mean `TASK-1`?"), "{err}");
            // --allow-noop allows tasks without hooks, never a hook for no task.
            let out = ws.tek(&["run", "--allow-noop"]).output().expect_code(1);
            assert!(
                out.stderr().contains("names no task or queue"),
                "{}",
                out.stderr()
            );
        } else {
            assert!(err.contains(why), "{err}");
            assert!(err.contains("2 tasks to run, none with a hook"), "{err}");
            assert!(err.contains("--allow-noop"), "{err}");
        }
        let out = ws.tek(&["run", "--dry-run"]).output().expect_code(1);
        assert!(
            out.stderr()
                .contains(if typo { "names no task or queue" } else { why }),
            "{}",
            out.stderr()
        );
        if !typo {
            let out = ws.tek(&["check"]).output().expect_code(1);
            assert!(out.stderr().contains(why), "{}", out.stderr());
            ws.tek(&["check", "--allow-noop"]).output().expect_code(0);
        }
    }
    assert!(!ws.join("target/tek/runs").exists(), "no run was started");

    // Asked for explicitly: the flag, or the manifest routing every task to noop.
    std::fs::remove_file(ws.join("config/hooks.json")).unwrap();
    ws.tek(&["run", "--allow-noop"]).output().expect_code(0);
    ws.file(
        "config/manifest.json",
        r#"{"queues": {"Q": {"agent": "noop"}}}"#,
    );
    let out = ws.tek(&["run"]).output().expect_code(0);
    assert!(!out.stderr().contains("warning"), "{}", out.stderr());
    ws.tek(&["check"]).output().expect_code(0);
}

#[test]
fn a_partly_hookless_run_names_the_tasks_and_the_report_says_not_run() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let out = ws.tek(&["run"]).output().expect_code(0);
    assert!(
        out.stderr()
            .contains("warning: 1 task has no hook, so it runs as a noop (not run): `TASK-2`"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("s, 1 not run"), "{}", out.stderr());
    let junit = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    let noop_case = junit
        .split("<testcase")
        .find(|c| c.contains("TASK-2"))
        .unwrap();
    assert!(noop_case.contains("<skipped"), "{junit}");
    let report = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(!report.contains("all tasks passed"), "{report}");
    assert!(report.contains("1 passed, 1 not run (noop)"), "{report}");
    assert!(report.contains("1/2 passed, 1 not run"), "{report}");
    assert!(report.contains("⚪ 1 not run"), "{report}");
}

#[test]
fn an_empty_hooks_file_says_what_to_do() {
    let ws = two_tasks();
    ws.file("config/hooks.json", "");
    let out = ws.tek(&["check"]).output().expect_code(1);
    let err = out.stderr();
    assert!(err.contains("`config/hooks.json` is empty"), "{err}");
    assert!(err.contains("or delete the file"), "{err}");
    assert!(!err.contains("EOF while parsing"), "{err}");
}

#[test]
fn a_string_cmd_asks_for_an_argv_array_or_shell() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        "{\n  \"TASK-1\": {\"commands\": [{\"cmd\": \"cargo build\"}]}\n}\n",
    );
    let out = ws.tek(&["run"]).output().expect_code(1);
    let err = out.stderr();
    assert!(err.contains("config/hooks.json:2:"), "{err}");
    assert!(
        err.contains(
            r#"write it as an argv array, ["cargo", "build"], or use "shell": "cargo build""#
        ),
        "{err}"
    );
}

// ------------------------------------------------------------------ 4. timeouts

#[test]
fn a_hook_timeout_limits_the_whole_task_and_names_the_hung_command() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"timeout": "1.5s", "commands": [
    {"shell": "echo first-command-output; sleep 1"},
    {"shell": "echo second-command-output; sleep 1"}
  ]},
  "TASK-2": {"commands": [
    {"shell": "echo quick"},
    {"shell": "echo own-limit-output; sleep 5", "timeout": "0.5s"}
  ]}
}"#,
    );
    let started = Instant::now();
    let out = ws.tek(&["run", "--only", "TASK-1"]).output().expect_code(2);
    assert!(
        started.elapsed().as_secs_f64() < 4.5,
        "{:?}",
        started.elapsed()
    );
    let run = run_json(&ws);
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["status"], "timeout");
    let reason = t1["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("command 2 (`sh -c 'echo second-command-output; sleep 1'`) timed out"),
        "{reason}"
    );
    assert!(
        reason.contains("the task's timeout of 1s 500ms"),
        "{reason}"
    );
    assert_eq!(t1["commands"][1]["timed_out"], true);

    // The terminal, the JUnit file and the report show the hung command's output.
    let err = out.stderr();
    assert!(err.contains("second-command-output"), "{err}");
    assert!(!err.contains("first-command-output"), "{err}");
    let junit = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    assert!(junit.contains("second-command-output"), "{junit}");
    assert!(!junit.contains("first-command-output"), "{junit}");
    let report = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(report.contains("second-command-output"), "{report}");
    assert!(!report.contains("first-command-output"), "{report}");
    assert!(report.contains("stdout of command 2"), "{report}");

    // A command's own timeout limits that command.
    ws.tek(&["run", "--only", "TASK-2"]).output().expect_code(2);
    let run = run_json(&ws);
    let t2 = result(&run, "TASK-2");
    assert_eq!(t2["status"], "timeout");
    assert!(
        t2["reason"]
            .as_str()
            .unwrap()
            .contains("its own timeout of 500ms"),
        "{t2}"
    );
}

#[test]
fn each_attempt_gets_the_whole_hook_timeout_afresh() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"timeout": "0.8s", "retries": 1, "commands": [
    {"cmd": ["sleep", "0.5"]},
    {"cmd": ["sleep", "0.5"]}
  ]}}"#,
    );
    ws.tek(&["run", "--only", "TASK-1"]).output().expect_code(2);
    let run = run_json(&ws);
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["attempts"], 2, "{t1}");
    // Had the retry inherited the spent budget, its first command would have hung.
    assert!(
        t1["reason"]
            .as_str()
            .unwrap()
            .starts_with("command 2 (`sleep 0.5`)"),
        "{t1}"
    );
    assert_eq!(t1["commands"][0]["rc"], 0, "{t1}");
}

#[test]
fn absurd_durations_and_retries_are_input_errors_not_panics() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    for args in [
        &["run", "--grace-period", "300000000000y"][..],
        &["run", "--timeout", "300000000000y"],
        &["run", "--timeout", "1e300"],
        &["run", "--retries", "4294967295"],
    ] {
        let out = ws.tek(args).output().expect_code(1);
        assert!(
            !out.stderr().contains("panicked"),
            "{args:?}: {}",
            out.stderr()
        );
    }
    let out = ws
        .tek(&["run", "--grace-period", "300000000000y"])
        .output()
        .expect_code(1);
    assert!(out.stderr().contains("too long"), "{}", out.stderr());
    for (hooks, manifest, expected) in [
        (
            "{\n\"Q\": {\"commands\": [{\"cmd\": [\"true\"], \"timeout\": \"300000000000y\"}]}}",
            "{}",
            "config/hooks.json:2:",
        ),
        (
            "{\n\"Q\": {\"commands\": [{\"cmd\": [\"true\"]}], \"retries\": 4294967295}}",
            "{}",
            "config/hooks.json:2:1: hook `Q`: `retries` is 4294967295",
        ),
        (
            r#"{"Q": {"commands": [{"cmd": ["true"]}]}}"#,
            "{\n  \"grace_period\": \"300000000000y\"}",
            "config/manifest.json:2:",
        ),
    ] {
        ws.file("config/hooks.json", hooks);
        ws.file("config/manifest.json", manifest);
        let out = ws.tek(&["run"]).output().expect_code(1);
        let err = out.stderr();
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

// ------------------------------------------------------------------ 5. check = run

#[test]
fn check_refuses_cwds_programs_env_and_queue_names_run_would_reject() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue A — Build\n- `TASK-1` one\n- `TASK-2` two\n- `TASK-3` three\n- `TASK-4` four\n- `TASK-5` five\n## queue a - build\n- `TASK-6` six\n",
    );
    ws.file("a-file", "");
    ws.file("bin/my-tool", "#!/bin/sh\necho mine\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        ws.join("bin/my-tool"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"cmd": ["true"], "cwd": "not-there"}]},
  "TASK-2": {"commands": [{"cmd": ["true"], "cwd": "a-file"}]},
  "TASK-3": {"commands": [{"cmd": ["my-tool"]}], "env": {"PATH": "bin"}},
  "TASK-4": {"commands": [{"cmd": ["sh", "-c", "true"]}], "env": {"PATH": "bin"}},
  "TASK-5": {"commands": [{"cmd": ["true"]}]},
  "Queue A - Build": {"commands": [{"cmd": ["true"]}]},
  "TASK-6": {"commands": [{"cmd": ["true"]}], "agent": "docker"}
}"#,
    );
    ws.file(
        "config/manifest.json",
        r#"{"layers": [{"name": "x", "ids": ["TASK-5"], "agent": "nosuch"}]}"#,
    );
    let out = ws.tek(&["check"]).output().expect_code(1);
    let err = out.stderr();
    assert!(
        err.contains(
            "config/hooks.json:2:3: hook `TASK-1`, command 1: cwd `not-there` does not exist"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "config/hooks.json:3:3: hook `TASK-2`, command 1: cwd `a-file` is not a directory"
        ),
        "{err}"
    );
    assert!(
        !err.contains("`TASK-3`"),
        "found on the hook's own PATH: {err}"
    );
    assert!(
        err.contains("hook `TASK-4`, command 1: program `sh` was not found on PATH (the PATH the hook sets: `bin`)"),
        "{err}"
    );
    assert!(
        err.contains("sot.md:7:1: queue `queue a - build` looks like queue `Queue A — Build`"),
        "{err}"
    );
    assert!(
        err.contains("did you mean the queue `Queue A — Build`?"),
        "{err}"
    );
    assert!(
        err.contains(
            "config/hooks.json:8:3: hook `TASK-6` asks for agent `docker`, which does not exist"
        ),
        "{err}"
    );
    assert!(
        err.contains("config/manifest.json:1:55: layer `x` asks for agent `nosuch`"),
        "{err}"
    );
    assert!(err.contains("7 errors"), "{err}");

    // A run agrees: the hook's own PATH finds the tool.
    std::fs::remove_file(ws.join("config/manifest.json")).unwrap();
    ws.file(
        "config/hooks.json",
        r#"{"Queue A — Build": {"commands": [{"cmd": ["my-tool"]}], "env": {"PATH": "bin"}}, "TASK-6": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.tek(&["run", "--only", "TASK-1"]).output().expect_code(0);
}

#[test]
fn env_names_with_equals_or_nul_are_refused_at_load() {
    let ws = two_tasks();
    for env in [r#"{"A=B": "1"}"#, r#"{"A\u0000B": "1"}"#] {
        ws.file(
            "config/hooks.json",
            format!("{{\n\"Q\": {{\"commands\": [{{\"cmd\": [\"true\"]}}], \"env\": {env}}}}}"),
        );
        for command in ["check", "run"] {
            let out = ws.tek(&[command]).output().expect_code(1);
            assert!(
                out.stderr()
                    .contains("config/hooks.json:2:1: hook `Q`: environment variable name"),
                "{}",
                out.stderr()
            );
        }
    }
}

#[test]
fn a_dry_run_reports_a_task_that_would_fail_as_failing() {
    let ws = two_tasks();
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"cmd": ["true"], "cwd": "not-there"}], "retries": 3},
  "TASK-2": {"commands": [{"cmd": ["no-such-program-xyz"]}]}
}"#,
    );
    ws.tek(&["run", "--dry-run"]).output().expect_code(2);
    let run = run_json(&ws);
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["status"], "error", "{t1}");
    assert_eq!(t1["attempts"], 1, "a dry run does not retry: {t1}");
    assert!(
        t1["reason"]
            .as_str()
            .unwrap()
            .contains("cwd `not-there` does not exist"),
        "{t1}"
    );
    let t2 = result(&run, "TASK-2");
    assert_eq!(t2["status"], "error", "{t2}");
    assert!(
        t2["reason"]
            .as_str()
            .unwrap()
            .contains("program `no-such-program-xyz` was not found"),
        "{t2}"
    );
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.tek(&["run", "--dry-run"]).output().expect_code(0);
    assert_eq!(result(&run_json(&ws), "TASK-1")["status"], "noop");
    // An unknown agent is known before anything starts: refused as `check` refuses it,
    // dry run or not, and no run is made.
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["true"]}], "agent": "docker"}}"#,
    );
    let runs = std::fs::read_dir(ws.join(crate::harness::RUNS))
        .unwrap()
        .count();
    for args in [&["run", "--dry-run"][..], &["run"], &["check"]] {
        let out = ws.tek(args).output().expect_code(1);
        let err = out.stderr();
        assert!(
            err.contains("config/hooks.json:1:2: hook `Q` asks for agent `docker`"),
            "{args:?}: {err}"
        );
        assert!(err.contains("known agents: cargo, noop, shell"), "{err}");
    }
    assert_eq!(
        std::fs::read_dir(ws.join(crate::harness::RUNS))
            .unwrap()
            .count(),
        runs,
        "no run was made"
    );
}

#[test]
fn allowed_cwds_let_hooks_use_listed_directories_outside_the_workspace() {
    let ws = two_tasks();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("shared")).unwrap();
    let shared = outside.path().join("shared");
    let alias = outside.path().join("alias");
    std::os::unix::fs::symlink(&shared, &alias).unwrap();
    ws.file(
        "config/hooks.json",
        format!(
            r#"{{"Q": {{"commands": [{{"shell": "pwd > here.txt", "cwd": "{}"}}]}}}}"#,
            shared.display()
        ),
    );
    for args in [&["check"][..], &["run"]] {
        let out = ws.tek(args).output().expect_code(1);
        assert!(out.stderr().contains("is absolute"), "{}", out.stderr());
        assert!(out.stderr().contains("`allowed_cwds`"), "{}", out.stderr());
    }

    // Listed through a symlink: the real directory is what is allowed.
    ws.file(
        "config/manifest.json",
        format!(r#"{{"allowed_cwds": ["{}"]}}"#, alias.display()),
    );
    ws.tek(&["check"]).output().expect_code(0);
    ws.tek(&["run"]).output().expect_code(0);
    let here = std::fs::read_to_string(shared.join("here.txt")).unwrap();
    assert_eq!(
        here.trim(),
        shared.canonicalize().unwrap().display().to_string()
    );

    ws.file(
        "config/manifest.json",
        "{\n  \"allowed_cwds\": [\"/no/such/dir\"]}",
    );
    let out = ws.tek(&["run"]).output().expect_code(1);
    assert!(
        out.stderr().contains(
            "config/manifest.json:2:20: `allowed_cwds` entry `/no/such/dir` cannot be used"
        ),
        "{}",
        out.stderr()
    );
}

// ------------------------------------------------------------------ 8. check stays fast

#[test]
fn check_locates_hooks_without_rescanning_the_file_per_hook() {
    const TASKS: usize = 10_000;
    let ws = Workspace::new();
    let mut sot = String::from("## Q\n");
    let mut hooks = String::from("{\n");
    for i in 1..=TASKS {
        sot.push_str(&format!("- `TASK-{i}` task {i}\n"));
        let comma = if i == TASKS { "" } else { "," };
        hooks.push_str(&format!(
            " \"TASK-{i}\": {{\"commands\": [{{\"cmd\": [\"true\"], \"cwd\": \".\"}}]}}{comma}\n"
        ));
    }
    hooks.push_str("}\n");
    ws.file("sot.md", sot);
    ws.file("config/hooks.json", &hooks);
    let timed = |args: &[&str], code: i32| {
        let started = Instant::now();
        let out = ws.tek(args).output().expect_code(code);
        (started.elapsed().as_secs_f64(), out.stderr())
    };
    let (plan, _) = timed(&["plan", "--format", "json"], 0);
    let (check, _) = timed(&["check"], 0);
    // Before, every hook rescanned the whole file: seconds here, minutes at 50,000.
    assert!(
        check < 2.0 * plan + 1.0,
        "check took {check:.2}s, plan {plan:.2}s"
    );

    // The same mistake in every hook: counted, but only the first few are built and shown
    // (each finding carries a copy of the file).
    ws.file(
        "config/hooks.json",
        hooks.replace("[\"true\"]", "[\"no-such-program-xyz\"]"),
    );
    let (broken, err) = timed(&["check"], 1);
    assert!(
        broken < 2.0 * plan + 1.0,
        "check took {broken:.2}s, plan {plan:.2}s"
    );
    assert!(err.contains("... and 9950 more errors not shown"), "{err}");
    assert!(err.contains("10000 errors in sot.md and config"), "{err}");
}

/// Issue 23.1: what `check` refuses, `run` refuses, and a queue in which a task did not
/// run is never shown as passed.
#[test]
fn run_refuses_a_queue_key_that_only_looks_right_and_never_ticks_a_queue_with_noops() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue B — Quality gates\n- `TASK-010` fmt\n- `TASK-011` clippy\n",
    );
    // A hyphen where sot.md has an em dash: before, every task was a green noop.
    ws.file(
        "config/hooks.json",
        "{\n  \"Queue B - Quality gates\": {\"commands\": [{\"cmd\": [\"true\"]}]}\n}\n",
    );
    for args in [&["run"][..], &["run", "--allow-noop"], &["check"]] {
        let out = ws.tek(args).output().expect_code(1);
        let err = out.stderr();
        assert!(
            err.contains(
                "config/hooks.json:2:3: hook `Queue B - Quality gates` names no task or queue"
            ),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("did you mean the queue `Queue B — Quality gates`?"),
            "{err}"
        );
    }
    // One task with a hook, one without: the run passes, but the queue is not ticked.
    ws.file(
        "config/hooks.json",
        r#"{"TASK-010": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let out = ws.tek(&["run"]).output().expect_code(0);
    let err = console::strip_ansi_codes(&out.stderr()).into_owned();
    let line = err
        .lines()
        .find(|l| l.contains("Queue B — Quality gates") && l.contains("/2"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(!line.contains('✔'), "{line}");
    assert!(line.contains("1 not run"), "{line}");
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(
        md.contains("## ⚠️ cargo-tek: 1 passed, 1 not run (noop)"),
        "{md}"
    );
    assert!(
        md.contains("| ⚠️ | Queue B — Quality gates | 1/2 passed, 1 not run |"),
        "{md}"
    );
}
