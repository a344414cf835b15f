//! The decision: from the base and the changed paths to, for every task, run or skip and
//! why. Never prints; the caller shows the [`Decision`] (see `output::affected`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::covers::{self, Crates, TaskCover};
use super::git::{self, Repo, Unusable};
use super::graph::{self, CrateCause};
use super::rules::{self, AffectedRules, RuleMatch, Rules};
use crate::config::Hooks;
use crate::plan::{Graph, Node, Plan};
use crate::sot::IdPattern;
use crate::source::SourceFile;

/// What the decision starts from.
pub struct Inputs<'a> {
    /// The workspace root.
    pub root: &'a Path,
    pub plan: &'a Plan,
    pub graph: &'a Graph,
    pub hooks: &'a Hooks,
    pub ids: &'a IdPattern,
    /// sot.md, hooks.json and manifest.json (absolute).
    pub sot: &'a Path,
    pub hooks_path: &'a Path,
    pub manifest_path: &'a Path,
    pub rules: &'a AffectedRules,
    /// The base asked for, else the default (`GITHUB_BASE_REF` or `origin/HEAD`).
    pub base: Option<String>,
    pub github_base_ref: Option<String>,
    /// Whether the tasks a running task waits for run too (`--affected-deps=run`), or
    /// count as passed when unaffected (`skip`).
    pub run_dependencies: bool,
}

/// An error that stops the decision (everything else runs everything, with a warning).
#[derive(Debug, thiserror::Error)]
pub enum AffectedError {
    #[error("--affected needs a git repository: {0}")]
    Git(#[from] git::GitError),
    #[error("invalid [workspace.metadata.tek.affected]: {0}")]
    Rules(String),
}

/// Why a task runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// A changed path affects every task.
    Everything { path: String, rule: String },
    /// The change could not be measured.
    Fallback { why: String },
    /// Its own definition changed (its hooks.json entry, its line in sot.md).
    Definition { what: String },
    /// A crate it covers is affected: the chain from the cause to that crate.
    Crate { chain: Vec<String> },
    /// A changed path matches one of its `covers.paths`.
    Path { path: String, glob: String },
    /// What it covers could not be inferred.
    AlwaysRuns { why: String },
    /// A task that runs waits for it.
    DependencyOf { task: String },
}

/// One task's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDecision {
    pub id: String,
    pub queue: String,
    pub run: bool,
    /// Why it runs (empty when it does not).
    pub reasons: Vec<Reason>,
    /// Why it does not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
    pub cover: TaskCover,
}

/// The whole decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub base: String,
    pub merge_base: Option<String>,
    /// Changed paths, relative to the workspace root (to the repository when outside).
    pub changed_paths: Vec<String>,
    /// Why every task runs, when one does.
    pub everything: Option<Reason>,
    /// A warning for the user (a shallow clone, a missing base), with the fix.
    pub warning: Option<String>,
    /// Affected crates and why.
    pub crates: BTreeMap<String, CrateCause>,
    pub tasks: Vec<TaskDecision>,
}

impl Decision {
    /// The ids of the tasks that run.
    pub fn selected(&self) -> BTreeSet<String> {
        self.tasks
            .iter()
            .filter(|t| t.run)
            .map(|t| t.id.clone())
            .collect()
    }
}

/// What a look at the changed paths found.
#[derive(Default)]
struct Classified {
    everything: Option<Reason>,
    seeds: BTreeMap<String, String>,
    /// Paths no crate owns, to be claimed by a task's glob or else run everything.
    loose: Vec<String>,
    /// Paths inside a crate, which tasks' globs may match too.
    owned: Vec<String>,
    hooks_changed: bool,
    sot_changed: bool,
}

/// Decides which tasks run.
pub fn decide(inputs: &Inputs<'_>) -> Result<Decision, AffectedError> {
    let rules = Rules::new(inputs.rules).map_err(AffectedError::Rules)?;
    let root = std::fs::canonicalize(inputs.root).unwrap_or_else(|_| inputs.root.to_path_buf());
    let repo = Repo::open(&root)?;
    let base = inputs
        .base
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| git::default_base(inputs.github_base_ref.as_deref()));
    let merge_base = match repo.merge_base(&base)? {
        Ok(mb) => mb,
        Err(why) => {
            let warning = unusable_warning(&base, &why);
            return Ok(everything(
                inputs,
                base,
                None,
                Vec::new(),
                Reason::Fallback {
                    why: warning.clone(),
                },
                Some(warning),
            ));
        }
    };
    let prefix = root
        .strip_prefix(&repo.top)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let repo_paths = repo.changed_paths(&merge_base)?;
    let ws_of = |p: &str| -> Option<String> {
        let rel = Path::new(p).strip_prefix(&prefix).ok()?;
        Some(rel.to_string_lossy().into_owned())
    };
    let shown: Vec<String> = repo_paths
        .iter()
        .map(|p| ws_of(p).unwrap_or_else(|| p.clone()))
        .collect();

    let new_graph = match graph::load(&root.join("Cargo.toml")) {
        Ok(g) => g,
        Err(e) => {
            let why = format!("the package graph could not be read ({e}); every task runs");
            return Ok(everything(
                inputs,
                base,
                Some(merge_base),
                shown,
                Reason::Fallback { why: why.clone() },
                Some(why),
            ));
        }
    };
    let manifests_changed = shown
        .iter()
        .any(|p| p.ends_with("Cargo.toml") || p.ends_with("Cargo.lock"));
    let old_graph = if manifests_changed {
        match old_graph(&repo, &merge_base, &prefix) {
            Ok(g) => Some(g),
            Err(e) => {
                let why = format!(
                    "the package graph at the base could not be read ({e}); every task runs"
                );
                return Ok(everything(
                    inputs,
                    base,
                    Some(merge_base),
                    shown,
                    Reason::Fallback { why: why.clone() },
                    Some(why),
                ));
            }
        }
    } else {
        None
    };
    let packages = graph::local_packages(&new_graph, &root);
    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .map(|r| r.to_string_lossy().into_owned())
            .ok()
    };
    let files = SpecialFiles {
        sot: rel(inputs.sot),
        hooks: rel(inputs.hooks_path),
        manifest: rel(inputs.manifest_path),
    };
    let classified = classify(
        &repo,
        &merge_base,
        &prefix,
        &repo_paths,
        &rules,
        &packages,
        &files,
    );
    let base_info = (base, merge_base.clone(), shown);
    if let Some(reason) = classified.everything.clone() {
        return Ok(everything(
            inputs,
            base_info.0,
            Some(base_info.1),
            base_info.2,
            reason,
            None,
        ));
    }
    let old = old_graph.as_ref().unwrap_or(&new_graph);
    let crates = graph::affected(old, &new_graph, &classified.seeds);
    let members: Vec<covers::Member> = packages
        .iter()
        .filter(|(_, ws)| *ws)
        .map(|(m, _)| m.clone())
        .collect();

    let redefined = redefined(inputs, &repo, &merge_base, &prefix, &files, &classified);
    let mut tasks = Vec::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    for (queue, task) in inputs.plan.tasks() {
        let cover = covers::of(&task.id, &queue.name, inputs.hooks, &members);
        let mut reasons = Vec::new();
        if let Some(what) = redefined.get(&task.id) {
            reasons.push(Reason::Definition { what: what.clone() });
        }
        reasons.extend(crate_reason(&cover, &crates));
        for pattern in &cover.paths {
            let Ok(glob) = rules::glob(pattern) else {
                continue;
            };
            let matcher = glob.compile_matcher();
            for path in classified.loose.iter().chain(&classified.owned) {
                if matcher.is_match(path) {
                    claimed.insert(path);
                    if !reasons.iter().any(|r| matches!(r, Reason::Path { .. })) {
                        reasons.push(Reason::Path {
                            path: path.clone(),
                            glob: pattern.clone(),
                        });
                    }
                }
            }
        }
        let skip = reasons.is_empty().then(|| skip_reason(&cover));
        tasks.push(TaskDecision {
            id: task.id.clone(),
            queue: queue.name.clone(),
            run: !reasons.is_empty(),
            reasons,
            skip,
            cover,
        });
    }
    // A path that nothing claims could affect anything.
    if let Some(path) = classified
        .loose
        .iter()
        .find(|p| !claimed.contains(p.as_str()))
    {
        let reason = Reason::Everything {
            path: path.clone(),
            rule: "no crate, no task's `covers.paths` and no rule claims it".into(),
        };
        return Ok(everything(
            inputs,
            base_info.0,
            Some(base_info.1),
            base_info.2,
            reason,
            None,
        ));
    }
    if inputs.run_dependencies {
        add_dependencies(inputs, &mut tasks);
    }
    Ok(Decision {
        base: base_info.0,
        merge_base: Some(base_info.1),
        changed_paths: base_info.2,
        everything: None,
        warning: None,
        crates,
        tasks,
    })
}

/// Why a task runs because of the crates it covers, if it does: any affected crate for
/// a task over all crates, one of its own for a task over some.
pub(crate) fn crate_reason(
    cover: &TaskCover,
    crates: &BTreeMap<String, CrateCause>,
) -> Option<Reason> {
    match &cover.crates {
        Crates::Everything => Some(Reason::AlwaysRuns {
            why: cover.source.clone(),
        }),
        Crates::All => crates.keys().next().map(|name| Reason::Crate {
            chain: chain(crates, name),
        }),
        Crates::Some(names) => {
            names
                .iter()
                .find(|n| crates.contains_key(*n))
                .map(|name| Reason::Crate {
                    chain: chain(crates, name),
                })
        }
    }
}

fn unusable_warning(base: &str, why: &Unusable) -> String {
    match why {
        Unusable::Shallow => format!(
            "the clone is shallow and `{base}` shares no history with HEAD in it, so the change cannot be measured; every task runs. Fix: check out with `fetch-depth: 0` (actions/checkout), or fetch the base and enough history (`git fetch --unshallow origin`)"
        ),
        Unusable::Missing => format!(
            "the base `{base}` does not exist in this clone, so the change cannot be measured; every task runs. Fix: fetch it (`git fetch origin {}`), or name another base (`--affected BASE`)",
            base.strip_prefix("origin/").unwrap_or(base)
        ),
        Unusable::Unrelated => format!(
            "`{base}` and HEAD have no common history, so the change cannot be measured; every task runs"
        ),
    }
}

fn skip_reason(cover: &TaskCover) -> String {
    match &cover.crates {
        Crates::Some(names) if names.is_empty() && cover.paths.is_empty() => {
            "covers nothing that changed".into()
        }
        Crates::Some(names) if names.is_empty() => {
            format!("no changed path matches {}", cover.paths.join(", "))
        }
        Crates::Some(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut s = format!("{} not affected", names.join(", "));
            if !cover.paths.is_empty() {
                s.push_str(&format!(
                    "; no changed path matches {}",
                    cover.paths.join(", ")
                ));
            }
            s
        }
        _ => "no crate is affected".into(),
    }
}

/// The chain that affects `name`: the changed path (or dependency change), then each
/// crate down to `name`.
fn chain(crates: &BTreeMap<String, CrateCause>, name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    let mut current = name.to_owned();
    // Bounded by the number of crates: a cycle in dev-dependencies cannot loop it.
    for _ in 0..=crates.len() {
        match crates.get(&current) {
            Some(CrateCause::DependsOn { name }) => {
                out.push(name.clone());
                current = name.clone();
            }
            Some(CrateCause::Path { path }) => {
                out.push(path.clone());
                break;
            }
            Some(CrateCause::Dependencies { detail }) => {
                out.push(detail.clone());
                break;
            }
            None => break,
        }
    }
    out.reverse();
    out
}

fn everything(
    inputs: &Inputs<'_>,
    base: String,
    merge_base: Option<String>,
    changed: Vec<String>,
    reason: Reason,
    warning: Option<String>,
) -> Decision {
    let members = Vec::new();
    let tasks = inputs
        .plan
        .tasks()
        .map(|(q, t)| TaskDecision {
            id: t.id.clone(),
            queue: q.name.clone(),
            run: true,
            reasons: vec![reason.clone()],
            skip: None,
            cover: covers::of(&t.id, &q.name, inputs.hooks, &members),
        })
        .collect();
    Decision {
        base,
        merge_base,
        changed_paths: changed,
        everything: Some(reason),
        warning,
        crates: BTreeMap::new(),
        tasks,
    }
}

/// The package graph at the base, read from a throw-away checkout of its tree.
fn old_graph(
    repo: &Repo,
    commit: &str,
    prefix: &Path,
) -> Result<guppy::graph::PackageGraph, String> {
    let dir =
        tempfile::tempdir().map_err(|e| format!("failed to create a temporary directory: {e}"))?;
    let tree = dir.path().join("tree");
    repo.checkout_into(commit, &tree)
        .map_err(|e| e.to_string())?;
    graph::load(&tree.join(prefix).join("Cargo.toml"))
}

/// Paths of cargo-tek's own files, relative to the workspace root.
struct SpecialFiles {
    sot: Option<String>,
    hooks: Option<String>,
    manifest: Option<String>,
}

fn classify(
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    repo_paths: &[String],
    rules: &Rules,
    packages: &[(covers::Member, bool)],
    files: &SpecialFiles,
) -> Classified {
    let mut out = Classified::default();
    for repo_path in repo_paths {
        let ws_path = Path::new(repo_path)
            .strip_prefix(prefix)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let everything = |rule: &str| Reason::Everything {
            path: ws_path.clone().unwrap_or_else(|| repo_path.clone()),
            rule: rule.to_owned(),
        };
        match rules.classify(repo_path, ws_path.as_deref()) {
            Some(RuleMatch::Everything(rule)) => {
                out.everything.get_or_insert(everything(&rule));
                continue;
            }
            Some(RuleMatch::Ignored(_)) => continue,
            None => {}
        }
        let Some(path) = ws_path.clone() else {
            out.everything
                .get_or_insert(everything("outside the workspace"));
            continue;
        };
        if Some(&path) == files.manifest.as_ref() {
            out.everything.get_or_insert(everything(
                "cargo-tek's manifest.json applies to every task",
            ));
            continue;
        }
        if Some(&path) == files.hooks.as_ref() {
            out.hooks_changed = true;
            continue;
        }
        if Some(&path) == files.sot.as_ref() {
            out.sot_changed = true;
            continue;
        }
        if path == "Cargo.lock" {
            // determinator compares the dependency graphs of both commits.
            continue;
        }
        if path == "Cargo.toml" {
            if let Some(rule) = root_manifest_change(repo, merge_base, repo_path, prefix) {
                out.everything.get_or_insert(everything(&rule));
                continue;
            }
            // The rest (workspace dependencies) is measured by determinator, through
            // the package graphs; a root package is changed itself.
            if let Some(root) = packages.iter().find(|(m, _)| m.dir.is_empty()) {
                out.seeds
                    .entry(root.0.name.clone())
                    .or_insert_with(|| path.clone());
            }
            continue;
        }
        match graph::owner(packages, &path) {
            Some(member) => {
                out.seeds
                    .entry(member.name.clone())
                    .or_insert_with(|| path.clone());
                out.owned.push(path);
            }
            None => out.loose.push(path),
        }
    }
    out
}

/// Whether a change to the root Cargo.toml reaches beyond what determinator measures:
/// anything in `[workspace]` but its `dependencies`, or a table that is not the root
/// package's (`[profile]`, `[patch]`, `[replace]`). Returns the rule that fired.
fn root_manifest_change(
    repo: &Repo,
    merge_base: &str,
    repo_path: &str,
    prefix: &Path,
) -> Option<String> {
    let old = repo.show(merge_base, repo_path);
    let new = std::fs::read(repo.top.join(prefix).join("Cargo.toml")).ok();
    let parse =
        |b: Option<Vec<u8>>| -> Option<toml::Table> { String::from_utf8(b?).ok()?.parse().ok() };
    let (Some(mut old), Some(mut new)) = (parse(old), parse(new)) else {
        return Some("the root Cargo.toml (added, removed or unreadable)".into());
    };
    const PACKAGE_TABLES: &[&str] = &[
        "package",
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "target",
        "lib",
        "bin",
        "test",
        "bench",
        "example",
        "features",
        "badges",
        "lints",
    ];
    for table in [&mut old, &mut new] {
        for key in PACKAGE_TABLES {
            table.remove(*key);
        }
        if let Some(toml::Value::Table(ws)) = table.get_mut("workspace") {
            ws.remove("dependencies");
        }
    }
    (old != new).then(|| "the root Cargo.toml's [workspace] (or [profile], [patch]) changed".into())
}

/// Tasks whose own definition changed: their effective hooks.json entry, or their line
/// in sot.md (title, done mark, dependencies, queue). A file that cannot be read at the
/// base counts as a change to every task it defines.
fn redefined(
    inputs: &Inputs<'_>,
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    files: &SpecialFiles,
    classified: &Classified,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let at_base = |rel: &Option<String>| -> Option<Vec<u8>> {
        let rel = rel.as_ref()?;
        repo.show(merge_base, &prefix.join(rel).to_string_lossy())
    };
    if classified.hooks_changed {
        let name = files.hooks.clone().unwrap_or_else(|| "hooks.json".into());
        let old = at_base(&files.hooks)
            .and_then(|b| SourceFile::from_bytes(&PathBuf::from(&name), name.clone(), b).ok())
            .and_then(|src| Hooks::load(src).ok());
        for (queue, task) in inputs.plan.tasks() {
            let now = inputs.hooks.get(&task.id).or(inputs.hooks.get(&queue.name));
            let before = old.as_ref().map(|h| h.get(&task.id).or(h.get(&queue.name)));
            if before != Some(now) {
                out.insert(task.id.clone(), format!("its entry in {name} changed"));
            }
        }
    }
    if classified.sot_changed {
        let name = files.sot.clone().unwrap_or_else(|| "sot.md".into());
        let old = at_base(&files.sot)
            .and_then(|b| SourceFile::from_bytes(&PathBuf::from(&name), name.clone(), b).ok())
            .and_then(|src| crate::sot::parse(&src, inputs.ids).ok());
        let before: HashMap<&str, (String, String, bool, Vec<String>)> = old
            .as_ref()
            .map(|doc| {
                doc.tasks()
                    .map(|(q, t)| {
                        (
                            t.id.as_str(),
                            (
                                q.name.clone(),
                                t.title.clone(),
                                t.done,
                                t.after.iter().map(|(a, _)| a.clone()).collect(),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (queue, task) in inputs.plan.tasks() {
            let now = (
                queue.name.clone(),
                task.title.clone(),
                task.done,
                task.after.clone(),
            );
            if before.get(task.id.as_str()) != Some(&now) {
                out.entry(task.id.clone())
                    .or_insert_with(|| format!("its line in {name} changed"));
            }
        }
    }
    out
}

/// Everything a running task waits for runs too.
fn add_dependencies(inputs: &Inputs<'_>, tasks: &mut [TaskDecision]) {
    let graph = inputs.graph;
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut stack: Vec<(usize, String)> = tasks
        .iter()
        .filter(|t| t.run)
        .filter_map(|t| graph.task_index.get(&t.id).map(|&n| (n, t.id.clone())))
        .collect();
    let mut seen = vec![false; graph.nodes.len()];
    let mut added: Vec<(usize, String)> = Vec::new();
    while let Some((n, via)) = stack.pop() {
        for &p in &graph.prerequisites[n] {
            if seen[p] {
                continue;
            }
            seen[p] = true;
            if let Node::Task { queue, index: i } = graph.nodes[p] {
                let id = &inputs.plan.queues[queue].tasks[i].id;
                if let Some(&t) = index.get(id.as_str()) {
                    added.push((t, via.clone()));
                }
            }
            stack.push((p, via.clone()));
        }
    }
    for (t, via) in added {
        let task = &mut tasks[t];
        if !task.run {
            task.run = true;
            task.skip = None;
            task.reasons.push(Reason::DependencyOf { task: via });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(i: u8) -> String {
        format!("c{i:02}")
    }

    proptest! {
        /// Whatever the graph, a task that covers a crate the change affects — directly
        /// or through any chain of dependencies — is selected, and its chain starts at
        /// the path that changed and ends at a crate the task covers.
        #[test]
        fn a_covered_affected_crate_always_selects_the_task(
            edges in proptest::collection::vec((0u8..20, 0u8..20), 0..40),
            changed in 0u8..20,
            covered in proptest::collection::btree_set(0u8..20, 1..5),
        ) {
            // Causes as graph::affected builds them: a walk from the changed crate
            // over "depends on" edges (a, b): a depends on b.
            let mut crates = BTreeMap::new();
            crates.insert(name(changed), CrateCause::Path { path: format!("crates/{}/src/lib.rs", name(changed)) });
            let mut frontier = vec![changed];
            while let Some(n) = frontier.pop() {
                for &(a, b) in &edges {
                    if b == n && !crates.contains_key(&name(a)) {
                        crates.insert(name(a), CrateCause::DependsOn { name: name(n) });
                        frontier.push(a);
                    }
                }
            }
            let cover = TaskCover {
                crates: Crates::Some(covered.iter().map(|&i| name(i)).collect()),
                paths: Vec::new(),
                source: "declared".into(),
            };
            let hit = covered.iter().any(|&i| crates.contains_key(&name(i)));
            let reason = crate_reason(&cover, &crates);
            if hit {
                let Some(Reason::Crate { chain }) = reason else {
                    panic!("a covered affected crate did not select the task");
                };
                prop_assert!(chain.first().unwrap().starts_with("crates/"));
                prop_assert!(covered.iter().any(|&i| chain.last() == Some(&name(i))));
            } else {
                prop_assert!(reason.is_none());
            }
            // A task over all crates runs whenever anything is affected.
            let all = TaskCover { crates: Crates::All, ..cover };
            prop_assert!(crate_reason(&all, &crates).is_some());
        }
    }
}
