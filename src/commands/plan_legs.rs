//! `plan --format matrix` for a plan whose hook matrices have an `os` axis: one entry
//! per `os` value, and with `--shards N` one per shard of each leg, each leg split over
//! its own combinations (as `run --leg os=… --shard K/N` splits it).

use crate::cli::PlanArgs;
use crate::error::Error;
use crate::plan::leg::{narrow, OS};
use crate::plan::Graph;
use crate::project::Project;

use super::Context;

/// The GitHub Actions matrix of `legs` (the plan's `os` values), as JSON.
pub(crate) fn matrix(
    ctx: &Context,
    project: &Project,
    args: &PlanArgs,
    legs: &[String],
) -> Result<String, Error> {
    let mut include: Vec<serde_json::Value> = Vec::new();
    for os in legs {
        let mut plan = project.plan.clone();
        narrow(&mut plan, os);
        let tasks = plan.tasks().count();
        let Some(shards) = args.shards else {
            include.push(serde_json::json!({ OS: os, "tasks": tasks }));
            continue;
        };
        let graph = Graph::new(&plan).map_err(|e| Error::Usage(format!("os {os}: {e}")))?;
        let parts = super::shard::Parts {
            workspace: &project.workspace,
            graph: &graph,
            hooks: &project.hooks,
            manifest: &project.manifest,
        };
        super::shard::split_project(
            ctx,
            &parts,
            &mut plan,
            super::shard::Split {
                shards,
                durations: &args.durations,
                workers: args.max_workers,
                affected: None,
            },
            args.affected
                .as_deref()
                .map(|base| (base, args.affected_deps)),
        )?;
        let Some(layout) = plan.shards.as_ref().map(|s| &s.layout) else {
            continue;
        };
        let entries: serde_json::Value = serde_json::from_str(&layout.matrix()).unwrap_or_default();
        for mut entry in entries["include"].as_array().cloned().unwrap_or_default() {
            if let Some(map) = entry.as_object_mut() {
                map.insert(OS.into(), os.clone().into());
            }
            include.push(entry);
        }
    }
    Ok(serde_json::json!({ "include": include }).to_string())
}
