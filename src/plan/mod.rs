//! The plan: queues and tasks with their layers, dependencies and routing, serialised as
//! versioned JSON (a superset of the predecessor's `plan.json`).

mod build;
pub(crate) mod durations;
pub(crate) mod fingerprint;
mod graph;
pub(crate) mod leg;
mod model;
pub mod shard;
pub(crate) mod sharding;
mod view;

pub(crate) use build::{build, configured, hook_of, route, Inputs, PlanError};
pub(crate) use graph::{Graph, GraphError, Node};
#[cfg(test)]
pub(crate) use model::fixtures;
pub(crate) use model::{HookSource, Plan, PlanQueue, PlanTask, Routing};
pub(crate) use view::render_text;
