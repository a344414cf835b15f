//! Loading a workspace's inputs together: sot.md, hooks.json, manifest.json, and the plan
//! built from them.

use std::path::Path;

use crate::config::{Hooks, JsonError, Manifest};
use crate::cwd::Bounds;
use crate::plan::{self, Graph, Plan, PlanError};
use crate::sot::{self, Document, IdPattern};
use crate::source::{ReadError, SourceFile};
use crate::workspace::Workspace;

/// Everything a command needs about the workspace's task definitions.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) workspace: Workspace,
    pub(crate) sot: SourceFile,
    pub(crate) document: Document,
    pub(crate) hooks: Hooks,
    pub(crate) manifest: Manifest,
    pub(crate) manifest_source: Option<SourceFile>,
    pub(crate) plan: Plan,
    pub(crate) graph: Graph,
}

/// Failure to load the project.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum LoadError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Json(#[from] JsonError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sot(#[from] crate::source::SourceDiagnostic),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    #[error("config directory `{dir}` (from {from}) {problem}")]
    #[diagnostic(help(
        "it should hold hooks.json (and optionally manifest.json); fix the path, or drop it to use config/ at the workspace root"
    ))]
    ConfigDir {
        dir: String,
        from: &'static str,
        problem: String,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    AllowedCwd(crate::source::SourceDiagnostic),
}

/// Reads an optional config file: absent means defaults.
fn optional(path: &Path, name: String) -> Result<Option<SourceFile>, ReadError> {
    match SourceFile::read(path, name) {
        Ok(src) => Ok(Some(src)),
        Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// hooks.json and manifest.json, loaded (absent files mean defaults).
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) hooks: Hooks,
    pub(crate) manifest: Manifest,
    pub(crate) manifest_source: Option<SourceFile>,
}

impl Config {
    /// Loads the config of `workspace`.
    pub(crate) fn load(workspace: &Workspace) -> Result<Self, LoadError> {
        let (manifest, manifest_source) = Self::manifest(workspace)?;
        Ok(Self {
            hooks: Self::hooks(workspace)?,
            manifest,
            manifest_source,
        })
    }

    /// manifest.json (and that the config directory asked for exists).
    fn manifest(workspace: &Workspace) -> Result<(Manifest, Option<SourceFile>), LoadError> {
        // A typo in `--config` must not quietly mean "no hooks, everything a noop".
        if let Some(from) = workspace.config_from {
            let problem = match std::fs::metadata(&workspace.config_dir) {
                Ok(meta) if meta.is_dir() => None,
                Ok(_) => Some("is not a directory".to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Some("does not exist".to_owned())
                }
                Err(e) => Some(format!("cannot be read: {e}")),
            };
            if let Some(problem) = problem {
                return Err(LoadError::ConfigDir {
                    dir: workspace.config_dir.display().to_string(),
                    from,
                    problem,
                });
            }
        }
        let manifest_path = workspace.manifest_path();
        let manifest_source = optional(&manifest_path, workspace.display(&manifest_path))?;
        let manifest = match &manifest_source {
            Some(src) => Manifest::load(src)?,
            None => Manifest::default(),
        };
        Ok((manifest, manifest_source))
    }

    /// hooks.json.
    fn hooks(workspace: &Workspace) -> Result<Hooks, LoadError> {
        let hooks_path = workspace.hooks_path();
        Ok(
            match optional(&hooks_path, workspace.display(&hooks_path))? {
                Some(src) => {
                    let mut hooks = Hooks::load(src)?;
                    hooks.known = workspace.known.clone();
                    hooks
                }
                None => Hooks::default(),
            },
        )
    }
}

/// Where hooks may run: the workspace root and manifest.json's `allowed_cwds`, resolved
/// once. An allowed directory that cannot be resolved is an error at its entry.
pub(crate) fn cwd_bounds(
    root: &Path,
    manifest: &Manifest,
    manifest_source: Option<&SourceFile>,
) -> Result<Bounds, LoadError> {
    Bounds::new(root, &manifest.allowed_cwds).map_err(|err| {
        let Some(src) = manifest_source else {
            return LoadError::ConfigDir {
                dir: root.display().to_string(),
                from: "the workspace",
                problem: err.to_string(),
            };
        };
        let quoted = serde_json::to_string(&err.entry).unwrap_or_default();
        let range = src
            .text
            .find(&quoted)
            .map_or(0..0, |start| start..start + quoted.len());
        LoadError::AllowedCwd(src.diagnostic(
            format!(
                "`allowed_cwds` entry `{}` cannot be used: {}",
                err.entry, err.source
            ),
            vec![(range, "this directory".into())],
            Some("list existing directories (absolute, or relative to the workspace root)".into()),
        ))
    })
}

impl Project {
    /// Loads config and sot.md and builds the plan.
    pub(crate) fn load(workspace: Workspace) -> Result<Self, LoadError> {
        let (manifest, manifest_source) = Config::manifest(&workspace)?;
        let ids = match &manifest.id_pattern {
            Some(p) => IdPattern::new(p).unwrap_or_default(),
            None => IdPattern::default(),
        };
        let sot = SourceFile::read(&workspace.sot, workspace.display(&workspace.sot))?;
        // sot.md before hooks.json: Markdown's parse tree (the largest thing a 50,000-task
        // plan builds) is gone before the hooks are loaded, so the two never add up.
        let document = sot::parse(&sot, &ids)?;
        let hooks = Config::hooks(&workspace)?;
        let (plan, graph) = plan::build(&plan::Inputs {
            sot: &sot,
            document: &document,
            hooks: &hooks,
            manifest: &manifest,
            manifest_source: manifest_source.as_ref(),
        })?;
        Ok(Self {
            workspace,
            sot,
            document,
            hooks,
            manifest,
            manifest_source,
            plan,
            graph,
        })
    }
}
