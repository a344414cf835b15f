//! The runner: the scheduler and worker pool, on top of [`crate::supervise`]. It reports
//! progress as [`Event`]s and never prints.

mod attempts;
pub(crate) mod claims;
mod events;
mod once;
mod ready;
pub(crate) mod resources;
#[cfg(test)]
mod resources_tests;
mod routes;
mod scheduler;
pub(crate) mod selection;
mod verdict;

pub(crate) use crate::supervise::Cancel;
pub(crate) use events::Event;
pub(crate) use scheduler::{run, Inputs, RunOptions, RunSummary};
pub(crate) use verdict::Verdict;

/// Bundles what the scheduler needs from the workspace.
pub(crate) fn scheduler_inputs<'a>(
    plan: &'a crate::plan::Plan,
    graph: &'a crate::plan::Graph,
    hooks: &'a crate::config::Hooks,
    manifest: &'a crate::config::Manifest,
    registry: &'a crate::agent::Registry,
) -> Inputs<'a> {
    Inputs {
        plan,
        graph,
        hooks,
        manifest,
        registry,
    }
}
pub(crate) use routes::shard_costs;
pub(crate) use selection::Selection;
