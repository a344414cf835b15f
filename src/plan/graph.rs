//! The dependency graph behind a plan: task dependencies, queues that wait for other
//! queues, and serial queues, checked for unknown ids and cycles. A queue gate node per
//! queue keeps queue-to-queue ordering linear in size however large the queues.

use crate::config::HashMap;

use super::Plan;

/// A node: a task, or the gate that opens when every task of a queue has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Task { queue: usize, index: usize },
    QueueDone(usize),
}

/// Nodes with their prerequisites and dependents.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<Node>,
    /// `prerequisites[n]`: nodes that must finish before `n` starts.
    pub(crate) prerequisites: Vec<Vec<usize>>,
    /// `dependents[n]`: nodes waiting for `n`.
    pub(crate) dependents: Vec<Vec<usize>>,
    /// Index of each task id's node.
    pub(crate) task_index: HashMap<String, usize>,
}

/// Problems found while building the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("task `{task}` depends on unknown task `{dependency}`")]
    UnknownTask { task: String, dependency: String },
    #[error("queue `{queue}` waits for unknown queue `{after}`")]
    UnknownQueue { queue: String, after: String },
    #[error("dependency cycle: {}", cycle_summary(.0))]
    Cycle(Vec<String>),
    #[error("duplicate task id `{0}`")]
    Duplicate(String),
    #[error("task id `{}` is {len} bytes long, more than the {} an id may have", crate::sot::shortened_id(.id), crate::sot::MAX_ID_BYTES)]
    TooLong { id: String, len: usize },
}

/// Ids shown at each end of a long cycle: a 100,000-task cycle must not become a
/// megabyte-long message.
const CYCLE_ENDS: usize = 4;

/// A cycle (a closed path, first node repeated at the end) for a message: the whole path
/// when short, else its first and last few nodes and its length.
pub(crate) fn cycle_summary(path: &[String]) -> String {
    let members = path.len().saturating_sub(1);
    if path.len() <= 2 * CYCLE_ENDS + 1 {
        return path.join(" → ");
    }
    format!(
        "{} → … → {} ({members} tasks in the cycle)",
        path[..CYCLE_ENDS].join(" → "),
        path[path.len() - CYCLE_ENDS..].join(" → ")
    )
}

impl Graph {
    /// Builds and checks the graph of `plan`.
    pub(crate) fn new(plan: &Plan) -> Result<Self, GraphError> {
        let count: usize = plan.queues.iter().map(|q| q.tasks.len()).sum();
        let mut nodes = Vec::with_capacity(count + plan.queues.len());
        let mut task_index = HashMap::with_capacity_and_hasher(count, rustc_hash::FxBuildHasher);
        for (q, queue) in plan.queues.iter().enumerate() {
            for (i, task) in queue.tasks.iter().enumerate() {
                // A plan file written by hand (or by another tool) is checked as sot.md is.
                if task.id.len() > crate::sot::MAX_ID_BYTES {
                    return Err(GraphError::TooLong {
                        id: task.id.clone(),
                        len: task.id.len(),
                    });
                }
                if task_index.insert(task.id.clone(), nodes.len()).is_some() {
                    return Err(GraphError::Duplicate(task.id.clone()));
                }
                nodes.push(Node::Task { queue: q, index: i });
            }
        }
        let gate_base = nodes.len();
        nodes.extend((0..plan.queues.len()).map(Node::QueueDone));
        let queue_index: HashMap<&str, usize> = plan
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.name.as_str(), i))
            .collect();

        let mut prerequisites = vec![Vec::new(); nodes.len()];
        for (q, queue) in plan.queues.iter().enumerate() {
            let mut gates = Vec::new();
            for after in &queue.after {
                let Some(&p) = queue_index.get(after.as_str()) else {
                    return Err(GraphError::UnknownQueue {
                        queue: queue.name.clone(),
                        after: after.clone(),
                    });
                };
                gates.push(gate_base + p);
            }
            let mut previous = None;
            for task in &queue.tasks {
                let node = task_index[&task.id];
                let pre = &mut prerequisites[node];
                for dep in &task.after {
                    match task_index.get(dep) {
                        Some(&d) => pre.push(d),
                        None => {
                            return Err(GraphError::UnknownTask {
                                task: task.id.clone(),
                                dependency: dep.clone(),
                            })
                        }
                    }
                }
                pre.extend(&gates);
                if queue.serial {
                    pre.extend(previous);
                }
                previous = Some(node);
                prerequisites[gate_base + q].push(node);
            }
        }
        for pre in &mut prerequisites {
            pre.sort_unstable();
            pre.dedup();
        }
        let mut dependents = vec![Vec::new(); nodes.len()];
        for (n, pre) in prerequisites.iter().enumerate() {
            for &p in pre {
                dependents[p].push(n);
            }
        }
        let graph = Self {
            nodes,
            prerequisites,
            dependents,
            task_index,
        };
        if let Some(cycle) = graph.find_cycle() {
            return Err(GraphError::Cycle(
                cycle.iter().map(|&n| graph.name(plan, n)).collect(),
            ));
        }
        Ok(graph)
    }

    /// A readable name for a node.
    pub(crate) fn name(&self, plan: &Plan, node: usize) -> String {
        match self.nodes[node] {
            Node::Task { queue, index } => plan.queues[queue].tasks[index].id.clone(),
            Node::QueueDone(q) => format!("queue `{}`", plan.queues[q].name),
        }
    }

    /// Nodes in an order where every prerequisite comes first.
    pub(crate) fn topological_order(&self) -> Vec<usize> {
        let mut remaining: Vec<usize> = self.prerequisites.iter().map(Vec::len).collect();
        let mut order: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| remaining[n] == 0)
            .collect();
        let mut i = 0;
        while i < order.len() {
            for &d in &self.dependents[order[i]] {
                remaining[d] -= 1;
                if remaining[d] == 0 {
                    order.push(d);
                }
            }
            i += 1;
        }
        order
    }

    /// A cycle as a closed path (first node repeated at the end), if any. Iterative so a
    /// 50,000-long chain cannot overflow the stack.
    fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut mark = vec![Mark::New; self.nodes.len()];
        for root in 0..self.nodes.len() {
            if mark[root] != Mark::New {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            mark[root] = Mark::Active;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&pre) = self.prerequisites[node].get(*next) {
                    *next += 1;
                    match mark[pre] {
                        Mark::New => {
                            mark[pre] = Mark::Active;
                            stack.push((pre, 0));
                        }
                        Mark::Active => {
                            let start = stack.iter().position(|&(n, _)| n == pre).unwrap_or(0);
                            // The stack runs from dependents to prerequisites; report it
                            // in execution order (prerequisite first).
                            let mut cycle: Vec<usize> =
                                stack[start..].iter().map(|&(n, _)| n).collect();
                            cycle.reverse();
                            cycle.push(cycle[0]);
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                } else {
                    mark[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};

    #[test]
    fn cycles_are_named_in_order() {
        let p = plan(vec![queue(
            "Q",
            vec![task("A", &["C"]), task("B", &["A"]), task("C", &["B"])],
        )]);
        let Err(GraphError::Cycle(c)) = Graph::new(&p) else {
            panic!()
        };
        assert_eq!(c.len(), 4);
        assert_eq!(c.first(), c.last());
        let s = c.join(" → ");
        assert!(
            s.contains("A → B") || s.contains("B → C") || s.contains("C → A"),
            "{s}"
        );
    }

    #[test]
    fn queue_after_and_serial_become_edges() {
        let mut b = queue("B", vec![task("B1", &[]), task("B2", &[])]);
        b.after = vec!["A".into()];
        b.serial = true;
        let p = plan(vec![queue("A", vec![task("A1", &[])]), b]);
        let g = Graph::new(&p).unwrap();
        let order = g.topological_order();
        let pos = |id: &str| order.iter().position(|&n| n == g.task_index[id]).unwrap();
        assert!(pos("A1") < pos("B1") && pos("B1") < pos("B2"));
        let mut bad = queue("B", vec![]);
        bad.after = vec!["Nope".into()];
        assert!(matches!(
            Graph::new(&plan(vec![bad])),
            Err(GraphError::UnknownQueue { .. })
        ));
    }

    #[test]
    fn a_cycle_through_100k_tasks_is_found_fast_and_summarised() {
        let n = 100_000;
        let tasks: Vec<_> = (0..n)
            .map(|i| task(&format!("T{i}"), &[&format!("T{}", (i + n - 1) % n)]))
            .collect();
        let p = plan(vec![queue("Q", tasks)]);
        let started = std::time::Instant::now();
        let Err(err @ GraphError::Cycle(_)) = Graph::new(&p) else {
            panic!()
        };
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let message = err.to_string();
        assert!(message.len() < 200, "{message}");
        assert!(message.contains("(100000 tasks in the cycle)"), "{message}");
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let tasks: Vec<_> = (0..50_000)
            .map(|i| {
                if i == 0 {
                    task("T0", &[])
                } else {
                    task(&format!("T{i}"), &[&format!("T{}", i - 1)])
                }
            })
            .collect();
        let g = Graph::new(&plan(vec![queue("Q", tasks)])).unwrap();
        assert_eq!(g.topological_order().len(), 50_001);
    }
}
