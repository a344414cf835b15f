//! Agents run a task: `shell` runs its hook's commands, `cargo` does so and reads what
//! cargo says, `noop` records a stub. New agents
//! are a file implementing [`Agent`] and a line in [`Registry::builtin`].

mod cargo;
mod limits;
mod noop;
mod registry;
mod shell;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Hook;
use crate::evidence::{CommandRecord, TaskStatus};
use crate::plan::{HookSource, PlanTask};
use crate::run_env::RunEnv;
use crate::supervise::Cancel;

pub(crate) use cargo::CargoAgent;
pub(crate) use noop::NoopAgent;
pub(crate) use registry::Registry;
pub(crate) use shell::ShellAgent;

/// A boxed future, so the trait stays object-safe.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs tasks.
pub(crate) trait Agent: Send + Sync {
    /// The name used in manifest.json and run.json.
    fn name(&self) -> &'static str;
    /// Runs one attempt of a task.
    fn run(&self, job: Job) -> BoxFuture<'_, Outcome>;
}

/// One attempt of one task.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) task: PlanTask,
    pub(crate) queue: String,
    pub(crate) hook: Option<Hook>,
    pub(crate) hook_source: HookSource,
    pub(crate) attempt: u32,
    pub(crate) env: Arc<RunEnv>,
    pub(crate) cancel: watch::Receiver<Cancel>,
}

impl Job {
    /// The same job for another attempt.
    pub(crate) fn clone_for(&self, attempt: u32) -> Job {
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
pub(crate) struct Outcome {
    pub(crate) status: TaskStatus,
    pub(crate) commands: Vec<CommandRecord>,
    pub(crate) reason: Option<String>,
    /// What cargo said, when the cargo agent ran the task.
    pub(crate) cargo: Option<Box<crate::evidence::cargo::CargoEvidence>>,
}
