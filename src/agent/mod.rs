//! Agents run a task: `shell` runs its hook's commands, `cargo` does so and reads what
//! cargo says, `noop` records a stub. New agents
//! are a file implementing [`Agent`] and a line in [`Registry::builtin`].

mod cargo;
mod limits;
mod noop;
mod registry;
mod shell;

use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Hook;
use crate::evidence::{CommandRecord, TaskStatus};
use crate::plan::{HookSource, PlanTask};
use crate::supervise::env::BaseEnv;
use crate::supervise::Cancel;

pub use cargo::CargoAgent;
pub use noop::NoopAgent;
pub use registry::Registry;
pub use shell::ShellAgent;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs tasks.
pub trait Agent: Send + Sync {
    /// The name used in manifest.json and run.json.
    fn name(&self) -> &'static str;
    /// Runs one attempt of a task.
    fn run(&self, job: Job) -> BoxFuture<'_, Outcome>;
}

/// Settings shared by every job of a run.
#[derive(Debug)]
pub struct RunEnv {
    /// This binary, passed to tasks as `CARGO_TEK`.
    pub tek_exe: OsString,
    /// The run directory; logs go under `logs/`.
    pub run_dir: PathBuf,
    /// cargo-tek's environment, scrubbed once for the run.
    pub base_env: BaseEnv,
    /// `--timeout`: applies when neither command nor hook sets one.
    pub default_timeout: Option<Duration>,
    pub grace: Duration,
    pub dry_run: bool,
    /// Where commands may run: the root and manifest.json's `allowed_cwds`, resolved once.
    pub cwd_bounds: crate::cwd::Bounds,
    /// `--color` as given to cargo-tek, passed on to child cargo commands as
    /// `CARGO_TERM_COLOR` (None: the task inherits whatever the environment says).
    pub color: Option<&'static str>,
    /// What `fail_on_new_warnings` hooks compare with.
    pub baselines: crate::cargo::baseline::Baselines,
}

/// One attempt of one task.
#[derive(Debug)]
pub struct Job {
    pub task: PlanTask,
    pub queue: String,
    pub hook: Option<Hook>,
    pub hook_source: HookSource,
    pub attempt: u32,
    pub env: Arc<RunEnv>,
    pub cancel: watch::Receiver<Cancel>,
}

impl Job {
    /// The same job for another attempt.
    pub fn clone_for(&self, attempt: u32) -> Job {
        Job {
            task: self.task.clone(),
            queue: self.queue.clone(),
            hook: self.hook.clone(),
            hook_source: self.hook_source,
            attempt,
            env: self.env.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

/// What an attempt produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: TaskStatus,
    pub commands: Vec<CommandRecord>,
    pub reason: Option<String>,
    /// What cargo said, when the cargo agent ran the task.
    pub cargo: Option<Box<crate::evidence::cargo::CargoEvidence>>,
}
