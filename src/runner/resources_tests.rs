//! The scheduler with shared resources: tasks that claim the same resource never
//! overlap, a task waiting for one holds no worker, and the wait is recorded apart from
//! the task's duration.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{run, Inputs, RunOptions};
use crate::agent::{Agent, BoxFuture, Job, Outcome, Registry};
use crate::config::{Hooks, Manifest};
use crate::evidence::{RunRecord, TaskStatus};
use crate::plan::fixtures::{plan, queue, task};
use crate::plan::Graph;
use crate::run_env::RunEnv;
use crate::source::SourceFile;

/// Sleeps for the task's `hold` time and notes when each task ran.
struct Hold {
    spans: Arc<Mutex<Vec<(String, Instant, Instant)>>>,
}

impl Agent for Hold {
    fn name(&self) -> &'static str {
        "hold"
    }
    fn run(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let start = Instant::now();
            let ms = if job.task.id == "fmt" { 20 } else { 150 };
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.spans
                .lock()
                .unwrap()
                .push((job.task.id.clone(), start, Instant::now()));
            Outcome {
                status: TaskStatus::Ok,
                commands: vec![],
                reason: None,
                cargo: None,
            }
        })
    }
}

type Spans = Vec<(String, Instant, Instant)>;

/// Runs tasks `ids` (no dependencies) with 2 workers and `hooks` (JSON).
async fn run_hooks(ids: &[&str], hooks: &str, manifest: &str, dir: &Path) -> (Spans, RunRecord) {
    let plan = plan(vec![queue(
        "Q",
        ids.iter().map(|id| task(id, &[])).collect(),
    )]);
    let graph = Graph::new(&plan).unwrap();
    let source = |name: &str, text: &str| {
        SourceFile::from_bytes(name.into(), text.as_bytes().to_vec()).unwrap()
    };
    let hooks = Hooks::load(source("hooks.json", hooks)).unwrap();
    let manifest = Manifest::load(&source("manifest.json", manifest)).unwrap();
    let spans = Arc::new(Mutex::new(Vec::new()));
    let mut registry = Registry::builtin();
    registry.register(Arc::new(Hold {
        spans: spans.clone(),
    }));
    let env = Arc::new(RunEnv {
        tek_exe: "cargo-tek".into(),
        run_dir: dir.to_path_buf(),
        base_env: Default::default(),
        default_timeout: None,
        grace: Duration::from_millis(100),
        dry_run: false,
        cwd_bounds: crate::cwd::Bounds::canonical_root(dir.to_path_buf()),
        color: None,
        baselines: Default::default(),
    });
    let options = RunOptions {
        max_workers: 2,
        claims: super::claims::Context {
            root: dir.to_path_buf(),
            target_dir: Some(dir.join("target")),
        },
        ..RunOptions::default()
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let inputs = Inputs {
        plan: &plan,
        graph: &graph,
        hooks: &hooks,
        manifest: &manifest,
        registry: &registry,
    };
    let summary = run(inputs, &options, env, "id".into(), tx, None)
        .await
        .unwrap();
    let spans = spans.lock().unwrap().clone();
    (spans, summary.record)
}

fn span<'a>(spans: &'a Spans, id: &str) -> &'a (String, Instant, Instant) {
    spans.iter().find(|s| s.0 == id).unwrap()
}

fn overlap(a: &(String, Instant, Instant), b: &(String, Instant, Instant)) -> bool {
    a.1 < b.2 && b.1 < a.2
}

#[tokio::test]
async fn cargo_builds_on_one_target_dir_take_turns_while_fmt_runs_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = r#"{
        "build": {"agent": "hold", "commands": [{"cmd": ["cargo", "build"]}]},
        "clippy": {"agent": "hold", "commands": [{"cmd": ["cargo", "clippy"]}]},
        "fmt": {"agent": "hold", "commands": [{"cmd": ["cargo", "fmt", "--check"]}]}
    }"#;
    let (spans, record) = run_hooks(&["build", "clippy", "fmt"], hooks, "{}", dir.path()).await;
    let (build, clippy, fmt) = (
        span(&spans, "build"),
        span(&spans, "clippy"),
        span(&spans, "fmt"),
    );
    assert!(!overlap(build, clippy), "one cargo build at a time");
    // fmt claims nothing, so it starts on the worker clippy could not use.
    assert!(overlap(build, fmt), "fmt ran beside the build");
    let result = |id: &str| record.results.iter().find(|r| r.task == id).unwrap();
    assert!(
        result("clippy").wait_ms >= 100,
        "clippy's wait is recorded: {}",
        result("clippy").wait_ms
    );
    assert!(
        result("clippy").duration_ms < 300,
        "and is not part of its duration: {}",
        result("clippy").duration_ms
    );
    assert_eq!(result("build").wait_ms, 0);
    assert_eq!(result("fmt").wait_ms, 0);
}

#[tokio::test]
async fn named_resources_admit_their_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let hook = r#"{"agent": "hold", "resources": ["db"], "commands": [{"cmd": ["true"]}]}"#;
    let hooks = format!(r#"{{"a": {hook}, "b": {hook}}}"#);
    let (spans, _) = run_hooks(&["a", "b"], &hooks, "{}", dir.path()).await;
    assert!(!overlap(span(&spans, "a"), span(&spans, "b")), "capacity 1");
    let again = tempfile::tempdir().unwrap();
    let (spans, record) = run_hooks(
        &["a", "b"],
        &hooks,
        r#"{"resources": {"db": 2}}"#,
        again.path(),
    )
    .await;
    assert!(overlap(span(&spans, "a"), span(&spans, "b")), "capacity 2");
    assert!(record.results.iter().all(|r| r.wait_ms == 0));
}

#[tokio::test]
async fn separate_target_dirs_build_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = r#"{
        "a": {"agent": "hold", "commands": [{"cmd": ["cargo", "build"]}]},
        "b": {"agent": "hold", "env": {"CARGO_TARGET_DIR": "other"}, "commands": [{"cmd": ["cargo", "build"]}]}
    }"#;
    let (spans, _) = run_hooks(&["a", "b"], hooks, "{}", dir.path()).await;
    assert!(overlap(span(&spans, "a"), span(&spans, "b")));
}
