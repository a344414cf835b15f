//! A plan's shard layout, as written to plan.json: which tasks each of N CI jobs runs,
//! the estimates, the lower bound, and the hashes every job checks. Built from the plan
//! and its graph with [`super::shard::split`]; shown as a GitHub Actions matrix.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::durations::{Basis, Durations};
use super::fingerprint::{plan_hash, InputHashes};
use super::shard::{split, Dag};
use super::{Graph, Node, Plan};

/// The GitHub Actions matrix limit.
pub(crate) const MAX_SHARDS: u32 = 256;

/// The shard section of plan.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ShardPlan {
    /// Hash of the whole plan (without `generated_at` and this field): every shard's
    /// run.json carries it, so that shards of different plans are never merged.
    pub(crate) plan_hash: String,
    #[serde(flatten)]
    pub(crate) layout: ShardLayout,
}

/// Everything about the split that the plan hash covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ShardLayout {
    /// Shards asked for (`--shards`).
    pub(crate) requested: u32,
    /// Shards made: fewer than asked when there are fewer independent groups.
    pub(crate) total: u32,
    /// Workers per job the estimates assume.
    pub(crate) workers: u32,
    /// Whether recorded durations or task counts weigh the tasks.
    pub(crate) basis: Basis,
    /// The `--durations` files read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) durations_from: Vec<String>,
    /// Tasks with a recorded duration; the others got the median.
    pub(crate) recorded: usize,
    /// Hashes of sot.md, hooks.json and manifest.json as planned.
    pub(crate) inputs: InputHashes,
    /// No split into `total` shards can finish sooner, ms.
    pub(crate) lower_bound_ms: u64,
    /// The longest shard's estimate, ms.
    pub(crate) makespan_ms: u64,
    /// `--affected`: the shards balance these tasks only; the others are placed with no
    /// weight and recorded as skipped, `unaffected`, by the shard that holds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) affected: Option<AffectedSet>,
    pub(crate) shards: Vec<Shard>,
}

/// The change a plan was split for (`--affected`), as every shard applies it: the plan
/// hash covers it, so jobs that saw another change never merge as one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AffectedSet {
    /// The base as asked for, e.g. "origin/main".
    pub(crate) base: String,
    /// The merge base commit, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merge_base: Option<String>,
    /// How many paths changed.
    #[serde(default)]
    pub(crate) changed_paths: usize,
    /// Why every task runs, when the change could not narrow the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) everything: Option<String>,
    /// The ids of the affected tasks, sorted.
    pub(crate) tasks: Vec<String>,
}

/// One shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Shard {
    /// 1-based.
    pub(crate) index: u32,
    /// Estimated time on `workers` workers, ms.
    pub(crate) estimate_ms: u64,
    /// Its tasks, in plan order.
    pub(crate) tasks: Vec<String>,
    /// How many of them run: the others are done or unaffected (skipped).
    #[serde(default)]
    pub(crate) runs: usize,
}

/// What to split and how.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub(crate) shards: u32,
    pub(crate) workers: u32,
    pub(crate) durations: &'a Durations,
    pub(crate) durations_from: Vec<String>,
    pub(crate) inputs: InputHashes,
    /// `--affected`: only these tasks run and weigh.
    pub(crate) affected: Option<AffectedSet>,
    /// What the tasks hold and need first, for the estimates.
    pub(crate) costs: Costs,
}

/// What tasks hold while they run and need before they start, by graph node, so that an
/// estimate counts the turns cargo tasks take on one target directory and the compile a
/// shard on a fresh machine does first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Costs {
    /// The resources each node holds, by a name stable across machines (a cargo target
    /// directory as its path relative to the workspace).
    pub(crate) claims: Vec<Vec<String>>,
    /// How many tasks may hold a resource at once; 1 when not listed.
    pub(crate) capacity: std::collections::HashMap<String, u64>,
    /// Nodes that run after compile once's shared workspace test compile.
    pub(crate) compiles: Vec<bool>,
}

/// The graph as the splitter sees it: each task's weight (nothing for done and
/// unaffected tasks), its claims and whether it needs the shared compile first.
fn dag_of(plan: &Plan, graph: &Graph, request: &Request<'_>, task_weights: Vec<u64>) -> Dag {
    let mut weights = task_weights.into_iter();
    let affected: Option<std::collections::HashSet<&str>> = request
        .affected
        .as_ref()
        .map(|a| a.tasks.iter().map(String::as_str).collect());
    let mut dag = Dag::default();
    let mut resources: Vec<&str> = Vec::new();
    let compile_ms = request.durations.compile_ms();
    if let Some(ms) = compile_ms {
        dag.setup_ms.push(ms);
    }
    for (n, node) in graph.nodes.iter().enumerate() {
        let claims = request.costs.claims.get(n).map_or(&[][..], Vec::as_slice);
        dag.claims.push(
            claims
                .iter()
                .map(|name| match resources.iter().position(|r| r == name) {
                    Some(r) => r,
                    None => {
                        resources.push(name);
                        resources.len() - 1
                    }
                })
                .collect(),
        );
        let compiles = request.costs.compiles.get(n).copied().unwrap_or(false);
        dag.setup
            .push((compiles && compile_ms.is_some()).then_some(0));
        match *node {
            Node::Task { queue, index } => {
                let task = &plan.queues[queue].tasks[index];
                let weight = weights.next().unwrap_or(0);
                // Done and unaffected tasks are skipped at run time: they cost nothing.
                let runs = !task.done
                    && affected
                        .as_ref()
                        .is_none_or(|a| a.contains(task.id.as_str()));
                dag.weights.push(if runs { weight } else { 0 });
                dag.keys.push(task.id.clone());
                dag.runs.push(runs);
                dag.prerequisites.push(graph.prerequisites[n].clone());
            }
            Node::QueueDone(_) => {
                dag.weights.push(0);
                dag.keys.push(String::new());
                dag.runs.push(false);
                // A gate nobody waits for joins nothing: tasks of one queue are
                // independent unless the queue is serial or another queue waits for it.
                dag.prerequisites.push(if graph.dependents[n].is_empty() {
                    Vec::new()
                } else {
                    graph.prerequisites[n].clone()
                });
            }
        }
    }
    dag.capacities = resources
        .iter()
        .map(|r| request.costs.capacity.get(*r).copied().unwrap_or(1))
        .collect();
    dag
}

/// Puts a shard layout into `plan` and stamps the plan hash.
pub(crate) fn shard(plan: &mut Plan, graph: &Graph, request: Request<'_>) {
    let task_ids = graph.nodes.iter().filter_map(|node| match *node {
        Node::Task { queue, index } => Some(plan.queues[queue].tasks[index].id.as_str()),
        Node::QueueDone(_) => None,
    });
    let (task_weights, basis) = request.durations.weights(task_ids);
    let recorded = match basis {
        Basis::Durations => request
            .durations
            .recorded(plan.tasks().map(|(_, t)| t.id.as_str())),
        Basis::Count => 0,
    };
    let dag = dag_of(plan, graph, &request, task_weights);
    let assignment = split(&dag, request.shards as usize, request.workers as usize);
    let shards = assignment
        .shards
        .iter()
        .zip(&assignment.loads)
        .enumerate()
        .map(|(i, (nodes, &load))| Shard {
            index: i as u32 + 1,
            estimate_ms: load,
            tasks: nodes.iter().map(|&n| dag.keys[n].clone()).collect(),
            runs: nodes.iter().filter(|&&n| dag.runs[n]).count(),
        })
        .collect();
    plan.shards = Some(ShardPlan {
        plan_hash: String::new(),
        layout: ShardLayout {
            requested: request.shards,
            total: assignment.shards.len() as u32,
            workers: request.workers,
            basis,
            durations_from: request.durations_from,
            recorded,
            inputs: request.inputs,
            lower_bound_ms: assignment.lower_bound,
            makespan_ms: assignment.makespan(),
            affected: request.affected,
            shards,
        },
    });
    let hash = plan_hash(plan);
    if let Some(shards) = &mut plan.shards {
        shards.plan_hash = hash;
    }
}

impl ShardLayout {
    /// The GitHub Actions matrix: `{"include": [{"shard": "1/4", "tasks": 12,
    /// "estimate": "3m10s"}, ...]}`, one line, for `fromJSON(...)`.
    pub(crate) fn matrix(&self) -> String {
        #[derive(Serialize)]
        struct Entry {
            shard: String,
            tasks: usize,
            estimate: String,
        }
        let include: Vec<Entry> = self
            .shards
            .iter()
            .map(|s| Entry {
                shard: format!("{}/{}", s.index, self.total),
                tasks: s.runs,
                estimate: self.estimate(s),
            })
            .collect();
        #[derive(Serialize)]
        struct Matrix {
            include: Vec<Entry>,
        }
        serde_json::to_string(&Matrix { include }).unwrap_or_default()
    }

    /// A shard's estimate for people: `unknown` when no durations were recorded.
    pub(crate) fn estimate(&self, shard: &Shard) -> String {
        match self.basis {
            Basis::Durations => human(shard.estimate_ms),
            Basis::Count => "unknown".to_owned(),
        }
    }

    /// The tasks of shard `spec`, or why the plan has no such shard.
    pub(crate) fn tasks(&self, spec: ShardSpec) -> Result<&[String], String> {
        if spec.total != self.total {
            let reduced = if self.total < self.requested {
                format!(
                    " ({} were asked for; the plan has only {})",
                    self.requested,
                    groups(self.total)
                )
            } else {
                String::new()
            };
            return Err(format!(
                "--shard {spec}: the plan has {}{reduced}; use --shard K/{} as its matrix says",
                crate::text::count(self.total as usize, "shard", "shards"),
                self.total
            ));
        }
        self.shards
            .iter()
            .find(|s| s.index == spec.index)
            .map(|s| s.tasks.as_slice())
            .ok_or_else(|| format!("--shard {spec}: the plan has no shard {}", spec.index))
    }
}

fn groups(n: u32) -> String {
    if n == 1 {
        "1 independent group of tasks".into()
    } else {
        format!("{n} independent groups of tasks")
    }
}

/// A duration as a matrix shows it: `3m10s`, `1h05m`, `42s`.
pub(crate) fn human(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `--shard K/N`: the K-th of N shards, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardSpec {
    pub(crate) index: u32,
    pub(crate) total: u32,
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a shard: write K/N with 1 ≤ K ≤ N ≤ {MAX_SHARDS}, e.g. 2/4 for the second of four shards (in a workflow: --shard ${{{{ matrix.shard }}}})"
            )
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let total: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > total || total > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Self { index, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};

    fn inputs() -> InputHashes {
        InputHashes {
            sot: "s".into(),
            hooks: "h".into(),
            manifest: "m".into(),
        }
    }

    fn sharded(p: &mut Plan, n: u32) {
        let g = Graph::new(p).unwrap();
        shard(
            p,
            &g,
            Request {
                shards: n,
                workers: 2,
                durations: &Durations::default(),
                durations_from: vec![],
                inputs: inputs(),
                affected: None,
                costs: Costs::default(),
            },
        );
    }

    #[test]
    fn shard_specs_parse_and_bad_ones_say_what_to_write() {
        assert_eq!(
            "2/4".parse::<ShardSpec>(),
            Ok(ShardSpec { index: 2, total: 4 })
        );
        for bad in ["0/4", "5/4", "2", "a/b", "1/257", "", "2/4/8"] {
            let err = bad.parse::<ShardSpec>().unwrap_err();
            assert!(err.contains("write K/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn queues_that_wait_for_queues_stay_together_and_unrelated_queues_split() {
        let mut b = queue("B", vec![task("B1", &[]), task("B2", &[])]);
        b.after = vec!["A".into()];
        let mut p = plan(vec![
            queue("A", vec![task("A1", &[]), task("A2", &[])]),
            b,
            queue("C", vec![task("C1", &[]), task("C2", &[]), task("C3", &[])]),
        ]);
        sharded(&mut p, 8);
        let layout = &p.shards.as_ref().unwrap().layout;
        // A+B is one group; C's three tasks are independent: 4 groups.
        assert_eq!(layout.total, 4);
        assert_eq!(layout.requested, 8);
        let with_a = layout
            .shards
            .iter()
            .find(|s| s.tasks.contains(&"A1".to_owned()))
            .unwrap();
        assert_eq!(with_a.tasks, ["A1", "A2", "B1", "B2"]);
        assert_eq!(layout.basis, Basis::Count);
    }

    #[test]
    fn the_matrix_has_one_entry_per_shard_and_nothing_to_run_is_one_entry() {
        let mut p = plan(vec![queue("Q", vec![task("A", &[]), task("B", &[])])]);
        sharded(&mut p, 2);
        let layout = &p.shards.as_ref().unwrap().layout;
        assert_eq!(
            layout.matrix(),
            r#"{"include":[{"shard":"1/2","tasks":1,"estimate":"unknown"},{"shard":"2/2","tasks":1,"estimate":"unknown"}]}"#
        );
        let mut done = plan(vec![queue("Q", vec![task("A", &[])])]);
        done.queues[0].tasks[0].done = true;
        sharded(&mut done, 4);
        let m: serde_json::Value =
            serde_json::from_str(&done.shards.as_ref().unwrap().layout.matrix()).unwrap();
        assert_eq!(m["include"].as_array().unwrap().len(), 1);
        assert_eq!(m["include"][0]["shard"], "1/1");
    }

    #[test]
    fn the_plan_hash_covers_the_layout_and_a_wrong_total_is_explained() {
        let mut p = plan(vec![queue("Q", vec![task("A", &[]), task("B", &[])])]);
        sharded(&mut p, 2);
        let hash = p.shards.as_ref().unwrap().plan_hash.clone();
        assert_eq!(hash, plan_hash(&p));
        let mut q = p.clone();
        q.shards.as_mut().unwrap().layout.shards[0]
            .tasks
            .push("B".into());
        assert_ne!(hash, plan_hash(&q));
        let layout = &p.shards.as_ref().unwrap().layout;
        let err = layout.tasks(ShardSpec { index: 1, total: 3 }).unwrap_err();
        assert!(err.contains("use --shard K/2"), "{err}");
    }

    #[test]
    fn unaffected_tasks_weigh_nothing_and_the_hash_covers_the_affected_set() {
        let p = plan(vec![queue(
            "Q",
            vec![
                task("A", &[]),
                task("B", &[]),
                task("C", &[]),
                task("D", &[]),
            ],
        )]);
        let split_for = |tasks: &[&str]| {
            let mut p = p.clone();
            let g = Graph::new(&p).unwrap();
            shard(
                &mut p,
                &g,
                Request {
                    shards: 2,
                    workers: 1,
                    durations: &Durations::default(),
                    durations_from: vec![],
                    inputs: inputs(),
                    costs: Costs::default(),
                    affected: Some(AffectedSet {
                        base: "origin/main".into(),
                        merge_base: None,
                        changed_paths: 1,
                        everything: None,
                        tasks: tasks.iter().map(|t| t.to_string()).collect(),
                    }),
                },
            );
            p.shards.unwrap()
        };
        let two = split_for(&["A", "D"]);
        // A and D run, one per shard; B and C ride along with no weight.
        let runs: Vec<usize> = two.layout.shards.iter().map(|s| s.runs).collect();
        assert_eq!(runs, [1, 1], "{two:?}");
        let placed: usize = two.layout.shards.iter().map(|s| s.tasks.len()).sum();
        assert_eq!(placed, 4, "every task in one shard");
        assert!(two.layout.matrix().contains(r#""tasks":1"#));
        assert_ne!(two.plan_hash, split_for(&["A", "B"]).plan_hash);
        // One affected task: one shard, whatever was asked.
        assert_eq!(split_for(&["C"]).layout.total, 1);
    }

    #[test]
    fn durations_read_like_a_matrix_shows_them() {
        assert_eq!(human(190_000), "3m10s");
        assert_eq!(human(400), "1s");
        assert_eq!(human(0), "0s");
        assert_eq!(human(3_900_000), "1h05m");
    }
}
