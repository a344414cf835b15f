//! Which nodes may start: prerequisites counted down as nodes finish, failures carried
//! to dependents as the reason they are skipped, and the ready set ordered by the longest
//! remaining chain (weighted by durations from an earlier run), ties in document order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::plan::{Graph, Node, Plan};

/// The dependency bookkeeping of one run.
pub(crate) struct ReadyQueue<'a> {
    plan: &'a Plan,
    graph: &'a Graph,
    remaining: Vec<usize>,
    blocked_by: Vec<Option<String>>,
    priority: Vec<u64>,
    heap: BinaryHeap<(u64, Reverse<usize>)>,
}

impl<'a> ReadyQueue<'a> {
    /// Starts with every node that has no prerequisites ready.
    #[cfg(test)]
    pub(crate) fn new(plan: &'a Plan, graph: &'a Graph, durations: &HashMap<String, u64>) -> Self {
        Self::with_first(plan, graph, durations, &|_| false)
    }

    /// Like [`ReadyQueue::new`], with the nodes `first` says go before any other ready
    /// node, and what leads to them before anything else: the test tasks whose shared
    /// compile unblocks them all (see [`crate::compile_once`]), and the build they wait for.
    pub(crate) fn with_first(
        plan: &'a Plan,
        graph: &'a Graph,
        durations: &HashMap<String, u64>,
        first: &dyn Fn(usize) -> bool,
    ) -> Self {
        let priority = priorities(plan, graph, durations, first);
        let remaining: Vec<usize> = graph.prerequisites.iter().map(Vec::len).collect();
        let heap = (0..graph.nodes.len())
            .filter(|&n| remaining[n] == 0)
            .map(|n| (priority[n], Reverse(n)))
            .collect();
        Self {
            plan,
            graph,
            remaining,
            blocked_by: vec![None; graph.nodes.len()],
            priority,
            heap,
        }
    }

    /// The ready node with the longest remaining chain.
    pub(crate) fn pop(&mut self) -> Option<usize> {
        self.heap.pop().map(|(_, Reverse(node))| node)
    }

    /// Puts a popped node back, as ready as before (it waits for a resource).
    pub(crate) fn requeue(&mut self, node: usize) {
        self.heap.push((self.priority[node], Reverse(node)));
    }

    /// Whether nothing is ready.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Why `node` cannot run: the first failure among what it waits for.
    pub(crate) fn blocked_by(&self, node: usize) -> Option<&str> {
        self.blocked_by[node].as_deref()
    }

    /// Marks `node` finished and readies dependents whose prerequisites are all done.
    /// An unsuccessful node passes the original failure on, through queue gates and
    /// skipped tasks, so every skip names its root cause.
    pub(crate) fn complete(&mut self, node: usize, success: bool) {
        let inherited = self.blocked_by[node].clone();
        for &d in &self.graph.dependents[node] {
            if !success && self.blocked_by[d].is_none() {
                let name = self.graph.name(self.plan, node);
                self.blocked_by[d] = Some(match (&self.graph.nodes[node], &inherited) {
                    (_, Some(original)) => original.clone(),
                    (Node::Task { .. }, None) => format!("dependency {name} did not succeed"),
                    (Node::QueueDone(_), None) => format!("{name} did not finish cleanly"),
                });
            }
            self.remaining[d] -= 1;
            if self.remaining[d] == 0 {
                self.heap.push((self.priority[d], Reverse(d)));
            }
        }
    }
}

/// What a node that goes first adds to its chain.
const FIRST: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Longest remaining chain from each node, in milliseconds: its own expected duration
/// (from an earlier run, else the median of the known ones, else 1 s) plus the longest
/// chain among its dependents.
fn priorities(
    plan: &Plan,
    graph: &Graph,
    durations: &HashMap<String, u64>,
    first: &dyn Fn(usize) -> bool,
) -> Vec<u64> {
    let default = {
        let mut known: Vec<u64> = durations.values().copied().collect();
        known.sort_unstable();
        known.get(known.len() / 2).copied().unwrap_or(1000).max(1)
    };
    let mut priority = vec![0u64; graph.nodes.len()];
    for &node in graph.topological_order().iter().rev() {
        let own = match graph.nodes[node] {
            Node::Task { queue, index } => durations
                .get(&plan.queues[queue].tasks[index].id)
                .copied()
                .unwrap_or(default)
                .max(1),
            Node::QueueDone(_) => 0,
        };
        // Longer than any real chain (a century in ms), so it is counted once per path.
        let own = if first(node) {
            own.saturating_add(FIRST)
        } else {
            own
        };
        let tail = graph.dependents[node]
            .iter()
            .map(|&d| priority[d])
            .max()
            .unwrap_or(0);
        priority[node] = own.saturating_add(tail);
    }
    priority
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};

    #[test]
    fn nodes_that_go_first_lead_and_so_does_what_they_wait_for() {
        // A long lint, and a short build with a test task behind it that goes first.
        let plan = plan(vec![queue(
            "Q",
            vec![
                task("lint", &[]),
                task("build", &[]),
                task("tests", &["build"]),
            ],
        )]);
        let graph = Graph::new(&plan).unwrap();
        let durations: HashMap<String, u64> = [("lint", 60_000), ("build", 10), ("tests", 10)]
            .map(|(k, v)| (k.into(), v))
            .into();
        let id = |node: usize| graph.name(&plan, node);
        let mut plain = ReadyQueue::new(&plan, &graph, &durations);
        assert!(id(plain.pop().unwrap()).contains("lint"));
        let tests = (0..graph.nodes.len())
            .find(|&n| id(n).contains("tests"))
            .unwrap();
        let mut first = ReadyQueue::with_first(&plan, &graph, &durations, &|n| n == tests);
        assert!(id(first.pop().unwrap()).contains("build"));
    }
}
