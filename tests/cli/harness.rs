//! A small fluent helper: a temp Cargo workspace, files in it, and the real binary run
//! with a clean environment.

use std::path::{Path, PathBuf};
use std::process::Output;

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-tek");

/// The default runs directory, relative to the workspace root.
pub const RUNS: &str = ".tek/runs";

/// A temporary workspace.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A minimal Cargo package, so `cargo metadata` finds a real workspace.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = Self { dir };
        ws.file(
            "Cargo.toml",
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        ws.file("src/lib.rs", "");
        ws
    }

    /// Writes a file (creating parent directories).
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The newest run directory under the default runs directory.
    pub fn latest_run(&self) -> PathBuf {
        let mut dirs: Vec<_> = std::fs::read_dir(self.join(RUNS))
            .expect("a run directory exists")
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        dirs.sort();
        dirs.pop().expect("at least one run")
    }

    /// A command for the binary, run in the workspace as `cargo tek ...` would.
    /// The workspace cache is on, in the workspace's own `target/`.
    pub fn tek(&self, args: &[&str]) -> Run {
        let mut cmd = command();
        cmd.arg("tek").args(args).current_dir(self.path());
        cmd.env_remove("CARGO_TEK_NO_CACHE")
            .env("CARGO_TEK_CACHE_DIR", self.join("target/tek-cache"));
        Run { cmd }
    }
}

/// The binary with a clean environment: nothing from the CI job or the developer's
/// shell (GitHub variables, colour settings, a shared `CARGO_TARGET_DIR`) leaks in.
pub fn command() -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_")
            || key.starts_with("CARGO_TERM")
            || key == "CARGO_TARGET_DIR"
            || key.starts_with("CARGO_BUILD_")
            || key == "NO_COLOR"
            || key.starts_with("INPUT_")
            || key.starts_with("RUNNER_")
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_TERM_COLOR", "never");
    // Nothing is cached in the user's cache directory.
    cmd.env_remove("CARGO_TEK_CACHE_DIR")
        .env("CARGO_TEK_NO_CACHE", "1");
    cmd
}

/// A command about to run.
pub struct Run {
    pub cmd: std::process::Command,
}

impl Run {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn output(mut self) -> Result_ {
        let out = self.cmd.output().unwrap();
        Result_ { out }
    }
}

/// What the binary did.
pub struct Result_ {
    pub out: Output,
}

impl Result_ {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Asserts the exit code, showing both streams on failure.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The run.json of the workspace's newest run.
pub fn run_json(ws: &Workspace) -> serde_json::Value {
    run_json_in(&ws.latest_run())
}

/// The run.json of the run directory `dir`.
pub fn run_json_in(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
}

/// The JSON file at `rel` in the workspace (a plan file written with `--out`).
pub fn json_file(ws: &Workspace, rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(ws.join(rel)).unwrap()).unwrap()
}

/// Task `id`'s entry in a run.json's results.
pub fn result<'a>(run: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == id)
        .unwrap_or_else(|| panic!("{id} not in {run}"))
}

/// Runs `git args` in `dir` as a fixed author, failing the test on error; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A test that cannot run on this machine (no writable cgroup v2, no private tmpfs):
/// where `TEK_TEST_REQUIRE` names `capability` (comma-separated, or `all`), that is a
/// failure, so the CI job that has what these tests need (`privileged-tests` in
/// .github/workflows/ci.yml, and `.ci/run` as root) can never pass them unrun. Elsewhere
/// the test says that it did not run; it checked nothing.
#[allow(clippy::disallowed_macros)] // a test that did not run says so
pub fn not_here(capability: &str, why: &str) {
    let required = std::env::var("TEK_TEST_REQUIRE").unwrap_or_default();
    let required = required
        .split(',')
        .any(|c| c.trim() == capability || c.trim() == "all");
    assert!(
        !required,
        "TEK_TEST_REQUIRE names `{capability}`, but this machine lacks it: {why}"
    );
    eprintln!("NOT RUN (checked nothing): {why}; set TEK_TEST_REQUIRE={capability} where the machine has it");
}

/// Ids of the tasks a run really ran (not carried forward), in run.json's order.
pub fn ran(run: &serde_json::Value) -> Vec<String> {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["carried_from"].is_null())
        .map(|r| r["task"].as_str().unwrap().to_owned())
        .collect()
}
