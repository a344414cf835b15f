//! One task from start to result: routing to its agent, attempts and retries (passing on
//! a retry is `flaky`), and the timing that goes into its result.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};

use super::routes::{Route, Routes};
use super::{Cancel, Event};
use crate::agent::{Agent, Job, Outcome, Registry};
use crate::evidence::{TaskResult, TaskStatus};
use crate::plan::PlanTask;
use crate::run_env::RunEnv;

/// What the scheduler hands over to start a task.
pub(crate) struct Start<'a> {
    pub(crate) task: &'a PlanTask,
    pub(crate) queue: &'a str,
    /// The task's route, resolved when the run started.
    pub(crate) route: &'a Route,
    pub(crate) routes: &'a Routes,
    pub(crate) registry: &'a Registry,
    /// `--retries`; a hook's own `retries` wins.
    pub(crate) retries: Option<u32>,
    pub(crate) env: &'a Arc<RunEnv>,
    pub(crate) cancel: &'a watch::Receiver<Cancel>,
    pub(crate) events: &'a mpsc::UnboundedSender<Event>,
    /// A hook the scheduler chose instead of the configured one (compile once's test
    /// binaries), run on the cargo agent when that is the task's (as plan.json says),
    /// else on the shell agent.
    pub(crate) hook: Option<crate::config::Hook>,
}

/// Starts the task on its agent (commands always come from hooks.json, through its
/// route) and returns the future that runs it to a result.
pub(crate) fn prepare(
    start: Start<'_>,
) -> impl std::future::Future<Output = TaskResult> + Send + 'static {
    let Start {
        task,
        queue,
        route,
        routes,
        registry,
        retries,
        env,
        cancel,
        events,
        hook: chosen,
    } = start;
    let (routing, hook) = routed(route, routes, chosen);
    // Retries are bounded where they are read (hooks.json, --retries); saturating keeps a
    // plan built elsewhere from overflowing all the same.
    let attempts = hook
        .as_ref()
        .and_then(|h| h.retries)
        .or(retries)
        .unwrap_or(0)
        .min(crate::config::MAX_RETRIES)
        .saturating_add(1);
    // A dry run records what the shell agent would do, whatever agent is configured; an
    // agent that does not exist fails it as it would fail the run.
    let agent_name =
        if env.dry_run && routing.agent != "noop" && registry.get(&routing.agent).is_some() {
            "shell".to_owned()
        } else {
            routing.agent
        };
    let agent = registry.get(&agent_name);
    let sandbox = hook
        .as_ref()
        .and_then(|h| h.sandbox.as_deref())
        .filter(|_| agent_name != "noop")
        .map(sandbox_record);
    let known = registry.names().join(", ");
    let job = Job {
        task: task.clone(),
        queue: queue.to_owned(),
        hook,
        hook_source: routing.hook,
        attempt: 1,
        env: env.clone(),
        cancel: cancel.clone(),
    };
    let events = events.clone();
    async move {
        let started = Instant::now();
        let started_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let (status, outcome, attempts) = match agent {
            Some(agent) => execute(agent, job.clone_for(1), attempts, &events).await,
            None => {
                let reason = format!("unknown agent `{agent_name}` (known: {known})");
                (
                    TaskStatus::Error,
                    Outcome {
                        status: TaskStatus::Error,
                        commands: vec![],
                        reason: Some(reason),
                        cargo: None,
                    },
                    1,
                )
            }
        };
        TaskResult {
            task: job.task.id,
            queue: job.queue,
            agent: agent_name,
            status,
            title: job.task.title,
            layer: job.task.layer,
            reason: outcome.reason,
            attempts,
            duration_ms: started.elapsed().as_millis() as u64,
            commands: outcome.commands,
            line: job.task.line,
            carried_from: None,
            started: Some(started_at),
            wait_ms: 0,
            cargo: outcome.cargo,
            sandbox,
            cached: None,
        }
    }
}

/// The routing and hook an attempt runs with: the route's, or a hook the scheduler
/// chose (compile once's test binaries), which runs on the cargo agent when plan.json
/// says cargo, else on the shell, in the sandbox its route gives.
fn routed(
    route: &super::routes::Route,
    routes: &super::routes::Routes,
    chosen: Option<crate::config::Hook>,
) -> (crate::plan::Routing, Option<crate::config::Hook>) {
    let mut routing = route.routing.clone();
    let hook = match chosen {
        Some(chosen) => {
            if routing.agent != "cargo" {
                routing.agent = "shell".into();
            }
            Some(routes.with_sandbox(chosen))
        }
        None => route.hook.clone(),
    };
    (routing, hook)
}

/// Runs attempts until one passes, retries run out, or the run is being cancelled.
async fn execute(
    agent: Arc<dyn Agent>,
    job: Job,
    attempts: u32,
    events: &mpsc::UnboundedSender<Event>,
) -> (TaskStatus, Outcome, u32) {
    let mut attempt = 1;
    loop {
        let _ = events.send(Event::TaskStarted {
            task: job.task.id.clone(),
            title: job.task.title.clone(),
            attempt,
        });
        let outcome = agent.run(job.clone_for(attempt)).await;
        // A dry run's failure is a finding about the config: another attempt would find
        // the same.
        let retryable =
            matches!(outcome.status, TaskStatus::Error | TaskStatus::Timeout) && !job.env.dry_run;
        if retryable && attempt < attempts && *job.cancel.borrow() == Cancel::None {
            let reason = outcome.reason.clone().unwrap_or_default();
            let _ = events.send(Event::TaskRetrying {
                task: job.task.id.clone(),
                attempt,
                reason,
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

/// What run.json says of a task's sandbox: the rules as written and what this kernel
/// enforces of them (the shell agent enforces the same, from the same two inputs).
fn sandbox_record(sandbox: &crate::config::Sandbox) -> Box<crate::evidence::SandboxRecord> {
    use crate::supervise::sandbox;
    let rules = sandbox.rules();
    let abi = sandbox::kernel_abi();
    let wanted: Vec<String> = [
        rules.write.as_ref().map(|_| "write"),
        rules.read.as_ref().map(|_| "read"),
        (rules.net == crate::config::Net::None).then_some("net"),
    ]
    .into_iter()
    .flatten()
    .map(String::from)
    .collect();
    let not_enforced = match sandbox::enforce(rules.clone(), abi) {
        Ok(enforced) => enforced
            .not_enforced
            .iter()
            .map(|k| k.to_string())
            .collect(),
        // The task fails for it; nothing of the sandbox ran.
        Err(_) => wanted,
    };
    Box::new(crate::evidence::SandboxRecord {
        preset: sandbox.preset().map(String::from),
        write: rules.write,
        read: rules.read,
        net: rules.net.as_str().into(),
        landlock_abi: abi,
        not_enforced,
    })
}
