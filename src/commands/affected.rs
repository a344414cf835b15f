//! `cargo tek affected [BASE]`: which tasks a change affects, without running them; and
//! the decision `run --affected` uses.

use crate::affected::{self, Decision};
use crate::cli::{AffectedArgs, AffectedDeps, AffectedFormat};
use crate::config::{Hooks, Manifest};
use crate::error::{Error, ExitCode};
use crate::plan::{Graph, Plan};
use crate::sot::IdPattern;
use crate::workspace::Workspace;

use super::Context;

pub fn run(ctx: &Context, args: AffectedArgs) -> Result<ExitCode, Error> {
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
    pub workspace: &'a Workspace,
    pub plan: &'a Plan,
    pub graph: &'a Graph,
    pub hooks: &'a Hooks,
    pub manifest: &'a Manifest,
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
