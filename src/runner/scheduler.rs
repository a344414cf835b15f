//! The scheduler and worker pool: at most N tasks at once; a task starts when its
//! prerequisites are done; among ready tasks the one with the longest remaining chain
//! (weighted by durations from earlier runs) goes first. Failures skip dependents;
//! `--fail-fast` and signals stop new starts and cancel running tasks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::attempts;
use super::claims;
use super::once::{Once, Step};
use super::ready::ReadyQueue;
use super::resources::{Pool, Resource};
use super::routes::Routes;
use super::verdict::Verdict;
use super::{Cancel, Event, Selection};
use crate::agent::Registry;
use crate::config::{Hooks, Manifest};
use crate::evidence::journal::Planned;
use crate::evidence::recorder::Recorder;
use crate::evidence::{
    history, Counts, RunRecord, RunStatus, TaskResult, TaskStatus, ToolInfo, RUN_SCHEMA_VERSION,
};
use crate::plan::{Graph, Node, Plan, PlanQueue, PlanTask};
use crate::run_env::RunEnv;

/// How to run.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    pub(crate) max_workers: usize,
    pub(crate) fail_fast: bool,
    /// `--retries`; a hook's own `retries` wins.
    pub(crate) retries: Option<u32>,
    pub(crate) selection: Selection,
    /// Durations (ms) from an earlier run, to prioritise long chains.
    pub(crate) durations: HashMap<String, u64>,
    /// What was planned (sot.md or plan file), for run.json.
    pub(crate) source: Option<String>,
    /// `--rerun-failed`: the last real results of tasks this run does not run, by id,
    /// recorded as carried forward.
    pub(crate) carried: HashMap<String, TaskResult>,
    /// The run's secret values, masked in all evidence (see `crate::redact`).
    pub(crate) secrets: crate::redact::Secrets,
    /// `CARGO_TEK_JOURNAL_KEY`: seals the journal (see `crate::evidence::seal`).
    pub(crate) journal_key: Option<crate::evidence::seal::JournalKey>,
    /// The workspace root and target dir, to find the cargo target dir a task claims.
    pub(crate) claims: claims::Context,
    /// The CI job and matrix leg, for run.json.
    pub(crate) leg: Option<crate::evidence::leg::LegStamp>,
    /// `--shard K/N`: which shard of which plan this run is, for run.json.
    pub(crate) shard: Option<crate::evidence::shard::ShardStamp>,
    /// `--affected`: the base, for run.json (the tasks are in `selection.affected`).
    pub(crate) affected: Option<crate::evidence::AffectedStamp>,
    /// `--cache`: the result cache, which replays a task whose inputs did not change
    /// since it last passed (never in a dry run).
    pub(crate) cache: Option<Arc<crate::cache::Cache>>,
}

/// The finished run.
#[derive(Debug)]
pub(crate) struct RunSummary {
    pub(crate) record: RunRecord,
    pub(crate) verdict: Verdict,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Everything the run needs from the workspace.
pub(crate) struct Inputs<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) graph: &'a Graph,
    pub(crate) hooks: &'a Hooks,
    pub(crate) manifest: &'a Manifest,
    pub(crate) registry: &'a Registry,
}

/// Runs the plan, writing run.json (at start and end), the journal and junit.xml into
/// `env.run_dir`. Only failures to write evidence are errors; failed tasks are data.
pub(crate) async fn run(
    inputs: Inputs<'_>,
    options: &RunOptions,
    env: Arc<RunEnv>,
    run_id: String,
    events: mpsc::UnboundedSender<Event>,
    signals: Option<mpsc::UnboundedReceiver<i32>>,
) -> std::io::Result<RunSummary> {
    let mut dispatch = Dispatch::open(inputs, options, env, run_id, events)?;
    // An error in here (a worker that panicked) must not just drop the running tasks: the
    // JoinSet's kill-on-drop reaches only their main processes.
    let looped = dispatch.drive(signals).await;
    dispatch.close(looped).await
}

/// The dispatcher: decides which ready task starts next, on which route, and hands
/// finished results to the recorder; it never runs a command itself.
struct Dispatch<'a> {
    plan: &'a Plan,
    graph: &'a Graph,
    registry: &'a Registry,
    options: &'a RunOptions,
    env: Arc<RunEnv>,
    events: mpsc::UnboundedSender<Event>,
    routes: Routes,
    selected: Vec<bool>,
    workers: usize,
    record: RunRecord,
    started_at: Instant,
    evidence: Evidence,
    pool: Pool,
    /// What each running node holds, and since when each parked node has been ready.
    held: Vec<Vec<Resource>>,
    parked_since: Vec<Option<Instant>>,
    waited_ms: Vec<u64>,
    cancel_tx: watch::Sender<Cancel>,
    cancel_rx: watch::Receiver<Cancel>,
    running: JoinSet<Finished>,
    once: Once,
    ready: ReadyQueue<'a>,
    stop_reason: Option<String>,
    interrupted: Option<i32>,
    /// Per node, once the cache was asked: the key a miss stores its pass under.
    cache_keys: Vec<Option<crate::cache::Key>>,
    cache_asked: Vec<bool>,
}

impl<'a> Dispatch<'a> {
    /// Routes the selected tasks, writes run.json's header and the journal's first line,
    /// and tells the listeners the run started.
    fn open(
        inputs: Inputs<'a>,
        options: &'a RunOptions,
        env: Arc<RunEnv>,
        run_id: String,
        events: mpsc::UnboundedSender<Event>,
    ) -> std::io::Result<Self> {
        let Inputs {
            plan,
            graph,
            hooks,
            manifest,
            registry,
        } = inputs;
        let started_at = Instant::now();
        let selected = selected_nodes(plan, graph, options);
        let total = selected.iter().filter(|s| **s).count();
        let workers = options.max_workers.max(1);
        let record = opening_record(plan, options, &env, run_id.clone(), workers);
        let evidence = Evidence {
            recorder: Recorder::start(
                &env.run_dir,
                &record,
                planned(plan, graph, &selected),
                options.secrets.clone(),
                options.journal_key.clone(),
            )?,
            events: events.clone(),
            results: vec![None; graph.nodes.len()],
        };
        let _ = events.send(Event::RunStarted {
            run_id,
            run_dir: env.run_dir.clone(),
            source: options.source.clone(),
            tasks: total,
            workers,
        });
        let routes = Routes::new((plan, graph), (hooks, manifest), &selected, &options.claims);
        let once = Once::new(
            (plan, graph, &routes),
            manifest.compile_once,
            &selected,
            &options.claims,
            env.dry_run,
        );
        // The shared compile unblocks every split task: it goes before other cargo work.
        let ready =
            ReadyQueue::with_first(plan, graph, &options.durations, &|node| once.is_split(node));
        let (cancel_tx, cancel_rx) = watch::channel(Cancel::None);
        let nodes = graph.nodes.len();
        Ok(Self {
            plan,
            graph,
            registry,
            options,
            env,
            events,
            routes,
            selected,
            workers,
            record,
            started_at,
            evidence,
            pool: Pool::new(manifest.resources.iter().map(|(name, &n)| (name, n))),
            held: vec![Vec::new(); nodes],
            parked_since: vec![None; nodes],
            waited_ms: vec![0; nodes],
            cancel_tx,
            cancel_rx,
            running: JoinSet::new(),
            once,
            ready,
            stop_reason: None,
            interrupted: None,
            cache_keys: vec![None; nodes],
            cache_asked: vec![false; nodes],
        })
    }

    /// Starts what can start, then waits for a worker to finish or a signal, until
    /// nothing is running and nothing more may start.
    async fn drive(
        &mut self,
        mut signals: Option<mpsc::UnboundedReceiver<i32>>,
    ) -> std::io::Result<()> {
        loop {
            self.start_ready();
            if self.running.is_empty() && (self.ready.is_empty() || self.stop_reason.is_some()) {
                return Ok(());
            }
            tokio::select! {
                joined = self.running.join_next(), if !self.running.is_empty() => {
                    let Some(joined) = joined else { continue };
                    let finished = joined.map_err(|e| {
                        std::io::Error::other(format!("a task worker failed: {e}"))
                    })?;
                    self.on_finished(finished);
                }
                signal = recv(&mut signals) => {
                    let Some(signal) = signal else { signals = None; continue };
                    self.on_signal(signal);
                }
            }
        }
    }

    /// Pops ready nodes while workers are free; those whose resources are taken are
    /// parked (they hold no worker while they wait) and queued again afterwards.
    fn start_ready(&mut self) {
        let mut parked = Vec::new();
        while self.stop_reason.is_none() && self.running.len() < self.workers {
            let Some(node) = self.ready.pop() else { break };
            self.consider(node, &mut parked);
        }
        for node in parked {
            self.ready.requeue(node);
        }
    }

    fn consider(&mut self, node: usize, parked: &mut Vec<usize>) {
        let plan = self.plan;
        let Node::Task { queue, index } = self.graph.nodes[node] else {
            // A queue gate opens when its queue is done; it fails if anything failed.
            let ok = self.ready.blocked_by(node).is_none();
            self.ready.complete(node, ok);
            return;
        };
        let (q, task) = (&plan.queues[queue], &plan.queues[queue].tasks[index]);
        if !self.selected[node] {
            // Not part of this run (done, filtered out): satisfied for its dependents.
            let ok = self.ready.blocked_by(node).is_none();
            self.ready.complete(node, ok);
        } else if let Some(reason) = self.ready.blocked_by(node) {
            let reason = reason.to_owned();
            self.evidence.finish(node, skipped(q, task, reason));
            self.ready.complete(node, false);
        } else {
            self.try_start(node, (q, task), parked);
        }
    }

    /// Starts a ready, selected task on a worker, unless compile once makes it wait or
    /// fail, or the resources it claims are taken.
    fn try_start(
        &mut self,
        node: usize,
        (q, task): (&'a PlanQueue, &'a PlanTask),
        parked: &mut Vec<usize>,
    ) {
        if self.ask_cache(node, task) {
            return;
        }
        let hook = match self
            .once
            .step(node, &mut self.pool, &self.env, &self.cancel_rx)
        {
            Step::AsConfigured => None,
            Step::Run(hook) => Some(*hook),
            Step::Wait { compile } => {
                if let Some(compile) = compile {
                    self.running
                        .spawn(async move { Finished::Compile(compile.await) });
                }
                let on = self.once.waits_for();
                self.park(node, task, on, parked);
                return;
            }
            Step::Fail(failed) => return self.fail_unstarted(node, (q, task), *failed),
        };
        let claims = match &hook {
            _ if self.env.dry_run => Vec::new(),
            Some(hook) => claims::of_hook(hook, &self.options.claims),
            None => self.routes.of(node).claims.clone(),
        };
        if let Err(busy) = self.pool.try_acquire(&claims) {
            self.park(node, task, busy.to_string(), parked);
            return;
        }
        self.held[node] = claims;
        self.waited_ms[node] = self.waited(node);
        self.evidence
            .recorder
            .task_started(&task.id, &q.name, now());
        let future = attempts::prepare(attempts::Start {
            task,
            queue: &q.name,
            route: self.routes.of(node),
            routes: &self.routes,
            registry: self.registry,
            retries: self.options.retries,
            env: &self.env,
            cancel: &self.cancel_rx,
            events: &self.events,
            hook,
        });
        self.running
            .spawn(async move { Finished::Task(node, future.await) });
    }

    /// Asks the cache, once per task, whether its pass is stored under its key as its
    /// inputs are now (after every task it waits for). The answer hashes the task's
    /// files and may ask a remote store, so it is worked out off the dispatcher, on a
    /// worker slot; [`Self::answered`] takes it. True while the question is out.
    fn ask_cache(&mut self, node: usize, task: &PlanTask) -> bool {
        let Some(cache) = self.options.cache.clone().filter(|_| !self.env.dry_run) else {
            return false;
        };
        if std::mem::replace(&mut self.cache_asked[node], true) {
            return false;
        }
        let (id, run_dir) = (task.id.clone(), self.env.run_dir.clone());
        self.running.spawn(async move {
            let check = tokio::task::spawn_blocking(move || cache.check(&id, &run_dir, now()))
                .await
                .unwrap_or_else(|e| {
                    crate::cache::Check::Never(format!("the cache lookup failed: {e}"))
                });
            Finished::Cache(node, check)
        });
        true
    }

    /// The cache's answer for a task: a hit is recorded as its result, and nothing
    /// runs; on a miss the task is ready again, to start as configured.
    fn answered(&mut self, node: usize, check: crate::cache::Check) {
        let Node::Task { queue, index } = self.graph.nodes[node] else {
            return;
        };
        let (q, task) = (
            &self.plan.queues[queue],
            &self.plan.queues[queue].tasks[index],
        );
        match check {
            crate::cache::Check::Hit(result) => {
                self.evidence
                    .recorder
                    .task_started(&task.id, &q.name, now());
                let ok = result.status.is_success();
                self.evidence.finish(node, *result);
                self.ready.complete(node, ok);
                return;
            }
            crate::cache::Check::Miss { key, why, warning } => {
                self.cache_keys[node] = Some(key);
                let task = task.id.clone();
                if let Some(why) = warning {
                    let task = task.clone();
                    let _ = self.events.send(Event::CacheWarning { task, why });
                }
                let _ = self.events.send(Event::CacheMissed { task, why });
            }
            crate::cache::Check::Never(why) => {
                let task = task.id.clone();
                let why = format!("never cached: {why}");
                let _ = self.events.send(Event::CacheMissed { task, why });
            }
        }
        self.ready.requeue(node);
    }

    /// Stores a finished task's clean pass under the key it started with.
    fn store_in_cache(&mut self, node: usize) {
        let (Some(cache), Some(key)) =
            (self.options.cache.as_deref(), self.cache_keys[node].take())
        else {
            return;
        };
        let Some(result) = &self.evidence.results[node] else {
            return;
        };
        if self.interrupted.is_some() {
            return;
        }
        if let Err(e) = cache.store(&key, result, &self.env.run_dir, &self.record.run_id) {
            let _ = self.events.send(Event::CacheWarning {
                task: result.task.clone(),
                why: format!("passed, but not stored in the result cache: {e}"),
            });
        }
    }

    fn park(&mut self, node: usize, task: &PlanTask, on: String, parked: &mut Vec<usize>) {
        if self.parked_since[node].is_none() {
            self.parked_since[node] = Some(Instant::now());
            let _ = self.events.send(Event::TaskWaiting {
                task: task.id.clone(),
                on,
            });
        }
        parked.push(node);
    }

    /// How long `node` has waited since it was first parked.
    fn waited(&self, node: usize) -> u64 {
        self.parked_since[node].map_or(0, |since| since.elapsed().as_millis() as u64)
    }

    /// A split task compile once fails before it starts (its package did not build).
    fn fail_unstarted(
        &mut self,
        node: usize,
        (q, task): (&PlanQueue, &PlanTask),
        failed: super::once::Failed,
    ) {
        let mut result = skipped(q, task, failed.reason);
        result.status = TaskStatus::Error;
        // The agent plan.json names for it, as when it runs.
        result.agent = match self.routes.of(node).routing.agent.as_str() {
            "cargo" => "cargo".into(),
            _ => "shell".into(),
        };
        result.commands = failed.commands;
        result.cargo = failed.cargo;
        result.wait_ms = self.waited(node);
        self.evidence.finish(node, result);
        self.ready.complete(node, false);
    }

    fn on_finished(&mut self, finished: Finished) {
        let (node, mut result) = match finished {
            Finished::Task(node, result) => (node, result),
            Finished::Cache(node, check) => return self.answered(node, check),
            Finished::Compile(compiled) => {
                self.record.compile_ms = Some(compiled.record.duration_ms);
                let _ = self.events.send(Event::SharedStepFinished {
                    what: "the workspace test compile".into(),
                    ok: compiled.ok(),
                    duration_ms: compiled.record.duration_ms,
                });
                self.once.finished(compiled, &mut self.pool);
                return;
            }
        };
        self.pool.release(&std::mem::take(&mut self.held[node]));
        result.wait_ms = self.waited_ms[node];
        self.once.finish(node, &mut result, &self.env.run_dir);
        let ok = result.status.is_success();
        if !ok && self.options.fail_fast && self.stop_reason.is_none() {
            self.stop_reason = Some(format!(
                "not started: --fail-fast stopped the run after {} failed",
                result.task
            ));
            let _ = self
                .cancel_tx
                .send(Cancel::Graceful(nix::sys::signal::Signal::SIGTERM as i32));
        }
        self.evidence.finish(node, result);
        self.store_in_cache(node);
        self.ready.complete(node, ok);
    }

    /// The first signal cancels gracefully; a second one kills at once.
    fn on_signal(&mut self, signal: i32) {
        let immediate = self.interrupted.is_some();
        if !immediate {
            self.interrupted = Some(signal);
            self.stop_reason = Some(format!(
                "not started: the run was interrupted by {}",
                crate::supervise::process::signal_name(signal)
            ));
        }
        let _ = self.cancel_tx.send(if immediate {
            Cancel::Immediate
        } else {
            Cancel::Graceful(signal)
        });
        let _ = self.events.send(Event::Interrupted { signal, immediate });
    }

    /// Ends the run: after an error, kills what still runs and records the run as an
    /// error; else accounts for every task the loop did not finish and decides the
    /// verdict. Either way run.json is closed and written once, here.
    async fn close(mut self, looped: std::io::Result<()>) -> std::io::Result<RunSummary> {
        if let Err(err) = looped {
            let _ = self.cancel_tx.send(Cancel::Immediate);
            while self.running.join_next().await.is_some() {}
            let results = self.evidence.results.iter().flatten().cloned().collect();
            close(&mut self.record, RunStatus::Error, results, self.started_at);
            let _ = self.evidence.recorder.finish(&self.record);
            return Err(err);
        }
        debug_assert!(self.pool.is_idle(), "every resource was given back");
        account_for_the_rest(
            &mut self.evidence,
            (self.plan, self.graph),
            &self.selected,
            &self.ready,
            &self.stop_reason,
            self.options,
        );
        let Evidence {
            recorder, results, ..
        } = self.evidence;
        let results: Vec<TaskResult> = results.into_iter().flatten().collect();
        let failed = results
            .iter()
            .any(|r| !r.status.is_success() && !crate::evidence::is_unaffected(r));
        let (status, verdict) = match self.interrupted {
            Some(signal) => (RunStatus::Interrupted, Verdict::Interrupted(signal)),
            None if failed => (RunStatus::Error, Verdict::TasksFailed),
            None => (RunStatus::Ok, Verdict::Passed),
        };
        let mut record = self.record;
        record.signal = self.interrupted.map(crate::supervise::process::signal_name);
        close(&mut record, status, results, self.started_at);
        let failure = recorder.finish(&record)?;
        let verdict = verdict.with_evidence_lost(failure.is_some());
        Ok(RunSummary { record, verdict })
    }
}

/// Which nodes this run starts: the tasks the selection includes (never a queue gate).
fn selected_nodes(plan: &Plan, graph: &Graph, options: &RunOptions) -> Vec<bool> {
    graph
        .nodes
        .iter()
        .map(|node| match *node {
            Node::Task { queue, index } => options
                .selection
                .includes(&plan.queues[queue], &plan.queues[queue].tasks[index]),
            Node::QueueDone(_) => false,
        })
        .collect()
}

/// run.json as it is written when the run starts: `running`, no results.
fn opening_record(
    plan: &Plan,
    options: &RunOptions,
    env: &RunEnv,
    run_id: String,
    workers: usize,
) -> RunRecord {
    RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        status: RunStatus::Running,
        started: now(),
        ended: None,
        duration_ms: None,
        run_id,
        compile_ms: None,
        tool: Some(ToolInfo {
            name: "cargo-tek".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        source: options.source.clone(),
        dry_run: env.dry_run,
        plan_id: Some(history::plan_id(plan.tasks().map(|(_, t)| t.id.as_str()))),
        rerun_failed: options.selection.rerun.is_some(),
        max_workers: Some(workers),
        signal: None,
        shard: options.shard.clone(),
        affected: options.affected.clone(),
        leg: options.leg.clone(),
        merge: None,
        counts: Counts::default(),
        results: Vec::new(),
    }
}

/// The selected tasks, in graph order, for the journal's first line.
fn planned(plan: &Plan, graph: &Graph, selected: &[bool]) -> Vec<Planned> {
    graph
        .nodes
        .iter()
        .zip(selected)
        .filter_map(|(node, &selected)| match *node {
            Node::Task { queue, index } if selected => {
                let (q, t) = (&plan.queues[queue], &plan.queues[queue].tasks[index]);
                Some(Planned {
                    task: t.id.clone(),
                    queue: q.name.clone(),
                    title: t.title.clone(),
                    line: t.line,
                })
            }
            _ => None,
        })
        .collect()
}

/// Every task the loop did not finish gets its result: selected ones that never started
/// are skipped, with why; tasks not run this time keep their last real result
/// (`--rerun-failed`); and tasks the change does not affect are skipped as `unaffected`.
fn account_for_the_rest(
    evidence: &mut Evidence,
    (plan, graph): (&Plan, &Graph),
    selected: &[bool],
    ready: &ReadyQueue,
    stop_reason: &Option<String>,
    options: &RunOptions,
) {
    // Selected tasks that never started are skipped, with why.
    for (node, &is_selected) in selected.iter().enumerate() {
        if let (true, None, Node::Task { queue, index }) =
            (is_selected, &evidence.results[node], graph.nodes[node])
        {
            let reason = ready
                .blocked_by(node)
                .map(str::to_owned)
                .or_else(|| stop_reason.clone())
                .unwrap_or_else(|| "not started".into());
            let q = &plan.queues[queue];
            evidence.finish(node, skipped(q, &q.tasks[index], reason));
        }
    }
    // Tasks not run this time keep their last real result (--rerun-failed).
    for (node, &is_selected) in selected.iter().enumerate() {
        if let (false, Node::Task { queue, index }) = (is_selected, graph.nodes[node]) {
            if let Some(result) = options.carried.get(&plan.queues[queue].tasks[index].id) {
                evidence.recorder.task_carried(result);
                evidence.results[node] = Some(result.clone());
            }
        }
    }

    // Tasks the change does not affect (--affected): skipped, reason `unaffected`, in
    // the journal and run.json, but not as events: the display shows them in one line.
    for (node, &is_selected) in selected.iter().enumerate() {
        if let (false, None, Node::Task { queue, index }) =
            (is_selected, &evidence.results[node], graph.nodes[node])
        {
            let (q, t) = (&plan.queues[queue], &plan.queues[queue].tasks[index]);
            if options.selection.unaffected(q, t) {
                let result = skipped(q, t, crate::evidence::UNAFFECTED.to_owned());
                evidence.recorder.task_carried(&result);
                evidence.results[node] = Some(result);
            }
        }
    }
}

/// The one place a run's record is closed, on success or after an error.
fn close(record: &mut RunRecord, status: RunStatus, results: Vec<TaskResult>, started: Instant) {
    record.status = status;
    record.ended = Some(now());
    record.duration_ms = Some(started.elapsed().as_millis() as u64);
    record.counts = Counts::of(&results);
    record.results = results;
}

/// What a worker hands back: a task's result, or the shared compile's.
enum Finished {
    Task(usize, TaskResult),
    Compile(crate::compile_once::Compiled),
    /// The result cache answered for a task (hashing its files, asking a remote store).
    Cache(usize, crate::cache::Check),
}

/// Where finished tasks go: the recorder first (so a crash keeps them), then the display.
struct Evidence {
    recorder: Recorder,
    events: mpsc::UnboundedSender<Event>,
    /// Results by node, in plan order.
    results: Vec<Option<TaskResult>>,
}

impl Evidence {
    fn finish(&mut self, node: usize, mut result: TaskResult) {
        self.recorder.task_finished(&mut result, now());
        let _ = self.events.send(Event::TaskFinished {
            result: Box::new(result.clone()),
        });
        self.results[node] = Some(result);
    }
}

async fn recv(signals: &mut Option<mpsc::UnboundedReceiver<i32>>) -> Option<i32> {
    match signals {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn skipped(queue: &PlanQueue, task: &PlanTask, reason: String) -> TaskResult {
    TaskResult {
        agent: "none".into(),
        title: task.title.clone(),
        layer: task.layer.clone(),
        line: task.line,
        ..TaskResult::never_started(
            task.id.clone(),
            queue.name.clone(),
            TaskStatus::Skipped,
            reason,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::agent::{Agent, BoxFuture, Job, Outcome};
    use crate::config::LayerRule;
    use crate::plan::fixtures::{plan, queue, task};

    /// The run settings of a scheduler test: everything in `dir`, a short grace period.
    fn test_env(dir: &std::path::Path) -> Arc<RunEnv> {
        Arc::new(RunEnv {
            tek_exe: "cargo-tek".into(),
            run_dir: dir.to_path_buf(),
            base_env: Default::default(),
            default_timeout: None,
            grace: std::time::Duration::from_millis(100),
            dry_run: false,
            cwd_bounds: crate::cwd::Bounds::canonical_root(dir.to_path_buf()),
            color: None,
            baselines: Default::default(),
        })
    }

    /// Runs `plan` with no hooks (tasks are routed to agents by `manifest`).
    async fn run_with(
        plan: &Plan,
        graph: &Graph,
        manifest: &Manifest,
        registry: &Registry,
        env: Arc<RunEnv>,
        options: &RunOptions,
    ) -> std::io::Result<RunSummary> {
        let (tx, _rx) = mpsc::unbounded_channel();
        let hooks = Hooks::default();
        let inputs = Inputs {
            plan,
            graph,
            hooks: &hooks,
            manifest,
            registry,
        };
        run(inputs, options, env, "id".into(), tx, None).await
    }

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
                    cargo: None,
                }
            })
        }
    }

    async fn order(durations: &[(&str, u64)], fail: Vec<&'static str>) -> (Vec<String>, RunRecord) {
        let tasks = vec![
            task("A", &[]),
            task("B", &[]),
            task("C", &["B"]),
            task("D", &["C"]),
        ];
        let plan = plan(vec![queue("Q", tasks)]);
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
        let env = test_env(dir.path());
        let options = RunOptions {
            max_workers: 1,
            durations: durations.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..RunOptions::default()
        };
        let summary = run_with(&plan, &graph, &manifest, &registry, env, &options)
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

    /// Panics on `B`; every other task waits until it is cancelled and notes how.
    struct Crash {
        seen: Arc<Mutex<Vec<Cancel>>>,
    }

    impl Agent for Crash {
        fn name(&self) -> &'static str {
            "rec"
        }
        fn run(&self, mut job: Job) -> BoxFuture<'_, Outcome> {
            Box::pin(async move {
                if job.task.id == "B" {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    panic!("a bug in a worker");
                }
                while *job.cancel.borrow() == Cancel::None {
                    if job.cancel.changed().await.is_err() {
                        break;
                    }
                }
                self.seen.lock().unwrap().push(*job.cancel.borrow());
                Outcome {
                    status: TaskStatus::Cancelled,
                    commands: vec![],
                    reason: None,
                    cargo: None,
                }
            })
        }
    }

    #[tokio::test]
    async fn a_worker_failure_cancels_running_tasks_and_finalises_run_json_as_error() {
        let plan = plan(vec![queue("Q", vec![task("A", &[]), task("B", &[])])]);
        let graph = Graph::new(&plan).unwrap();
        let manifest = Manifest {
            layers: vec![LayerRule {
                name: "all".into(),
                ids: ["A", "B"].map(String::from).to_vec(),
                from: None,
                to: None,
                agent: Some("rec".into()),
            }],
            ..Manifest::default()
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut registry = Registry::builtin();
        registry.register(Arc::new(Crash { seen: seen.clone() }));
        let dir = tempfile::tempdir().unwrap();
        let env = test_env(dir.path());
        let options = RunOptions {
            max_workers: 2,
            ..RunOptions::default()
        };
        let err = run_with(&plan, &graph, &manifest, &registry, env, &options)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("a task worker failed"), "{err}");
        assert_eq!(
            *seen.lock().unwrap(),
            [Cancel::Immediate],
            "A was cancelled"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).unwrap()).unwrap();
        assert_eq!(json["status"], "error", "{json}");
        assert!(json["ended"].is_string(), "{json}");
    }
}
