//! Which tasks of the plan a run executes: ids (positional or `--only`), queues by letter
//! or name, `--with-deps`, done tasks, and `--rerun-failed`.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::plan::{Graph, Node, Plan, PlanQueue, PlanTask};

/// Filters from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `--only`: these ids only (empty = all).
    pub(crate) only: HashSet<String>,
    /// `--queue`: these queues only (empty = all).
    pub(crate) queues: HashSet<String>,
    /// `--include-done`.
    pub(crate) include_done: bool,
    /// `--rerun-failed`: the ids that need another run.
    pub(crate) rerun: Option<HashSet<String>>,
    /// `--shard K/N`: the ids of that shard.
    pub(crate) shard: Option<HashSet<String>>,
    /// `--affected`: the ids the change affects (see `affected::select`). The tasks it
    /// leaves out are recorded as skipped, `unaffected`.
    pub(crate) affected: Option<HashSet<String>>,
}

impl Selection {
    /// Whether the run executes `task`. Unselected tasks count as satisfied for their
    /// dependents (done means done; `--only` trusts the rest).
    pub(crate) fn includes(&self, queue: &PlanQueue, task: &PlanTask) -> bool {
        (self.include_done || !task.done) && self.wanted(queue, task)
    }

    /// Whether `task` is selected by everything but its done mark: the tasks a run leaves
    /// out only because they are checked off, which the user is told about.
    pub(crate) fn wanted(&self, queue: &PlanQueue, task: &PlanTask) -> bool {
        (self.only.is_empty() || self.only.contains(&task.id))
            && (self.queues.is_empty() || self.queues.contains(&queue.name))
            && self.rerun.as_ref().is_none_or(|r| r.contains(&task.id))
            && self.shard.as_ref().is_none_or(|s| s.contains(&task.id))
            && self.affected.as_ref().is_none_or(|a| a.contains(&task.id))
    }

    /// Whether `task` is left out only because the change does not affect it: the tasks
    /// recorded as skipped with reason `unaffected`.
    pub(crate) fn unaffected(&self, queue: &PlanQueue, task: &PlanTask) -> bool {
        self.affected
            .as_ref()
            .is_some_and(|a| !a.contains(&task.id))
            && (self.include_done || !task.done)
            && Selection {
                affected: None,
                ..self.clone()
            }
            .wanted(queue, task)
    }
}

/// What the user asked for, before it is checked against the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// Task ids (positional arguments and `--only`).
    pub(crate) ids: Vec<String>,
    /// `--queue` arguments: a full name, a letter, or a name without `Queue X — `.
    pub(crate) queues: Vec<String>,
    /// `--with-deps`: also everything the selected tasks wait for.
    pub(crate) with_deps: bool,
    /// `--include-done`.
    pub(crate) include_done: bool,
}

/// A selection that does not fit the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SelectionError {
    #[error("`{id}` is not a task in the plan{}", did_you_mean(.suggestion))]
    UnknownTask {
        id: String,
        suggestion: Option<String>,
    },
    #[error("--queue `{query}` matches no queue (queues: {})", .queues.join(", "))]
    UnknownQueue { query: String, queues: Vec<String> },
    #[error("--queue `{query}` matches {} queues: {}; give more of the name", .candidates.len(), .candidates.join(", "))]
    AmbiguousQueue {
        query: String,
        candidates: Vec<String>,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// `Queue B — Quality gates`: the letter and the short name (any dash).
static QUEUE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Queue\s+([A-Za-z0-9]+)\s*(?:—|–|--|-|:)\s*(.*)$").expect("valid regex")
});

/// The queues a `--queue` argument names: the full name, the letter of `Queue X — …`, or
/// the name after that prefix, all case-insensitively. An exact full name wins over the
/// looser forms.
pub(crate) fn match_queue<'a>(plan: &'a Plan, query: &str) -> Result<&'a str, SelectionError> {
    let wanted = query.trim().to_lowercase();
    if let Some(exact) = plan.queues.iter().find(|q| q.name == query) {
        return Ok(&exact.name);
    }
    let mut candidates: Vec<&str> = Vec::new();
    for queue in &plan.queues {
        let full = queue.name.to_lowercase();
        let short = QUEUE_NAME.captures(&queue.name).map(|c| {
            (
                c[1].to_lowercase(),
                c.get(2).map_or("", |m| m.as_str()).trim().to_lowercase(),
            )
        });
        let hit = full == wanted
            || short
                .as_ref()
                .is_some_and(|(letter, name)| *letter == wanted || *name == wanted);
        if hit && !candidates.contains(&queue.name.as_str()) {
            candidates.push(&queue.name);
        }
    }
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(SelectionError::UnknownQueue {
            query: query.to_owned(),
            queues: plan.queues.iter().map(|q| q.name.clone()).collect(),
        }),
        many => Err(SelectionError::AmbiguousQueue {
            query: query.to_owned(),
            candidates: many.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

/// Checks `request` against the plan and turns it into a [`Selection`].
pub(crate) fn resolve(
    plan: &Plan,
    graph: &Graph,
    request: &Request,
) -> Result<Selection, SelectionError> {
    // A matrix's base id names all its combinations; one combination is named in full.
    let mut only = HashSet::new();
    let mut bases: Option<crate::config::HashMap<&str, Vec<&str>>> = None;
    for id in &request.ids {
        if graph.task_index.contains_key(id) {
            only.insert(id.clone());
            continue;
        }
        let bases = bases.get_or_insert_with(|| {
            let mut bases = crate::config::HashMap::<&str, Vec<&str>>::default();
            for (_, task) in plan.tasks() {
                if let Some(base) = &task.base {
                    bases.entry(base).or_default().push(&task.id);
                }
            }
            bases
        });
        if let Some(combinations) = bases.get(id.as_str()) {
            only.extend(combinations.iter().map(|c| c.to_string()));
        } else {
            return Err(SelectionError::UnknownTask {
                id: id.clone(),
                suggestion: crate::sot::closest(id, graph.task_index.keys().map(String::as_str))
                    .map(str::to_owned),
            });
        }
    }
    let mut queues = HashSet::new();
    for query in &request.queues {
        queues.insert(match_queue(plan, query)?.to_owned());
    }
    let mut selection = Selection {
        only,
        queues,
        include_done: request.include_done,
        rerun: None,
        shard: None,
        affected: None,
    };
    if request.with_deps && !(selection.only.is_empty() && selection.queues.is_empty()) {
        selection.only = with_dependencies(plan, graph, &selection);
        selection.queues.clear();
    }
    Ok(selection)
}

/// The selected tasks and everything they wait for (their `after` ids, the queues their
/// queue waits for, earlier tasks of a serial queue), transitively.
fn with_dependencies(plan: &Plan, graph: &Graph, selection: &Selection) -> HashSet<String> {
    let mut seen = vec![false; graph.nodes.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        if let Node::Task { queue, index } = *node {
            let q = &plan.queues[queue];
            if selection.wanted(q, &q.tasks[index]) {
                seen[n] = true;
                stack.push(n);
            }
        }
    }
    while let Some(n) = stack.pop() {
        for &p in &graph.prerequisites[n] {
            if !seen[p] {
                seen[p] = true;
                stack.push(p);
            }
        }
    }
    graph
        .nodes
        .iter()
        .zip(seen)
        .filter_map(|(node, seen)| match *node {
            Node::Task { queue, index } if seen => Some(plan.queues[queue].tasks[index].id.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};

    fn sample() -> Plan {
        let mut b = queue(
            "Queue B — Quality gates",
            vec![task("B1", &["A1"]), task("B2", &[])],
        );
        b.after = vec![];
        plan(vec![
            queue("Queue A — Build", vec![task("A1", &[]), task("A2", &[])]),
            b,
            queue("Queue C — Quality checks", vec![task("C1", &["B1"])]),
            queue("Docs", vec![task("D1", &[])]),
        ])
    }

    #[test]
    fn queues_match_by_letter_short_name_or_full_name() {
        let p = sample();
        for q in [
            "B",
            "b",
            "Quality gates",
            "quality GATES",
            "Queue B — Quality gates",
        ] {
            assert_eq!(
                match_queue(&p, q).unwrap(),
                "Queue B — Quality gates",
                "{q}"
            );
        }
        assert_eq!(match_queue(&p, "docs").unwrap(), "Docs");
        assert!(matches!(
            match_queue(&p, "Z"),
            Err(SelectionError::UnknownQueue { .. })
        ));
    }

    #[test]
    fn an_ambiguous_queue_lists_the_candidates() {
        let mut p = sample();
        p.queues
            .push(queue("Queue B — Again", vec![task("E1", &[])]));
        let err = match_queue(&p, "b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--queue `b` matches 2 queues: Queue B — Quality gates, Queue B — Again; give more of the name"
        );
    }

    #[test]
    fn with_deps_adds_what_the_tasks_wait_for() {
        let p = sample();
        let g = Graph::new(&p).unwrap();
        let request = Request {
            ids: vec!["C1".into()],
            with_deps: true,
            ..Request::default()
        };
        let s = resolve(&p, &g, &request).unwrap();
        let mut ids: Vec<_> = s.only.iter().cloned().collect();
        ids.sort();
        assert_eq!(ids, ["A1", "B1", "C1"]);
        let without = resolve(
            &p,
            &g,
            &Request {
                with_deps: false,
                ..request
            },
        )
        .unwrap();
        assert_eq!(without.only.len(), 1);
    }

    #[test]
    fn unknown_ids_suggest_the_closest() {
        let p = sample();
        let g = Graph::new(&p).unwrap();
        let err = resolve(
            &p,
            &g,
            &Request {
                ids: vec!["c1".into()],
                ..Request::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`c1` is not a task in the plan; did you mean `C1`?"
        );
    }
}
