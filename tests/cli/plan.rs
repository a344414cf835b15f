//! `cargo tek plan`: both grammars, JSON and text, the predecessor's CLI, and errors.

use crate::harness::Workspace;

const NATIVE: &str = include_str!("../fixtures/native-sot.md");
const LEGACY: &str = include_str!("../fixtures/legacy-sot.md");

fn json_plan(ws: &Workspace) -> serde_json::Value {
    let out = ws
        .tek(&["plan", "--format", "json"])
        .output()
        .expect_code(0);
    serde_json::from_str(&out.stdout()).unwrap()
}

fn redact(mut plan: serde_json::Value) -> serde_json::Value {
    plan["generated_at"] = "[timestamp]".into();
    plan
}

#[test]
fn native_plan_matches_snapshot() {
    let ws = Workspace::new();
    ws.file("sot.md", NATIVE);
    ws.file(
        "config/hooks.json",
        r#"{"TASK-002": {"commands": [{"cmd": ["cargo", "build"], "cwd": "."}]},
        "Queue B — Quality gates": {"commands": [{"cmd": ["cargo", "test"]}]}}"#,
    );
    let plan = json_plan(&ws);
    let tasks = &plan["queues"][1]["tasks"];
    assert_eq!(
        tasks[1]["after"],
        serde_json::json!(["TASK-002", "TASK-010"])
    );
    insta::assert_json_snapshot!("native_plan", redact(plan));
    let text = ws.tek(&["plan"]).output().expect_code(0).stdout();
    insta::assert_snapshot!("native_plan_text", text);
}

/// A reader of the plan sees where each command runs, also per matrix combination; a
/// hook whose commands all run at the root adds nothing to plan.json.
#[test]
fn the_plan_shows_where_each_command_runs() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "# Plan\n## Queue A — Build\n- [ ] `TASK-001` Docs\n- [ ] `TASK-002` Root\n",
    )
    .file(
        "config/hooks.json",
        r#"{"TASK-001": {"matrix": {"dir": ["docs", "site"]},
                "commands": [{"cmd": ["make"], "cwd": "${matrix.dir}"}, {"cmd": ["true"]}]},
               "TASK-002": {"commands": [{"cmd": ["cargo", "build"], "cwd": "."}]}}"#,
    );
    let text = ws.tek(&["plan"]).output().expect_code(0).stdout();
    assert!(text.contains("$ make  (in docs)"), "{text}");
    assert!(text.contains("$ make  (in site)"), "{text}");
    assert!(!text.contains("$ true  (in"), "{text}");
    assert!(!text.contains("$ cargo build  (in"), "{text}");
    let plan = json_plan(&ws);
    let tasks = &plan["queues"][0]["tasks"];
    assert_eq!(tasks[0]["runs"]["cwds"], serde_json::json!(["docs", "."]));
    assert!(tasks[2]["runs"].get("cwds").is_none(), "{}", tasks[2]);
}

#[test]
fn legacy_plan_keeps_the_predecessor_shape() {
    let ws = Workspace::new();
    ws.file("sot.md", LEGACY);
    let plan = json_plan(&ws);
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["source"], "sot.md");
    assert_eq!(
        plan["queues"][0]["name"],
        "Queue A — Workspace Bootstrapping"
    );
    let first = &plan["queues"][0]["tasks"][0];
    assert_eq!(
        (
            first["id"].as_str(),
            first["title"].as_str(),
            first["layer"].as_str()
        ),
        (Some("TASK-001"), Some("TASK-001"), Some("foundation"))
    );
    insta::assert_json_snapshot!("legacy_plan", redact(plan));
}

#[test]
fn predecessor_cli_writes_plan_json() {
    let ws = Workspace::new();
    ws.file("docs/sot.md", LEGACY);
    let out = ws
        .tek(&["plan", "--sot", "docs/sot.md", "--out", "plan.json"])
        .output()
        .expect_code(0);
    assert!(out.stderr().contains("Planned"), "{}", out.stderr());
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["queues"].as_array().unwrap().len(), 2);
    assert_eq!(plan["source"], "docs/sot.md");
}

#[test]
fn runs_without_the_tek_word_and_outside_a_workspace_with_sot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.md"), NATIVE).unwrap();
    let out = crate::harness::command()
        .args(["plan", "--sot", "s.md", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = crate::harness::command()
        .args(["plan"])
        .current_dir(dir.path())
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("could not find a Cargo workspace")
            && err.contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn metadata_and_flags_choose_the_files() {
    let ws = Workspace::new();
    ws.file("Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.tek]\nsot = \"plans/main.md\"\nconfig = \"ci\"\n\n[workspace]\n");
    ws.file("plans/main.md", "## Q\n- `TASK-5` five\n");
    ws.file(
        "ci/hooks.json",
        r#"{"TASK-5": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let plan = json_plan(&ws);
    assert_eq!(plan["source"], "plans/main.md");
    assert_eq!(plan["queues"][0]["tasks"][0]["runs"]["hook"], "task");
    ws.file("other.md", "## R\n- `TASK-6` six\n");
    let out = ws
        .tek(&["plan", "--sot", "other.md", "--format", "json"])
        .output()
        .expect_code(0);
    assert!(out.stdout().contains("TASK-6"));
}

/// Every bad-input error: exit 1, file:line:col, the offending line shown.
#[test]
fn bad_input_errors_point_into_the_file() {
    let cases: &[(&str, &[u8], &str, &str)] = &[
        ("duplicate", b"## Q\n- `TASK-1` a\n- `TASK-1` b\n", "sot.md:3:3: duplicate task id `TASK-1` (first defined at sot.md:2:3)", "- `TASK-1` b"),
        ("unknown dep", b"## Q\n- `TASK-1` a \xe2\x80\x94 after `TASK-7`\n", "sot.md:2:22: task `TASK-1` depends on unknown task `TASK-7`", "after `TASK-7`"),
        ("cycle", b"## Q\n- `TASK-1` a \xe2\x80\x94 after `TASK-2`\n- `TASK-2` b \xe2\x80\x94 after `TASK-1`\n", "dependency cycle:", "TASK-2"),
        ("utf8", b"## Q\n- `TASK-1` \xff\n", "`sot.md` is not valid UTF-8 at sot.md:2:12", ""),
    ];
    for (name, sot, message, shown) in cases {
        let ws = Workspace::new();
        ws.file("sot.md", sot);
        let out = ws.tek(&["plan"]).output().expect_code(1);
        let err = out.stderr();
        assert!(err.contains(message), "{name}: {err}");
        assert!(err.contains(shown), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let ws = Workspace::new();
    let out = ws.tek(&["plan"]).output().expect_code(1);
    assert!(
        out.stderr().contains("failed to read `sot.md`"),
        "{}",
        out.stderr()
    );
    ws.file("sot.md", "## Q\n- `TASK-1` a\n");
    ws.file(
        "config/hooks.json",
        "{\n  \"TASK-1\": {\"commands\": []},\n  \"TASK-1\": {\"commands\": []}\n}",
    );
    let out = ws.tek(&["plan"]).output().expect_code(1);
    assert!(
        out.stderr().contains("config/hooks.json:3:")
            && out.stderr().contains("duplicate key `TASK-1`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn oversized_sot_is_refused() {
    let ws = Workspace::new();
    let f = std::fs::File::create(ws.join("sot.md")).unwrap();
    f.set_len(16 * 1024 * 1024 + 1).unwrap();
    let out = ws.tek(&["plan"]).output().expect_code(1);
    assert!(
        out.stderr().contains("over the 16777216 byte limit"),
        "{}",
        out.stderr()
    );
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let ws = Workspace::new();
    ws.tek(&["plan", "--no-such-flag"]).output().expect_code(1);
    let help = ws.tek(&["run", "--help"]).output().expect_code(0).stdout();
    assert!(
        help.contains("Exit codes:") && help.contains("--max-workers"),
        "{help}"
    );
    let version = ws.tek(&["--version"]).output().expect_code(0).stdout();
    assert!(version.contains(env!("CARGO_PKG_VERSION")));
    // As cargo's: `help COMMAND`, options under headings, exit codes per command.
    let via_help = ws.tek(&["help", "run"]).output().expect_code(0).stdout();
    assert_eq!(via_help, help);
    assert!(
        help.contains("Task Selection:") && help.contains("Execution:"),
        "{help}"
    );
    let report = ws
        .tek(&["report", "--help"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(
        report.contains("Fail (exit 4) when the comment"),
        "{report}"
    );
    assert!(report.contains("  4    GitHub's API failed"), "{report}");
    for command in ["plan", "check"] {
        let help = ws
            .tek(&[command, "--help"])
            .output()
            .expect_code(0)
            .stdout();
        assert!(!help.contains("tasks failed"), "{command}: {help}");
        assert!(
            help.contains("  5    an internal error"),
            "{command}: {help}"
        );
    }
}

#[test]
fn error_rendering_and_help_match_snapshots() {
    let ws = Workspace::new();
    ws.file("sot.md", "# Plan\n\n## Queue A — Build\n- `TASK-1` build\n- `TASK-2` lint — after `TASK-1`\n\n## Queue B — Test\n- `TASK-1` test again\n");
    let err = ws.tek(&["plan"]).output().expect_code(1).stderr();
    insta::assert_snapshot!("duplicate_id_error", err);
    let help = ws.tek(&["--help"]).output().expect_code(0).stdout();
    insta::assert_snapshot!("tek_help", help);
    let help = ws.tek(&["plan", "--help"]).output().expect_code(0).stdout();
    insta::assert_snapshot!("plan_help", help);
}

#[test]
fn published_schemas_match_the_binary() {
    let ws = Workspace::new();
    for (which, file) in [
        ("plan", "schemas/plan.schema.json"),
        ("run", "schemas/run.schema.json"),
    ] {
        let printed: serde_json::Value =
            serde_json::from_str(&ws.tek(&["schema", which]).output().expect_code(0).stdout())
                .unwrap();
        let published: serde_json::Value = serde_json::from_slice(
            &std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap(),
        )
        .unwrap();
        assert_eq!(
            printed, published,
            "{file} is stale: regenerate it with `cargo tek schema {which} > {file}`"
        );
    }
}

/// cargo's answer is reused while the inputs are unchanged: a wrapper counts how often
/// cargo really runs.
#[test]
fn workspace_discovery_is_cached_until_a_manifest_changes() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let log = ws.join("cargo-calls.log");
    let wrapper = ws.join("bin/cargo-wrapper");
    ws.file(
        "bin/cargo-wrapper",
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display()
        ),
    );
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let calls = || {
        std::fs::read_to_string(&log)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let plan = |ws: &Workspace| {
        ws.tek(&["plan", "--format", "json"])
            .env("CARGO", &wrapper)
            .output()
            .expect_code(0)
            .stdout()
    };

    assert!(plan(&ws).contains("TASK-1"));
    assert_eq!(calls(), 1, "the first run asks cargo");
    assert!(plan(&ws).contains("TASK-1"));
    ws.tek(&["run", "--allow-noop"])
        .env("CARGO", &wrapper)
        .output()
        .expect_code(0);
    assert_eq!(calls(), 1, "later runs reuse the answer");

    // A new [workspace.metadata.tek] must be seen at once.
    ws.file("plans/other.md", "## R\n- `TASK-9` nine\n");
    ws.file("Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[workspace.metadata.tek]\nsot = \"plans/other.md\"\n");
    assert!(plan(&ws).contains("TASK-9"));
    assert_eq!(calls(), 2);

    // `check` always asks cargo; CARGO_TEK_NO_CACHE turns the cache off.
    ws.tek(&["check", "--allow-noop"])
        .env("CARGO", &wrapper)
        .output()
        .expect_code(0);
    assert_eq!(calls(), 3);
    ws.tek(&["plan"])
        .env("CARGO", &wrapper)
        .env("CARGO_TEK_NO_CACHE", "1")
        .output()
        .expect_code(0);
    assert_eq!(calls(), 4);
    assert!(plan(&ws).contains("TASK-9"));
    assert_eq!(calls(), 4);
}

/// A near miss of the id pattern is never silently prose: it is an error at its line with
/// a suggestion, and the snippet header's column agrees with the message's.
#[test]
fn near_miss_ids_are_errors_with_did_you_mean() {
    let cases = [
        ("TASK-20a", "sot.md:4:7", "did you mean `TASK-20`?"),
        ("TSK-052", "sot.md:4:7", "did you mean `TASK-052`?"),
        ("task-010", "sot.md:4:7", "did you mean `TASK-010`?"),
    ];
    for (typed, location, hint) in cases {
        let ws = Workspace::new();
        ws.file(
            "sot.md",
            format!("# Plan\n## Queue A — Build\n- [ ] `TASK-001` build\n- [ ] `{typed}` lint\n"),
        );
        let out = ws.tek(&["plan"]).output().expect_code(1);
        let err = out.stderr();
        assert!(
            err.contains(&format!("{location}: `{typed}` looks like a task id")),
            "{err}"
        );
        assert!(err.contains(hint), "{err}");
        assert!(err.contains(&format!("[{location}]")), "{err}");
    }
}

#[test]
fn unknown_dependency_suggests_the_closest_id_and_columns_agree() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue A — Build\n- `TASK-010` a\n- `TASK-200` b — after `TASK-01`\n",
    );
    let err = ws.tek(&["plan"]).output().expect_code(1).stderr();
    assert!(err.contains("did you mean `TASK-010`?"), "{err}");
    // Message and snippet header count the same (characters, past the em dash).
    assert!(
        err.contains("sot.md:3:24:") && err.contains("[sot.md:3:24]"),
        "{err}"
    );
}

#[test]
fn a_document_without_tasks_is_an_error_with_the_grammar() {
    for sot in ["", "# Notes\n\nJust prose, `TASK-1` in a sentence.\n"] {
        let ws = Workspace::new();
        ws.file("sot.md", sot);
        let err = ws.tek(&["plan"]).output().expect_code(1).stderr();
        assert!(err.contains("sot.md: no tasks in this file"), "{err}");
        assert!(
            err.contains("- [ ] `TASK-001` Build the workspace"),
            "{err}"
        );
        ws.tek(&["check"]).output().expect_code(1);
        ws.tek(&["run"]).output().expect_code(1);
    }
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "### G. Execution Queue & Task Hooks\n1. **Queue A — Build**\n   - Hooks: none\n",
    );
    let err = ws.tek(&["plan"]).output().expect_code(1).stderr();
    assert!(err.contains("- Tasks: `TASK-001`"), "{err}");
}

#[test]
fn a_hook_for_an_unknown_id_suggests_the_closest() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Queue A — Build\n- `TASK-010` a\n- `TASK-200` b\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{"task-010": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let err = ws.tek(&["check"]).output().expect_code(1).stderr();
    assert!(
        err.contains("hook `task-010` names no task or queue")
            && err.contains("did you mean `TASK-010`?"),
        "{err}"
    );
}

/// Every document of the legacy-edge corpus: each task the predecessor's line rules plan
/// and cargo-tek does not is a warning at its line, naming why, from plan, run and check;
/// `check --strict-legacy` and `"strict_legacy": true` make it an error.
#[test]
fn legacy_edge_cases_never_lose_a_task_silently() {
    let corpus: &[(&str, &str, &str, &str)] = &[
        (
            "html-comment.md",
            include_str!("../fixtures/legacy-edge/html-comment.md"),
            "sot.md:8:13: `TASK-007`",
            "is inside an HTML comment",
        ),
        (
            "code-fence.md",
            include_str!("../fixtures/legacy-edge/code-fence.md"),
            "sot.md:11:13: `TASK-008`",
            "is inside a code block (the fence at line 8)",
        ),
        (
            "indented-heading.md",
            include_str!("../fixtures/legacy-edge/indented-heading.md"),
            "sot.md:10:13: `TASK-042`",
            "is after the heading `## Notes on queue B` at line 8",
        ),
        (
            "second-g-heading.md",
            include_str!("../fixtures/legacy-edge/second-g-heading.md"),
            "sot.md:6:13: `TASK-090`",
            "is inside an HTML comment",
        ),
        (
            "setext-heading.md",
            include_str!("../fixtures/legacy-edge/setext-heading.md"),
            "sot.md:11:13: `TASK-043`",
            "is after the heading `Appendix` at line 8",
        ),
        (
            "bare-hash.md",
            include_str!("../fixtures/legacy-edge/bare-hash.md"),
            "sot.md:9:13: `TASK-044`",
            "is after the heading `#` at line 7",
        ),
        (
            "indented-code.md",
            include_str!("../fixtures/legacy-edge/indented-code.md"),
            "sot.md:10:18: `TASK-005`",
            "is inside an indented code block",
        ),
        (
            "html-details.md",
            include_str!("../fixtures/legacy-edge/html-details.md"),
            "sot.md:8:13: `TASK-010`",
            "is inside an HTML block (from line 7)",
        ),
        // The predecessor knows no fences: a `- Tasks:` line in one is its task.
        (
            "plain-fence.md",
            include_str!("../fixtures/legacy-edge/plain-fence.md"),
            "sot.md:9:13: `TASK-011`",
            "is inside a code block (the fence at line 8)",
        ),
        // A `# ` heading does not end the predecessor's section.
        (
            "appendix.md",
            include_str!("../fixtures/legacy-edge/appendix.md"),
            "sot.md:11:13: `TASK-045`",
            "is after the heading `# Appendix` at line 8, which ends the section for Markdown",
        ),
        // Nor does a second `### G. …` heading.
        (
            "continued-section.md",
            include_str!("../fixtures/legacy-edge/continued-section.md"),
            "sot.md:11:13: `TASK-046`",
            "is after the heading `### G. Execution Queue & Task Hooks (cont.)` at line 8",
        ),
        // `N.` without a space, wide spaces: a queue for the predecessor only.
        (
            "loose-queue.md",
            include_str!("../fixtures/legacy-edge/loose-queue.md"),
            "sot.md:6:13: `TASK-001`",
            "belongs to `Queue A  —  Workspace Bootstrapping` (line 5), which is not a queue for Markdown",
        ),
        (
            "backticks.md",
            include_str!("../fixtures/legacy-edge/backticks.md"),
            "sot.md:7:23: `TASK-007`",
            "is not a code span for Markdown (its backticks pair differently)",
        ),
    ];
    for (name, text, location, reason) in corpus {
        let ws = Workspace::new();
        ws.file("sot.md", text);
        let expected = format!("{location} {reason}");
        // The corpus has no hooks.json: only the legacy reading is under test here.
        for args in [
            &["plan"][..],
            &["check", "--allow-noop"],
            &["run", "--dry-run", "--allow-noop"],
        ] {
            let err = ws.tek(args).output().expect_code(0).stderr();
            assert!(
                err.contains(&format!("warning: {expected}"))
                    && err.contains("the predecessor ran it, cargo-tek does not"),
                "{name} {args:?}: {err}"
            );
        }
        let err = ws
            .tek(&["check", "--strict-legacy"])
            .output()
            .expect_code(1)
            .stderr();
        assert!(err.contains(&format!("error: {expected}")), "{name}: {err}");
        ws.file("config/manifest.json", r#"{"strict_legacy": true}"#);
        for args in [&["plan"][..], &["run", "--dry-run", "--allow-noop"]] {
            let err = ws.tek(args).output().expect_code(1).stderr();
            assert!(
                err.contains(&format!("error: {expected}")),
                "{name} {args:?}: {err}"
            );
        }
    }
    let ws = Workspace::new();
    ws.file("sot.md", include_str!("../fixtures/legacy-edge/clean.md"));
    let out = ws
        .tek(&["check", "--strict-legacy", "--allow-noop"])
        .output()
        .expect_code(0);
    assert!(!out.stderr().contains("predecessor"), "{}", out.stderr());
}

/// A section line Markdown reads as code leaves cargo-tek without tasks: each command
/// fails on the predecessor's first task, named with its line, strict or not.
#[test]
fn an_indented_section_line_fails_every_command_at_the_lost_task() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        include_str!("../fixtures/legacy-edge/indented-section.md"),
    );
    for args in [
        &["plan"][..],
        &["check", "--allow-noop"],
        &["run", "--dry-run", "--allow-noop"],
    ] {
        let err = ws.tek(args).output().expect_code(1).stderr();
        assert!(
            err.contains("error: sot.md:6:13: `TASK-001` is under the `G. Execution Queue & Task Hooks` line at line 3, which is not a heading for Markdown (it is inside an indented code block (from line 3))"),
            "{args:?}: {err}"
        );
    }
}

/// Cycle detection is linear and its message bounded: one cycle through 100,000 tasks.
#[test]
fn a_cycle_through_100k_tasks_is_reported_fast_and_short() {
    let n = 100_000;
    let mut sot = String::from("## Queue A — Ring\n");
    for i in 0..n {
        let before = (i + n - 1) % n;
        sot.push_str(&format!("- `TASK-{i}` t — after `TASK-{before}`\n"));
    }
    let ws = Workspace::new();
    ws.file("sot.md", sot);
    for command in ["plan", "check"] {
        let started = std::time::Instant::now();
        let err = ws.tek(&[command]).output().expect_code(1).stderr();
        // Debug build on a shared machine; a release build takes a fraction of this.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(err.contains("dependency cycle: "), "{err}");
        assert!(err.contains("(100000 tasks in the cycle)"), "{err}");
        assert!(err.len() < 4096, "{} bytes: {err}", err.len());
    }
}

/// Issue 23.4: five bad dependencies are one run to fix, not five.
#[test]
fn every_unknown_dependency_is_reported_at_once() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` a — after `TASK-9`\n- `TASK-2` b — after `TASK-8`\n- `TASK-3` c — after `TASK-1`, `TASK-30`\n",
    );
    for command in ["plan", "check", "run"] {
        let err = ws.tek(&[command]).output().expect_code(1).stderr();
        assert!(
            err.contains("sot.md:2:22: 3 dependencies name unknown tasks: `TASK-1` → `TASK-9`, `TASK-2` → `TASK-8`, `TASK-3` → `TASK-30`"),
            "{command}: {err}"
        );
        assert!(
            err.contains("no task `TASK-30`; did you mean `TASK-3`?"),
            "{err}"
        );
    }
}
