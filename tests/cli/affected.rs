//! `cargo tek affected` and `run --affected` on a generated 20-crate workspace in real
//! temporary git repositories, with real `git` and real `cargo metadata`. Each case of
//! the corpus changes something and names the exact set of tasks that must run.
//!
//! The workspace: c01 ← c02 ← c03 ← c04 is a dependency chain (c04 depends on c03 …);
//! c10 depends on c05; c12 uses `leftpad` from a vendored directory registry (two
//! versions, so a Cargo.lock bump works offline) through `[workspace.dependencies]`;
//! c13 has a build script. TASK-001..020 run `cargo check -p cNN` (covers inferred),
//! TASK-021 covers `docs/**` and `*.md`, TASK-022 runs clippy on the whole workspace,
//! TASK-023 covers `release/**` and waits for TASK-004.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::harness::{git, run_json, Workspace};

fn cargo(dir: &Path, args: &[&str]) {
    let out = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn checksum(version: &str) -> String {
    if version == "1.0.0" { "1" } else { "2" }.repeat(64)
}

/// Moves `leftpad` in Cargo.lock from one vendored version to the other.
fn set_leftpad(ws: &Workspace, from: &str, to: &str) {
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    let moved = lock
        .replace(
            &format!("name = \"leftpad\"\nversion = \"{from}\""),
            &format!("name = \"leftpad\"\nversion = \"{to}\""),
        )
        .replace(&checksum(from), &checksum(to));
    assert_ne!(lock, moved, "leftpad {from} is not in Cargo.lock");
    ws.file("Cargo.lock", moved);
}

fn leftpad(ws: &Workspace, version: &str) {
    let dir = format!("vendor/leftpad-{version}");
    ws.file(
        &format!("{dir}/Cargo.toml"),
        format!("[package]\nname = \"leftpad\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[features]\nfast = []\n"),
    );
    ws.file(&format!("{dir}/src/lib.rs"), "pub fn pad() {}\n");
    // A directory source checks files against this list; the package checksum is
    // what Cargo.lock records.
    let sum = checksum(version);
    ws.file(
        &format!("{dir}/.cargo-checksum.json"),
        format!("{{\"files\":{{}},\"package\":\"{sum}\"}}"),
    );
}

/// The base commit of the corpus workspace, on branch `main`, with `base` pointing at it.
pub fn corpus() -> Workspace {
    let ws = Workspace::new();
    std::fs::remove_dir_all(ws.join("src")).unwrap();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nleftpad = { version = \"1\" }\n",
    );
    ws.file(
        ".cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n",
    );
    leftpad(&ws, "1.0.0");
    leftpad(&ws, "1.0.1");
    for n in 1..=20 {
        let name = format!("c{n:02}");
        let mut deps = String::new();
        match n {
            2..=4 => deps = format!("c{:02} = {{ path = \"../c{:02}\" }}\n", n - 1, n - 1),
            10 => deps = "c05 = { path = \"../c05\" }\n".into(),
            12 => deps = "leftpad.workspace = true\n".into(),
            _ => {}
        }
        ws.file(
            &format!("crates/{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
        );
        ws.file(
            &format!("crates/{name}/src/lib.rs"),
            format!("pub fn {name}() {{}}\n"),
        );
    }
    ws.file("crates/c13/build.rs", "fn main() {}\n");
    ws.file("crates/c07/tests/it.rs", "#[test]\nfn t() {}\n");
    ws.file("crates/c08/src/util.rs", "pub fn util() {}\n");
    ws.file("README.md", "# corpus\n");
    ws.file("docs/guide.md", "guide\n");
    ws.file(".gitignore", "target/\n.tek/\n");
    let mut sot = String::from("# Corpus\n\n## Queue A — Checks\n");
    let mut hooks = serde_json::Map::new();
    for n in 1..=20 {
        sot.push_str(&format!("- [ ] `TASK-{n:03}` check c{n:02}\n"));
        hooks.insert(
            format!("TASK-{n:03}"),
            serde_json::json!({ "commands": [{ "cmd": ["cargo", "check", "-p", format!("c{n:02}")] }] }),
        );
    }
    sot.push_str("- [ ] `TASK-021` docs\n- [ ] `TASK-022` clippy\n- [ ] `TASK-023` release notes — after `TASK-004`\n");
    hooks.insert(
        "TASK-021".into(),
        serde_json::json!({ "commands": [{ "cmd": ["cargo", "doc", "--no-deps", "--workspace"] }],
            "covers": { "paths": ["docs/**", "*.md"] } }),
    );
    hooks.insert(
        "TASK-022".into(),
        serde_json::json!({ "commands": [{ "cmd": ["cargo", "clippy", "--workspace"] }] }),
    );
    hooks.insert(
        "TASK-023".into(),
        serde_json::json!({ "commands": [{ "cmd": ["cargo", "check", "-p", "c04"] }],
            "covers": { "paths": ["release/**"] } }),
    );
    ws.file("sot.md", sot);
    ws.file(
        "config/hooks.json",
        serde_json::to_string_pretty(&serde_json::Value::Object(hooks)).unwrap(),
    );
    cargo(ws.path(), &["generate-lockfile", "--offline"]);
    // `cargo update --precise` does not move between versions of a directory source;
    // the lock is edited the way a bump looks in a diff.
    set_leftpad(&ws, "1.0.1", "1.0.0");
    git(ws.path(), &["init", "-q", "-b", "main"]);
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-qm", "base"]);
    git(ws.path(), &["branch", "base"]);
    ws
}

pub(crate) fn commit(ws: &Workspace) {
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-qm", "change"]);
}

/// The tasks `cargo tek affected base` selects, and the whole decision.
pub(crate) fn affected(ws: &Workspace) -> (BTreeSet<String>, serde_json::Value) {
    let out = ws
        .tek(&["affected", "base", "--format", "json"])
        .output()
        .expect_code(0);
    let decision: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let run = decision["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["run"] == true)
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    (run, decision)
}

fn tasks(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|n| format!("TASK-{n:03}")).collect()
}

fn all() -> BTreeSet<String> {
    tasks(&(1..=23).collect::<Vec<_>>())
}

/// One case: a name, the change, the tasks that must run, and whether a lockfile-based
/// tool (Nx, Turborepo: a lockfile change means everything) would run everything.
pub struct Case {
    pub name: &'static str,
    pub change: fn(&Workspace),
    pub expected: BTreeSet<String>,
    pub lockfile_tool_runs_all: bool,
}

fn edit(ws: &Workspace, rel: &str, text: &str) {
    let path = ws.join(rel);
    let mut old = std::fs::read_to_string(&path).unwrap_or_default();
    old.push_str(text);
    ws.file(rel, old);
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "leaf crate source",
            change: |ws| {
                edit(ws, "crates/c20/src/lib.rs", "pub fn more() {}\n");
                commit(ws);
            },
            expected: tasks(&[20, 22]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "core crate source (dependents run)",
            change: |ws| {
                edit(ws, "crates/c01/src/lib.rs", "pub fn more() {}\n");
                commit(ws);
            },
            // TASK-023 waits for TASK-004 but is not itself affected.
            expected: tasks(&[1, 2, 3, 4, 22]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "build.rs",
            change: |ws| {
                edit(ws, "crates/c13/build.rs", "// rerun\n");
                commit(ws);
            },
            expected: tasks(&[13, 22]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "test file",
            change: |ws| {
                edit(ws, "crates/c07/tests/it.rs", "#[test]\nfn u() {}\n");
                commit(ws);
            },
            expected: tasks(&[7, 22]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "Cargo.lock bump of a dependency one crate uses",
            change: |ws| {
                set_leftpad(ws, "1.0.0", "1.0.1");
                commit(ws);
            },
            expected: tasks(&[12, 22]),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "feature change in [workspace.dependencies]",
            change: |ws| {
                let toml = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
                ws.file(
                    "Cargo.toml",
                    toml.replace(
                        "leftpad = { version = \"1\" }",
                        "leftpad = { version = \"1\", features = [\"fast\"] }",
                    ),
                );
                commit(ws);
            },
            expected: tasks(&[12, 22]),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "rename between crates",
            change: |ws| {
                git(
                    ws.path(),
                    &["mv", "crates/c08/src/util.rs", "crates/c09/src/util.rs"],
                );
                commit(ws);
            },
            expected: tasks(&[8, 9, 22]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "README.md only",
            change: |ws| {
                edit(ws, "README.md", "more\n");
                commit(ws);
            },
            expected: tasks(&[21]),
            lockfile_tool_runs_all: false,
        },
        Case {
            name: "rust-toolchain.toml",
            change: |ws| {
                ws.file("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
                commit(ws);
            },
            expected: all(),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "a workflow file",
            change: |ws| {
                ws.file(".github/workflows/ci.yml", "on: push\n");
                commit(ws);
            },
            expected: all(),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "hooks.json for one task",
            change: |ws| {
                let hooks = std::fs::read_to_string(ws.join("config/hooks.json")).unwrap();
                ws.file(
                    "config/hooks.json",
                    hooks.replace("\"c15\"", "\"c15\", \"--all-targets\""),
                );
                commit(ws);
            },
            expected: tasks(&[15]),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "sot.md for one task",
            change: |ws| {
                let sot = std::fs::read_to_string(ws.join("sot.md")).unwrap();
                ws.file("sot.md", sot.replace("check c16", "check c16 again"));
                commit(ws);
            },
            expected: tasks(&[16]),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "a path that a task's glob claims (dependency runs too)",
            change: |ws| {
                ws.file("release/notes.txt", "1.0\n");
                commit(ws);
            },
            expected: tasks(&[4, 23]),
            lockfile_tool_runs_all: true,
        },
        Case {
            name: "uncommitted and untracked changes",
            change: |ws| {
                edit(ws, "crates/c18/src/lib.rs", "pub fn wip() {}\n");
                ws.file("crates/c19/src/new.rs", "pub fn new() {}\n");
            },
            expected: tasks(&[18, 19, 22]),
            lockfile_tool_runs_all: false,
        },
    ]
}

#[test]
fn the_corpus_selects_exactly_the_expected_tasks() {
    let base = corpus();
    let mut failures = Vec::new();
    for case in cases() {
        let ws = copy(&base);
        (case.change)(&ws);
        let (run, decision) = affected(&ws);
        if run != case.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}\n{decision:#}",
                case.name, case.expected, run
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A copy of the corpus repository (cheaper than generating it again).
pub fn copy(base: &Workspace) -> Workspace {
    let ws = Workspace {
        dir: tempfile::tempdir().unwrap(),
    };
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", base.path().display()))
        .arg(ws.path())
        .status()
        .unwrap();
    assert!(status.success());
    ws
}

#[test]
fn a_shallow_clone_runs_everything_and_says_how_to_fix_it() {
    let base = corpus();
    edit(&base, "crates/c20/src/lib.rs", "pub fn more() {}\n");
    git(base.path(), &["checkout", "-qb", "feature"]);
    commit(&base);
    edit(&base, "crates/c20/src/lib.rs", "pub fn again() {}\n");
    commit(&base);
    let clone = Workspace {
        dir: tempfile::tempdir().unwrap(),
    };
    let url = format!("file://{}", base.path().display());
    git(
        clone.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, ".",
        ],
    );
    git(
        clone.path(),
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    let out = clone
        .tek(&["affected", "origin/main", "--format", "json"])
        .output()
        .expect_code(0);
    assert!(out.stderr().contains("fetch-depth: 0"), "{}", out.stderr());
    let decision: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    assert!(decision["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["run"] == true));
}

#[test]
fn a_missing_base_runs_everything_and_says_to_fetch_it() {
    let ws = corpus();
    let out = ws.tek(&["affected"]).output().expect_code(0);
    assert!(
        out.stderr().contains("`origin/HEAD` does not exist"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stdout().contains("23 of 23 tasks run"),
        "{}",
        out.stdout()
    );
    // Issue 25.5: each task names the real reason, not a cover worked out from no
    // members ("names packages that are not plain member names").
    let out = ws.tek(&["affected", "--explain"]).output().expect_code(0);
    let text = out.stdout();
    assert!(!text.contains("not plain member names"), "{text}");
    assert!(text.contains("not worked out: every task runs"), "{text}");
}

#[test]
fn outside_a_git_repository_it_is_an_error() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- [ ] `TASK-001` a\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-001": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let out = ws.tek(&["affected", "main"]).output().expect_code(1);
    assert!(
        out.stderr().contains("needs a git repository"),
        "{}",
        out.stderr()
    );
}

#[test]
fn run_affected_records_unaffected_tasks_as_skipped_and_composes_with_queue() {
    let ws = corpus();
    edit(&ws, "crates/c20/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);
    let out = ws
        .tek(&["run", "--affected", "base", "--dry-run"])
        .output()
        .expect_code(0);
    let terminal = out.stdout() + &out.stderr();
    assert!(
        terminal.contains("Affected 2 of 23 tasks by the change since base"),
        "{terminal}"
    );
    assert!(terminal.contains("21 unaffected"), "{terminal}");
    let run = run_json(&ws);
    assert_eq!(run["affected"]["base"], "base");
    assert_eq!(run["affected"]["selected"], 2);
    let statuses: Vec<(String, String)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 23);
    let unaffected = statuses.iter().filter(|(_, r)| r == "unaffected").count();
    assert_eq!(unaffected, 21, "{statuses:?}");
    // The report names them in one line, not as a table of skips.
    let report = ws.tek(&["report"]).output().expect_code(0);
    assert!(
        report
            .stdout()
            .contains("**21 unaffected** by the change since base"),
        "{}",
        report.stdout()
    );
    assert!(
        !report.stdout().contains("### Skipped"),
        "{}",
        report.stdout()
    );

    // --only narrows the affected set further; what it leaves out is not "unaffected".
    ws.tek(&[
        "run",
        "--affected",
        "base",
        "--dry-run",
        "--only",
        "TASK-020",
    ])
    .output()
    .expect_code(0);
    let run = run_json(&ws);
    let ids: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"] != "unaffected")
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TASK-020"]);
}

#[test]
fn explain_shows_the_chain_from_path_to_task() {
    let ws = corpus();
    edit(&ws, "crates/c02/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);
    let out = ws
        .tek(&["affected", "base", "--explain"])
        .output()
        .expect_code(0);
    insta::with_settings!({filters => vec![(r"merge base [0-9a-f]{12}", "merge base [hash]")]}, {
        insta::assert_snapshot!(out.stdout());
    });
}

/// Tasks run per case against the full plan and against a lockfile-based default, and
/// the time `cargo tek affected` takes. Prints a table (`--nocapture`); see
/// BENCHMARKS.md and bench/affected.sh.
#[test]
#[allow(clippy::disallowed_macros)] // the table is the bench's output
fn bench_affected_corpus() {
    let base = corpus();
    let mut lines = vec![
        "| case | expected | cargo-tek | full plan | lockfile default | missed | ms |".to_owned(),
        "|---|---|---|---|---|---|---|".to_owned(),
    ];
    for case in cases() {
        let ws = copy(&base);
        (case.change)(&ws);
        let started = Instant::now();
        let (run, _) = affected(&ws);
        let ms = started.elapsed().as_millis();
        let missed = case.expected.difference(&run).count();
        assert_eq!(missed, 0, "{}", case.name);
        let lockfile = if case.lockfile_tool_runs_all {
            23
        } else {
            case.expected.len()
        };
        lines.push(format!(
            "| {} | {} | {} | 23 | {lockfile} | {missed} | {ms} |",
            case.name,
            case.expected.len(),
            run.len()
        ));
    }
    println!("{}", lines.join("\n"));
}

#[test]
fn check_names_unknown_covered_crates_and_globs_that_match_nothing() {
    let ws = corpus();
    let hooks = std::fs::read_to_string(ws.join("config/hooks.json")).unwrap();
    ws.file(
        "config/hooks.json",
        hooks.replace("\"docs/**\"", "\"doc/**\"").replace(
            "\"covers\": {\n      \"paths\": [\n        \"release/**\"",
            "\"covers\": {\n      \"crates\": [\"c4\"],\n      \"paths\": [\n        \"release/**\"",
        ),
    );
    let out = ws.tek(&["check"]).output().expect_code(1);
    let err = out.stderr();
    assert!(
        err.contains("`covers` glob `doc/**` matches no tracked file"),
        "{err}"
    );
    assert!(err.contains("hooks.json:"), "{err}");
    // release/** matches nothing either, and c4 is not a member (c04 is).
    assert!(
        err.contains("crate `c4`, which is not a workspace member"),
        "{err}"
    );
}

/// The Action's run step on a pull request: `affected: auto` passes `--affected`, and
/// the base is `origin/$GITHUB_BASE_REF`.
fn action_run(ws: &Workspace, event: &str, affected: &str) -> std::process::Output {
    action_run_with(ws, event, affected, "{}")
}

/// [`action_run`] with the event's payload (`GITHUB_EVENT_PATH`).
fn action_run_with(
    ws: &Workspace,
    event: &str,
    affected: &str,
    payload: &str,
) -> std::process::Output {
    // The runner's files live outside the checkout, as on GitHub: inside, they would
    // be untracked changes that no crate claims.
    let runner = tempfile::tempdir().unwrap();
    std::fs::write(runner.path().join("event.json"), payload).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/action/run.sh"
    ));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_") || key.starts_with("TEK_") || key.starts_with("RUNNER_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(ws.path())
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_TEK_CACHE_DIR", ws.join("target/tek-cache"))
        .env("TEK_BIN", super::harness::BIN)
        .env("TEK_COMMAND", "run")
        .env("TEK_DRY_RUN", "true")
        .env("TEK_AFFECTED", affected)
        .env("RUNNER_TEMP", runner.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", runner.path().join("gh-output"))
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", runner.path().join("event.json"))
        // GitHub sets it on pull request events only.
        .env(
            "GITHUB_BASE_REF",
            if event == "pull_request" { "main" } else { "" },
        );
    cmd.output().unwrap()
}

#[test]
fn the_action_runs_affected_tasks_on_pull_requests_only_by_default() {
    let ws = corpus();
    let url = ws.path().display().to_string();
    git(ws.path(), &["remote", "add", "origin", &url]);
    git(ws.path(), &["fetch", "-q", "origin"]);
    edit(&ws, "crates/c20/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);

    let out = action_run(&ws, "pull_request", "auto");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_json(&ws);
    assert_eq!(run["affected"]["base"], "origin/main");
    assert_eq!(run["affected"]["selected"], 2);

    let out = action_run(&ws, "push", "auto");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run_json(&ws)["affected"].is_null());

    let out = action_run(&ws, "push", "true");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Outside a pull request the base is origin/HEAD, which a fetch of a local path
    // does not set: everything runs, with the warning.
    let run = run_json(&ws);
    assert_eq!(run["affected"]["base"], "origin/HEAD");
    assert_eq!(run["affected"]["selected"], 23);
}

/// Issue 19.4: a merge queue's group runs what it changes against the event's
/// `base_sha` (GITHUB_BASE_REF is empty there); a base the checkout does not have runs
/// everything, with a warning, never fewer tasks.
#[test]
fn the_action_runs_affected_tasks_of_a_merge_group_against_its_base_sha() {
    let ws = corpus();
    let base = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(ws.path())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    edit(&ws, "crates/c20/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);
    // The shape GitHub sends (pretty-printed, other members around it).
    let payload = |sha: &str| {
        serde_json::to_string_pretty(&serde_json::json!({
            "action": "checks_requested",
            "merge_group": {
                "head_sha": "0000000000000000000000000000000000000001",
                "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-abc",
                "base_sha": sha,
                "base_ref": "refs/heads/main",
                "head_commit": {"id": "0000000000000000000000000000000000000001", "message": "Merge pull request #7"}
            },
            "repository": {"full_name": "o/r"}
        }))
        .unwrap()
    };
    let out = action_run_with(&ws, "merge_group", "auto", &payload(&base));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = run_json(&ws);
    assert_eq!(run["affected"]["base"], base.as_str(), "{run}");
    assert_eq!(run["affected"]["selected"], 2);

    let unknown = "1234567890123456789012345678901234567890";
    let out = action_run_with(&ws, "merge_group", "auto", &payload(unknown));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not in this checkout's history"), "{err}");
    let run = run_json(&ws);
    assert!(run["affected"].is_null(), "every task runs: {run}");
    assert_eq!(run["counts"]["total"], 23);
}

#[test]
fn affected_deps_skip_takes_unaffected_dependencies_as_passed() {
    let ws = corpus();
    ws.file("release/notes.txt", "1.0\n");
    commit(&ws);
    ws.tek(&[
        "run",
        "--affected=base",
        "--affected-deps",
        "skip",
        "--dry-run",
    ])
    .output()
    .expect_code(0);
    let run = run_json(&ws);
    let ran: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"] != "unaffected")
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    // TASK-023 waits for TASK-004, which is recorded as unaffected instead of run.
    assert_eq!(ran, ["TASK-023"]);
    assert_eq!(
        super::harness::result(&run, "TASK-004")["reason"],
        "unaffected"
    );
}

#[test]
fn a_base_that_looks_like_an_option_is_refused() {
    let ws = corpus();
    let out = ws
        .tek(&["affected", "--", "--output=/tmp/x"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains("looks like an option"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_change_that_affects_nothing_passes_and_says_so() {
    let ws = corpus();
    edit(&ws, ".gitignore", "*.tmp\n");
    commit(&ws);
    let out = ws
        .tek(&["run", "--affected", "base"])
        .output()
        .expect_code(0);
    let terminal = out.stdout() + &out.stderr();
    assert!(terminal.contains("23 unaffected"), "{terminal}");
    assert!(!terminal.contains("✘"), "{terminal}");
    let report = ws.tek(&["report"]).output().expect_code(0);
    assert!(
        report
            .stdout()
            .contains("no task is affected by the change"),
        "{}",
        report.stdout()
    );
}

#[test]
fn a_workspace_in_a_subdirectory_sees_paths_outside_it() {
    let ws = Workspace::new();
    std::fs::remove_dir_all(ws.join("src")).unwrap();
    std::fs::remove_file(ws.join("Cargo.toml")).unwrap();
    ws.file(
        "rust/Cargo.toml",
        "[workspace]\nmembers = [\"core\"]\nresolver = \"2\"\n\n[workspace.metadata.tek.affected]\nignore = [\"web/**\"]\n",
    );
    ws.file(
        "rust/core/Cargo.toml",
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    ws.file("rust/core/src/lib.rs", "");
    ws.file("rust/sot.md", "## Q\n- [ ] `TASK-001` core\n");
    ws.file(
        "rust/config/hooks.json",
        r#"{"TASK-001": {"commands": [{"cmd": ["cargo", "test", "-p", "core"]}]}}"#,
    );
    ws.file("web/app.js", "1\n");
    ws.file("ops/deploy.sh", "1\n");
    ws.file(".gitignore", "target/\n.tek/\n");
    git(ws.path(), &["init", "-q", "-b", "main"]);
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-qm", "base"]);
    git(ws.path(), &["branch", "base"]);

    edit(&ws, "web/app.js", "2\n");
    commit(&ws);
    let run = |ws: &Workspace| {
        ws.tek(&["--manifest-path", "rust/Cargo.toml", "affected", "base"])
            .output()
            .expect_code(0)
            .stdout()
    };
    let out = run(&ws);
    assert!(out.contains("skip  TASK-001"), "{out}");
    edit(&ws, "rust/core/src/lib.rs", "pub fn f() {}\n");
    commit(&ws);
    let out = run(&ws);
    assert!(
        out.contains("run   TASK-001  core/src/lib.rs → core"),
        "{out}"
    );
    edit(&ws, "ops/deploy.sh", "2\n");
    let out = run(&ws);
    assert!(
        out.contains("ops/deploy.sh changed: outside the workspace"),
        "{out}"
    );
}

#[test]
fn explain_names_the_dependency_whose_version_or_features_changed() {
    let ws = corpus();
    set_leftpad(&ws, "1.0.0", "1.0.1");
    commit(&ws);
    let out = ws
        .tek(&["affected", "base"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(
        out.contains("run   TASK-012  `leftpad` 1.0.0 → 1.0.1 → c12"),
        "{out}"
    );
    let toml = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    ws.file(
        "Cargo.toml",
        toml.replace(
            "{ version = \"1\" }",
            "{ version = \"1\", features = [\"fast\"] }",
        ),
    );
    let out = ws
        .tek(&["affected", "HEAD"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(
        out.contains("run   TASK-012  `leftpad` features [] → [fast] → c12"),
        "{out}"
    );
}

#[test]
fn rerun_failed_after_an_affected_run_reruns_its_failures_only() {
    let ws = corpus();
    // Commands that cost nothing, with what each covers said outright; TASK-020 fails.
    let mut hooks = serde_json::Map::new();
    for n in 1..=20 {
        let cmd = if n == 20 { "false" } else { "true" };
        hooks.insert(
            format!("TASK-{n:03}"),
            serde_json::json!({ "commands": [{ "cmd": [cmd] }],
                "covers": { "crates": [format!("c{n:02}")] } }),
        );
    }
    for (id, paths) in [
        ("TASK-021", "docs/**"),
        ("TASK-022", "clippy/**"),
        ("TASK-023", "release/**"),
    ] {
        hooks.insert(
            id.into(),
            serde_json::json!({ "commands": [{ "cmd": ["true"] }], "covers": { "paths": [paths] } }),
        );
    }
    ws.file(
        "config/hooks.json",
        serde_json::to_string_pretty(&serde_json::Value::Object(hooks)).unwrap(),
    );
    commit(&ws);
    crate::harness::git(ws.path(), &["branch", "-f", "base"]);
    edit(&ws, "crates/c20/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);

    ws.tek(&["run", "--affected", "base"])
        .output()
        .expect_code(2);
    let first = run_json(&ws);
    let ran = |run: &serde_json::Value| -> Vec<String> {
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["carried_from"].is_null() && r["reason"] != "unaffected")
            .map(|r| r["task"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ran(&first), ["TASK-020"], "{first}");

    let out = ws.tek(&["run", "--rerun-failed"]).output().expect_code(2);
    let terminal = out.stdout() + &out.stderr();
    assert!(terminal.contains("Rerunning 1 task of 23"), "{terminal}");
    let second = run_json(&ws);
    assert_eq!(ran(&second), ["TASK-020"], "{second}");
}

/// Issue 25.5: a dev-dependency counts for the package that declares it, one step. A
/// change to a test helper runs the tests of the crate that uses it in its tests, not
/// of that crate's dependents, whose `cargo test -p` builds it without dev-dependencies.
#[test]
fn a_dev_dependency_affects_the_crate_that_declares_it_only() {
    let ws = Workspace::new();
    std::fs::remove_dir_all(ws.join("src")).unwrap();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    let krate = |name: &str, deps: &str| {
        ws.file(
            &format!("crates/{name}/Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{deps}"
            ),
        );
        ws.file(&format!("crates/{name}/src/lib.rs"), "pub fn f() {}\n");
    };
    krate("mock", "");
    krate(
        "core",
        "[dev-dependencies]\nmock = { path = \"../mock\" }\n",
    );
    krate("app", "[dependencies]\ncore = { path = \"../core\" }\n");
    krate("tool", "[dependencies]\nmock = { path = \"../mock\" }\n");
    ws.file(".gitignore", "target/\n.tek/\n");
    let names = ["mock", "core", "app", "tool"];
    let mut sot = String::from("## Queue A — Tests\n");
    let mut hooks = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        sot.push_str(&format!("- [ ] `TASK-{}` test {name}\n", i + 1));
        hooks.insert(
            format!("TASK-{}", i + 1),
            serde_json::json!({"commands": [{"cmd": ["cargo", "test", "-p", name]}]}),
        );
    }
    ws.file("sot.md", sot);
    ws.file(
        "config/hooks.json",
        serde_json::Value::Object(hooks).to_string(),
    );
    cargo(ws.path(), &["generate-lockfile", "--offline"]);
    git(ws.path(), &["init", "-q", "-b", "main"]);
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-qm", "base"]);
    git(ws.path(), &["branch", "base"]);
    edit(&ws, "crates/mock/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);
    let (run, decision) = affected(&ws);
    // mock itself, core (its dev-dependency), tool (a normal one); not app.
    assert_eq!(
        run,
        BTreeSet::from([
            "TASK-1".to_owned(),
            "TASK-2".to_owned(),
            "TASK-4".to_owned()
        ]),
        "{decision:#}"
    );
    // A normal dependency still spreads: a change to core runs app too.
    edit(&ws, "crates/core/src/lib.rs", "pub fn again() {}\n");
    commit(&ws);
    git(ws.path(), &["branch", "-f", "base", "HEAD~1"]);
    let (run, decision) = affected(&ws);
    assert_eq!(
        run,
        BTreeSet::from(["TASK-2".to_owned(), "TASK-3".to_owned()]),
        "{decision:#}"
    );
}
