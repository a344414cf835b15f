//! The plan: queues and tasks with their layers, dependencies and routing, serialised as
//! versioned JSON (a superset of the predecessor's `plan.json`).

mod build;
pub mod durations;
pub mod fingerprint;
mod graph;
pub(crate) mod leg;
mod model;
pub mod shard;
pub mod sharding;
mod view;

pub use build::{build, configured, hook_of, route, Inputs, PlanError};
pub use graph::{Graph, GraphError, Node};
#[cfg(test)]
pub(crate) use model::fixtures;
pub use model::{HookSource, Plan, PlanQueue, PlanTask, Routing};
pub use view::render_text;
