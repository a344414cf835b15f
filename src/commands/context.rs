//! What every command gets: global options, output, and the current directory.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::output::Output;
use crate::project::Project;
use crate::workspace::{Overrides, Workspace};

/// Shared state of one invocation.
pub struct Context {
    pub global: GlobalArgs,
    pub output: Output,
    pub cwd: PathBuf,
}

impl Context {
    /// Captures the current directory.
    pub fn new(global: GlobalArgs, output: Output) -> Result<Self, Error> {
        let cwd =
            std::env::current_dir().map_err(Error::io("failed to read the current directory"))?;
        Ok(Self {
            global,
            output,
            cwd,
        })
    }

    /// Finds the workspace, with `runs_dir` as an extra override.
    pub fn workspace(&self, runs_dir: Option<PathBuf>) -> Result<Workspace, Error> {
        let overrides = Overrides {
            manifest_path: self.global.manifest_path.clone(),
            sot: self.global.sot.clone(),
            config: self.global.config.clone(),
            runs_dir,
        };
        Ok(Workspace::discover(&self.cwd, &overrides)?)
    }

    /// Loads sot.md and config and builds the plan.
    pub fn project(&self, runs_dir: Option<PathBuf>) -> Result<Project, Error> {
        Ok(Project::load(self.workspace(runs_dir)?)?)
    }
}
