//! The decision: from the base and the changed paths to, for every task, run or skip and
//! why. Never prints; the caller shows the [`Decision`] (see `output::affected`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::base::{self, RulesOrigin};
use super::covers;
use super::definition::{hooks_at, redefined};
use super::explain::{crate_reason, skip_reason, Decision, Reason, TaskDecision};
use super::git::{self, Changes, Repo, Unusable};
use super::graph;
use super::paths::{self, classify, SpecialFiles};
use super::rules::{self, AffectedRules, RuleMatch, Rules};
use crate::config::Hooks;
use crate::plan::{Graph, Node, Plan};
use crate::sot::IdPattern;
use guppy::graph::PackageGraph;

/// What the decision starts from.
pub(crate) struct Inputs<'a> {
    /// The workspace root.
    pub(crate) root: &'a Path,
    pub(crate) plan: &'a Plan,
    pub(crate) graph: &'a Graph,
    pub(crate) hooks: &'a Hooks,
    pub(crate) ids: &'a IdPattern,
    /// sot.md, hooks.json and manifest.json (absolute).
    pub(crate) sot: &'a Path,
    pub(crate) hooks_path: &'a Path,
    pub(crate) manifest_path: &'a Path,
    pub(crate) rules: &'a AffectedRules,
    /// The base asked for, else the default (`GITHUB_BASE_REF` or `origin/HEAD`).
    pub(crate) base: Option<String>,
    pub(crate) github_base_ref: Option<String>,
    /// Whether the tasks a running task waits for run too (`--affected-deps=run`), or
    /// count as passed when unaffected (`skip`).
    pub(crate) run_dependencies: bool,
}

/// An error that stops the decision (everything else runs everything, with a warning).
#[derive(Debug, thiserror::Error)]
pub(crate) enum AffectedError {
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
pub(crate) fn decide(inputs: &Inputs<'_>) -> Result<Decision, AffectedError> {
    // The change's own rules are checked so that a bad glob is reported, but they do
    // not decide: the base's do (see `base`).
    Rules::new(inputs.rules).map_err(AffectedError::Rules)?;
    let root = std::fs::canonicalize(inputs.root).unwrap_or_else(|_| inputs.root.to_path_buf());
    let repo = Repo::open(&root)?;
    let mut so_far = SoFar {
        inputs,
        base: chosen_base(inputs)?,
        merge_base: None,
        shown: Vec::new(),
        origin: None,
    };
    let merge_base = match repo.merge_base(&so_far.base)? {
        Ok(mb) => mb,
        Err(why) => {
            let warning = unusable_warning(&so_far.base, &why);
            return Ok(so_far.fallback(warning));
        }
    };
    so_far.merge_base = Some(merge_base.clone());
    let prefix = root
        .strip_prefix(&repo.top)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let rules = match rules_at_base(&repo, &merge_base, &prefix, inputs.rules) {
        Ok((rules, origin)) => {
            so_far.origin = Some(origin);
            rules
        }
        Err(e) => {
            let why =
                format!("the affected rules at the base could not be read ({e}); every task runs");
            return Ok(so_far.fallback(why));
        }
    };
    let changes = repo.changed_paths(&merge_base)?;
    let change = Change {
        repo: &repo,
        merge_base: &merge_base,
        prefix: &prefix,
        changes: &changes,
    };
    so_far.shown = changes
        .paths
        .iter()
        .map(|p| change.in_workspace(p).unwrap_or_else(|| p.clone()))
        .collect();
    // A toolchain or workflow change decides everything: no package graph needed.
    if let Some(reason) = change.decides_everything(&rules, inputs.manifest_path, &root) {
        return Ok(so_far.run_all(reason));
    }
    // A graph that cannot be read never narrows the run: everything runs, and says why.
    let (new_graph, old_graph) = match change.graphs(&root, &so_far.shown) {
        Ok(graphs) => graphs,
        Err(why) => return Ok(so_far.fallback(why)),
    };
    let packages = graph::local_packages(&new_graph, &root);
    let files = special_files(inputs, &root);
    let classified = change.classify(&rules, &packages, &files)?;
    // A change no narrowing applies to: everything runs, and says why.
    if let Some(reason) = classified.everything.clone() {
        return Ok(so_far.run_all(reason));
    }
    let old = old_graph.as_ref().unwrap_or(&new_graph);
    let crates = graph::affected(old, &new_graph, &classified.seeds);
    let members: Vec<covers::Member> = packages
        .iter()
        .filter(|(_, ws)| *ws)
        .map(|(m, _)| m.clone())
        .collect();
    let judged = Judge {
        inputs,
        change: &change,
        files: &files,
        classified: &classified,
        members: &members,
        crates: &crates,
    }
    .tasks();
    Ok(so_far.conclude(&classified, judged, crates))
}

/// cargo-tek's own files, relative to the workspace root.
fn special_files(inputs: &Inputs<'_>, root: &Path) -> SpecialFiles {
    let rel = |p: &Path| {
        p.strip_prefix(root)
            .map(|r| r.to_string_lossy().into_owned())
            .ok()
    };
    SpecialFiles {
        sot: rel(inputs.sot),
        hooks: rel(inputs.hooks_path),
        manifest: rel(inputs.manifest_path),
    }
}

/// The base asked for, else the default (`GITHUB_BASE_REF` or `origin/HEAD`).
fn chosen_base(inputs: &Inputs<'_>) -> Result<String, AffectedError> {
    let base = inputs
        .base
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| git::default_base(inputs.github_base_ref.as_deref()));
    // It is handed to git as an argument: it must never be read as an option.
    if base.starts_with('-') {
        return Err(AffectedError::Base(base));
    }
    Ok(base)
}

/// The rules as the base has them, compiled, and where they came from.
fn rules_at_base(
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    current: &AffectedRules,
) -> Result<(Rules, RulesOrigin), String> {
    let at_base = base::rules_at(repo, merge_base, prefix)?;
    let rules = Rules::new(&at_base)?;
    let origin = RulesOrigin {
        commit: merge_base.to_owned(),
        edited: at_base != *current,
    };
    Ok((rules, origin))
}

/// What the decision has learnt so far, to run everything with at any step.
struct SoFar<'a> {
    inputs: &'a Inputs<'a>,
    base: String,
    merge_base: Option<String>,
    /// The changed paths as shown (workspace-relative where they are inside it).
    shown: Vec<String>,
    /// Where the deciding rules came from, once they were read.
    origin: Option<RulesOrigin>,
}

impl SoFar<'_> {
    fn with_rules(&self, mut decision: Decision) -> Decision {
        if self.origin.is_some() {
            decision.rules = self.origin.clone();
        }
        decision
    }

    /// The decision from the tasks judged, unless a changed path nothing claims makes
    /// every task run.
    fn conclude(
        &self,
        classified: &paths::Classified,
        judged: Judged,
        crates: BTreeMap<String, graph::CrateCause>,
    ) -> Decision {
        // A path that nothing claims could affect anything.
        if let Some(path) = classified
            .loose
            .iter()
            .find(|p| !judged.claimed.contains(p.as_str()))
        {
            let reason = Reason::Everything {
                path: path.clone(),
                rule: "no crate, no task's `covers.paths` and no rule claims it".into(),
            };
            return self.run_all(reason);
        }
        let mut tasks = judged.tasks;
        if self.inputs.run_dependencies {
            add_dependencies(self.inputs, &mut tasks);
        }
        self.with_rules(Decision {
            base: self.base.clone(),
            merge_base: self.merge_base.clone(),
            changed_paths: self.shown.clone(),
            everything: None,
            warning: None,
            rules: None,
            crates,
            tasks,
        })
    }

    /// Every task runs because of what the change is.
    fn run_all(&self, reason: Reason) -> Decision {
        self.with_rules(everything(
            self.inputs,
            self.base.clone(),
            self.merge_base.clone(),
            self.shown.clone(),
            reason,
            None,
        ))
    }

    /// Every task runs because the change could not be measured: a warning too.
    fn fallback(&self, why: String) -> Decision {
        self.with_rules(everything(
            self.inputs,
            self.base.clone(),
            self.merge_base.clone(),
            self.shown.clone(),
            Reason::Fallback { why: why.clone() },
            Some(why),
        ))
    }
}

/// The change measured against the merge base.
struct Change<'a> {
    repo: &'a Repo,
    merge_base: &'a str,
    /// The workspace's place in the repository.
    prefix: &'a Path,
    changes: &'a Changes,
}

impl Change<'_> {
    /// A repository path relative to the workspace, if it is inside it.
    fn in_workspace(&self, path: &str) -> Option<String> {
        let rel = Path::new(path).strip_prefix(self.prefix).ok()?;
        Some(rel.to_string_lossy().into_owned())
    }

    /// The first changed path that runs everything by itself: one an `everything` rule
    /// names (toolchain, workflows), or cargo-tek's manifest.json.
    fn decides_everything(&self, rules: &Rules, manifest: &Path, root: &Path) -> Option<Reason> {
        let manifest_rel = manifest
            .strip_prefix(root)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        self.changes.paths.iter().find_map(|p| {
            let ws = self.in_workspace(p);
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
        })
    }

    /// Each changed path sorted into crates, task globs and rules, symlinks followed.
    fn classify(
        &self,
        rules: &Rules,
        packages: &[(covers::Member, bool)],
        files: &SpecialFiles,
    ) -> Result<paths::Classified, AffectedError> {
        let (repo, mb, prefix) = (self.repo, self.merge_base, self.prefix);
        let mut classified = classify(repo, mb, prefix, self.changes, rules, packages, files);
        paths::through_links(
            &mut classified,
            self.changes,
            &repo.symlinks()?,
            prefix,
            packages,
        );
        Ok(classified)
    }

    /// The package graph now, and at the base when a manifest or the lock file changed.
    fn graphs(
        &self,
        root: &Path,
        shown: &[String],
    ) -> Result<(PackageGraph, Option<PackageGraph>), String> {
        let new_graph = graph::load(&root.join("Cargo.toml"))
            .map_err(|e| format!("the package graph could not be read ({e}); every task runs"))?;
        let manifests_changed = shown
            .iter()
            .any(|p| p.ends_with("Cargo.toml") || p.ends_with("Cargo.lock"));
        if !manifests_changed {
            return Ok((new_graph, None));
        }
        let old = old_graph(self.repo, self.merge_base, self.prefix).map_err(|e| {
            format!("the package graph at the base could not be read ({e}); every task runs")
        })?;
        Ok((new_graph, Some(old)))
    }
}

/// The tasks judged, and the loose paths some task's base cover claimed.
struct Judged {
    tasks: Vec<TaskDecision>,
    claimed: BTreeSet<String>,
}

/// What each task is judged on.
struct Judge<'a> {
    inputs: &'a Inputs<'a>,
    change: &'a Change<'a>,
    files: &'a SpecialFiles,
    classified: &'a paths::Classified,
    members: &'a [covers::Member],
    crates: &'a BTreeMap<String, graph::CrateCause>,
}

impl Judge<'_> {
    fn tasks(&self) -> Judged {
        let (repo, mb, prefix) = (self.change.repo, self.change.merge_base, self.change.prefix);
        let redefined = redefined(self.inputs, repo, mb, prefix, self.files, self.classified);
        // What each task covered at the base: the change must not narrow what judges it.
        // A task whose cover changed (its own entry, or its queue's `covers`) runs, and
        // only covers the base had claim a path nothing else claims.
        let loaded;
        let base_hooks = if self.classified.hooks_changed {
            loaded = hooks_at(repo, mb, prefix, self.files);
            loaded.as_ref()
        } else {
            Some(self.inputs.hooks)
        };
        let mut judged = Judged {
            tasks: Vec::new(),
            claimed: BTreeSet::new(),
        };
        for (queue, task) in self.inputs.plan.tasks() {
            let cover = covers::of(&task.id, &queue.name, self.inputs.hooks, self.members);
            let base_cover = base_hooks.map(|h| covers::of(&task.id, &queue.name, h, self.members));
            let mut reasons = Vec::new();
            if let Some(what) = redefined.get(&task.id) {
                reasons.push(Reason::Definition { what: what.clone() });
            } else if base_cover.as_ref() != Some(&cover) {
                reasons.push(Reason::Definition {
                    what: "what it covers changed in hooks.json (its queue's `covers`)".into(),
                });
            }
            reasons.extend(crate_reason(&cover, self.crates));
            reasons.extend(self.paths_matched(&cover, base_cover.as_ref(), &mut judged.claimed));
            let skip = reasons.is_empty().then(|| skip_reason(&cover));
            judged.tasks.push(TaskDecision {
                id: task.id.clone(),
                queue: queue.name.clone(),
                run: !reasons.is_empty(),
                reasons,
                skip,
                cover,
            });
        }
        judged
    }

    /// The first changed path a cover's globs match, as a reason; the paths a glob the
    /// base had too matches are claimed.
    fn paths_matched(
        &self,
        cover: &covers::TaskCover,
        base_cover: Option<&covers::TaskCover>,
        claimed: &mut BTreeSet<String>,
    ) -> Option<Reason> {
        let mut first = None;
        for pattern in &cover.paths {
            let Ok(glob) = rules::glob(pattern) else {
                continue;
            };
            let matcher = glob.compile_matcher();
            for path in self.classified.loose.iter().chain(&self.classified.owned) {
                if matcher.is_match(path) {
                    if base_cover.is_some_and(|c| c.paths.contains(pattern)) {
                        claimed.insert(path.clone());
                    }
                    first.get_or_insert_with(|| Reason::Path {
                        path: path.clone(),
                        glob: pattern.clone(),
                    });
                }
            }
        }
        first
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
