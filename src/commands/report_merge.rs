//! `report --merge`: the runs of shards and matrix legs merged into a run directory of
//! its own, which the rest of `report` then renders as it would any run.

use crate::cli::ReportArgs;
use crate::error::Error;
use crate::evidence::merge::{self, Missing};
use crate::evidence::{load_run, LoadedRun};
use crate::plan::Plan;
use crate::source::SourceFile;
use crate::workspace::Workspace;

use super::Context;

/// Merges the runs `args.merge` names, writes the merged run under the runs directory
/// and loads it back. Runs of different plans and missing shards are input errors.
pub(super) fn merged_run(
    ctx: &Context,
    args: &ReportArgs,
    workspace: &Result<Workspace, Error>,
    secrets: &crate::redact::Secrets,
) -> Result<LoadedRun, Error> {
    let runs_dir = match (&args.runs_dir, workspace) {
        (Some(dir), _) => ctx.cwd.join(dir),
        (None, Ok(ws)) => ws.runs_dir.clone(),
        (None, Err(_)) => {
            return Err(Error::Usage(
                "--merge writes the merged run under the runs directory: pass --runs-dir DIR outside a Cargo workspace".into(),
            ))
        }
    };
    let paths: Vec<_> = args.merge.iter().map(|p| ctx.cwd.join(p)).collect();
    let dirs = merge::run_dirs(&paths).map_err(Error::Usage)?;
    let mut runs = Vec::new();
    for dir in dirs {
        match load_run(&dir) {
            Ok(run) => runs.push(run),
            // A broken artifact is a shard without a run: the missing-shard check names
            // it when the plan says one is absent.
            Err(why) => ctx.output.warn(format!(
                "skipping `{}`: no readable run ({why})",
                dir.display()
            )),
        }
    }
    if runs.is_empty() {
        return Err(Error::Usage("no readable run to merge".into()));
    }
    let missing = if args.allow_missing {
        Missing::Allow
    } else {
        Missing::Refuse
    };
    let mut combined = merge::combine(&runs, missing).map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(path) = &args.merge_plan {
        let (plan_hash, shards) = planned_shards(ctx, path)?;
        let added = merge::add_missing_tasks(&mut combined.record, &plan_hash, &shards)
            .map_err(|why| Error::Usage(format!("`{}`: {why}", path.display())))?;
        if added > 0 {
            ctx.output.status(
                "Listed",
                format!(
                    "{} of the missing shards as not run (from `{}`)",
                    crate::output::count(added, "task", "tasks"),
                    path.display()
                ),
            );
        }
    }
    if let Some(stamp) = &combined.record.merge {
        for leg in stamp.legs.iter().filter(|l| !l.missing.is_empty()) {
            let total = leg.shards.unwrap_or(0);
            ctx.output.warn(format!(
                "{}{} missing; reporting without {} (--allow-missing)",
                if leg.name.is_empty() {
                    String::new()
                } else {
                    format!("leg `{}`: ", leg.name)
                },
                merge::missing_list(&leg.missing, total),
                if leg.missing.len() == 1 { "it" } else { "them" }
            ));
        }
    }
    let written = merge::write(&runs_dir, &runs, combined, secrets).map_err(Error::io(format!(
        "failed to write the merged run under `{}`",
        runs_dir.display()
    )))?;
    for lost in &written.lost {
        ctx.output
            .warn(format!("not copied into the merged run: {lost}"));
    }
    ctx.output.status(
        "Merged",
        format!(
            "{} into {}",
            crate::text::count(runs.len(), "run", "runs"),
            written.dir.display()
        ),
    );
    load_run(&written.dir).map_err(Error::Evidence)
}

/// The plan file's hash and its shards, each with its tasks as the plan has them.
fn planned_shards(
    ctx: &Context,
    path: &std::path::Path,
) -> Result<(String, Vec<merge::PlannedShard>), Error> {
    let full = ctx.cwd.join(path);
    let src = SourceFile::read(&full, path.display().to_string())
        .map_err(crate::project::LoadError::from)?;
    let plan: Plan = crate::config::load_json(
        &src,
        "a plan file comes from `cargo tek plan --shards N --out plan.json`",
    )
    .map_err(crate::project::LoadError::from)?;
    let Some(split) = plan.shards else {
        return Err(Error::Usage(format!(
            "`{}` has no shards: pass the plan.json that `cargo tek plan --shards N` wrote for the shards' jobs",
            path.display()
        )));
    };
    let tasks: std::collections::HashMap<&str, merge::PlannedTask> = plan
        .queues
        .iter()
        .flat_map(|q| {
            q.tasks.iter().map(|t| {
                (
                    t.id.as_str(),
                    merge::PlannedTask {
                        id: t.id.clone(),
                        queue: q.name.clone(),
                        title: t.title.clone(),
                        layer: t.layer.clone(),
                        line: t.line,
                    },
                )
            })
        })
        .collect();
    let shards = split
        .layout
        .shards
        .iter()
        .map(|shard| {
            let planned = shard
                .tasks
                .iter()
                .filter_map(|id| tasks.get(id.as_str()).cloned())
                .collect();
            (shard.index, planned)
        })
        .collect();
    Ok((split.plan_hash, shards))
}
