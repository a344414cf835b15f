//! Compile once: per-crate `cargo test -p` tasks share one workspace test compile and
//! run their crates' test binaries directly, each task still its own.

use crate::harness::{result, run_json, Workspace};
use crate::target_dir::{lock_waits, own_cargo_home, two_crates};

const SOT: &str = "# Gates\n\n## Queue A — Cargo\n\
- `TASK-001` Build\n\
- `TASK-004` Format\n\
- `TASK-010` Tests of a\n\
- `TASK-011` Tests of b\n";

const HOOKS: &str = r#"{
  "TASK-001": {"commands": [{"cmd": ["cargo", "build", "--workspace"]}]},
  "TASK-004": {"commands": [{"cmd": ["cargo", "fmt", "--all", "--check"]}]},
  "TASK-010": {"commands": [{"cmd": ["cargo", "test", "-p", "a"]}]},
  "TASK-011": {"env": {"RUST_BACKTRACE": "0"}, "commands": [{"cmd": ["cargo", "test", "-p", "b", "--", "--test-threads=1"]}]}
}"#;

/// The fixture, with tests that check what cargo would give them: the package's
/// directory as cwd and its variables.
fn workspace() -> Workspace {
    let ws = two_crates();
    ws.file("sot.md", SOT)
        .file("config/hooks.json", HOOKS)
        .file("config/manifest.json", r#"{"compile_once": true}"#)
        .file(
            "crates/a/tests/env.rs",
            "#[test]\nfn runs_where_cargo_would() {\n    let cwd = std::env::current_dir().unwrap();\n    assert!(cwd.ends_with(\"crates/a\"), \"{cwd:?}\");\n    assert_eq!(std::env::var(\"CARGO_PKG_NAME\").unwrap(), \"a\");\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    assert_eq!(dir, cwd.to_str().unwrap());\n}\n",
        );
    ws
}

#[test]
fn per_crate_tests_share_one_compile_and_run_their_own_binaries() {
    let ws = workspace();
    let out = ws
        .tek(&["run", "--max-workers", "4"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    let dir = ws.latest_run();
    assert_eq!(lock_waits(&dir), Vec::<String>::new());
    assert!(dir.join("logs/%compile-once/cmd1.stdout.log").is_file());
    // One task per crate, each running its own binaries where cargo would.
    let a = result(&run, "TASK-010");
    assert_eq!(a["status"], "ok", "{run}");
    let commands = a["commands"].as_array().unwrap();
    assert_eq!(
        commands.len(),
        2,
        "the lib's unit tests and tests/env.rs: {a}"
    );
    assert!(commands.iter().all(|c| c["cwd"] == "crates/a"), "{a}");
    assert!(
        commands[0]["cmd"][0].as_str().unwrap().contains("/deps/a-"),
        "{a}"
    );
    let b = result(&run, "TASK-011");
    assert_eq!(b["commands"][0]["cmd"][1], "--test-threads=1", "{b}");
    let log = std::fs::read_to_string(dir.join(b["commands"][0]["log"].as_str().unwrap())).unwrap();
    assert!(log.contains("test tests::adds ... ok"), "{log}");
    // One outcome per test, read with libtest's parser.
    let tests = b["cargo"]["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"] == "tests::adds" && t["status"] == "passed" && t["package"] == "b"),
        "{b}"
    );
    // The test tasks waited for the compile, and said so.
    assert!(a["wait_ms"].as_u64().unwrap_or(0) > 0, "{a}");
    assert!(
        out.stderr().contains("the workspace test compile"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_failing_test_fails_its_crate_only_and_a_compile_error_fails_every_split_task() {
    let ws = workspace();
    ws.file(
        "crates/b/tests/broken.rs",
        "#[test]\nfn fails() {\n    assert_eq!(1, 2, \"b is broken\");\n}\n",
    );
    ws.tek(&["run", "TASK-010", "TASK-011"])
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-010")["status"], "ok", "{run}");
    assert_eq!(result(&run, "TASK-011")["status"], "error", "{run}");

    ws.file(
        "crates/a/src/lib.rs",
        "pub fn one() -> u32 { \"not a number\" }\n",
    );
    ws.tek(&["run", "TASK-010", "TASK-011"])
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    for id in ["TASK-010", "TASK-011"] {
        let task = result(&run, id);
        assert_eq!(task["status"], "error", "{task}");
        assert!(
            task["reason"]
                .as_str()
                .unwrap()
                .contains("the workspace test compile exited with 101"),
            "{task}"
        );
        assert_eq!(
            task["commands"][0]["stderr_log"],
            "logs/%compile-once/cmd1.stderr.log"
        );
    }
    let stderr =
        std::fs::read_to_string(ws.latest_run().join("logs/%compile-once/cmd1.stderr.log"))
            .unwrap();
    assert!(stderr.contains("mismatched types"), "{stderr}");
}

#[test]
fn plan_shows_and_check_explains_the_rewrite() {
    let ws = workspace();
    let plan = ws.tek(&["plan"]).output().expect_code(0).stdout();
    assert!(
        plan.contains("compile once: the test binaries of `a`"),
        "{plan}"
    );
    let check = ws.tek(&["check", "-v"]).output().expect_code(0).stderr();
    assert!(
        check.contains("hook `TASK-010` is compiled once"),
        "{check}"
    );
    assert!(check.contains("doctests"), "{check}");

    ws.file("config/manifest.json", "{}");
    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    assert!(
        check.contains("2 hooks run `cargo test -p <package>` (TASK-010, TASK-011)"),
        "{check}"
    );
    assert!(check.contains("\"compile_once\": true"), "{check}");
}

#[test]
fn check_quotes_what_split_test_tasks_compiled_twice_in_the_last_run() {
    let ws = workspace();
    // b wants a feature of a that a's own tests do not: `cargo test -p b` resolves it
    // and compiles a again.
    ws.file(
        "crates/a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nextra = []\n",
    )
    .file(
        "crates/b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\na = { path = \"../a\", features = [\"extra\"] }\n",
    )
    .file("config/manifest.json", "{}");
    ws.tek(&["run", "-j", "1", "TASK-010", "TASK-011"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    let compiled = |task: &str| result(&run, task)["cargo"]["compiled"].clone();
    assert_eq!(compiled("TASK-010"), serde_json::json!(["a@0.1.0"]));
    assert_eq!(
        compiled("TASK-011"),
        serde_json::json!(["a@0.1.0", "b@0.1.0"])
    );

    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    let id = run["run_id"].as_str().unwrap();
    assert!(
        check.contains(&format!(
            "in run {id}, 2 such tasks compiled a package another of them had already compiled 1 time (a@0.1.0 ×2)"
        )),
        "{check}"
    );
    // With compile once on there is nothing to warn about.
    ws.file("config/manifest.json", r#"{"compile_once": true}"#);
    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    assert!(!check.contains("such tasks compiled"), "{check}");
}
