//! Cargo commands on one target dir in a parallel run: cargo-tek takes turns for them,
//! so no cargo ever blocks on the target dir's lock, and the waiting is recorded apart
//! from the running.

use std::path::Path;

use crate::harness::{result, run_json, Workspace};

/// A workspace of two crates (`b` depends on `a`), each with a passing test.
pub fn two_crates() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/a\", \"crates/b\"]\nresolver = \"2\"\n",
    );
    for (name, deps) in [("a", ""), ("b", "a = { path = \"../a\" }\n")] {
        ws.file(
            &format!("crates/{name}/Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"
            ),
        );
        ws.file(
            &format!("crates/{name}/src/lib.rs"),
            "/// Adds one.\npub fn one(x: u32) -> u32 {\n    x + 1\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::one(1), 2);\n    }\n}\n",
        );
    }
    // Written up front, so that parallel cargo commands have no lock file to create.
    ws.file(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\ndependencies = [\n \"a\",\n]\n",
    );
    ws
}

/// A CARGO_HOME of the test's own for its cargo commands: tests running side by side
/// would otherwise make each other's cargo wait on the shared package cache's lock, which
/// says nothing about the run under test.
pub fn own_cargo_home(ws: &Workspace) -> std::path::PathBuf {
    let home = ws.join(".cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Every line of the run's logs where cargo waited for a target dir's lock (the build
/// or artifact directory), with its file. Waits on `CARGO_HOME`'s package cache lock are
/// not counted: cargo holds it only while it resolves, cargo-tek does not schedule it
/// (README, "Shared resources and cargo's target directory"), and commands on separate
/// target dirs may meet there.
pub fn lock_waits(run_dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![run_dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let lines = text.lines().filter(|l| {
                    l.contains("Blocking waiting for file lock") && !l.contains("package cache")
                });
                found.extend(lines.map(|l| format!("{}: {}", path.display(), l.trim())));
            }
        }
    }
    found
}

const SOT: &str = "# Gates\n\n## Queue A — Cargo\n\
- `TASK-001` Build\n\
- `TASK-002` Clippy\n\
- `TASK-003` Docs\n\
- `TASK-004` Format\n\
- `TASK-010` Tests of a — after `TASK-001`\n\
- `TASK-011` Tests of b — after `TASK-001`\n";

const HOOKS: &str = r#"{
  "TASK-001": {"commands": [{"cmd": ["cargo", "build", "--workspace", "--tests"]}]},
  "TASK-002": {"commands": [{"cmd": ["cargo", "clippy", "--workspace"]}]},
  "TASK-003": {"commands": [{"cmd": ["cargo", "doc", "--workspace", "--no-deps"]}]},
  "TASK-004": {"commands": [{"cmd": ["cargo", "fmt", "--all", "--check"]}]},
  "TASK-010": {"commands": [{"cmd": ["cargo", "test", "-p", "a"]}]},
  "TASK-011": {"commands": [{"cmd": ["cargo", "test", "-p", "b"]}]}
}"#;

#[test]
fn a_parallel_cargo_run_never_blocks_on_the_target_dir_lock() {
    let ws = two_crates();
    ws.file("sot.md", SOT).file("config/hooks.json", HOOKS);
    let out = ws
        .tek(&["run", "--max-workers", "4", "-v"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    assert_eq!(
        lock_waits(&ws.latest_run()),
        Vec::<String>::new(),
        "no cargo waited on the lock"
    );
    // Build, clippy and docs were ready at once on 4 workers: two of them waited, and
    // said so, while fmt (which takes no lock) ran beside the first.
    let waited: Vec<&str> = ["TASK-001", "TASK-002", "TASK-003"]
        .into_iter()
        .filter(|id| result(&run, id)["wait_ms"].as_u64().unwrap_or(0) > 0)
        .collect();
    assert_eq!(waited.len(), 2, "{run}");
    assert!(result(&run, "TASK-004").get("wait_ms").is_none());
    let stderr = out.stderr();
    assert!(stderr.contains("Waiting"), "{stderr}");
    assert!(stderr.contains("for cargo target dir"), "{stderr}");
    assert!(stderr.contains("waiting for shared resources"), "{stderr}");
    // The report shows the wait beside the duration.
    let report = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(report.contains(" waiting) |"), "{report}");
}

#[test]
fn separate_target_dirs_and_a_shell_script_are_claimed_as_cargo_finds_them() {
    let ws = two_crates();
    ws.file("sot.md", SOT).file(
        "config/hooks.json",
        r#"{
  "TASK-001": {"commands": [{"shell": "cargo build -p a 2>&1"}]},
  "TASK-002": {"env": {"CARGO_TARGET_DIR": "target/clippy"}, "commands": [{"cmd": ["cargo", "clippy", "-p", "a"]}]},
  "TASK-003": {"commands": [{"cmd": ["cargo", "doc", "-p", "a", "--no-deps", "--target-dir", "target/doc-dir"]}]},
  "TASK-004": {"commands": [{"cmd": ["cargo", "build", "-p", "b"]}]}
}"#,
    );
    ws.tek(&[
        "run",
        "--max-workers",
        "4",
        "TASK-001",
        "TASK-002",
        "TASK-003",
        "TASK-004",
    ])
    .env("CARGO_HOME", own_cargo_home(&ws))
    .output()
    .expect_code(0);
    let run = run_json(&ws);
    assert_eq!(lock_waits(&ws.latest_run()), Vec::<String>::new());
    // Three target dirs: only the two commands on the workspace's one took turns.
    let waits: Vec<u64> = ["TASK-002", "TASK-003"]
        .iter()
        .map(|id| result(&run, id)["wait_ms"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(waits, [0, 0], "{run}");
    let shared: u64 = ["TASK-001", "TASK-004"]
        .iter()
        .map(|id| result(&run, id)["wait_ms"].as_u64().unwrap_or(0))
        .sum();
    assert!(shared > 0, "{run}");
}
