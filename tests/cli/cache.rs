//! `run --cache` on a real workspace (three crates, `b` depends on `a`) in a git
//! repository, with real `cargo metadata`. Each task's command appends its id to a
//! file outside the workspace, so the count of lines says how often it really ran.
//! The false-hit corpus: every change that can alter a task's result must miss.

use std::path::{Path, PathBuf};

use super::harness::{git, result, run_json, Workspace};

/// The workspace, and the folder outside it where the file that counts the runs is.
pub struct Cached {
    pub ws: Workspace,
    pub outside: std::rc::Rc<tempfile::TempDir>,
}

pub fn hooks(count: &Path, extra: &str) -> String {
    let count = count.display();
    format!(
        r#"{{
  "TASK-1": {{"commands": [{{"shell": "echo TASK-1 >> {count}; cat gen/out.txt; echo mode=$MY_MODE{extra}"}}],
             "covers": {{"crates": ["b"]}}, "inputs": ["gen/**"], "env_inputs": ["MY_MODE"]}},
  "TASK-2": {{"commands": [{{"shell": "echo TASK-2 >> {count}"}}], "covers": {{"crates": ["c"]}}}},
  "TASK-3": {{"commands": [{{"shell": "echo TASK-3 >> {count}; exit 1"}}], "covers": {{"crates": ["c"]}}}},
  "TASK-4": {{"commands": [{{"shell": "echo TASK-4 >> {count}; env > {count}.env"}}]}},
  "TASK-5": {{"commands": [{{"shell": "echo TASK-5 >> {count}; [ -f {count}.flaky ] || {{ touch {count}.flaky; exit 1; }}"}}],
             "covers": {{"crates": ["c"]}}, "retries": 1}}
}}"#
    )
}

fn krate(ws: &Workspace, name: &str, deps: &str) {
    ws.file(
        &format!("crates/{name}/Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
    );
    ws.file(
        &format!("crates/{name}/src/lib.rs"),
        format!("pub fn {name}() {{}}\n"),
    );
}

fn setup() -> Cached {
    setup_in(std::rc::Rc::new(tempfile::tempdir().unwrap()))
}

/// The workspace, counting its runs in `outside`: two workspaces set up in the same
/// folder have the same tasks, and so the same keys.
pub fn setup_in(outside: std::rc::Rc<tempfile::TempDir>) -> Cached {
    let ws = Workspace::new();
    std::fs::remove_dir_all(ws.join("src")).unwrap();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    krate(&ws, "a", "");
    krate(&ws, "b", "a = { path = \"../a\" }\n");
    krate(&ws, "c", "");
    ws.file("crates/b/src/extra.rs", "// extra\n");
    // Generated, and ignored by git: only `inputs` brings it into the key.
    ws.file(".gitignore", "target/\n.tek/\ngen/\n");
    ws.file("gen/out.txt", "generated 1\n");
    ws.file(
        "sot.md",
        "# Cache\n\n## Queue A — Checks\n- [ ] `TASK-1` b\n- [ ] `TASK-2` c\n- [ ] `TASK-3` fails\n- [ ] `TASK-4` opaque\n- [ ] `TASK-5` flaky\n",
    );
    ws.file(
        "config/hooks.json",
        hooks(&outside.path().join("count"), ""),
    );
    git(ws.path(), &["init", "-q", "-b", "main"]);
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-q", "-m", "base"]);
    Cached { ws, outside }
}

impl Cached {
    pub fn count_file(&self) -> PathBuf {
        self.outside.path().join("count")
    }

    /// How often `task` has really run.
    pub fn runs(&self, task: &str) -> usize {
        std::fs::read_to_string(self.count_file())
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == task)
            .count()
    }

    /// `run --cache --explain-cache` (TASK-3 fails, so the run exits 2); its stderr.
    fn run(&self, env: &[(&str, &str)]) -> String {
        self.run_with(&[], env)
    }

    /// `run --cache --explain-cache ARGS` with `env` added; its stderr.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut argv = vec!["run", "--cache", "--explain-cache"];
        argv.extend(args);
        let mut run = self.ws.tek(&argv);
        for (k, v) in env {
            run = run.env(k, v);
        }
        run.output().expect_code(2).stderr()
    }

    pub fn run_json(&self) -> serde_json::Value {
        run_json(&self.ws)
    }
}

#[test]
fn an_unchanged_second_run_replays_the_pass_and_starts_nothing() {
    let c = setup();
    c.run(&[]);
    let first = c.run_json();
    assert_eq!(c.runs("TASK-1"), 1);
    assert!(result(&first, "TASK-1")["cached"].is_null());

    let stderr = c.run(&[]);
    assert_eq!(c.runs("TASK-1"), 1, "TASK-1 was started again:\n{stderr}");
    assert_eq!(c.runs("TASK-2"), 1, "TASK-2 was started again:\n{stderr}");
    let second = c.run_json();
    let task = result(&second, "TASK-1");
    assert_eq!(task["status"], "ok");
    assert_eq!(task["cached"]["run"], first["run_id"], "{task}");
    assert_eq!(task["cached"]["store"], "local");
    assert_eq!(task["cached"]["key"].as_str().unwrap().len(), 64);
    assert_eq!(second["counts"]["cached"], 2, "{}", second["counts"]);
    assert!(stderr.contains("Cached TASK-1"), "{stderr}");
    assert!(stderr.contains("2 cached"), "{stderr}");
    // The logs are replayed into the new run: its evidence stands on its own.
    let log = task["commands"][0]["log"].as_str().unwrap();
    let text = std::fs::read_to_string(c.ws.latest_run().join(log)).unwrap();
    assert_eq!(text, "generated 1\nmode=\n");
    // The report tells a replayed pass from one that ran.
    let report = c.ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(report.contains("💾 2 cached"), "{report}");
    assert!(report.contains("cached from"), "{report}");
    // So does JUnit: the replayed case names the run and the key it came from.
    let xml = std::fs::read_to_string(c.ws.latest_run().join("junit.xml")).unwrap();
    let run_id = first["run_id"].as_str().unwrap();
    assert!(
        xml.contains(&format!(
            "<property name=\"cached-from-run\" value=\"{run_id}\"/>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"cache-key\" value=\""),
        "{xml}"
    );
}

#[test]
fn the_false_hit_corpus_misses_and_an_unrelated_change_hits() {
    use std::os::unix::fs::PermissionsExt;
    let c = setup();
    c.run(&[]);
    let fake = c.outside.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    let rustc = which::which("rustc").unwrap();
    // The same rustc, saying it is another build: what a toolchain update looks like.
    std::fs::write(
        fake.join("rustc"),
        format!(
            "#!/bin/sh\nif [ \"$1\" = -vV ]; then '{0}' -vV | sed 's/^commit-date: .*/commit-date: 1999-01-01/'; else exec '{0}' \"$@\"; fi\n",
            rustc.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(fake.join("rustc"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ws = &c.ws;
    let count = c.count_file();
    type Change<'a> = (
        &'a str,
        Box<dyn Fn() + 'a>,
        Vec<(&'a str, &'a str)>,
        &'a str,
    );
    let corpus: Vec<Change> = vec![
        (
            "a changed source of a dependency crate",
            Box::new(|| {
                ws.file("crates/a/src/lib.rs", "pub fn a() { let _ = 1; }\n");
            }),
            vec![],
            "file crates/a/src/lib.rs changed",
        ),
        (
            "Cargo.lock (a new crate in the workspace)",
            Box::new(|| krate(ws, "d", "")),
            vec![],
            "Cargo.lock changed",
        ),
        (
            "the toolchain (another rustc first on PATH)",
            Box::new(|| {}),
            vec![("PATH", path.as_str())],
            "rustc -vV changed",
        ),
        (
            "an allowlisted variable (RUSTFLAGS)",
            Box::new(|| {}),
            vec![("PATH", path.as_str()), ("RUSTFLAGS", "--cfg tek")],
            "env RUSTFLAGS is new",
        ),
        (
            "a variable the hook lists in env_inputs",
            Box::new(|| {}),
            vec![
                ("PATH", path.as_str()),
                ("RUSTFLAGS", "--cfg tek"),
                ("MY_MODE", "fast"),
            ],
            "env MY_MODE is new",
        ),
        (
            "a generated file under inputs",
            Box::new(|| {
                ws.file("gen/out.txt", "generated 2\n");
            }),
            vec![
                ("PATH", path.as_str()),
                ("RUSTFLAGS", "--cfg tek"),
                ("MY_MODE", "fast"),
            ],
            "file gen/out.txt changed",
        ),
        (
            "a renamed file",
            Box::new(|| {
                std::fs::rename(
                    ws.join("crates/b/src/extra.rs"),
                    ws.join("crates/b/src/renamed.rs"),
                )
                .unwrap();
            }),
            vec![
                ("PATH", path.as_str()),
                ("RUSTFLAGS", "--cfg tek"),
                ("MY_MODE", "fast"),
            ],
            "file crates/b/src/renamed.rs is new",
        ),
        (
            "a deleted file",
            Box::new(|| std::fs::remove_file(ws.join("crates/b/src/renamed.rs")).unwrap()),
            vec![
                ("PATH", path.as_str()),
                ("RUSTFLAGS", "--cfg tek"),
                ("MY_MODE", "fast"),
            ],
            "file crates/b/src/renamed.rs is gone",
        ),
        (
            "a changed hook command",
            Box::new(|| {
                ws.file("config/hooks.json", hooks(&count, "; echo more"));
            }),
            vec![
                ("PATH", path.as_str()),
                ("RUSTFLAGS", "--cfg tek"),
                ("MY_MODE", "fast"),
            ],
            "definition changed",
        ),
    ];
    for (what, change, env, why) in &corpus {
        let before = c.runs("TASK-1");
        change();
        let stderr = c.run(env);
        assert_eq!(
            c.runs("TASK-1"),
            before + 1,
            "{what}: TASK-1 must miss and run:\n{stderr}"
        );
        assert!(
            stderr.contains(why),
            "{what}: the miss names `{why}`:\n{stderr}"
        );
        assert!(result(&c.run_json(), "TASK-1")["cached"].is_null());
        // The same inputs again: the pass just stored is a hit.
        let stderr = c.run(env);
        assert_eq!(
            c.runs("TASK-1"),
            before + 1,
            "{what}: unchanged again, TASK-1 must hit:\n{stderr}"
        );
    }
    // A crate TASK-1 does not cover: still a hit; TASK-2, which covers it, misses.
    let env = &corpus.last().unwrap().2;
    let (one, two) = (c.runs("TASK-1"), c.runs("TASK-2"));
    ws.file("crates/c/src/lib.rs", "pub fn c() { let _ = 2; }\n");
    let stderr = c.run(env);
    assert_eq!(c.runs("TASK-1"), one, "{stderr}");
    assert_eq!(c.runs("TASK-2"), two + 1, "{stderr}");
}

#[test]
fn failures_flaky_passes_opaque_tasks_and_dry_runs_are_never_stored() {
    let c = setup();
    // A dry run replays nothing and stores nothing.
    c.ws.tek(&["run", "--cache", "--dry-run"])
        .output()
        .expect_code(0);
    let explained =
        c.ws.tek(&["explain-cache", "TASK-2"])
            .output()
            .expect_code(0)
            .stdout();
    assert!(
        explained.contains("no pass of TASK-2 is stored"),
        "{explained}"
    );

    c.run(&[]);
    // Flaky: it failed its first attempt and passed the retry.
    assert_eq!(c.runs("TASK-5"), 2);
    let explain = |task: &str| {
        c.ws.tek(&["explain-cache", task])
            .output()
            .expect_code(0)
            .stdout()
    };
    assert!(explain("TASK-5").contains("no pass of TASK-5 is stored"));
    c.run(&[]);
    assert_eq!(c.runs("TASK-3"), 2, "a failure runs again");
    assert_eq!(c.runs("TASK-5"), 3, "a flaky pass is not stored");
    assert_eq!(c.runs("TASK-4"), 2, "an opaque task always runs");
    let explained = explain("TASK-3");
    assert!(
        explained.contains("no pass of TASK-3 is stored"),
        "{explained}"
    );
    let explained = explain("TASK-4");
    assert!(
        explained.contains("never cached: its inputs cannot be known"),
        "{explained}"
    );
    let explained = explain("TASK-1");
    for part in ["hit", "crates/a/src/lib.rs", "gen/out.txt", "rustc -vV"] {
        assert!(explained.contains(part), "{part} in:\n{explained}");
    }
}

/// The Action's run step: a pull request reads the remote cache and never writes it,
/// unless the workflow opts in; a push to the default branch writes.
#[test]
fn the_action_writes_the_remote_cache_only_on_push_to_the_default_branch() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}], "inputs": ["sot.md"]}}"#,
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/action/run.sh");
    let flags = |event: &str, git_ref: &str, write: &str| {
        let out = std::process::Command::new("bash")
            .arg(script)
            .current_dir(ws.path())
            .env_remove("CARGO_TARGET_DIR")
            .env("TEK_BIN", super::harness::BIN)
            .env("TEK_COMMAND", "run")
            // Nothing listens there: every lookup misses, with a warning.
            .env("TEK_CACHE_URL", "http://127.0.0.1:9")
            .env("TEK_CACHE_WRITE", write)
            .env("TEK_DEFAULT_BRANCH", "main")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_REF", git_ref)
            .env("GITHUB_OUTPUT", ws.join("gh-output"))
            .env("TEK_AFFECTED", "false")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = stderr
            .lines()
            .find(|l| l.starts_with("+ ") && l.contains(" tek run"))
            .unwrap_or_else(|| panic!("no command line in:\n{stderr}"))
            .to_owned();
        assert!(line.contains("--cache-url http://127.0.0.1:9"), "{line}");
        line.contains("--cache-read-only")
    };
    assert!(
        flags("pull_request", "refs/pull/7/merge", "auto"),
        "a PR only reads"
    );
    assert!(!flags("push", "refs/heads/main", "auto"), "main writes");
    assert!(
        flags("push", "refs/heads/topic", "auto"),
        "another branch only reads"
    );
    assert!(
        !flags("pull_request", "refs/pull/7/merge", "true"),
        "opted in"
    );
    assert!(flags("push", "refs/heads/main", "false"), "opted out");
}
