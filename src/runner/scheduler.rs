//! The scheduler and worker pool: at most N tasks at once; a task starts when its
//! prerequisites are done; among ready tasks the one with the longest remaining chain
//! (weighted by durations from earlier runs) goes first. Failures skip dependents;
//! `--fail-fast` and signals stop new starts and cancel running tasks.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::{Cancel, Event, Selection};
use crate::agent::{Job, Outcome, Registry, RunEnv};
use crate::config::{Hooks, Manifest};
use crate::error::ExitCode;
use crate::evidence::journal::{Entry, Journal};
use crate::evidence::{
    junit, write_atomic, Counts, RunRecord, RunStatus, TaskResult, TaskStatus, ToolInfo,
    RUN_SCHEMA_VERSION,
};
use crate::plan::{route, Graph, HookSource, Node, Plan};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub max_workers: usize,
    pub fail_fast: bool,
    /// `--retries`; a hook's own `retries` wins.
    pub retries: Option<u32>,
    pub selection: Selection,
    /// Durations (ms) from an earlier run, to prioritise long chains.
    pub durations: HashMap<String, u64>,
    /// What was planned (sot.md or plan file), for run.json.
    pub source: Option<String>,
}

/// The finished run.
#[derive(Debug)]
pub struct RunSummary {
    pub record: RunRecord,
    pub exit: ExitCode,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
}

/// Everything the run needs from the workspace.
pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub graph: &'a Graph,
    pub hooks: &'a Hooks,
    pub manifest: &'a Manifest,
    pub registry: &'a Registry,
}

/// Runs the plan, writing run.json (at start and end), the journal and junit.xml into
/// `env.run_dir`. Only failures to write evidence are errors; failed tasks are data.
pub async fn run(
    inputs: Inputs<'_>,
    options: &RunOptions,
    env: Arc<RunEnv>,
    run_id: String,
    events: mpsc::UnboundedSender<Event>,
    mut signals: Option<mpsc::UnboundedReceiver<i32>>,
) -> std::io::Result<RunSummary> {
    let Inputs {
        plan,
        graph,
        hooks,
        manifest,
        registry,
    } = inputs;
    let started_at = Instant::now();
    let started = now();
    let n = graph.nodes.len();
    let selected: Vec<bool> = graph
        .nodes
        .iter()
        .map(|node| match *node {
            Node::Task { queue, index } => options
                .selection
                .includes(&plan.queues[queue], &plan.queues[queue].tasks[index]),
            Node::QueueDone(_) => false,
        })
        .collect();
    let total = selected.iter().filter(|s| **s).count();
    let workers = options.max_workers.max(1);

    let mut record = RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        status: RunStatus::Running,
        started: started.clone(),
        ended: None,
        duration_ms: None,
        run_id: run_id.clone(),
        tool: Some(ToolInfo {
            name: "cargo-tek".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        source: options.source.clone(),
        dry_run: env.dry_run,
        max_workers: Some(workers),
        signal: None,
        counts: Counts::default(),
        results: Vec::new(),
    };
    write_run_json(&env, &record)?;
    let mut journal = Journal::create(&env.run_dir.join("events.jsonl"))?;
    journal.append(&Entry::RunStarted {
        run_id: run_id.clone(),
        started,
        source: options.source.clone(),
        dry_run: env.dry_run,
        tasks: total,
    })?;
    let _ = events.send(Event::RunStarted {
        run_id,
        run_dir: env.run_dir.clone(),
        tasks: total,
        workers,
    });

    let priority = priorities(plan, graph, &options.durations);
    let mut remaining: Vec<usize> = graph.prerequisites.iter().map(Vec::len).collect();
    let mut blocked_by: Vec<Option<String>> = vec![None; n];
    let mut state = vec![State::Waiting; n];
    let mut results: Vec<Option<TaskResult>> = vec![None; n];
    let mut ready: BinaryHeap<(u64, Reverse<usize>)> = (0..n)
        .filter(|&i| remaining[i] == 0)
        .map(|i| (priority[i], Reverse(i)))
        .collect();
    let (cancel_tx, cancel_rx) = watch::channel(Cancel::None);
    let mut running: JoinSet<(usize, TaskResult)> = JoinSet::new();
    let mut stop_reason: Option<String> = None;
    let mut interrupted: Option<i32> = None;

    loop {
        while stop_reason.is_none() && running.len() < workers {
            let Some((_, Reverse(node))) = ready.pop() else {
                break;
            };
            let success = match graph.nodes[node] {
                Node::QueueDone(_) => Some(blocked_by[node].is_none()),
                Node::Task { .. } if !selected[node] => Some(blocked_by[node].is_none()),
                Node::Task { queue, index } => {
                    let q = &plan.queues[queue];
                    let task = &q.tasks[index];
                    if let Some(reason) = blocked_by[node].clone() {
                        let result = skipped(plan, queue, index, reason);
                        journal.append(&Entry::TaskFinished {
                            result: result.clone(),
                        })?;
                        let _ = events.send(Event::TaskFinished {
                            result: result.clone(),
                        });
                        results[node] = Some(result);
                        Some(false)
                    } else {
                        let routing = route(&task.id, &q.name, hooks, manifest);
                        let hook = match routing.hook {
                            HookSource::Task => hooks.get(&task.id).cloned(),
                            HookSource::Queue => hooks.get(&q.name).cloned(),
                            HookSource::None => None,
                        };
                        let attempts = 1 + hook
                            .as_ref()
                            .and_then(|h| h.retries)
                            .or(options.retries)
                            .unwrap_or(0);
                        let job = Job {
                            task: task.clone(),
                            queue: q.name.clone(),
                            hook,
                            hook_source: routing.hook,
                            attempt: 1,
                            env: env.clone(),
                            cancel: cancel_rx.clone(),
                        };
                        journal.append(&Entry::TaskStarted {
                            task: task.id.clone(),
                            queue: q.name.clone(),
                            attempt: 1,
                            at: now(),
                        })?;
                        let agent_name = if env.dry_run && routing.agent != "noop" {
                            "shell".to_owned()
                        } else {
                            routing.agent.clone()
                        };
                        let agent = registry.get(&agent_name);
                        let known = registry.names().join(", ");
                        let events = events.clone();
                        let layer = task.layer.clone();
                        state[node] = State::Running;
                        running.spawn(async move {
                            let started = Instant::now();
                            let (status, outcome, attempt) = match agent {
                                Some(agent) => execute(agent, job, attempts, &events).await,
                                None => (
                                    TaskStatus::Error,
                                    Outcome {
                                        status: TaskStatus::Error,
                                        commands: vec![],
                                        reason: Some(format!(
                                            "unknown agent `{agent_name}` (known: {known})"
                                        )),
                                    },
                                    1,
                                ),
                            };
                            (
                                node,
                                TaskResult {
                                    task: String::new(),
                                    queue: String::new(),
                                    agent: agent_name,
                                    status,
                                    title: String::new(),
                                    layer,
                                    reason: outcome.reason,
                                    attempts: attempt,
                                    duration_ms: started.elapsed().as_millis() as u64,
                                    commands: outcome.commands,
                                },
                            )
                        });
                        None
                    }
                }
            };
            if let Some(success) = success {
                state[node] = State::Done;
                release(
                    graph,
                    plan,
                    node,
                    success,
                    &mut remaining,
                    &mut blocked_by,
                    &mut ready,
                    &priority,
                );
            }
        }
        if running.is_empty() && (ready.is_empty() || stop_reason.is_some()) {
            break;
        }
        tokio::select! {
            joined = running.join_next(), if !running.is_empty() => {
                let Some(joined) = joined else { continue };
                let (node, mut result) = match joined {
                    Ok(done) => done,
                    Err(err) => return Err(std::io::Error::other(format!("a task worker failed: {err}"))),
                };
                let Node::Task { queue, index } = graph.nodes[node] else { continue };
                let q = &plan.queues[queue];
                result.task = q.tasks[index].id.clone();
                result.queue = q.name.clone();
                result.title = q.tasks[index].title.clone();
                journal.append(&Entry::TaskFinished { result: result.clone() })?;
                let success = result.status.is_success();
                if !success && options.fail_fast && stop_reason.is_none() {
                    stop_reason = Some(format!("not started: --fail-fast stopped the run after {} failed", result.task));
                    let _ = cancel_tx.send(Cancel::Graceful(nix::sys::signal::Signal::SIGTERM as i32));
                }
                let _ = events.send(Event::TaskFinished { result: result.clone() });
                results[node] = Some(result);
                state[node] = State::Done;
                release(graph, plan, node, success, &mut remaining, &mut blocked_by, &mut ready, &priority);
            }
            signal = recv(&mut signals) => {
                let Some(signal) = signal else { signals = None; continue };
                if interrupted.is_none() {
                    interrupted = Some(signal);
                    stop_reason = Some(format!("not started: the run was interrupted by {}", super::process::signal_name(signal)));
                    let _ = cancel_tx.send(Cancel::Graceful(signal));
                    let _ = events.send(Event::Interrupted { signal, immediate: false });
                } else {
                    let _ = cancel_tx.send(Cancel::Immediate);
                    let _ = events.send(Event::Interrupted { signal, immediate: true });
                }
            }
        }
    }

    // Selected tasks that never started: skipped, with why.
    for node in 0..n {
        if selected[node] && results[node].is_none() && state[node] != State::Running {
            if let Node::Task { queue, index } = graph.nodes[node] {
                let reason = blocked_by[node]
                    .clone()
                    .or_else(|| stop_reason.clone())
                    .unwrap_or_else(|| "not started".into());
                let result = skipped(plan, queue, index, reason);
                journal.append(&Entry::TaskFinished {
                    result: result.clone(),
                })?;
                let _ = events.send(Event::TaskFinished {
                    result: result.clone(),
                });
                results[node] = Some(result);
            }
        }
    }

    let results: Vec<TaskResult> = results.into_iter().flatten().collect();
    let counts = Counts::of(&results);
    let failed = results.iter().any(|r| !r.status.is_success());
    let (status, exit) = match interrupted {
        Some(signal) => (RunStatus::Interrupted, ExitCode::Interrupted(signal)),
        None if failed => (RunStatus::Error, ExitCode::TasksFailed),
        None => (RunStatus::Ok, ExitCode::Success),
    };
    let ended = now();
    record.status = status;
    record.ended = Some(ended.clone());
    record.duration_ms = Some(started_at.elapsed().as_millis() as u64);
    record.signal = interrupted.map(super::process::signal_name);
    record.counts = counts;
    record.results = results;
    if let Ok(xml) = junit::render(&record, &env.run_dir) {
        write_atomic(&env.run_dir.join("junit.xml"), xml.as_bytes())?;
    }
    write_run_json(&env, &record)?;
    journal.append(&Entry::RunFinished {
        status,
        ended,
        signal: record.signal.clone(),
    })?;
    journal.sync()?;
    Ok(RunSummary { record, exit })
}

async fn recv(signals: &mut Option<mpsc::UnboundedReceiver<i32>>) -> Option<i32> {
    match signals {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs attempts until one passes or retries run out. Passing on a retry is `flaky`.
async fn execute(
    agent: Arc<dyn crate::agent::Agent>,
    mut job: Job,
    attempts: u32,
    events: &mpsc::UnboundedSender<Event>,
) -> (TaskStatus, Outcome, u32) {
    let mut attempt = 1;
    loop {
        job.attempt = attempt;
        let _ = events.send(Event::TaskStarted {
            task: job.task.id.clone(),
            title: job.task.title.clone(),
            attempt,
        });
        let next = Job {
            task: job.task.clone(),
            queue: job.queue.clone(),
            hook: job.hook.clone(),
            hook_source: job.hook_source,
            attempt,
            env: job.env.clone(),
            cancel: job.cancel.clone(),
        };
        let outcome = agent.run(next).await;
        let retryable = matches!(outcome.status, TaskStatus::Error | TaskStatus::Timeout);
        if retryable && attempt < attempts && *job.cancel.borrow() == Cancel::None {
            let _ = events.send(Event::TaskRetrying {
                task: job.task.id.clone(),
                attempt,
                reason: outcome.reason.clone().unwrap_or_default(),
            });
            attempt += 1;
            continue;
        }
        let status = if outcome.status.is_success() && attempt > 1 {
            TaskStatus::Flaky
        } else {
            outcome.status
        };
        return (status, outcome, attempt);
    }
}

fn skipped(plan: &Plan, queue: usize, index: usize, reason: String) -> TaskResult {
    let q = &plan.queues[queue];
    let task = &q.tasks[index];
    TaskResult {
        task: task.id.clone(),
        queue: q.name.clone(),
        agent: "none".into(),
        status: TaskStatus::Skipped,
        title: task.title.clone(),
        layer: task.layer.clone(),
        reason: Some(reason),
        attempts: 0,
        duration_ms: 0,
        commands: Vec::new(),
    }
}

/// Marks `node` finished and readies dependents whose prerequisites are all done.
#[allow(clippy::too_many_arguments)]
fn release(
    graph: &Graph,
    plan: &Plan,
    node: usize,
    success: bool,
    remaining: &mut [usize],
    blocked_by: &mut [Option<String>],
    ready: &mut BinaryHeap<(u64, Reverse<usize>)>,
    priority: &[u64],
) {
    let reason = blocked_by[node].clone();
    for &d in &graph.dependents[node] {
        if !success && blocked_by[d].is_none() {
            blocked_by[d] = Some(match (&graph.nodes[node], &reason) {
                // Keep pointing at the original failure through gates and skips.
                (_, Some(original)) => original.clone(),
                (Node::Task { .. }, None) => {
                    format!("dependency {} did not succeed", graph.name(plan, node))
                }
                (Node::QueueDone(_), None) => {
                    format!("{} did not finish cleanly", graph.name(plan, node))
                }
            });
        }
        remaining[d] -= 1;
        if remaining[d] == 0 {
            ready.push((priority[d], Reverse(d)));
        }
    }
}

/// Longest remaining chain from each node, in milliseconds: its own expected duration
/// plus the longest chain among its dependents.
fn priorities(plan: &Plan, graph: &Graph, durations: &HashMap<String, u64>) -> Vec<u64> {
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
        let tail = graph.dependents[node]
            .iter()
            .map(|&d| priority[d])
            .max()
            .unwrap_or(0);
        priority[node] = own.saturating_add(tail);
    }
    priority
}

fn write_run_json(env: &RunEnv, record: &RunRecord) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    write_atomic(&env.run_dir.join("run.json"), &json)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::agent::{Agent, BoxFuture};
    use crate::config::LayerRule;
    use crate::plan::{PlanQueue, PlanTask};

    /// Records the order tasks start in; fails the ids it is told to.
    struct Recorder {
        order: Arc<Mutex<Vec<String>>>,
        fail: Vec<&'static str>,
    }

    impl Agent for Recorder {
        fn name(&self) -> &'static str {
            "rec"
        }
        fn run(&self, job: Job) -> BoxFuture<'_, Outcome> {
            Box::pin(async move {
                self.order.lock().unwrap().push(job.task.id.clone());
                let status = if self.fail.contains(&job.task.id.as_str()) {
                    TaskStatus::Error
                } else {
                    TaskStatus::Ok
                };
                Outcome {
                    status,
                    commands: vec![],
                    reason: None,
                }
            })
        }
    }

    fn task(id: &str, after: &[&str]) -> PlanTask {
        PlanTask {
            id: id.into(),
            title: id.into(),
            layer: "x".into(),
            done: false,
            after: after.iter().map(|s| s.to_string()).collect(),
            line: None,
            runs: None,
        }
    }

    async fn order(durations: &[(&str, u64)], fail: Vec<&'static str>) -> (Vec<String>, RunRecord) {
        let plan = Plan {
            version: 1,
            schema_version: 1,
            source: "s".into(),
            generated_at: "t".into(),
            format: None,
            queues: vec![PlanQueue {
                name: "Q".into(),
                after: vec![],
                serial: false,
                tasks: vec![
                    task("A", &[]),
                    task("B", &[]),
                    task("C", &["B"]),
                    task("D", &["C"]),
                ],
            }],
        };
        let graph = Graph::new(&plan).unwrap();
        let manifest = Manifest {
            layers: vec![LayerRule {
                name: "all".into(),
                ids: vec![],
                from: None,
                to: None,
                agent: Some("rec".into()),
            }],
            ..Manifest::default()
        };
        // A rule with neither ids nor range matches nothing; name every id instead.
        let manifest = Manifest {
            layers: vec![LayerRule {
                ids: ["A", "B", "C", "D"].map(String::from).to_vec(),
                ..manifest.layers[0].clone()
            }],
            ..manifest
        };
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let mut registry = Registry::builtin();
        registry.register(Arc::new(Recorder {
            order: recorded.clone(),
            fail,
        }));
        let dir = tempfile::tempdir().unwrap();
        let env = Arc::new(RunEnv {
            root: dir.path().to_path_buf(),
            tek_exe: "cargo-tek".into(),
            run_dir: dir.path().to_path_buf(),
            base_env: vec![],
            default_timeout: None,
            grace: std::time::Duration::from_millis(100),
            dry_run: false,
            color: None,
        });
        let options = RunOptions {
            max_workers: 1,
            durations: durations.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..RunOptions::default()
        };
        let (tx, _rx) = mpsc::unbounded_channel();
        let hooks = Hooks::default();
        let inputs = Inputs {
            plan: &plan,
            graph: &graph,
            hooks: &hooks,
            manifest: &manifest,
            registry: &registry,
        };
        let summary = run(inputs, &options, env, "id".into(), tx, None)
            .await
            .unwrap();
        let order = recorded.lock().unwrap().clone();
        (order, summary.record)
    }

    #[tokio::test]
    async fn longest_chain_starts_first() {
        let (order, record) = order(&[], vec![]).await;
        // B's chain (B, C, D) is longest; once C is done, A and D tie and document order
        // breaks the tie.
        assert_eq!(order, ["B", "C", "A", "D"]);
        assert_eq!(record.status, RunStatus::Ok);
    }

    #[tokio::test]
    async fn recorded_durations_weight_the_chain() {
        let (order, _) = order(&[("A", 60_000), ("B", 10), ("C", 10), ("D", 10)], vec![]).await;
        assert_eq!(order[0], "A");
    }

    #[tokio::test]
    async fn a_failure_skips_the_chain_but_not_the_rest() {
        let (order, record) = order(&[], vec!["B"]).await;
        assert_eq!(order, ["B", "A"]);
        let status = |id: &str| record.results.iter().find(|r| r.task == id).unwrap().status;
        assert_eq!(
            (status("C"), status("D"), status("A")),
            (TaskStatus::Skipped, TaskStatus::Skipped, TaskStatus::Ok)
        );
        let reason = record
            .results
            .iter()
            .find(|r| r.task == "D")
            .unwrap()
            .reason
            .clone()
            .unwrap();
        assert!(reason.contains('B'), "the root cause is named: {reason}");
        assert_eq!(record.status, RunStatus::Error);
    }
}
