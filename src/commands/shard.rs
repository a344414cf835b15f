//! Sharding glue for `plan --shards` and `run --shard`: reading durations, hashing the
//! inputs, and checking that a plan's shards belong to this checkout.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::error::Error;
use crate::evidence::shard::ShardStamp;
use crate::plan::durations::{Basis, Durations};
use crate::plan::fingerprint::{plan_hash, InputHashes};
use crate::plan::sharding::{self, human, AffectedSet, ShardPlan, ShardSpec};
use crate::plan::{Graph, Plan};
use crate::workspace::Workspace;

use super::Context;

/// How to split.
pub(crate) struct Split<'a> {
    pub(crate) shards: u32,
    pub(crate) durations: &'a [PathBuf],
    pub(crate) workers: Option<u16>,
    /// `--affected`: balance these tasks only.
    pub(crate) affected: Option<AffectedSet>,
}

/// The parts of a project that a split reads besides the plan.
pub(crate) struct Parts<'a> {
    pub(crate) workspace: &'a Workspace,
    pub(crate) graph: &'a Graph,
    pub(crate) hooks: &'a crate::config::Hooks,
    pub(crate) manifest: &'a crate::config::Manifest,
}

/// `plan --shards N`, and `run --shard K/N` without a plan file, with `--affected BASE`
/// when given: the change is decided first, so the shards balance the affected tasks
/// only, and every job of the matrix splits the same inputs the same way.
pub(crate) fn split_project(
    ctx: &Context,
    parts: &Parts<'_>,
    plan: &mut Plan,
    how: Split<'_>,
    change: Option<(&str, Option<crate::cli::AffectedDeps>)>,
) -> Result<(), Error> {
    let affected = change
        .map(|(base, deps)| {
            let subject = super::affected::Subject {
                workspace: parts.workspace,
                plan,
                graph: parts.graph,
                hooks: parts.hooks,
                manifest: parts.manifest,
            };
            super::affected::set(ctx, &subject, base, deps)
        })
        .transpose()?;
    let how = Split {
        affected: affected.or(how.affected),
        ..how
    };
    let costs = crate::runner::shard_costs(
        (plan, parts.graph),
        (parts.hooks, parts.manifest),
        &crate::runner::claims::Context::of(parts.workspace),
    );
    split(ctx, parts.workspace, plan, parts.graph, how, costs)
}

/// Splits `plan` into shards (recorded in `plan.shards`) and says how well they balance.
pub(crate) fn split(
    ctx: &Context,
    workspace: &Workspace,
    plan: &mut Plan,
    graph: &Graph,
    how: Split<'_>,
    costs: sharding::Costs,
) -> Result<(), Error> {
    let files: Vec<PathBuf> = how.durations.iter().map(|f| ctx.cwd.join(f)).collect();
    let durations = Durations::read(&files).map_err(|e| Error::Usage(e.to_string()))?;
    let inputs = input_hashes(workspace)?;
    let workers = how
        .workers
        .map(u32::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    sharding::shard(
        plan,
        graph,
        sharding::Request {
            shards: how.shards,
            workers,
            durations: &durations,
            durations_from: files.iter().map(|f| workspace.display(f)).collect(),
            inputs,
            affected: how.affected,
            costs,
        },
    );
    if let Some(shards) = &plan.shards {
        report(ctx, plan, shards);
    }
    Ok(())
}

/// The status line: how many shards, the longest against the lower bound.
fn report(ctx: &Context, plan: &Plan, shards: &ShardPlan) {
    let layout = &shards.layout;
    let tasks = plan.tasks().count();
    let subject = match &layout.affected {
        Some(set) => format!("{} affected of {tasks} tasks", set.tasks.len()),
        None => crate::output::count(tasks, "task", "tasks"),
    };
    let reduced = if layout.total < layout.requested {
        format!(
            " ({} asked for: only {})",
            layout.requested,
            crate::output::count(
                layout.total as usize,
                "independent group of tasks",
                "independent groups of tasks"
            )
        )
    } else {
        String::new()
    };
    let balance = match layout.basis {
        Basis::Count => {
            "no durations recorded (give --durations with earlier run.json files): balanced by task count".to_owned()
        }
        Basis::Durations => {
            let ratio = if layout.lower_bound_ms == 0 {
                1.0
            } else {
                layout.makespan_ms as f64 / layout.lower_bound_ms as f64
            };
            format!(
                "longest {}, lower bound {} ({ratio:.2}×) on {} each; {} of {tasks} tasks timed before",
                human(layout.makespan_ms),
                human(layout.lower_bound_ms),
                crate::output::count(layout.workers as usize, "worker", "workers"),
                layout.recorded
            )
        }
    };
    ctx.output.status(
        "Sharded",
        format!(
            "{subject} into {}{reduced}: {balance}",
            crate::output::count(layout.total as usize, "shard", "shards"),
        ),
    );
}

fn input_hashes(workspace: &Workspace) -> Result<InputHashes, Error> {
    InputHashes::of(
        &workspace.sot,
        &workspace.hooks_path(),
        &workspace.manifest_path(),
    )
    .map_err(Error::io("failed to read the plan's inputs to hash them"))
}

/// Checks that `plan` (read from `file`) has shards, was not edited since, and was made
/// from this checkout's sot.md, hooks.json and manifest.json.
pub(crate) fn verify<'a>(
    workspace: &Workspace,
    plan: &'a Plan,
    file: &str,
) -> Result<&'a ShardPlan, Error> {
    let Some(shards) = &plan.shards else {
        return Err(Error::Usage(format!(
            "--shard: `{file}` has no shards; write it with `cargo tek plan --shards N --out {file}`, or drop --plan to split sot.md in place"
        )));
    };
    let now = plan_hash(plan);
    if now != shards.plan_hash {
        return Err(Error::Usage(format!(
            "--shard: `{file}` was changed after it was planned (its plan hash is {}, its content hashes to {now}); plan again with `cargo tek plan --shards N --out {file}`",
            shards.plan_hash
        )));
    }
    let changed = shards.layout.inputs.changed(&input_hashes(workspace)?);
    if !changed.is_empty() {
        let list: Vec<String> = changed
            .iter()
            .map(|c| format!("{} (planned {}, now {})", c.file, c.planned, c.now))
            .collect();
        return Err(Error::Usage(format!(
            "--shard: `{file}` does not match this checkout: {} changed since it was planned; plan and run every shard from the same commit (the commit changed under the matrix?)",
            list.join(", ")
        )));
    }
    Ok(shards)
}

/// The ids shard `spec` runs, and the stamp its run.json carries.
pub(crate) fn select(
    shards: &ShardPlan,
    spec: ShardSpec,
) -> Result<(HashSet<String>, ShardStamp), Error> {
    let tasks = shards.layout.tasks(spec).map_err(Error::Usage)?;
    Ok((
        tasks.iter().cloned().collect(),
        ShardStamp {
            index: spec.index,
            total: spec.total,
            plan_hash: shards.plan_hash.clone(),
            assigned: tasks.to_vec(),
            // Estimates from durations only: a count-based split's are not times.
            estimate_ms: (shards.layout.basis == Basis::Durations)
                .then(|| shards.layout.shards.get(spec.index as usize - 1))
                .flatten()
                .map(|s| s.estimate_ms),
        },
    ))
}
