//! The decision: from the base and the changed paths to, for every task, run or skip and
//! why. Never prints; the caller shows the [`Decision`] (see `output::affected`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::base::{self, RulesOrigin};
use super::covers;
use super::definition::{hooks_at, redefined};
use super::explain::{crate_reason, skip_reason, Decision, Reason, TaskDecision};
use super::git::{self, Repo, Unusable};
use super::graph;
use super::paths::{self, classify, SpecialFiles};
use super::rules::{self, AffectedRules, RuleMatch, Rules};
use crate::config::Hooks;
use crate::plan::{Graph, Node, Plan};
use crate::sot::IdPattern;

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
    #[error(
        "the base `{0}` looks like an option; name a branch, tag or commit (e.g. origin/main)"
    )]
    Base(String),
}

/// Decides which tasks run.
pub fn decide(inputs: &Inputs<'_>) -> Result<Decision, AffectedError> {
    // The change's own rules are checked so that a bad glob is reported, but they do
    // not decide: the base's do (see `base`).
    Rules::new(inputs.rules).map_err(AffectedError::Rules)?;
    let root = std::fs::canonicalize(inputs.root).unwrap_or_else(|_| inputs.root.to_path_buf());
    let repo = Repo::open(&root)?;
    let base = inputs
        .base
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| git::default_base(inputs.github_base_ref.as_deref()));
    // It is handed to git as an argument: it must never be read as an option.
    if base.starts_with('-') {
        return Err(AffectedError::Base(base));
    }
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
    let base_rules = base::rules_at(&repo, &merge_base, &prefix)
        .and_then(|r| Rules::new(&r).map(|compiled| (r, compiled)));
    let (rules, origin) = match base_rules {
        Ok((at_base, rules)) => (
            rules,
            RulesOrigin {
                commit: merge_base.clone(),
                edited: at_base != *inputs.rules,
            },
        ),
        Err(e) => {
            let why =
                format!("the affected rules at the base could not be read ({e}); every task runs");
            return Ok(everything(
                inputs,
                base,
                Some(merge_base),
                Vec::new(),
                Reason::Fallback { why: why.clone() },
                Some(why),
            ));
        }
    };
    let with_rules = |mut d: Decision| {
        d.rules = Some(origin.clone());
        d
    };
    let changes = repo.changed_paths(&merge_base)?;
    let repo_paths = &changes.paths;
    let ws_of = |p: &str| -> Option<String> {
        let rel = Path::new(p).strip_prefix(&prefix).ok()?;
        Some(rel.to_string_lossy().into_owned())
    };
    let shown: Vec<String> = repo_paths
        .iter()
        .map(|p| ws_of(p).unwrap_or_else(|| p.clone()))
        .collect();
    // A toolchain or workflow change decides everything: no package graph needed.
    let manifest_rel = inputs
        .manifest_path
        .strip_prefix(&root)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let early = repo_paths.iter().find_map(|p| {
        let ws = ws_of(p);
        match rules.classify(p, ws.as_deref()) {
            Some(RuleMatch::Everything(rule)) => Some(Reason::Everything {
                path: ws.unwrap_or_else(|| p.clone()),
                rule,
            }),
            _ if ws.is_some() && ws == manifest_rel => Some(Reason::Everything {
                path: ws.unwrap_or_default(),
                rule: "cargo-tek's manifest.json applies to every task".into(),
            }),
            _ => None,
        }
    });
    if let Some(reason) = early {
        return Ok(with_rules(everything(
            inputs,
            base,
            Some(merge_base),
            shown,
            reason,
            None,
        )));
    }

    // A graph that cannot be read never narrows the run: everything runs, and says why.
    let fallback = |why: String| {
        with_rules(everything(
            inputs,
            base.clone(),
            Some(merge_base.clone()),
            shown.clone(),
            Reason::Fallback { why: why.clone() },
            Some(why),
        ))
    };
    let new_graph = match graph::load(&root.join("Cargo.toml")) {
        Ok(g) => g,
        Err(e) => {
            let why = format!("the package graph could not be read ({e}); every task runs");
            return Ok(fallback(why));
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
                return Ok(fallback(why));
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
    let mut classified = classify(
        &repo,
        &merge_base,
        &prefix,
        &changes,
        &rules,
        &packages,
        &files,
    );
    // A change no narrowing applies to: everything runs, and says why.
    let run_all = |reason: Reason| {
        with_rules(everything(
            inputs,
            base.clone(),
            Some(merge_base.clone()),
            shown.clone(),
            reason,
            None,
        ))
    };
    paths::through_links(
        &mut classified,
        &changes,
        &repo.symlinks()?,
        &prefix,
        &packages,
    );
    if let Some(reason) = classified.everything.clone() {
        return Ok(run_all(reason));
    }
    let old = old_graph.as_ref().unwrap_or(&new_graph);
    let crates = graph::affected(old, &new_graph, &classified.seeds);
    let members: Vec<covers::Member> = packages
        .iter()
        .filter(|(_, ws)| *ws)
        .map(|(m, _)| m.clone())
        .collect();

    let redefined = redefined(inputs, &repo, &merge_base, &prefix, &files, &classified);
    // What each task covered at the base: the change must not narrow what judges it.
    // A task whose cover changed (its own entry, or its queue's `covers`) runs, and
    // only covers the base had claim a path nothing else claims.
    let loaded;
    let base_hooks = if classified.hooks_changed {
        loaded = hooks_at(&repo, &merge_base, &prefix, &files);
        loaded.as_ref()
    } else {
        Some(inputs.hooks)
    };
    let mut tasks = Vec::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    for (queue, task) in inputs.plan.tasks() {
        let cover = covers::of(&task.id, &queue.name, inputs.hooks, &members);
        let base_cover = base_hooks.map(|h| covers::of(&task.id, &queue.name, h, &members));
        let mut reasons = Vec::new();
        if let Some(what) = redefined.get(&task.id) {
            reasons.push(Reason::Definition { what: what.clone() });
        } else if base_cover.as_ref() != Some(&cover) {
            reasons.push(Reason::Definition {
                what: "what it covers changed in hooks.json (its queue's `covers`)".into(),
            });
        }
        reasons.extend(crate_reason(&cover, &crates));
        for pattern in &cover.paths {
            let Ok(glob) = rules::glob(pattern) else {
                continue;
            };
            let matcher = glob.compile_matcher();
            for path in classified.loose.iter().chain(&classified.owned) {
                if matcher.is_match(path) {
                    if base_cover
                        .as_ref()
                        .is_some_and(|c| c.paths.contains(pattern))
                    {
                        claimed.insert(path);
                    }
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
        return Ok(run_all(reason));
    }
    if inputs.run_dependencies {
        add_dependencies(inputs, &mut tasks);
    }
    Ok(with_rules(Decision {
        base,
        merge_base: Some(merge_base),
        changed_paths: shown,
        everything: None,
        warning: None,
        rules: None,
        crates,
        tasks,
    }))
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

fn everything(
    inputs: &Inputs<'_>,
    base: String,
    merge_base: Option<String>,
    changed: Vec<String>,
    reason: Reason,
    warning: Option<String>,
) -> Decision {
    // What each task covers is not worked out: the package graph may not even have been
    // read, and inferring from no members would blame every `-p NAME` for the run.
    let cover = covers::TaskCover {
        crates: covers::Crates::Everything,
        paths: Vec::new(),
        source: "not worked out: every task runs, for the reason above".into(),
    };
    let tasks = inputs
        .plan
        .tasks()
        .map(|(q, t)| TaskDecision {
            id: t.id.clone(),
            queue: q.name.clone(),
            run: true,
            reasons: vec![reason.clone()],
            skip: None,
            cover: cover.clone(),
        })
        .collect();
    Decision {
        base,
        merge_base,
        changed_paths: changed,
        everything: Some(reason),
        warning,
        rules: None,
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
