//! `cargo tek check`: sot.md and config validated together.

use crate::harness::Workspace;

#[test]
fn finds_unknown_keys_missing_programs_and_escaping_cwds() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue A — Build\n- `TASK-1` one\n- `TASK-2` two\n- `TASK-3` three\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"cmd": ["definitely-not-a-program-xyz"]}]},
  "TASK-2": {"commands": [{"cmd": ["true"], "cwd": "../elsewhere"}]},
  "TASK-404": {"commands": [{"cmd": ["true"]}]},
  "Queue A — Build": {"commands": [{"cmd": ["true"], "cwd": "link"}]}
}"#,
    );
    std::os::unix::fs::symlink(std::env::temp_dir(), ws.join("link")).unwrap();
    let out = ws.tek(&["check", "-v"]).output().expect_code(1);
    let err = out.stderr();
    assert!(err.contains("config/hooks.json:2:3: hook `TASK-1`, command 1: program `definitely-not-a-program-xyz` was not found on PATH"), "{err}");
    assert!(
        err.contains(
            "config/hooks.json:3:3: hook `TASK-2`, command 1: cwd `../elsewhere` leaves the workspace"
        ),
        "{err}"
    );
    assert!(
        err.contains("config/hooks.json:4:3: hook `TASK-404` names no task or queue"),
        "{err}"
    );
    assert!(
        err.contains("outside the workspace (through a symlink)"),
        "{err}"
    );
    assert!(err.contains("4 errors"), "{err}");
}

#[test]
fn a_clean_workspace_passes_with_a_warning_for_hookless_tasks() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n- `TASK-2` two\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let out = ws.tek(&["check"]).output().expect_code(0);
    assert!(
        out.stderr()
            .contains("1 task has no hook, so it runs as a noop (not run): `TASK-2`"),
        "{}",
        out.stderr()
    );
    let out = ws.tek(&["check", "-v"]).output().expect_code(0);
    assert!(
        out.stderr().contains("task `TASK-2` in `Q` has no hook"),
        "{}",
        out.stderr()
    );
}

#[test]
fn this_repository_checks_clean() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = crate::harness::command()
        .args(["tek", "check"])
        .current_dir(root)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An id too long for its log folder's name (issue 24, item 11) used to pass `check` and
/// `plan` and then fail every run with "File name too long" (exit 2). Now `check`, `plan`
/// and `run` refuse it as bad input, pointing at it; a plan file edited by hand too.
#[test]
fn an_id_too_long_for_a_file_name_is_bad_input_that_points_at_it() {
    let ws = Workspace::new();
    let long = format!("TASK-{}", "1".repeat(300));
    ws.file(
        "sot.md",
        format!("## Q\n- `TASK-1` short\n- `{long}` long\n"),
    );
    ws.file(
        "config/hooks.json",
        format!(r#"{{"TASK-1": {{"commands": [{{"cmd": ["true"]}}]}}, "{long}": {{"commands": [{{"cmd": ["true"]}}]}}}}"#),
    );
    for args in [&["check"][..], &["plan"], &["run"]] {
        let out = ws.tek(args).output().expect_code(1);
        let err = out.stderr();
        assert!(
            err.contains("sot.md:3:3: task id `TASK-1111111111111111111…` is 305 bytes long, more than the 80 an id may have"),
            "{args:?}: {err}"
        );
        let first = err.lines().next().unwrap();
        assert!(
            !first.contains(&long),
            "the message does not repeat the whole id: {err}"
        );
    }
    assert!(
        !ws.join(crate::harness::RUNS).exists(),
        "no run was started"
    );

    // The same id in a plan file written by hand.
    ws.file("sot.md", "## Q\n- `TASK-1` short\n");
    ws.tek(&["plan", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let plan = std::fs::read_to_string(ws.join("plan.json")).unwrap();
    ws.file(
        "plan.json",
        plan.replace("\"TASK-1\"", &format!("\"{long}\"")),
    );
    let out = ws
        .tek(&["run", "--plan", "plan.json"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains(
            "plan.json:12:18: task id `TASK-1111111111111111111…` is 305 bytes long, more than the 80 an id may have"
        ),
        "{}",
        out.stderr()
    );
}

#[test]
fn an_id_of_80_bytes_runs() {
    let ws = Workspace::new();
    let id = format!("TASK-{}", "1".repeat(75));
    ws.file("sot.md", format!("## Q\n- `{id}` at the bound\n"));
    ws.file(
        "config/hooks.json",
        format!(r#"{{"{id}": {{"commands": [{{"cmd": ["true"]}}]}}}}"#),
    );
    ws.tek(&["run"]).output().expect_code(0);
}

/// Issue 19.5: counted nouns agree with their numbers.
#[test]
fn counts_are_said_in_the_right_number() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let err = ws.tek(&["check"]).output().expect_code(0).stderr();
    assert!(err.contains("1 queue, 1 task, 1 hook: ok"), "{err}");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}, "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    for command in ["check", "run"] {
        let err = ws.tek(&[command]).output().expect_code(1).stderr();
        assert!(err.contains("1 error in"), "{command}: {err}");
        assert!(!err.contains("error(s)"), "{command}: {err}");
    }
}

#[test]
fn an_ignore_glob_that_a_built_in_rule_overrules_is_a_warning_at_its_line() {
    let ws = Workspace::new();
    ws.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[workspace.metadata.tek.affected]\nignore = [\"docs/**\", \".github/**\", \"*.toml\"]\n",
    );
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let out = ws.tek(&["check"]).output().expect_code(0);
    let err = out.stderr();
    assert!(
        err.contains("Cargo.toml:9:22: `ignore` glob `.github/**` matches `.github/workflows/ci.yml`, a workflow file, which a built-in rule makes affect every task"),
        "{err}"
    );
    assert!(
        err.contains("`ignore` glob `*.toml` matches `rust-toolchain.toml`, the toolchain file"),
        "{err}"
    );
    assert!(!err.contains("glob `docs/**`"), "{err}");
    assert_eq!(err.matches("warning: Cargo.toml:").count(), 2, "{err}");
}
