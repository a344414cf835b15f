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
    assert!(err.contains("4 error(s)"), "{err}");
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
