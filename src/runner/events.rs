//! What the runner reports while it works, for the output layer to display.

use crate::evidence::TaskResult;

/// A progress event.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The run began with this many tasks to run.
    RunStarted {
        run_id: String,
        run_dir: std::path::PathBuf,
        /// The sot.md or plan file, as named to the user.
        source: Option<String>,
        tasks: usize,
        workers: usize,
    },
    /// A task (attempt) started.
    TaskStarted {
        task: String,
        title: String,
        attempt: u32,
    },
    /// A ready task waits for a resource another task holds (said once per task).
    TaskWaiting { task: String, on: String },
    /// A step that several tasks share (the compile of compile once) ended.
    SharedStepFinished {
        what: String,
        ok: bool,
        duration_ms: u64,
    },
    /// A failed attempt will be retried.
    TaskRetrying {
        task: String,
        attempt: u32,
        reason: String,
    },
    /// The result cache has no pass for a task about to start (or never keeps one),
    /// and why: what changed since the last stored pass.
    CacheMissed { task: String, why: String },
    /// Something the result cache could not do for a task: store its pass, or trust a
    /// stored one (a remote artifact with a bad signature).
    CacheWarning { task: String, why: String },
    /// A task is done (or skipped).
    TaskFinished { result: Box<TaskResult> },
    /// A signal arrived; tasks are being cancelled.
    Interrupted { signal: i32, immediate: bool },
}
