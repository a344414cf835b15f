//! `cargo tek init`: from what `cargo metadata` says about a workspace to the files of a
//! first plan (sot.md, hooks.json, manifest.json and, on request, a workflow), and
//! writing them without ever overwriting one by surprise. Nothing here prints.

mod config;
mod gates;
mod shape;
mod sot;
mod workflow;
mod write;

pub(crate) use gates::{gates, Queue};
pub(crate) use shape::Shape;
pub(crate) use workflow::{ActionRef, Workflow};
pub(crate) use write::{write_all, InitError, PlannedFile};

/// The contents of sot.md, hooks.json and manifest.json for `shape`. `config_dir` is
/// the config folder as sot.md's prose names it (`config/`).
pub(crate) fn plan_files(shape: &Shape, config_dir: &str) -> Contents {
    let queues = gates(shape);
    Contents {
        tasks: queues.iter().map(|q| q.tasks.len()).sum(),
        sot: sot::render(&shape.name, config_dir, &queues),
        hooks: config::hooks_json(&queues),
        manifest: config::manifest_json(&queues),
    }
}

/// What init writes besides the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contents {
    /// How many tasks sot.md has.
    pub(crate) tasks: usize,
    pub(crate) sot: String,
    pub(crate) hooks: String,
    pub(crate) manifest: String,
}
