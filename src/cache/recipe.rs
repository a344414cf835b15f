//! What a task's cache key is made of, decided once when the run starts: its definition
//! (agent and hook: argv, cwd, env), the allowlisted environment, the toolchain, and
//! which files to hash — the packages it covers and every local package they depend on,
//! `covers.paths`, `inputs`, and the files that change every build (`rust-toolchain`,
//! `.cargo/config.toml`). The files' contents are hashed later, when the task starts
//! (see `key`), so that what earlier tasks of the run wrote counts.
//!
//! What a task covers is what `--affected` knows (`affected::cover_of`): declared
//! `covers`, else inferred from cargo's `-p`, `--workspace` and the cwd. A task whose
//! reach cannot be known (a shell script, no `covers`, no `inputs`) is never cached.

use std::collections::{BTreeMap, BTreeSet};

use super::env::{self, Value};
use super::toolchain::Toolchain;
use crate::affected::{Crates, Member};
use crate::config::{Hooks, Manifest};

/// The local packages of the workspace (members and path dependencies): where each is
/// and which local packages it depends on (all kinds: a test builds its dev-deps).
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalGraph {
    /// Name → directory relative to the root (`None`: outside it) and local dependencies.
    pub(crate) packages: BTreeMap<String, (Option<String>, Vec<String>)>,
    /// The workspace members, as `--affected` infers covers from.
    pub(crate) members: Vec<Member>,
}

impl LocalGraph {
    /// Reads the package graph from `cargo metadata`.
    pub(crate) fn load(root: &std::path::Path) -> Result<Self, String> {
        let graph = crate::affected::load_graph(&root.join("Cargo.toml"))?;
        let local = crate::affected::local_packages(&graph, root);
        let members = local
            .iter()
            .filter(|(_, ws)| *ws)
            .map(|(m, _)| m.clone())
            .collect();
        let mut packages = BTreeMap::new();
        for package in graph.packages().filter(|p| p.source().is_local()) {
            let dir = local
                .iter()
                .find(|(m, _)| m.name == package.name())
                .map(|(m, _)| m.dir.clone());
            let deps = package
                .direct_links()
                .filter(|l| l.to().source().is_local())
                .map(|l| l.to().name().to_owned())
                .collect();
            packages.insert(package.name().to_owned(), (dir, deps));
        }
        Ok(Self { packages, members })
    }

    /// `names` and every local package they depend on, each with its directory.
    fn closure(&self, names: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        let mut todo: Vec<String> = names.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let Some((dir, deps)) = self.packages.get(&name) else {
                return Err(format!(
                    "it covers `{name}`, which is no package of the workspace"
                ));
            };
            let Some(dir) = dir else {
                return Err(format!(
                    "it depends on `{name}`, a path package outside the workspace root, whose files are not hashed"
                ));
            };
            out.insert(name, dir.clone());
            todo.extend(deps.iter().cloned());
        }
        Ok(out)
    }
}

/// A task the cache can key.
#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    pub(crate) task: String,
    /// The agent and the hook as the run resolves them, as JSON.
    pub(crate) definition: String,
    /// The commands, for reading (`explain-cache`).
    pub(crate) commands: Vec<String>,
    pub(crate) env: BTreeMap<String, Value>,
    pub(crate) toolchain: Toolchain,
    /// The packages whose files are hashed, by name, with their directories.
    pub(crate) packages: BTreeMap<String, String>,
    /// Globs whose matching files are hashed (`covers.paths`, `inputs`, the built-in
    /// and `everything` rules).
    pub(crate) globs: Vec<String>,
    /// What it covers and why, in words.
    pub(crate) covered: String,
}

/// What the run knows of every task for the cache, gathered once.
pub(crate) struct Context<'a> {
    pub(crate) hooks: &'a Hooks,
    pub(crate) manifest: &'a Manifest,
    /// `None` when the package graph could not be read: then only tasks with `inputs`
    /// alone can be keyed.
    pub(crate) graph: Result<&'a LocalGraph, &'a str>,
    pub(crate) rules: &'a crate::affected::AffectedRules,
    pub(crate) base_env: &'a crate::supervise::env::BaseEnv,
}

/// Asks the toolchain a task's environment selects.
pub(crate) type AskToolchain<'a> =
    dyn FnMut(&[(std::ffi::OsString, std::ffi::OsString)]) -> Toolchain + 'a;

/// The recipe of task `id` in `queue`, or why it is never cached.
pub(crate) fn of(
    id: &str,
    queue: &str,
    ctx: &Context<'_>,
    toolchain: &mut AskToolchain<'_>,
) -> Result<Recipe, String> {
    let Some(hook) = crate::plan::hook_of(id, queue, ctx.hooks).0 else {
        return Err("it has no hook: nothing runs".into());
    };
    if hook.cache == Some(false) {
        return Err("its hook says `\"cache\": false`".into());
    }
    let routing = crate::plan::route(id, queue, ctx.hooks, ctx.manifest);
    if routing.agent == "noop" {
        return Err("the noop agent runs nothing".into());
    }
    let members = ctx.graph.map(|g| g.members.as_slice()).unwrap_or_default();
    let cover = crate::affected::cover_of(id, queue, ctx.hooks, members);
    let names: Option<BTreeSet<String>> = match &cover.crates {
        Crates::Everything if hook.inputs.is_empty() => {
            return Err(format!(
                "its inputs cannot be known ({}); declare `covers` or `inputs` in its hook",
                cover.source
            ))
        }
        Crates::Everything => None,
        Crates::Some(names) => Some(names.clone()),
        Crates::All => Some(members.iter().map(|m| m.name.clone()).collect()),
    };
    let packages = match names {
        None => BTreeMap::new(),
        Some(names) => {
            let graph = ctx
                .graph
                .map_err(|why| format!("the package graph could not be read: {why}"))?;
            graph.closure(&names)?
        }
    };
    let mut sandboxed = hook.into_owned();
    sandboxed.sandbox = ctx.manifest.sandbox_of(&sandboxed).cloned().map(Box::new);
    let definition = serde_json::json!({
        "agent": routing.agent,
        "compile_once": routing.compile_once,
        "hook": sandboxed,
    })
    .to_string();
    let task_env =
        crate::supervise::env::task_env(ctx.base_env, &sandboxed.pass_env, &[&sandboxed.env], &[]);
    let manifest = ctx.manifest;
    let env = env::of(&task_env, &sandboxed.env_inputs, &|name| {
        crate::supervise::env::is_secret(name) || manifest.names_secret(name)
    });
    let mut globs: Vec<String> = cover.paths.clone();
    globs.extend(sandboxed.inputs.iter().cloned());
    globs.extend(
        crate::affected::BUILTIN_EVERYTHING
            .iter()
            .map(|g| (*g).to_owned()),
    );
    globs.extend(ctx.rules.everything.iter().cloned());
    globs.sort();
    globs.dedup();
    let covered = match (&cover.crates, packages.len()) {
        (Crates::Everything, _) => format!("only its `inputs` ({})", cover.source),
        (_, n) => format!(
            "{} with their local dependencies: {} ({})",
            crate::text::count(n, "package", "packages"),
            packages.keys().cloned().collect::<Vec<_>>().join(", "),
            cover.source
        ),
    };
    Ok(Recipe {
        task: id.to_owned(),
        definition,
        commands: sandboxed
            .commands
            .iter()
            .map(|c| crate::text::shell_words(&c.argv()))
            .collect(),
        env,
        toolchain: toolchain(&task_env),
        packages,
        globs,
        covered,
    })
}
