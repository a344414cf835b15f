//! Which tasks of the plan a run executes.

use std::collections::HashSet;

use crate::plan::{PlanQueue, PlanTask};

/// Filters from the command line.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--only`: these ids only (empty = all).
    pub only: HashSet<String>,
    /// `--queue`: these queues only (empty = all).
    pub queues: HashSet<String>,
    /// `--include-done`.
    pub include_done: bool,
    /// `--rerun-failed`: the ids that need another run.
    pub rerun: Option<HashSet<String>>,
}

impl Selection {
    /// Whether the run executes `task`. Unselected tasks count as satisfied for their
    /// dependents (done means done; `--only` trusts the rest).
    pub fn includes(&self, queue: &PlanQueue, task: &PlanTask) -> bool {
        (self.include_done || !task.done)
            && (self.only.is_empty() || self.only.contains(&task.id))
            && (self.queues.is_empty() || self.queues.contains(&queue.name))
            && self.rerun.as_ref().is_none_or(|r| r.contains(&task.id))
    }
}
