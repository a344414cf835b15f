//! The `noop` agent: runs nothing and leaves a stub in the logs saying why.

use super::{Agent, BoxFuture, Job, Outcome};
use crate::evidence::{logs, TaskStatus};

/// Records that a task had nothing to run.
pub struct NoopAgent;

impl Agent for NoopAgent {
    fn name(&self) -> &'static str {
        "noop"
    }

    fn run(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let reason = match &job.hook {
                None => format!("no hook for `{}` or its queue", job.task.id),
                Some(_) => "routed to the noop agent by manifest.json".to_owned(),
            };
            let rel = format!("logs/{}/noop.log", logs::safe_name(&job.task.id));
            // The stub is best-effort evidence; a failure to write it is not the task's.
            let _ = logs::create(
                &job.env.run_dir,
                &rel,
                &format!("noop {}: {reason}", job.task.id),
            );
            Outcome {
                status: TaskStatus::Noop,
                commands: Vec::new(),
                reason: Some(reason),
            }
        })
    }
}
