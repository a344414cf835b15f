//! Finding the Cargo workspace (through `cargo metadata`) and the settings derived from
//! it: where sot.md, the config and the evidence live.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub(crate) mod cache;
mod manifests;
mod rust_versions;

use cache::{Cache, CargoFacts};

/// `[workspace.metadata.tek]` (or `[package.metadata.tek]` for a single-package root).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct TekMetadata {
    pub(crate) sot: Option<PathBuf>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) runs_dir: Option<PathBuf>,
    pub(crate) templates: Option<PathBuf>,
    #[serde(default)]
    pub(crate) affected: crate::affected::AffectedRules,
}

/// The resolved workspace layout.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// The workspace root: every cwd must stay inside it.
    pub(crate) root: PathBuf,
    /// Cargo's target directory.
    pub(crate) target_dir: PathBuf,
    /// The sot.md to plan.
    pub(crate) sot: PathBuf,
    /// The directory holding hooks.json and manifest.json.
    pub(crate) config_dir: PathBuf,
    /// Who chose `config_dir` when it is not the default (`--config`, or `config` in the
    /// metadata): a directory someone named must exist.
    pub(crate) config_from: Option<&'static str>,
    /// Where run directories are created.
    pub(crate) runs_dir: PathBuf,
    /// A folder of templates overriding the built-in ones.
    pub(crate) templates_dir: PathBuf,
    /// Whether a Cargo workspace was found (false when planning a bare `--sot`).
    pub(crate) is_cargo: bool,
    /// `[workspace.metadata.tek.affected]`: path rules for `--affected`.
    pub(crate) affected: crate::affected::AffectedRules,
    /// What a matrix value `msrv` resolves from.
    pub(crate) known: crate::config::matrix::Known,
}

/// Failure to find the workspace.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum WorkspaceError {
    #[error("could not find a Cargo workspace from `{searched}`: {message}")]
    #[diagnostic(help(
        "run inside a Cargo workspace, pass --manifest-path, or pass --sot to plan a file directly"
    ))]
    NotFound { searched: String, message: String },
    #[error("invalid [workspace.metadata.tek] in `{manifest}`: {message}")]
    #[diagnostic(help("allowed keys: sot, config, runs-dir, templates, affected"))]
    Metadata { manifest: String, message: String },
}

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) manifest_path: Option<PathBuf>,
    pub(crate) sot: Option<PathBuf>,
    pub(crate) config: Option<PathBuf>,
    pub(crate) runs_dir: Option<PathBuf>,
}

impl Workspace {
    /// Discovers the workspace. With an explicit `--sot` and no Cargo workspace around,
    /// falls back to the current directory as the root. With a `cache`, an answer cargo
    /// gave earlier is reused while nothing it depends on has changed (see [`cache`]).
    pub(crate) fn discover(
        cwd: &Path,
        overrides: &Overrides,
        cache: Option<&Cache>,
    ) -> Result<Self, WorkspaceError> {
        let manifest = overrides.manifest_path.as_ref().map(|p| cwd.join(p));
        let key = cache::Key::new(cwd, manifest.as_deref());
        if let Some(facts) = cache.and_then(|c| c.lookup(&key)) {
            return Self::from_facts(facts, cwd, overrides);
        }
        let pending = cache.map(|c| c.begin(&key));
        let mut command = cargo_metadata::MetadataCommand::new();
        command.no_deps().current_dir(cwd);
        if let Some(path) = &manifest {
            command.manifest_path(path);
        }
        match command.exec() {
            Ok(metadata) => {
                let mut tek = metadata.workspace_metadata.get("tek").cloned();
                if tek.is_none() {
                    // A single-package workspace may keep its settings on the package.
                    tek = metadata
                        .root_package()
                        .and_then(|p| p.metadata.get("tek").cloned());
                }
                let facts = CargoFacts {
                    root: PathBuf::from(metadata.workspace_root.as_std_path()),
                    target_dir: PathBuf::from(metadata.target_directory.as_std_path()),
                    tek,
                    rust_versions: Some(rust_versions::of(&metadata)),
                };
                if let (Some(cache), Some(pending)) = (cache, pending) {
                    cache.store(pending, &facts);
                }
                Self::from_facts(facts, cwd, overrides)
            }
            Err(_) if overrides.sot.is_some() && overrides.manifest_path.is_none() => {
                Ok(Self::bare(cwd, overrides))
            }
            Err(err) => Err(WorkspaceError::NotFound {
                searched: manifest
                    .unwrap_or_else(|| cwd.to_path_buf())
                    .display()
                    .to_string(),
                message: cargo_error_message(&err),
            }),
        }
    }

    /// Like [`Workspace::discover`], but reads the manifests instead of starting cargo:
    /// for commands that hold a token and must not run what the checkout controls (the
    /// rustup proxy honours its `rust-toolchain.toml`). See [`manifests`].
    pub(crate) fn discover_without_cargo(
        cwd: &Path,
        overrides: &Overrides,
    ) -> Result<Self, WorkspaceError> {
        let start = overrides
            .manifest_path
            .as_ref()
            .map_or_else(|| cwd.to_path_buf(), |p| cwd.join(p));
        match manifests::facts_without_cargo(&start) {
            Ok(facts) => Self::from_facts(facts, cwd, overrides),
            Err(_) if overrides.sot.is_some() && overrides.manifest_path.is_none() => {
                Ok(Self::bare(cwd, overrides))
            }
            Err(manifests::NotFound(message)) => Err(WorkspaceError::NotFound {
                searched: start.display().to_string(),
                message,
            }),
        }
    }

    /// No Cargo workspace around an explicit `--sot`: the current directory is the root.
    fn bare(cwd: &Path, overrides: &Overrides) -> Self {
        let root = cwd.to_path_buf();
        let mut bare = Self::layout(
            root.clone(),
            root.join("target"),
            TekMetadata::default(),
            cwd,
            overrides,
            false,
        );
        bare.known = crate::config::matrix::Known::NoWorkspace(root);
        bare
    }

    fn from_facts(
        facts: CargoFacts,
        cwd: &Path,
        overrides: &Overrides,
    ) -> Result<Self, WorkspaceError> {
        let tek: TekMetadata = match facts.tek {
            Some(value) => serde_json::from_value(value).map_err(|e| WorkspaceError::Metadata {
                manifest: facts.root.join("Cargo.toml").display().to_string(),
                message: e.to_string(),
            })?,
            None => TekMetadata::default(),
        };
        let mut workspace = Self::layout(facts.root, facts.target_dir, tek, cwd, overrides, true);
        // Without cargo (a command holding a token) nobody read the versions: `msrv`
        // stays as written there, since such commands run no task.
        if let Some(versions) = facts.rust_versions {
            workspace.known = crate::config::matrix::Known::Read(versions);
        }
        Ok(workspace)
    }

    fn layout(
        root: PathBuf,
        target_dir: PathBuf,
        tek: TekMetadata,
        cwd: &Path,
        overrides: &Overrides,
        is_cargo: bool,
    ) -> Self {
        // Flags are relative to where the user typed them; metadata to the root.
        let pick = |flag: &Option<PathBuf>, meta: Option<PathBuf>, default: PathBuf| match flag {
            Some(path) => cwd.join(path),
            None => meta.map(|m| root.join(m)).unwrap_or(default),
        };
        Self {
            sot: pick(&overrides.sot, tek.sot, root.join("sot.md")),
            config_from: match (&overrides.config, &tek.config) {
                (Some(_), _) => Some("--config"),
                (None, Some(_)) => Some("`config` in [workspace.metadata.tek]"),
                (None, None) => None,
            },
            config_dir: pick(&overrides.config, tek.config, root.join("config")),
            // Beside the sources, not in the target dir: a hook that runs `cargo clean`
            // must not delete the running run's evidence or the history that
            // `--rerun-failed` and the scheduling durations read.
            runs_dir: pick(
                &overrides.runs_dir,
                tek.runs_dir,
                root.join(".tek").join("runs"),
            ),
            templates_dir: tek
                .templates
                .map(|t| root.join(t))
                .unwrap_or_else(|| root.join("templates")),
            root,
            target_dir,
            is_cargo,
            affected: tek.affected,
            known: Default::default(),
        }
    }

    /// A path as shown to the user: relative to the root when inside it.
    pub(crate) fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string())
    }

    /// hooks.json's path.
    pub(crate) fn hooks_path(&self) -> PathBuf {
        self.config_dir.join("hooks.json")
    }

    /// manifest.json's path.
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.config_dir.join("manifest.json")
    }
}

/// `cargo metadata --no-deps` for the workspace around `cwd` (or `manifest_path`), for
/// what the layout does not keep: the members and their targets (`cargo tek init`).
/// Always asks cargo.
pub(crate) fn metadata(
    cwd: &Path,
    manifest_path: Option<&Path>,
) -> Result<cargo_metadata::Metadata, WorkspaceError> {
    let manifest = manifest_path.map(|p| cwd.join(p));
    let mut command = cargo_metadata::MetadataCommand::new();
    command.no_deps().current_dir(cwd);
    if let Some(path) = &manifest {
        command.manifest_path(path);
    }
    command.exec().map_err(|err| WorkspaceError::NotFound {
        searched: manifest
            .unwrap_or_else(|| cwd.to_path_buf())
            .display()
            .to_string(),
        message: cargo_error_message(&err),
    })
}

fn cargo_error_message(err: &cargo_metadata::Error) -> String {
    match err {
        cargo_metadata::Error::CargoMetadata { stderr } => stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or(stderr.trim())
            .trim_start_matches("error: ")
            .to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_this_repository_with_real_cargo_metadata() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ws = Workspace::discover(&here.join("src"), &Overrides::default(), None).unwrap();
        assert_eq!(ws.root, here);
        assert_eq!(ws.sot, here.join("sot.md"));
        assert_eq!(ws.runs_dir, here.join(".tek/runs"));
        assert!(ws.is_cargo);
    }

    #[test]
    fn outside_a_workspace_says_what_was_searched() {
        let dir = tempfile::tempdir().unwrap();
        let err = Workspace::discover(dir.path(), &Overrides::default(), None).unwrap_err();
        assert!(
            err.to_string().contains(&dir.path().display().to_string()),
            "{err}"
        );
        let with_sot = Overrides {
            sot: Some("x.md".into()),
            ..Default::default()
        };
        let ws = Workspace::discover(dir.path(), &with_sot, None).unwrap();
        assert_eq!(ws.sot, dir.path().join("x.md"));
        assert!(!ws.is_cargo);
    }

    #[test]
    fn cargos_answer_is_cached_until_the_manifest_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        let manifest = |sot: &str| {
            format!(
                "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [workspace]\n\n[workspace.metadata.tek]\nsot = \"{sot}\"\n"
            )
        };
        std::fs::write(root.join("Cargo.toml"), manifest("first.md")).unwrap();
        let cache = Cache::in_dir(dir.path().join("cache"));
        let found = |cache: &Cache| {
            Workspace::discover(&root.join("src"), &Overrides::default(), Some(cache)).unwrap()
        };

        // The first answer comes from real cargo metadata and is stored.
        assert_eq!(found(&cache).sot, root.join("first.md"));
        let key = cache::Key::new(&root.join("src"), None);
        assert!(cache.lookup(&key).is_some());

        // A stored answer is used as is: plant one cargo could not have given.
        let planted = CargoFacts {
            root: root.clone(),
            target_dir: root.join("elsewhere"),
            tek: Some(serde_json::json!({"sot": "planted.md"})),
            rust_versions: None,
        };
        cache.store(cache.begin(&key), &planted);
        let ws = found(&cache);
        assert_eq!(ws.sot, root.join("planted.md"));
        assert_eq!(ws.target_dir, root.join("elsewhere"));
        // `check` refreshes: cargo is asked again and the entry rewritten.
        assert_eq!(found(&cache.refreshing()).sot, root.join("first.md"));
        assert_eq!(found(&cache).sot, root.join("first.md"));

        // Editing the manifest is a miss, and cargo's new answer is used.
        cache.store(cache.begin(&key), &planted);
        std::fs::write(root.join("Cargo.toml"), manifest("second.md")).unwrap();
        assert_eq!(found(&cache).sot, root.join("second.md"));
    }
}
