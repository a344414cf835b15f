//! `cargo tek affected [BASE]`: which tasks a change affects, without running them; and
//! the decision `run --affected` uses.

use std::collections::HashSet;

use crate::affected::{self, Decision};
use crate::cli::{AffectedArgs, AffectedDeps, AffectedFormat};
use crate::config::{Hooks, Manifest};
use crate::error::{Error, ExitCode};
use crate::evidence::AffectedStamp;
use crate::plan::sharding::AffectedSet;
use crate::plan::{Graph, Plan};
use crate::sot::IdPattern;
use crate::workspace::Workspace;

use super::Context;

pub(crate) fn run(ctx: &Context, args: AffectedArgs) -> Result<ExitCode, Error> {
    let project = ctx.project(None)?;
    let decision = decide(
        ctx,
        &Subject {
            workspace: &project.workspace,
            plan: &project.plan,
            graph: &project.graph,
            hooks: &project.hooks,
            manifest: &project.manifest,
        },
        args.base.clone(),
        args.affected_deps.unwrap_or(AffectedDeps::Run),
    )?;
    match args.format {
        AffectedFormat::Json => ctx.output.stdout_with(|w| {
            serde_json::to_writer_pretty(&mut *w, &decision)?;
            w.write_all(b"\n")
        }),
        AffectedFormat::Text => ctx
            .output
            .stdout(&crate::output::render_affected(&decision, args.explain)),
    }
    Ok(ExitCode::Success)
}

/// What a decision is about.
pub(super) struct Subject<'a> {
    pub(crate) workspace: &'a Workspace,
    pub(crate) plan: &'a Plan,
    pub(crate) graph: &'a Graph,
    pub(crate) hooks: &'a Hooks,
    pub(crate) manifest: &'a Manifest,
}

/// Decides which tasks the change since `base` affects; warns (shallow clone, missing
/// base) through the output.
pub(super) fn decide(
    ctx: &Context,
    subject: &Subject<'_>,
    base: Option<String>,
    deps: AffectedDeps,
) -> Result<Decision, Error> {
    let ids = subject
        .manifest
        .id_pattern
        .as_deref()
        .and_then(|p| IdPattern::new(p).ok())
        .unwrap_or_default();
    let workspace = subject.workspace;
    let decision = affected::decide(&affected::Inputs {
        root: &workspace.root,
        plan: subject.plan,
        graph: subject.graph,
        hooks: subject.hooks,
        ids: &ids,
        sot: &workspace.sot,
        hooks_path: &workspace.hooks_path(),
        manifest_path: &workspace.manifest_path(),
        rules: &workspace.affected,
        base,
        github_base_ref: std::env::var("GITHUB_BASE_REF").ok(),
        run_dependencies: deps == AffectedDeps::Run,
    })
    .map_err(|e| Error::Usage(e.to_string()))?;
    if let Some(warning) = &decision.warning {
        ctx.output.warn(warning);
    }
    Ok(decision)
}

/// `--affected [BASE]` for `run` and `plan --shards`: decides, says how many tasks the
/// change affects, and returns the set as plan.json records it.
pub(super) fn set(
    ctx: &Context,
    subject: &Subject<'_>,
    base: &str,
    deps: Option<AffectedDeps>,
) -> Result<AffectedSet, Error> {
    let decision = decide(
        ctx,
        subject,
        Some(base.to_owned()).filter(|b| !b.is_empty()),
        deps.unwrap_or(AffectedDeps::Run),
    )?;
    let mut tasks: Vec<String> = affected::select(&decision).into_iter().collect();
    tasks.sort_unstable();
    let total = decision.tasks.len();
    ctx.output.status(
        "Affected",
        format!(
            "{} of {} by the change since {} ({}); the other {} recorded as skipped, unaffected",
            tasks.len(),
            crate::output::count(total, "task", "tasks"),
            decision.base,
            crate::output::count(
                decision.changed_paths.len(),
                "changed path",
                "changed paths"
            ),
            match total - tasks.len() {
                1 => "1 is".to_owned(),
                n => format!("{n} are"),
            }
        ),
    );
    Ok(AffectedSet {
        base: decision.base.clone(),
        merge_base: decision.merge_base.clone(),
        changed_paths: decision.changed_paths.len(),
        everything: decision
            .everything
            .as_ref()
            .map(crate::output::affected_reason),
        tasks,
    })
}

/// A set as a run applies it: the ids to run, and the stamp for run.json.
pub(super) fn applied(set: &AffectedSet) -> (HashSet<String>, AffectedStamp) {
    (
        set.tasks.iter().cloned().collect(),
        AffectedStamp {
            base: set.base.clone(),
            merge_base: set.merge_base.clone(),
            changed_paths: set.changed_paths,
            everything: set.everything.clone(),
            selected: set.tasks.len(),
        },
    )
}
