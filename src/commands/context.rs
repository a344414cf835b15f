//! What every command gets: global options, output, and the current directory.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::output::Output;
use crate::project::Project;
use crate::workspace::cache::Cache;
use crate::workspace::{Overrides, Workspace};

/// Shared state of one invocation.
pub(crate) struct Context {
    pub(crate) global: GlobalArgs,
    pub(crate) output: Output,
    pub(crate) cwd: PathBuf,
}

impl Context {
    /// Captures the current directory.
    pub(crate) fn new(global: GlobalArgs, output: Output) -> Result<Self, Error> {
        let cwd =
            std::env::current_dir().map_err(Error::io("failed to read the current directory"))?;
        Ok(Self {
            global,
            output,
            cwd,
        })
    }

    /// Finds the workspace, with `runs_dir` as an extra override, reusing cargo's
    /// earlier answer while it is still valid.
    pub(crate) fn workspace(&self, runs_dir: Option<PathBuf>) -> Result<Workspace, Error> {
        self.discover(runs_dir, Cache::from_env().as_ref())
    }

    /// Finds the workspace from its manifests without starting cargo: for commands
    /// that hold a token (see [`Workspace::discover_without_cargo`]).
    pub(crate) fn workspace_without_cargo(
        &self,
        runs_dir: Option<PathBuf>,
    ) -> Result<Workspace, Error> {
        Ok(Workspace::discover_without_cargo(
            &self.cwd,
            &self.overrides(runs_dir),
        )?)
    }

    fn overrides(&self, runs_dir: Option<PathBuf>) -> Overrides {
        Overrides {
            manifest_path: self.global.manifest_path.clone(),
            sot: self.global.sot.clone(),
            config: self.global.config.clone(),
            runs_dir,
        }
    }

    fn discover(
        &self,
        runs_dir: Option<PathBuf>,
        cache: Option<&Cache>,
    ) -> Result<Workspace, Error> {
        Ok(Workspace::discover(
            &self.cwd,
            &self.overrides(runs_dir),
            cache,
        )?)
    }

    /// Loads sot.md and config and builds the plan, warning about tasks the predecessor
    /// planned and cargo-tek does not (errors with `"strict_legacy": true`).
    pub(crate) fn project(&self, runs_dir: Option<PathBuf>) -> Result<Project, Error> {
        let project = Project::load(self.workspace(runs_dir)?)?;
        match self.legacy_gaps(&project, false) {
            0 => Ok(project),
            errors => Err(Error::CheckFailed(errors)),
        }
    }

    /// Prints each task the predecessor would have planned and this plan lacks: a
    /// warning, or an error when `strict` or the manifest says `strict_legacy`. Returns
    /// the number of errors printed.
    pub(crate) fn legacy_gaps(&self, project: &Project, strict: bool) -> usize {
        let strict = strict || project.manifest.strict_legacy;
        let severity = if strict { "error" } else { "warning" };
        for gap in &project.document.legacy_gaps {
            self.output
                .diagnostic(severity, &gap.diagnostic(&project.sot));
        }
        if strict {
            project.document.legacy_gaps.len()
        } else {
            0
        }
    }

    /// Like [`Context::project`], but always asks cargo (and refreshes the cache): for
    /// `check`, whose job is to catch whatever is wrong now.
    pub(crate) fn fresh_project(&self, runs_dir: Option<PathBuf>) -> Result<Project, Error> {
        Ok(Project::load(self.fresh_workspace(runs_dir)?)?)
    }

    /// Like [`Context::workspace`], but always asks cargo (and refreshes the cache).
    pub(crate) fn fresh_workspace(&self, runs_dir: Option<PathBuf>) -> Result<Workspace, Error> {
        let cache = Cache::from_env();
        let fresh = cache.as_ref().map(Cache::refreshing);
        self.discover(runs_dir, fresh.as_ref())
    }
}
