//! The result cache for one run: every task's recipe, decided when the run starts;
//! when a task is about to start, its key, and a hit (the stored pass, replayed into
//! this run) or a miss (with what changed since the last stored pass); when it has
//! passed cleanly, its result stored under the key it started with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::files::Tree;
use super::key::{Changes, Key};
use super::recipe::{self, LocalGraph, Recipe};
use super::remote::{Read, Remote};
use super::store::{self, Last, Local};
use super::toolchain::{Chooser, Toolchains};
use crate::affected::{RuleMatch, Rules};
use crate::config::{Hooks, Manifest};
use crate::evidence::TaskResult;
use crate::plan::Plan;

/// What the cache starts from.
pub(crate) struct Setup<'a> {
    pub(crate) root: &'a Path,
    pub(crate) target_dir: Option<&'a Path>,
    pub(crate) runs_dir: &'a Path,
    pub(crate) plan: &'a Plan,
    pub(crate) hooks: &'a Hooks,
    pub(crate) manifest: &'a Manifest,
    pub(crate) rules: &'a crate::affected::AffectedRules,
    pub(crate) base_env: &'a crate::supervise::env::BaseEnv,
    /// The workspace's local packages (`cargo metadata`), or why they are unknown.
    pub(crate) graph: Result<LocalGraph, String>,
    /// The remote store (`--cache-url`), read after the local one.
    pub(crate) remote: Option<Remote>,
}

/// The result cache of a run.
pub(crate) struct Cache {
    recipes: HashMap<String, Result<Recipe, String>>,
    tree: Tree,
    rules: Rules,
    local: Local,
    remote: Option<Remote>,
    /// Every local package's directory: a package's files stop where another begins.
    local_dirs: Vec<String>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("tasks", &self.recipes.len())
            .field("root", &self.tree.root)
            .finish()
    }
}

/// What the cache says of a task about to start.
#[derive(Debug)]
pub(crate) enum Check {
    /// Its pass is stored under its key: replayed into this run, nothing to run.
    Hit(Box<TaskResult>),
    /// Run it; a clean pass is stored under `key`. `why` says what changed; a
    /// `warning` says why a stored pass was not trusted (a bad signature).
    Miss {
        key: Key,
        why: String,
        warning: Option<String>,
    },
    /// Never cached, and why.
    Never(String),
}

impl Cache {
    pub(crate) fn new(setup: Setup<'_>) -> Self {
        let mut skip: Vec<PathBuf> = vec![setup.runs_dir.to_path_buf()];
        skip.extend(setup.target_dir.map(Path::to_path_buf));
        let tree = Tree::new(setup.root, skip);
        let graph_error;
        let graph = match &setup.graph {
            Ok(graph) => Ok(graph),
            Err(why) => {
                graph_error = why.clone();
                Err(graph_error.as_str())
            }
        };
        let ctx = recipe::Context {
            hooks: setup.hooks,
            manifest: setup.manifest,
            graph,
            rules: setup.rules,
            base_env: setup.base_env,
        };
        let mut toolchains = Toolchains::default();
        let mut ask = |env: &[(std::ffi::OsString, std::ffi::OsString)]| {
            toolchains.get(&Chooser::of(env), setup.root)
        };
        let recipes = setup
            .plan
            .tasks()
            .map(|(q, t)| (t.id.clone(), recipe::of(&t.id, &q.name, &ctx, &mut ask)))
            .collect();
        let local_dirs = setup
            .graph
            .as_ref()
            .map(|g| g.packages.values().filter_map(|(d, _)| d.clone()).collect())
            .unwrap_or_default();
        Self {
            recipes,
            tree,
            rules: Rules::new(setup.rules)
                .or_else(|_| Rules::new(&Default::default()))
                .expect("the built-in rules compile"),
            local: Local::in_runs_dir(setup.runs_dir),
            remote: setup.remote,
            local_dirs,
        }
    }

    /// The key of `task` now, or why it has none.
    pub(crate) fn key(&self, task: &str) -> Result<(&Recipe, Key), String> {
        let recipe = match self.recipes.get(task) {
            Some(Ok(recipe)) => recipe,
            Some(Err(why)) => return Err(why.clone()),
            None => return Err("it is not in the plan".into()),
        };
        let mut globs = globset::GlobSetBuilder::new();
        for pattern in &recipe.globs {
            let glob = crate::affected::glob(pattern)
                .map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
            globs.add(glob);
        }
        let globs = globs.build().map_err(|e| e.to_string())?;
        let ignored = |path: &str| {
            let manifest = Path::new(path)
                .file_name()
                .is_some_and(|n| n == "Cargo.toml" || n == "Cargo.lock");
            !manifest
                && matches!(
                    self.rules.classify(path, Some(path)),
                    Some(RuleMatch::Ignored(_))
                )
        };
        let key = Key::now(recipe, &self.tree, &ignored, &globs, &self.local_dirs)
            .map_err(|why| format!("its files could not be listed: {why}"))?;
        Ok((recipe, key))
    }

    /// Whether `task`, about to start, can be replayed into `run_dir`: from the local
    /// store, else from the remote one (which then fills the local one).
    pub(crate) fn check(&self, task: &str, run_dir: &Path, started: String) -> Check {
        let key = match self.key(task) {
            Ok((_, key)) => key,
            Err(why) => return Check::Never(why),
        };
        let mut store = "local";
        let mut warning = None;
        if self.local.get(&key.digest, task).is_none() {
            if let Some(remote) = &self.remote {
                match remote.get(&key.digest) {
                    Read::Found(artifact) => match self.local.unpack(&key, task, &artifact) {
                        Ok(()) => store = remote.url.as_str(),
                        Err(why) => {
                            warning =
                                Some(format!("the remote artifact of {task} was refused: {why}"))
                        }
                    },
                    Read::Missing => {}
                    Read::Refused(why) => warning = Some(why),
                }
            }
        }
        if let Some(stored) = self.local.get(&key.digest, task) {
            match store::replay(stored, run_dir, store, started) {
                Ok(result) => return Check::Hit(Box::new(result)),
                Err(e) => {
                    let why = format!("the stored pass could not be replayed: {e}");
                    return Check::Miss { key, why, warning };
                }
            }
        }
        let why = self.why_missed(task, &key);
        Check::Miss { key, why, warning }
    }

    /// What changed since the last stored pass of `task`.
    fn why_missed(&self, task: &str, key: &Key) -> String {
        match self.local.last(task) {
            None => "no pass of it is stored".into(),
            Some(last) => {
                let changes = Changes::between(&last.parts, &key.parts);
                if changes.is_empty() {
                    "its pass is no longer stored".into()
                } else {
                    format!("since its pass in {}: {}", last.run, changes.summary())
                }
            }
        }
    }

    /// Stores `result` under `key` if it is a clean pass.
    pub(crate) fn store(
        &self,
        key: &Key,
        result: &TaskResult,
        run_dir: &Path,
        run: &str,
    ) -> std::io::Result<bool> {
        if !store::is_storable(result) || result.cached.is_some() {
            return Ok(false);
        }
        self.local.put(key, result, run_dir, run)?;
        if let Some(remote) = self.remote.as_ref().filter(|r| r.write) {
            let artifact = self.local.pack(&key.digest, &result.task)?;
            remote
                .put(&key.digest, artifact)
                .map_err(std::io::Error::other)?;
        }
        Ok(true)
    }

    /// Everything the cache knows of `task`, for `explain-cache`.
    pub(crate) fn explain(&self, task: &str) -> Explanation {
        let last = self.local.last(task);
        match self.key(task) {
            Err(why) => Explanation {
                task: task.to_owned(),
                never: Some(why),
                recipe: None,
                key: None,
                hit: false,
                changes: None,
                last,
            },
            Ok((recipe, key)) => Explanation {
                task: task.to_owned(),
                never: None,
                hit: self.local.get(&key.digest, task).is_some(),
                changes: last
                    .as_ref()
                    .map(|l| Changes::between(&l.parts, &key.parts)),
                recipe: Some(recipe.clone()),
                key: Some(key),
                last,
            },
        }
    }
}

/// What `explain-cache` shows.
#[derive(Debug)]
pub(crate) struct Explanation {
    pub(crate) task: String,
    /// Why it is never cached.
    pub(crate) never: Option<String>,
    pub(crate) recipe: Option<Recipe>,
    pub(crate) key: Option<Key>,
    /// Whether its key is stored now.
    pub(crate) hit: bool,
    pub(crate) last: Option<Last>,
    /// How its key differs from the last stored one.
    pub(crate) changes: Option<Changes>,
}
