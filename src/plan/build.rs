//! Building a plan from a parsed sot.md and the config, with errors that point into the
//! user's files.

use std::borrow::Cow;
use std::ops::Range;

use crate::config::{key_range, matrix, HashMap, Hooks, Manifest};
use crate::sot::{self, Document, Format};
use crate::source::{SourceDiagnostic, SourceFile};

use super::graph::{cycle_summary, Graph, GraphError};
use super::model::{
    HookSource, MatrixValues, Plan, PlanQueue, PlanTask, Routing, PLAN_SCHEMA_VERSION,
};

/// Everything a plan is built from.
pub(crate) struct Inputs<'a> {
    pub(crate) sot: &'a SourceFile,
    pub(crate) document: &'a Document,
    pub(crate) hooks: &'a Hooks,
    pub(crate) manifest: &'a Manifest,
    /// manifest.json's text, for pointing at its mistakes.
    pub(crate) manifest_source: Option<&'a SourceFile>,
}

/// A plan that cannot be built.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum PlanError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Source(#[from] SourceDiagnostic),
    #[error("{message}")]
    #[diagnostic(help("fix the hook's matrix in hooks.json"))]
    Matrix { message: String },
    #[error("{file}: {source}")]
    #[diagnostic(help("fix the plan file, or re-create it with `cargo tek plan --out`"))]
    Graph {
        file: String,
        #[source]
        source: GraphError,
    },
}

/// Builds the plan and checks its graph.
pub(crate) fn build(inputs: &Inputs<'_>) -> Result<(Plan, Graph), PlanError> {
    let Inputs {
        sot,
        document,
        hooks,
        manifest,
        ..
    } = inputs;
    let mut queues = Vec::with_capacity(document.queues.len());
    // Base id → its combinations' ids, for the dependencies that name the base.
    let mut expanded: HashMap<&str, Vec<String>> = HashMap::default();
    for queue in &document.queues {
        let rule = manifest.queue(&queue.name);
        let mut tasks = Vec::with_capacity(queue.tasks.len());
        for task in &queue.tasks {
            let planned = PlanTask {
                runs: None,
                id: task.id.clone(),
                title: task.title.clone(),
                layer: layer(manifest, document.format, &task.id),
                done: task.done,
                after: task.after.iter().map(|(id, _)| id.clone()).collect(),
                line: Some(sot.line(task.range.start)),
                base: None,
                matrix: None,
                resolved: None,
            };
            let combinations = combinations(&task.id, &queue.name, hooks)?;
            if combinations.is_empty() {
                tasks.push(PlanTask {
                    runs: Some(route(&task.id, &queue.name, hooks, manifest)),
                    ..planned
                });
                continue;
            }
            let ids = expanded.entry(task.id.as_str()).or_default();
            for Planned {
                id,
                values,
                resolved,
            } in combinations
            {
                ids.push(id.clone());
                tasks.push(PlanTask {
                    runs: Some(route(&id, &queue.name, hooks, manifest)),
                    id,
                    base: Some(task.id.clone()),
                    matrix: Some(values),
                    resolved,
                    ..planned.clone()
                });
            }
        }
        queues.push(PlanQueue {
            name: queue.name.clone(),
            after: rule.map(|r| r.after.clone()).unwrap_or_default(),
            serial: rule.is_some_and(|r| r.serial),
            tasks,
        });
    }
    if !expanded.is_empty() {
        for task in queues.iter_mut().flat_map(|q| &mut q.tasks) {
            if task.after.iter().any(|d| expanded.contains_key(d.as_str())) {
                task.after = task
                    .after
                    .iter()
                    .flat_map(|d| match expanded.get(d.as_str()) {
                        Some(ids) => ids.clone(),
                        None => vec![d.clone()],
                    })
                    .collect();
            }
        }
    }
    let plan = Plan {
        version: 1,
        schema_version: PLAN_SCHEMA_VERSION,
        source: sot.name.clone(),
        generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        format: Some(document.format),
        queues,
        shards: None,
    };
    match Graph::new(&plan) {
        Ok(graph) => Ok((plan, graph)),
        Err(err) => Err(locate(inputs, err)),
    }
}

/// One combination as the plan records it.
struct Planned {
    id: String,
    values: MatrixValues,
    /// What known values (`msrv`) resolved to.
    resolved: Option<MatrixValues>,
}

/// The combinations of task `id`'s matrix, with their ids (none without a matrix). An id
/// over the bound ([`crate::sot::MAX_ID_BYTES`]) is an error at the hook's matrix, and so
/// is an `msrv` no manifest gives a version for, at the value.
fn combinations(id: &str, queue: &str, hooks: &Hooks) -> Result<Vec<Planned>, PlanError> {
    let (Some(hook), source) = configured(id, queue, hooks) else {
        return Ok(Vec::new());
    };
    let Some(matrix) = &hook.matrix else {
        return Ok(Vec::new());
    };
    let key = if source == HookSource::Task {
        id
    } else {
        queue
    };
    let fail = |message: String, help: String, spot: &matrix::Spot| -> PlanError {
        let Some(src) = &hooks.source else {
            return PlanError::Matrix {
                message: format!("hook `{key}`: {message}"),
            };
        };
        let at = crate::config::KeyIndex::new(&src.text).range(key);
        let range = matrix::locate(&src.text, at.start, spot);
        src.diagnostic(
            format!("hook `{key}`: {message}"),
            vec![(range, "here".into())],
            Some(help),
        )
        .into()
    };
    let combinations = matrix
        .combinations()
        .map_err(|p| fail(p.message.clone(), p.help.clone(), &p.at))?;
    let mut out = Vec::with_capacity(combinations.len());
    for combination in combinations {
        let combined = combination.id(id);
        if combined.len() > crate::sot::MAX_ID_BYTES {
            return Err(fail(
                format!(
                    "the id of combination `{}` is {} bytes long, more than the {} an id may have",
                    crate::sot::shortened_id(&combined),
                    combined.len(),
                    crate::sot::MAX_ID_BYTES
                ),
                "an id names the task's log folder; use shorter axis names or values, or a shorter task id".into(),
                &matrix::Spot::Matrix,
            ));
        }
        let resolved = matrix::resolved(hook, combination, &hooks.known).map_err(|(name, m)| {
            let spot = matrix::Spot::Value {
                axis: name,
                value: "msrv".into(),
                nth: 0,
            };
            fail(
                format!("combination `{combined}`: {}", m.message),
                m.help,
                &spot,
            )
        })?;
        out.push(Planned {
            id: combined,
            values: MatrixValues(combination.values.clone()),
            resolved: (!resolved.is_empty()).then_some(MatrixValues(resolved)),
        });
    }
    Ok(out)
}

/// The layer of a task: the first manifest rule that claims it, else the predecessor's
/// id ranges for legacy documents, else `execution`.
pub(crate) fn layer(manifest: &Manifest, format: Format, id: &str) -> String {
    match manifest.layer(id) {
        Some(rule) => rule.name.clone(),
        None if format == Format::Legacy => sot::legacy_layer(id).to_owned(),
        None => "execution".to_owned(),
    }
}

/// The hook that runs task `id` of `queue`, and where it comes from: the task's own
/// wins over its queue's, which is looked up only when the task has none. The one place
/// that says so; the planner, the scheduler and the compile-once split all ask here.
///
/// A combination of a matrix (`TASK-010[toolchain=stable]`) gets its base's hook with
/// the combination's values substituted. The values are read back from hooks.json by
/// the id, never from a plan file, so a plan cannot put text into argv. A hook with a
/// matrix asked for under an id that is none of its combinations (a plan file from
/// before the matrix) runs nothing.
pub(crate) fn hook_of<'h>(
    id: &str,
    queue: &str,
    hooks: &'h Hooks,
) -> (Option<Cow<'h, crate::config::Hook>>, HookSource) {
    if let Some((base, values)) = matrix::split_id(id) {
        if hooks.get(id).is_none() {
            if let (Some(hook), source) = configured(base, queue, hooks) {
                if let Some(combination) = hook.matrix.as_ref().and_then(|m| m.find(&values)) {
                    return (
                        Some(Cow::Owned(matrix::substitute(
                            hook,
                            combination,
                            &hooks.known,
                        ))),
                        source,
                    );
                }
            }
        }
    }
    match configured(id, queue, hooks) {
        (Some(hook), _) if hook.matrix.is_some() => (None, HookSource::None),
        (hook, source) => (hook.map(Cow::Borrowed), source),
    }
}

/// The hook configured for `id` of `queue` as written, matrix and all.
pub(crate) fn configured<'h>(
    id: &str,
    queue: &str,
    hooks: &'h Hooks,
) -> (Option<&'h crate::config::Hook>, HookSource) {
    match hooks.get(id) {
        Some(h) => (Some(h), HookSource::Task),
        None => match hooks.get(queue) {
            Some(h) => (Some(h), HookSource::Queue),
            None => (None, HookSource::None),
        },
    }
}

/// Which agent runs a task and with which hook. A task's own hook wins over its queue's;
/// without a hook a task is a `noop` (the predecessor's routing) unless the manifest
/// names another agent for it; a hook that runs cargo gets the `cargo` agent unless it,
/// its queue or its layer names one.
pub(crate) fn route(id: &str, queue: &str, hooks: &Hooks, manifest: &Manifest) -> Routing {
    let (hook, source) = hook_of(id, queue, hooks);
    let hook = hook.as_deref();
    // A combination is in its base task's layer.
    let base = matrix::split_id(id).map_or(id, |(base, _)| base);
    let configured = hook
        .and_then(|h| h.agent.clone())
        .or_else(|| manifest.queue(queue).and_then(|q| q.agent.clone()))
        .or_else(|| manifest.layer(base).and_then(|l| l.agent.clone()));
    let agent = match (hook, configured) {
        (None, Some(agent)) if agent == "shell" => "noop".to_owned(),
        (_, Some(agent)) => agent,
        (Some(h), None) if crate::cargo::command::suits(h) => "cargo".to_owned(),
        (Some(_), None) => "shell".to_owned(),
        (None, None) => "noop".to_owned(),
    };
    Routing {
        agent,
        hook: source,
        commands: hook
            .map(|h| h.commands.iter().map(|c| c.argv()).collect())
            .unwrap_or_default(),
        cwds: hook.map(cwds).unwrap_or_default(),
        compile_once: hook
            .filter(|_| manifest.compile_once)
            .and_then(|h| crate::compile_once::split(h).ok())
            .map(|split| split.package),
    }
}

/// Each command's cwd as written, for a reader of the plan; none when all run at the root.
fn cwds(hook: &crate::config::Hook) -> Vec<String> {
    let cwds: Vec<String> = hook
        .commands
        .iter()
        .map(|c| c.cwd.clone().unwrap_or_else(|| ".".to_owned()))
        .collect();
    if cwds.iter().all(|c| c == "." || c.is_empty()) {
        Vec::new()
    } else {
        cwds
    }
}

/// Points a graph error at the lines of sot.md or manifest.json that cause it; the bare
/// error when there is nothing to point at.
fn locate(inputs: &Inputs<'_>, err: GraphError) -> PlanError {
    let located = match &err {
        GraphError::UnknownTask { task, dependency } => {
            TaskIndex::new(inputs).unknown_dependency(task, dependency)
        }
        GraphError::Cycle(path) => TaskIndex::new(inputs).cycle(path),
        GraphError::UnknownQueue { queue, after } => {
            unknown_queue(inputs.manifest_source, queue, after)
        }
        // sot.md's own check (`sot::parse`) points at a long id before the graph is built.
        GraphError::Duplicate(_) | GraphError::TooLong { .. } => None,
    };
    located.unwrap_or_else(|| PlanError::Graph {
        file: inputs.sot.name.clone(),
        source: err,
    })
}

/// sot.md's tasks by id, for pointing a graph error at the lines that cause it.
struct TaskIndex<'a> {
    sot: &'a SourceFile,
    document: &'a Document,
    // Indexed once: a cycle through 100,000 tasks asks about many of them.
    tasks: HashMap<&'a str, &'a sot::Task>,
}

impl<'a> TaskIndex<'a> {
    fn new(inputs: &Inputs<'a>) -> Self {
        Self {
            sot: inputs.sot,
            document: inputs.document,
            tasks: inputs
                .document
                .tasks()
                .map(|(_, t)| (t.id.as_str(), t))
                .collect(),
        }
    }

    fn task_range(&self, id: &str) -> Option<Range<usize>> {
        self.tasks.get(id).map(|t| t.range.clone())
    }

    /// Where `task` names `dep` in its dependencies.
    fn dep_range(&self, task: &str, dep: &str) -> Option<Range<usize>> {
        self.tasks.get(task).and_then(|t| {
            t.after
                .iter()
                .find(|(d, _)| d == dep)
                .map(|(_, r)| r.clone())
        })
    }

    fn unknown_dependency(&self, task: &str, dependency: &str) -> Option<PlanError> {
        // Every unknown dependency at once: fixing five typos should take one run.
        let unknown = self.unknown_dependencies();
        if unknown.len() > 1 {
            return Some(self.several_unknown(&unknown));
        }
        let range = self.dep_range(task, dependency)?;
        let (label, help) = match sot::closest(dependency, self.tasks.keys().copied()) {
            Some(near) => (
                format!("no task has this id; did you mean `{near}`?"),
                format!("write `{near}`, or add the task to a queue"),
            ),
            None => (
                "no task has this id".into(),
                "fix the id, or add the task to a queue".into(),
            ),
        };
        Some(
            self.sot
                .diagnostic(
                    format!("task `{task}` depends on unknown task `{dependency}`"),
                    vec![(range, label)],
                    Some(help),
                )
                .into(),
        )
    }

    /// Each dependency on a task that does not exist: the task, the id it names, where.
    fn unknown_dependencies(&self) -> Vec<(&'a str, &'a str, Range<usize>)> {
        self.document
            .tasks()
            .flat_map(|(_, t)| {
                t.after
                    .iter()
                    .filter(|(d, _)| !self.tasks.contains_key(d.as_str()))
                    .map(|(d, r)| (t.id.as_str(), d.as_str(), r.clone()))
            })
            .collect()
    }

    fn several_unknown(&self, unknown: &[(&str, &str, Range<usize>)]) -> PlanError {
        let labels = unknown
            .iter()
            .take(crate::source::SHOWN)
            .map(|(_, dep, range)| {
                let label = match sot::closest(dep, self.tasks.keys().copied()) {
                    Some(near) => format!("no task `{dep}`; did you mean `{near}`?"),
                    None => format!("no task `{dep}`"),
                };
                (range.clone(), label)
            })
            .collect();
        let listed: Vec<String> = unknown
            .iter()
            .take(5)
            .map(|(t, d, _)| format!("`{t}` → `{d}`"))
            .collect();
        let more = unknown.len().saturating_sub(listed.len());
        self.sot
            .diagnostic(
                format!(
                    "{} dependencies name unknown tasks: {}{}",
                    unknown.len(),
                    listed.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
                labels,
                Some("fix each id, or add the tasks to a queue".into()),
            )
            .into()
    }

    fn cycle(&self, path: &[String]) -> Option<PlanError> {
        let mut labels = Vec::new();
        let pairs: Vec<&[String]> = path.windows(2).collect();
        // The first and last few links are enough to find the cycle in the file.
        let shown = if pairs.len() > 6 {
            pairs[..3]
                .iter()
                .chain(&pairs[pairs.len() - 3..])
                .copied()
                .collect()
        } else {
            pairs
        };
        for pair in shown {
            // pair[1] waits for pair[0].
            if let Some(range) = self.dep_range(&pair[1], &pair[0]) {
                labels.push((range, format!("{} waits for {}", pair[1], pair[0])));
            } else if let Some(range) = self.task_range(&pair[1]) {
                labels.push((range, format!("{} waits for {}", pair[1], pair[0])));
            }
        }
        if labels.is_empty() {
            return None;
        }
        Some(
            self.sot
                .diagnostic(
                    format!("dependency cycle: {}", cycle_summary(path)),
                    labels,
                    Some("remove one of these dependencies (or a queue `after`/`serial` setting in manifest.json)".into()),
                )
                .into(),
        )
    }
}

/// Points at the queue's `after` entry in manifest.json, else at the queue itself.
fn unknown_queue(manifest: Option<&SourceFile>, queue: &str, after: &str) -> Option<PlanError> {
    let src = manifest?;
    let range = key_range(&src.text, after);
    let range = if range.is_empty() {
        key_range(&src.text, queue)
    } else {
        range
    };
    Some(
        src.diagnostic(
            format!("queue `{queue}` waits for unknown queue `{after}`"),
            vec![(range, "not a queue in sot.md".into())],
            Some("queue names must match sot.md exactly, including the em dash".into()),
        )
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> SourceFile {
        SourceFile::from_bytes(name.into(), text.as_bytes().to_vec()).unwrap()
    }

    fn plan(md: &str, hooks: &str, manifest: &str) -> Result<Plan, PlanError> {
        let sot = src("sot.md", md);
        let document = sot::parse(&sot, &sot::IdPattern::default())?;
        let hooks = Hooks::load(src("hooks.json", hooks)).unwrap();
        let msrc = src("manifest.json", manifest);
        let manifest = Manifest::load(&msrc).unwrap();
        let inputs = Inputs {
            sot: &sot,
            document: &document,
            hooks: &hooks,
            manifest: &manifest,
            manifest_source: Some(&msrc),
        };
        build(&inputs).map(|(p, _)| p)
    }

    #[test]
    fn routing_prefers_the_task_hook_then_the_queue_hook() {
        let p = plan(
            "## Q\n- `TASK-1` a\n- `TASK-2` b\n## R\n- `TASK-3` c\n",
            r#"{"TASK-1": {"commands": [{"cmd": ["echo", "task"]}]}, "Q": {"commands": [{"cmd": ["echo", "queue"]}]}}"#,
            "{}",
        )
        .unwrap();
        let runs: Vec<_> = p.tasks().map(|(_, t)| t.runs.clone().unwrap()).collect();
        assert_eq!(
            (runs[0].hook, runs[0].commands[0][1].as_str()),
            (HookSource::Task, "task")
        );
        assert_eq!(
            (runs[1].hook, runs[1].commands[0][1].as_str()),
            (HookSource::Queue, "queue")
        );
        assert_eq!(
            (runs[2].hook, runs[2].agent.as_str()),
            (HookSource::None, "noop")
        );
        assert_eq!(runs[0].agent, "shell");
        assert_eq!(p.queues[0].tasks[1].line, Some(3));
    }

    #[test]
    fn unknown_dependency_points_at_the_reference() {
        let err = plan("## Q\n- `TASK-1` a — after `TASK-9`\n", "{}", "{}").unwrap_err();
        let PlanError::Source(d) = err else {
            panic!("{err}")
        };
        assert_eq!(d.location, "sot.md:2:22");
        assert!(d.message.contains("unknown task `TASK-9`"));
    }

    #[test]
    fn cycle_is_named_and_located() {
        let err = plan(
            "## Q\n- `TASK-1` a — after `TASK-2`\n- `TASK-2` b — after `TASK-1`\n",
            "{}",
            "{}",
        )
        .unwrap_err();
        let PlanError::Source(d) = err else {
            panic!("{err}")
        };
        assert!(
            d.message.contains("dependency cycle: TASK-"),
            "{}",
            d.message
        );
        assert!(d.message.contains("TASK-1 → TASK-2") || d.message.contains("TASK-2 → TASK-1"));
    }

    #[test]
    fn manifest_sets_layers_queue_order_and_agents() {
        let p = plan(
            "## A\n- `TASK-1` a\n## B\n- `TASK-2` b\n",
            r#"{"TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
            r#"{"layers": [{"name": "base", "ids": ["TASK-1"]}], "queues": {"B": {"after": ["A"], "serial": true, "agent": "noop"}}}"#,
        )
        .unwrap();
        assert_eq!(p.queues[0].tasks[0].layer, "base");
        assert_eq!(p.queues[1].tasks[0].layer, "execution");
        assert_eq!(p.queues[1].after, ["A"]);
        assert!(p.queues[1].serial);
        assert_eq!(p.queues[1].tasks[0].runs.as_ref().unwrap().agent, "noop");
        let err = plan(
            "## A\n- `TASK-1` a\n",
            "{}",
            r#"{"queues": {"A": {"after": ["Z"]}}}"#,
        )
        .unwrap_err();
        let PlanError::Source(d) = err else { panic!() };
        assert!(d.location.starts_with("manifest.json:1:"), "{}", d.location);
    }

    #[test]
    fn a_matrix_hook_plans_one_task_per_combination_and_dependents_wait_for_all() {
        let p = plan(
            "## Q\n- `TASK-1` a\n- `TASK-2` b — after `TASK-1`\n",
            r#"{"TASK-1": {"matrix": {"tc": ["stable", "msrv"], "f": ["default", "all"]},
                "commands": [{"cmd": ["cargo", "+${matrix.tc}", "test", "--${matrix.f}-features"]}]},
                "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
            "{}",
        )
        .unwrap();
        let ids: Vec<&str> = p.tasks().map(|(_, t)| t.id.as_str()).collect();
        let combinations = [
            "TASK-1[tc=stable,f=default]",
            "TASK-1[tc=stable,f=all]",
            "TASK-1[tc=msrv,f=default]",
            "TASK-1[tc=msrv,f=all]",
        ];
        assert_eq!(ids[..4], combinations);
        assert_eq!(ids[4], "TASK-2");
        let first = &p.queues[0].tasks[1];
        assert_eq!(first.base.as_deref(), Some("TASK-1"));
        assert_eq!(
            first.matrix.as_ref().unwrap().0,
            [
                ("tc".to_owned(), "stable".to_owned()),
                ("f".into(), "all".into())
            ]
        );
        let runs = first.runs.as_ref().unwrap();
        assert_eq!(
            runs.commands[0],
            ["cargo", "+stable", "test", "--all-features"]
        );
        assert_eq!(
            (runs.agent.as_str(), runs.hook),
            ("cargo", HookSource::Task)
        );
        assert_eq!(p.queues[0].tasks[4].after, combinations);
        // plan.json keeps the axis order.
        let json = serde_json::to_string(first).unwrap();
        assert!(
            json.contains(r#""matrix":{"tc":"stable","f":"all"}"#),
            "{json}"
        );
    }

    #[test]
    fn a_queue_hook_with_a_matrix_expands_each_task_of_the_queue() {
        let p = plan(
            "## Q\n- `TASK-1` a\n- `TASK-2` b\n",
            r#"{"Q": {"matrix": {"tc": ["a", "b"]}, "commands": [{"cmd": ["x", "${matrix.tc}"]}]},
                "TASK-2": {"commands": [{"cmd": ["own"]}]}}"#,
            "{}",
        )
        .unwrap();
        let ids: Vec<&str> = p.tasks().map(|(_, t)| t.id.as_str()).collect();
        assert_eq!(ids, ["TASK-1[tc=a]", "TASK-1[tc=b]", "TASK-2"]);
        let runs = p.queues[0].tasks[1].runs.as_ref().unwrap();
        assert_eq!(
            (runs.hook, runs.commands[0][1].as_str()),
            (HookSource::Queue, "b")
        );
    }

    #[test]
    fn a_combination_id_over_the_bound_is_refused_at_the_matrix() {
        let long = "v".repeat(70);
        let err = plan(
            "## Q\n- `TASK-1` a\n",
            &format!("{{\n\"TASK-1\": {{\n  \"matrix\": {{\"axis\": [\"{long}\"]}}, \"commands\": [{{\"cmd\": [\"x\"]}}]}}}}"),
            "{}",
        )
        .unwrap_err();
        let PlanError::Source(d) = err else {
            panic!("{err}")
        };
        assert!(
            d.message.contains("bytes long, more than the 80"),
            "{}",
            d.message
        );
        assert_eq!(d.location, "hooks.json:3:3");
    }
}
