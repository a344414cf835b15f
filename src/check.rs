//! `cargo tek check`: validates sot.md and the config together, beyond what parsing
//! already guarantees, and refuses what `run` would reject: unknown hook keys, cwds and
//! programs that would not start, queue names that only look alike, and a plan in which
//! nothing would run.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::ops::Range;

use crate::agent::Registry;
use crate::config::{key_range, KeyIndex};
use crate::cwd::Bounds;
use crate::hookless::Coverage;
use crate::plan::HookSource;
use crate::preflight::Preflight;
use crate::project::Project;
use crate::source::{SourceDiagnostic, SourceFile};

/// How serious a finding is. Errors make `check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Note,
    Warning,
    Error,
}

/// One thing `check` found.
#[derive(Debug)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) diagnostic: SourceDiagnostic,
}

/// At most this many findings of each severity are built.
pub(crate) use crate::source::SHOWN;

/// What `check` found: the findings built, and how many more of each severity there were.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) shown: Vec<Finding>,
    /// Findings beyond [`SHOWN`], by severity (note, warning, error).
    pub(crate) hidden: [usize; 3],
}

impl Findings {
    fn add(&mut self, severity: Severity, diagnostic: impl FnOnce() -> SourceDiagnostic) {
        if self.count(severity) < SHOWN {
            self.shown.push(Finding {
                severity,
                diagnostic: diagnostic(),
            });
        } else {
            self.hidden[severity as usize] += 1;
        }
    }

    /// How many findings of `severity` there were, built or not.
    pub(crate) fn count(&self, severity: Severity) -> usize {
        self.shown.iter().filter(|f| f.severity == severity).count()
            + self.hidden[severity as usize]
    }
}

/// What `check` is asked to check against.
pub(crate) struct Settings<'a> {
    /// Where hooks may run.
    pub(crate) bounds: &'a Bounds,
    /// The PATH tasks inherit (the hook's own `env.PATH` wins).
    pub(crate) path: Option<OsString>,
    /// `--allow-noop`: a plan where no task has a hook is fine.
    pub(crate) allow_noop: bool,
    /// What split `cargo test -p` tasks cost in an earlier run, when one shows it.
    pub(crate) split_cost: Option<crate::compile_once::SplitCost>,
}

/// Finds top-level keys of a config file only once something is to be reported: a
/// 50,000-hook file costs nothing to locate when it is clean, and one scan otherwise.
struct Locator<'a> {
    src: &'a SourceFile,
    index: Option<KeyIndex>,
}

impl<'a> Locator<'a> {
    fn new(src: &'a SourceFile) -> Self {
        Self { src, index: None }
    }

    fn key(&mut self, key: &str) -> Range<usize> {
        self.index
            .get_or_insert_with(|| KeyIndex::new(&self.src.text))
            .range(key)
    }
}

/// A plan task whose hook has a matrix but that is none of its combinations: a plan
/// file written before the matrix, or before a value was removed. It would run nothing.
fn stale_combinations(project: &Subject<'_>, src: &SourceFile, findings: &mut Findings) {
    let mut locate = Locator::new(src);
    for (queue, task) in project.plan.tasks() {
        let base = crate::config::matrix::split_id(&task.id).map_or(task.id.as_str(), |(b, _)| b);
        let (Some(hook), source) = crate::plan::configured(base, &queue.name, project.hooks) else {
            continue;
        };
        if hook.matrix.is_none()
            || crate::plan::hook_of(&task.id, &queue.name, project.hooks)
                .0
                .is_some()
        {
            continue;
        }
        let key = if source == HookSource::Task {
            base
        } else {
            queue.name.as_str()
        };
        findings.add(Severity::Error, || {
            src.diagnostic(
                format!(
                    "task `{}` of {} is none of the combinations of hook `{key}`'s matrix",
                    task.id, project.planned_from
                ),
                vec![(locate.key(key), "this hook has a matrix".into())],
                Some(
                    "re-create the plan file with `cargo tek plan --out`, or run without `--plan`"
                        .into(),
                ),
            )
        });
    }
}

/// A queue name reduced to what a reader sees: case, runs of whitespace and the kind of
/// dash do not matter.
pub(crate) fn queue_look(name: &str) -> String {
    let dashes = ['—', '–', '‒', '−', '―', '‐', '‑'];
    let mapped: String = name
        .chars()
        .map(|c| if dashes.contains(&c) { '-' } else { c })
        .collect::<String>()
        .replace("--", "-");
    mapped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Runs every check.
pub(crate) fn check(project: &Project, settings: &Settings<'_>) -> Findings {
    let mut looks: HashMap<String, Vec<&str>> = HashMap::new();
    for q in &project.document.queues {
        looks.entry(queue_look(&q.name)).or_default().push(&q.name);
    }
    let mut findings = Findings::default();
    queue_look_alikes(project, &looks, &mut findings);
    config_into(&Subject::of(project), settings, None, &mut findings);
    compile_once(project, settings, &mut findings);
    hookless(project, settings, &mut findings);
    sandbox_findings(project, &sandboxes(project), &mut findings);
    overruled_ignores(project, &mut findings);
    findings
        .shown
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// What the config is checked against: the plan (from sot.md or a plan file) and the
/// config files. `run` checks this much before it starts anything.
pub(crate) struct Subject<'a> {
    pub(crate) plan: &'a crate::plan::Plan,
    pub(crate) hooks: &'a crate::config::Hooks,
    pub(crate) manifest: &'a crate::config::Manifest,
    pub(crate) manifest_source: Option<&'a SourceFile>,
    pub(crate) root: &'a std::path::Path,
    /// What the plan came from, as shown (`sot.md`, `plan.json`).
    pub(crate) planned_from: &'a str,
    /// Tasks of sot.md on other `os` legs than this run's (ids and base ids): their hooks
    /// name real tasks.
    pub(crate) off_leg: &'a [String],
}

impl<'a> Subject<'a> {
    pub(crate) fn of(project: &'a Project) -> Self {
        Self {
            plan: &project.plan,
            hooks: &project.hooks,
            manifest: &project.manifest,
            manifest_source: project.manifest_source.as_ref(),
            root: &project.workspace.root,
            planned_from: &project.sot.name,
            off_leg: &[],
        }
    }
}

/// The errors `run` refuses to start with, as `check` reports them: hook keys and
/// manifest queues that name nothing, unknown agents, and commands that could not start (a program not found, a cwd outside the workspace or missing). Only
/// the hooks whose key `preflight` accepts are tried for starting: a run of one task
/// need not have every other task's tools installed.
pub(crate) fn config(
    subject: &Subject<'_>,
    settings: &Settings<'_>,
    preflight: &dyn Fn(&str) -> bool,
) -> Findings {
    let mut findings = Findings::default();
    config_into(subject, settings, Some(preflight), &mut findings);
    findings
        .shown
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// The names sot.md defines, to tell a typo from a real key.
struct Names<'a> {
    /// Task ids, and the base ids of matrix tasks: a matrix hook is keyed by its base
    /// task, which the plan holds as combinations.
    ids: HashSet<&'a str>,
    queues: HashSet<&'a str>,
    /// Queues by their look (case, spaces and dashes folded).
    looks: HashMap<String, Vec<&'a str>>,
}

impl<'a> Names<'a> {
    fn of(plan: &'a crate::plan::Plan, off_leg: &'a [String]) -> Self {
        let mut looks: HashMap<String, Vec<&str>> = HashMap::new();
        for q in &plan.queues {
            looks.entry(queue_look(&q.name)).or_default().push(&q.name);
        }
        Self {
            ids: plan
                .tasks()
                .flat_map(|(_, t)| std::iter::once(t.id.as_str()).chain(t.base.as_deref()))
                .chain(off_leg.iter().map(String::as_str))
                .collect(),
            queues: plan.queues.iter().map(|q| q.name.as_str()).collect(),
            looks,
        }
    }

    /// The queue a name only looks like.
    fn look_alike(&self, name: &str) -> Option<&'a str> {
        self.looks
            .get(&queue_look(name))
            .and_then(|names| names.first().copied())
    }
}

fn config_into(
    project: &Subject<'_>,
    settings: &Settings<'_>,
    preflight_only: Option<&dyn Fn(&str) -> bool>,
    findings: &mut Findings,
) {
    let names = Names::of(project.plan, project.off_leg);
    let agents = Registry::builtin().names();
    if let Some(src) = &project.hooks.source {
        let mut locate = Locator::new(src);
        // Only read when a hook declares `covers`: it asks cargo and git.
        // Not for `run`: a glob that matches nothing yet (`release/**` before the first
        // release note) is worth a `check` error, but it never makes a task run green.
        let known = (preflight_only.is_none()
            && project.hooks.iter().any(|(_, h)| h.covers.is_some()))
        .then(|| crate::affected::Known::read(project.root));
        let mut preflight = Preflight::new(settings.bounds, settings.path.clone());
        for (key, hook) in project.hooks.iter() {
            let at = Hook { key, hook, src };
            hook_into(
                project,
                &at,
                &names,
                &agents,
                known.as_ref(),
                &mut locate,
                findings,
            );
            let try_start = preflight_only.is_none_or(|accepts| accepts(key));
            if try_start {
                commands_into(project, &at, &mut preflight, &mut locate, findings);
            }
        }
        stale_combinations(project, src, findings);
    }
    if let Some(src) = project.manifest_source {
        manifest_into(project, src, &names, &agents, findings);
    }
}

/// One hook of hooks.json, where `check` reports on it.
struct Hook<'a> {
    key: &'a str,
    hook: &'a crate::config::Hook,
    src: &'a SourceFile,
}

/// A hook's key, agent, cargo options and `covers`.
fn hook_into(
    project: &Subject<'_>,
    at: &Hook<'_>,
    names: &Names<'_>,
    agents: &[&str],
    known: Option<&crate::affected::Known>,
    locate: &mut Locator<'_>,
    findings: &mut Findings,
) {
    let Hook { key, hook, src } = *at;
    if !names.ids.contains(key) && !names.queues.contains(key) {
        let help = match names.look_alike(key) {
            Some(queue) => format!("did you mean the queue `{queue}`? Keys must match sot.md exactly (case, spaces and the kind of dash)"),
            None => match crate::sot::closest(key, names.ids.iter().chain(&names.queues).copied()) {
                Some(near) => format!("did you mean `{near}`? keys are task ids or full queue names (with the em dash)"),
                None => "keys are task ids or full queue names (with the em dash)".into(),
            },
        };
        findings.add(Severity::Error, || {
            src.diagnostic(
                format!(
                    "hook `{key}` names no task or queue in {}",
                    project.planned_from
                ),
                vec![(locate.key(key), "unknown task id or queue name".into())],
                Some(help),
            )
        });
    }
    if let Some(agent) = hook.agent.as_deref().filter(|a| !agents.contains(a)) {
        findings.add(Severity::Error, || {
            src.diagnostic(
                format!("hook `{key}` asks for agent `{agent}`, which does not exist"),
                vec![(locate.key(key), "in this hook".into())],
                Some(format!("known agents: {}", agents.join(", "))),
            )
        });
    }
    let cargo_options = hook.warnings || hook.fail_on_new_warnings || hook.nextest;
    let on_cargo = match hook.agent.as_deref() {
        Some(agent) => agent == "cargo",
        None => crate::cargo::command::suits(hook),
    };
    if cargo_options && !on_cargo {
        findings.add(Severity::Warning, || {
            src.diagnostic(
                format!("hook `{key}` sets options of the cargo agent, which does not run it: they have no effect"),
                vec![(locate.key(key), "in this hook".into())],
                Some("`warnings`, `fail_on_new_warnings` and `nextest` apply to hooks run by the cargo agent: a hook with a `cmd` whose program is `cargo`, or `\"agent\": \"cargo\"`".into()),
            )
        });
    }
    if let (Some(covers), Some(known)) = (&hook.covers, known) {
        for (problem, help) in crate::affected::validate_covers(covers, known) {
            findings.add(Severity::Error, || {
                src.diagnostic(
                    format!("hook `{key}`: {problem}"),
                    vec![(locate.key(key), "in this hook".into())],
                    Some(help),
                )
            });
        }
    }
}

/// Whether each command of a hook (each combination's, for a matrix) would start.
fn commands_into(
    project: &Subject<'_>,
    at: &Hook<'_>,
    preflight: &mut Preflight<'_>,
    locate: &mut Locator<'_>,
    findings: &mut Findings,
) {
    let Hook { key, hook, src } = *at;
    // A matrix's commands start once per combination, values substituted.
    let runs: Vec<(String, Cow<'_, crate::config::Hook>)> =
        match hook.matrix.as_ref().map(|m| m.combinations()) {
            Some(Ok(combinations)) => combinations
                .iter()
                .map(|c| {
                    let id = c.id(key);
                    let hook = crate::config::matrix::substitute(hook, c, &project.hooks.known);
                    (
                        format!("hook `{key}`, combination `{id}`"),
                        Cow::Owned(hook),
                    )
                })
                .collect(),
            _ => vec![(format!("hook `{key}`"), Cow::Borrowed(hook))],
        };
    let commands = runs.iter().flat_map(|(name, hook)| {
        hook.commands
            .iter()
            .enumerate()
            .map(move |(i, c)| (name, &**hook, i, c))
    });
    for (name, hook, i, command) in commands {
        if let Err(problem) = preflight.command(hook, command) {
            findings.add(Severity::Error, || {
                src.diagnostic(
                    format!("{name}, command {}: {problem}", i + 1),
                    vec![(locate.key(key), "in this hook".into())],
                    Some(problem.help().into()),
                )
            });
        }
    }
}

/// The manifest's queue names, agents and layer ids.
fn manifest_into(
    project: &Subject<'_>,
    src: &SourceFile,
    names: &Names<'_>,
    agents: &[&str],
    findings: &mut Findings,
) {
    for (name, _) in project.manifest.queues.iter() {
        if !names.queues.contains(name) {
            let help = match names.look_alike(name) {
                Some(queue) => {
                    format!("did you mean `{queue}`? Queue names must match sot.md exactly")
                }
                None => "queue names must match sot.md exactly".into(),
            };
            findings.add(Severity::Error, || {
                src.diagnostic(
                    format!(
                        "manifest names queue `{name}`, which is not in {}",
                        project.planned_from
                    ),
                    vec![(key_range(&src.text, name), "unknown queue".into())],
                    Some(help),
                )
            });
        }
    }
    let rules = project
        .manifest
        .layers
        .iter()
        .map(|l| (format!("layer `{}`", l.name), l.agent.as_deref()))
        .chain(
            project
                .manifest
                .queues
                .iter()
                .map(|(name, q)| (format!("queue `{name}`"), q.agent.as_deref())),
        );
    for (rule, agent) in rules {
        let Some(agent) = agent.filter(|a| !agents.contains(a)) else {
            continue;
        };
        let quoted = format!("\"{agent}\"");
        let range = src.text.find(&quoted).map_or(0..0, |s| s..s + quoted.len());
        findings.add(Severity::Error, || {
            src.diagnostic(
                format!("{rule} asks for agent `{agent}`, which does not exist"),
                vec![(range, "unknown agent".into())],
                Some(format!("known agents: {}", agents.join(", "))),
            )
        });
    }
    for rule in &project.manifest.layers {
        for id in rule
            .ids
            .iter()
            .filter(|id| !names.ids.contains(id.as_str()))
        {
            let range = src
                .text
                .find(&format!("\"{id}\""))
                .map_or(0..0, |s| s..s + id.len() + 2);
            findings.add(Severity::Warning, || {
                src.diagnostic(
                    format!("layer `{}` lists unknown task `{id}`", rule.name),
                    vec![(range, "no such task".into())],
                    None,
                )
            });
        }
    }
}

/// Per-crate `cargo test -p` hooks: what compile once would do for them, or does.
/// Which sandbox the plan's tasks run in, as this kernel enforces it.
pub(crate) struct Sandboxes {
    /// The kernel's Landlock ABI (0: none).
    pub(crate) abi: u32,
    /// The rules in a line (with what is not enforced), and the tasks that get them, in
    /// plan order.
    pub(crate) groups: Vec<(String, Vec<String>)>,
    /// Tasks whose sandbox this kernel cannot enforce: the task, its hook's key (None:
    /// manifest.json's default) and why.
    pub(crate) refused: Vec<(String, Option<String>, String)>,
}

/// What each task of the plan gets of its sandbox (the hook's own, else manifest.json's).
pub(crate) fn sandboxes(project: &Project) -> Sandboxes {
    use crate::supervise::sandbox;
    let abi = sandbox::kernel_abi();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut refused = Vec::new();
    for (queue, task) in project.plan.tasks() {
        let (key, hook) = match project.hooks.get(&task.id) {
            Some(hook) => (&task.id, hook),
            None => match project.hooks.get(&queue.name) {
                Some(hook) => (&queue.name, hook),
                None => continue,
            },
        };
        let Some(sandboxed) = project.manifest.sandbox_of(hook) else {
            continue;
        };
        let key = hook.sandbox.is_some().then(|| key.clone());
        let rules = sandboxed.rules();
        let mut line = match sandboxed.preset() {
            Some(preset) => format!("\"{preset}\" ({})", rules.describe()),
            None => rules.describe(),
        };
        match sandbox::enforce(rules, abi) {
            Ok(enforced) => {
                if !enforced.not_enforced.is_empty() {
                    line.push_str(&format!(
                        "; not enforced here: {}",
                        enforced.not_enforced.join(", ")
                    ));
                }
            }
            Err(why) => {
                refused.push((task.id.clone(), key, why));
                continue;
            }
        }
        match groups.iter_mut().find(|(l, _)| *l == line) {
            Some((_, tasks)) => tasks.push(task.id.clone()),
            None => groups.push((line, vec![task.id.clone()])),
        }
    }
    Sandboxes {
        abi,
        groups,
        refused,
    }
}

/// A sandbox this kernel cannot enforce fails its task at run time: an error here,
/// at the hook (or manifest.json's default) that asks for it.
/// `ignore` globs of `[workspace.metadata.tek.affected]` that match a path a built-in
/// rule makes affect every task (a workflow file, the toolchain): the built-in rule
/// wins, so the glob does not do what it says there.
fn overruled_ignores(project: &Project, findings: &mut Findings) {
    let overruled = crate::affected::ignores_overruled(&project.workspace.affected);
    if overruled.is_empty() {
        return;
    }
    let manifest = project.workspace.root.join("Cargo.toml");
    let Ok(src) = SourceFile::read(&manifest, "Cargo.toml") else {
        return;
    };
    for (pattern, path, what) in overruled {
        let quoted = format!("\"{pattern}\"");
        let range = src.text.find(&quoted).map_or(0..0, |s| s..s + quoted.len());
        findings.add(Severity::Warning, || {
            src.diagnostic(
                format!(
                    "`ignore` glob `{pattern}` matches `{path}`, {what}, which a built-in rule makes affect every task: the glob has no effect there"
                ),
                vec![(range, "in [workspace.metadata.tek.affected] ignore".into())],
                Some("built-in rules win over `ignore`, so that no glob can hide a change to CI or the toolchain; narrow the glob (e.g. `docs/**`) to silence this".into()),
            )
        });
    }
}

fn sandbox_findings(project: &Project, sandboxes: &Sandboxes, findings: &mut Findings) {
    let mut hooks = project.hooks.source.as_ref().map(Locator::new);
    for (task, key, why) in &sandboxes.refused {
        let at = match (key, &mut hooks, &project.manifest_source) {
            (Some(key), Some(locate), _) => Some((locate.src, locate.key(key))),
            (None, _, Some(src)) => Some((src, key_range(&src.text, "sandbox"))),
            _ => None,
        };
        let Some((src, range)) = at else { continue };
        findings.add(Severity::Error, || {
            src.diagnostic(
                format!("task `{task}`: {why}"),
                vec![(range, "this sandbox".into())],
                Some("run on a newer kernel, or say \"required\": false in the sandbox to run without the rules it cannot have".into()),
            )
        });
    }
}

fn compile_once(project: &Project, settings: &Settings, findings: &mut Findings) {
    let Some(src) = &project.hooks.source else {
        return;
    };
    let mut locate = Locator::new(src);
    let advice = crate::compile_once::advise(
        &project.hooks,
        project.manifest.compile_once,
        settings.split_cost.as_ref(),
    );
    for advice in advice {
        let severity = match advice.warning {
            true => Severity::Warning,
            false => Severity::Note,
        };
        findings.add(severity, || {
            src.diagnostic(
                advice.message,
                vec![(locate.key(&advice.key), "this hook".into())],
                Some(advice.help),
            )
        });
    }
}

/// Two queues of sot.md whose names differ only in case, spacing or the kind of dash:
/// a hook or manifest rule meant for one silently misses it.
fn queue_look_alikes(
    project: &Project,
    looks: &HashMap<String, Vec<&str>>,
    findings: &mut Findings,
) {
    for queue in &project.document.queues {
        let Some(names) = looks.get(&queue_look(&queue.name)) else {
            continue;
        };
        if names.len() < 2 || names[0] == queue.name {
            continue;
        }
        findings.add(Severity::Error, || project.sot.diagnostic(
                format!(
                    "queue `{}` looks like queue `{}`; they differ only in case, spacing or the kind of dash",
                    queue.name, names[0]
                ),
                vec![(queue.range.clone(), "this queue".into())],
                Some("give the queues clearly different names (hooks.json and manifest.json match names exactly)".into()),
            ));
    }
}

/// Tasks with no hook: an error when none has one (unless allowed), a warning naming
/// them otherwise, and a note at each task's line (shown with -v).
fn hookless(project: &Project, settings: &Settings<'_>, findings: &mut Findings) {
    // What a run starts by default: tasks not checked off as done.
    let coverage = Coverage::of(
        project
            .plan
            .tasks()
            .filter(|(_, t)| !t.done)
            .map(|(q, t)| (t.id.as_str(), q.name.as_str())),
        &project.hooks,
        &project.manifest,
    );
    if coverage.unasked.is_empty() {
        return;
    }
    let hooks_file = project.workspace.display(&project.workspace.hooks_path());
    if coverage.nothing_would_run() && !settings.allow_noop {
        let err = coverage.error(&project.hooks, &hooks_file);
        findings.add(Severity::Error, || {
            project
                .sot
                .diagnostic(err.message, vec![], Some(crate::hookless::HELP.into()))
        });
        return;
    }
    findings.add(Severity::Warning, || project.sot.diagnostic(
            coverage.warning(),
            vec![],
            Some(format!("add hooks in `{hooks_file}`, or route them to the noop agent in manifest.json (\"agent\": \"noop\") to say so (-v shows each)")),
        ));
    // Indexed once: a 50,000-task plan must not make this quadratic.
    let ranges: HashMap<&str, Range<usize>> = project
        .document
        .tasks()
        .map(|(_, t)| (t.id.as_str(), t.range.clone()))
        .collect();
    let unasked: HashSet<&str> = coverage.unasked.iter().map(String::as_str).collect();
    for (queue, task) in project.plan.tasks() {
        let hookless = task
            .runs
            .as_ref()
            .is_some_and(|r| r.hook == HookSource::None);
        if hookless && unasked.contains(task.id.as_str()) {
            let range = ranges.get(task.id.as_str()).cloned().unwrap_or(0..0);
            findings.add(Severity::Note, || {
                project.sot.diagnostic(
                    format!(
                        "task `{}` in `{}` has no hook and will run as a noop",
                        task.id, queue.name
                    ),
                    vec![(range, "no hook for this task or its queue".into())],
                    None,
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_look_alike_regardless_of_case_spacing_and_dashes() {
        let a = queue_look("Queue A — Build");
        for other in [
            "queue a - build",
            "Queue A  –  Build",
            "Queue A -- Build",
            " QUEUE A — BUILD ",
        ] {
            assert_eq!(queue_look(other), a, "{other}");
        }
        assert_ne!(queue_look("Queue B — Build"), a);
    }
}
