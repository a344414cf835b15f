//! The `noop` agent: runs nothing; its result says why.

use super::{Agent, BoxFuture, Job, Outcome};
use crate::evidence::TaskStatus;

/// Records that a task had nothing to run.
pub(crate) struct NoopAgent;

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
            // No log: logs hold what a child wrote, and there is no child; the reason
            // is in run.json.
            Outcome {
                status: TaskStatus::Noop,
                commands: Vec::new(),
                reason: Some(reason),
                cargo: None,
            }
        })
    }
}
