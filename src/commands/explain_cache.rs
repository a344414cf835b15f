//! `cargo tek explain-cache ID`: what the task's result-cache key is made of now, and
//! how it differs from the key of its last stored pass; and the cache `run --cache`
//! opens.

use crate::cache::{Cache, LocalGraph, Setup};
use crate::cli::ExplainCacheArgs;
use crate::error::{Error, ExitCode};
use crate::plan::Plan;
use crate::project::Project;
use crate::supervise::env::BaseEnv;
use crate::workspace::Workspace;

use super::Context;

pub(crate) fn run(ctx: &Context, args: ExplainCacheArgs) -> Result<ExitCode, Error> {
    let project = ctx.project(args.runs_dir.clone())?;
    if !project.plan.tasks().any(|(_, t)| t.id == args.task) {
        return Err(Error::Usage(format!(
            "no task `{}` in {}",
            args.task, project.sot.name
        )));
    }
    let manifest = &project.manifest;
    let base_env = BaseEnv::scrubbing(crate::supervise::secrets::vars_os(), |name| {
        manifest.names_secret(name)
    });
    let cache = open(&project_parts(&project), &base_env, None);
    let explanation = cache.explain(&args.task);
    ctx.output.stdout(&crate::output::render_cache_explanation(
        &explanation,
        args.all,
    ));
    Ok(ExitCode::Success)
}

/// What a cache is opened on.
pub(super) struct Parts<'a> {
    pub(super) workspace: &'a Workspace,
    pub(super) plan: &'a Plan,
    pub(super) hooks: &'a crate::config::Hooks,
    pub(super) manifest: &'a crate::config::Manifest,
}

fn project_parts(project: &Project) -> Parts<'_> {
    Parts {
        workspace: &project.workspace,
        plan: &project.plan,
        hooks: &project.hooks,
        manifest: &project.manifest,
    }
}

/// The result cache of the workspace's runs directory, with every task's recipe (the
/// package graph read once, from `cargo metadata`).
pub(super) fn open(
    parts: &Parts<'_>,
    base_env: &BaseEnv,
    remote: Option<crate::cache::Remote>,
) -> Cache {
    let workspace = parts.workspace;
    let graph = if workspace.is_cargo {
        LocalGraph::load(&workspace.root)
    } else {
        Err("no Cargo workspace".into())
    };
    Cache::new(Setup {
        root: &workspace.root,
        target_dir: workspace.is_cargo.then_some(workspace.target_dir.as_path()),
        runs_dir: &workspace.runs_dir,
        plan: parts.plan,
        hooks: parts.hooks,
        manifest: parts.manifest,
        rules: &workspace.affected,
        base_env,
        graph,
        remote,
    })
}
