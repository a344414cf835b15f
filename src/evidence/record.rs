//! run.json: the predecessor's keys (`status`, `started`, `ended`, `results` with `task`,
//! `queue`, `agent`, `status`, `commands: [{cmd, cwd, rc, log}]`) plus what users need.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::affected::AffectedStamp;
use super::cargo::CargoEvidence;
use super::leg::LegStamp;
use super::merge::MergeStamp;
use super::shard::ShardStamp;

/// Version of the run.json this build writes. 2: logs hold the child's bytes only (no
/// header line), `plan_id`, `rerun_failed` and per result `carried_from`.
pub(crate) const RUN_SCHEMA_VERSION: u32 = 2;

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct RunRecord {
    #[serde(default)]
    pub(crate) schema_version: u32,
    /// "running" while in progress, then "ok", "error" or "interrupted".
    pub(crate) status: RunStatus,
    /// RFC 3339.
    pub(crate) started: String,
    #[serde(default)]
    pub(crate) ended: Option<String>,
    #[serde(default)]
    pub(crate) duration_ms: Option<u64>,
    #[serde(default)]
    pub(crate) run_id: String,
    #[serde(default)]
    pub(crate) tool: Option<ToolInfo>,
    /// The sot.md or plan file the run came from.
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) dry_run: bool,
    /// Identity of the plan: runs of the same plan share it (see `evidence::history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) plan_id: Option<String>,
    /// A `--rerun-failed` run: results with `carried_from` were not run again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) rerun_failed: bool,
    #[serde(default)]
    pub(crate) max_workers: Option<usize>,
    /// The signal that interrupted the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<String>,
    /// What compile once's shared workspace test compile took, ms (none without one):
    /// a shard estimate counts it once per shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) compile_ms: Option<u64>,
    /// Which shard of which plan this run was (`--shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<ShardStamp>,
    /// How an `--affected` run chose its tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) affected: Option<AffectedStamp>,
    /// The CI job and matrix values the run ran under, so merged legs are named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) leg: Option<LegStamp>,
    /// Set on a run merged by `report --merge`: where its results came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merge: Option<MergeStamp>,
    #[serde(default)]
    pub(crate) counts: Counts,
    pub(crate) results: Vec<TaskResult>,
}

/// Name and version of the tool that wrote the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ToolInfo {
    pub(crate) name: String,
    pub(crate) version: String,
}

/// Overall status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunStatus {
    Running,
    Ok,
    Error,
    Interrupted,
}

/// Task status. The predecessor had ok, noop and error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TaskStatus {
    Ok,
    Noop,
    Flaky,
    Error,
    Timeout,
    Skipped,
    Cancelled,
}

impl TaskStatus {
    /// Whether dependents may run.
    pub(crate) fn is_success(self) -> bool {
        matches!(self, TaskStatus::Ok | TaskStatus::Noop | TaskStatus::Flaky)
    }

    /// Lowercase name as in run.json.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Ok => "ok",
            TaskStatus::Noop => "noop",
            TaskStatus::Flaky => "flaky",
            TaskStatus::Error => "error",
            TaskStatus::Timeout => "timeout",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// Counts by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Counts {
    pub(crate) total: usize,
    pub(crate) ok: usize,
    pub(crate) noop: usize,
    pub(crate) flaky: usize,
    pub(crate) error: usize,
    pub(crate) timeout: usize,
    pub(crate) skipped: usize,
    pub(crate) cancelled: usize,
    /// Of `ok`, the tasks the result cache replayed instead of running.
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub(crate) cached: usize,
}

fn is_zero_count(n: &usize) -> bool {
    *n == 0
}

impl Counts {
    /// Tallies results.
    pub(crate) fn of(results: &[TaskResult]) -> Self {
        let mut c = Counts {
            total: results.len(),
            ..Default::default()
        };
        for r in results {
            *match r.status {
                TaskStatus::Ok => &mut c.ok,
                TaskStatus::Noop => &mut c.noop,
                TaskStatus::Flaky => &mut c.flaky,
                TaskStatus::Error => &mut c.error,
                TaskStatus::Timeout => &mut c.timeout,
                TaskStatus::Skipped => &mut c.skipped,
                TaskStatus::Cancelled => &mut c.cancelled,
            } += 1;
            if r.cached.is_some() {
                c.cached += 1;
            }
        }
        c
    }
}

/// One task's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct TaskResult {
    pub(crate) task: String,
    pub(crate) queue: String,
    pub(crate) agent: String,
    pub(crate) status: TaskStatus,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) layer: String,
    /// Why it was skipped, cancelled or errored, or why it is in the plan (dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) attempts: u32,
    #[serde(default)]
    pub(crate) duration_ms: u64,
    #[serde(default)]
    pub(crate) commands: Vec<CommandRecord>,
    /// The task's line in the source of truth, for annotations that point at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<usize>,
    /// Not run this time: the task's last real result, from the run with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) carried_from: Option<String>,
    /// When its first attempt started (RFC 3339, UTC): with `duration_ms`, a queue's
    /// real span is known, not only its longest task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started: Option<String>,
    /// Milliseconds the task waited, once ready, for a shared resource (a cargo target
    /// directory, or one config names): not part of `duration_ms`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) wait_ms: u64,
    /// What cargo said, when the cargo agent ran the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Boxed: most results have none, and journal entries carry whole results.
    pub(crate) cargo: Option<Box<CargoEvidence>>,
    /// The sandbox the task's commands ran under (hooks.json or manifest.json
    /// `sandbox`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sandbox: Option<Box<SandboxRecord>>,
    /// Not run: the result cache replayed the pass stored under this task's key (its
    /// logs and findings are that run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cached: Option<Box<CachedFrom>>,
}

/// Where a cached result came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct CachedFrom {
    /// The task's cache key (SHA-256, hex): every input it hashed.
    pub(crate) key: String,
    /// The run that passed with that key.
    pub(crate) run: String,
    /// How long the task took in that run.
    #[serde(default)]
    pub(crate) duration_ms: u64,
    /// Which store held it: `local`, or the remote cache's URL.
    #[serde(default)]
    pub(crate) store: String,
}

/// The rules a task ran under, as written, and what this kernel enforced of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct SandboxRecord {
    /// The preset the rules came from (`"cargo"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) preset: Option<String>,
    /// The only places it could write (besides `$TMPDIR` and its log directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) write: Option<Vec<String>>,
    /// The only places it could read (besides the system's directories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) read: Option<Vec<String>>,
    /// "none" or "all".
    pub(crate) net: String,
    /// The kernel's Landlock ABI (0: none).
    pub(crate) landlock_abi: u32,
    /// Kinds of rule (`write`, `read`, `net`) this kernel could not enforce, so the task
    /// ran without them (`required: false`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_enforced: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TaskResult {
    /// The command that made the task fail (0-based): the one that timed out or was
    /// cancelled, else the last that did not succeed. Its output is the one to show.
    pub(crate) fn culprit(&self) -> Option<usize> {
        let failed = |c: &CommandRecord| {
            c.timed_out || c.error.is_some() || c.signal.is_some() || c.rc.is_some_and(|rc| rc != 0)
        };
        self.commands
            .iter()
            .position(|c| c.timed_out)
            .or_else(|| self.commands.iter().rposition(failed))
    }
}

/// One command of a task (of its last attempt).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct CommandRecord {
    /// argv as spawned.
    pub(crate) cmd: Vec<String>,
    /// cwd as written in hooks.json.
    pub(crate) cwd: String,
    /// Exit code; null when killed by a signal, not spawned, or a dry run.
    pub(crate) rc: Option<i32>,
    /// stdout log, relative to the run directory.
    pub(crate) log: Option<String>,
    /// stderr log, relative to the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stderr_log: Option<String>,
    /// Signal that ended the process, e.g. "SIGKILL".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) signal: Option<String>,
    #[serde(default)]
    pub(crate) duration_ms: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) timed_out: bool,
    /// The main process exited while processes it started (in its group or out of it)
    /// lived on; they were killed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) leaked: bool,
    /// The pids of the processes that were left running and killed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) leaked_pids: Vec<u32>,
    /// Spawn failure (missing program, cwd gone, not executable), with the OS message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Names of the environment variables set by the hook (dry run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) env: Vec<String>,
    /// The time limit applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) continue_on_error: bool,
}

/// How long a group of tasks took from the first start to the last end, for the tasks
/// that ran this time and say when they started; the longest task's time when that is
/// longer or nothing says when it started (runs written before `started` existed).
/// Wall time during which at least one task waited for a shared resource: the union of
/// the tasks' waits (each ends when its first attempt started), not their sum, which on
/// a busy target directory can be many times the run's length. A wait with no start
/// time counts as at least itself.
pub(crate) fn waiting_ms<'a>(tasks: impl Iterator<Item = &'a TaskResult>) -> u64 {
    let mut waits: Vec<(u128, u128)> = Vec::new();
    let mut untimed = 0;
    for t in tasks.filter(|t| t.wait_ms > 0 && t.carried_from.is_none()) {
        let start = t
            .started
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
            .and_then(|s| s.duration_since(std::time::UNIX_EPOCH).ok());
        match start {
            Some(start) => {
                let end = start.as_millis();
                waits.push((end.saturating_sub(u128::from(t.wait_ms)), end));
            }
            None => untimed = untimed.max(t.wait_ms),
        }
    }
    waits.sort_unstable();
    let mut total: u128 = 0;
    let mut open: Option<(u128, u128)> = None;
    for (from, to) in waits {
        open = match open {
            Some((f, t)) if from <= t => Some((f, t.max(to))),
            Some((f, t)) => {
                total += t - f;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((f, t)) = open {
        total += t - f;
    }
    (total as u64).max(untimed)
}

pub(crate) fn span_ms<'a>(tasks: impl Iterator<Item = &'a TaskResult>) -> u64 {
    let mut longest = 0;
    let mut first: Option<std::time::SystemTime> = None;
    let mut last: Option<std::time::SystemTime> = None;
    for t in tasks {
        longest = longest.max(t.duration_ms);
        if t.carried_from.is_some() {
            continue;
        }
        let Some(start) = t
            .started
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
        else {
            continue;
        };
        let Some(end) = start.checked_add(std::time::Duration::from_millis(t.duration_ms)) else {
            continue;
        };
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    let span = match (first, last) {
        (Some(f), Some(l)) => l.duration_since(f).map_or(0, |d| d.as_millis() as u64),
        _ => 0,
    };
    span.max(longest)
}

impl TaskResult {
    /// The result of a task that never started (skipped, or cancelled before it ran),
    /// with why; title, layer and line are the caller's to add.
    pub(crate) fn never_started(
        task: String,
        queue: String,
        status: TaskStatus,
        reason: String,
    ) -> Self {
        Self {
            task,
            queue,
            agent: String::new(),
            status,
            title: String::new(),
            layer: String::new(),
            reason: Some(reason),
            attempts: 0,
            duration_ms: 0,
            commands: Vec::new(),
            line: None,
            carried_from: None,
            started: None,
            wait_ms: 0,
            cargo: None,
            sandbox: None,
            cached: None,
        }
    }
}

#[cfg(test)]
impl CommandRecord {
    /// A command that ran `argv` in the workspace root and exited with `rc`, with
    /// nothing else recorded, for tests.
    pub(crate) fn for_test(argv: &[&str], rc: Option<i32>) -> Self {
        Self {
            cmd: argv.iter().map(|s| s.to_string()).collect(),
            cwd: ".".into(),
            rc,
            log: None,
            stderr_log: None,
            signal: None,
            duration_ms: 1,
            timed_out: false,
            leaked: false,
            leaked_pids: Vec::new(),
            error: None,
            env: Vec::new(),
            timeout_ms: None,
            continue_on_error: false,
        }
    }
}

#[cfg(test)]
impl TaskResult {
    /// A result of one attempt with an id, a status and a duration and nothing else, for
    /// tests.
    pub(crate) fn for_test(task: &str, status: TaskStatus, duration_ms: u64) -> Self {
        Self {
            agent: "shell".into(),
            reason: None,
            attempts: 1,
            duration_ms,
            ..Self::never_started(task.into(), "Q".into(), status, String::new())
        }
    }
}

impl RunRecord {
    /// A record of the current schema with nothing in it yet: no results, no end.
    pub(crate) fn empty(run_id: String, status: RunStatus, started: String) -> Self {
        Self {
            schema_version: RUN_SCHEMA_VERSION,
            status,
            started,
            ended: None,
            duration_ms: None,
            run_id,
            compile_ms: None,
            tool: None,
            source: None,
            dry_run: false,
            plan_id: None,
            rerun_failed: false,
            max_workers: None,
            signal: None,
            shard: None,
            affected: None,
            leg: None,
            merge: None,
            counts: Counts::default(),
            results: Vec::new(),
        }
    }

    /// The JSON Schema of run.json.
    pub(crate) fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunRecord)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_the_union_of_the_waits_not_their_sum() {
        let waited = |started: Option<&str>, wait_ms: u64| TaskResult {
            started: started.map(str::to_owned),
            wait_ms,
            ..TaskResult::for_test("T", TaskStatus::Ok, 1)
        };
        // Three tasks parked at 0 s on one lock, started at 10, 20 and 30 s; one more
        // waiting from 40 to 45 s: 35 s of wall time, where the sum is 65 s.
        let results = [
            waited(Some("2026-01-01T00:00:10Z"), 10_000),
            waited(Some("2026-01-01T00:00:20Z"), 20_000),
            waited(Some("2026-01-01T00:00:30Z"), 30_000),
            waited(Some("2026-01-01T00:00:45Z"), 5_000),
            waited(None, 0),
        ];
        assert_eq!(waiting_ms(results.iter()), 35_000);
        // A wait with no start time counts as itself, at least.
        assert_eq!(waiting_ms([waited(None, 7_000)].iter()), 7_000);
        assert_eq!(waiting_ms([].iter()), 0);
    }

    #[test]
    fn reads_a_predecessor_run_json() {
        let old = r#"{"status": "error", "started": "2024-01-01T00:00:00Z", "ended": "2024-01-01T00:01:00Z",
            "results": [{"task": "TASK-001", "queue": "Queue A — X", "agent": "shell", "status": "error",
            "commands": [{"cmd": ["false"], "cwd": ".", "rc": 1, "log": "logs/TASK-001.log"}]},
            {"task": "TASK-002", "queue": "Queue A — X", "agent": "noop", "status": "noop", "commands": []}]}"#;
        let run: RunRecord = serde_json::from_str(old).unwrap();
        assert_eq!(run.status, RunStatus::Error);
        assert_eq!(run.results[0].commands[0].rc, Some(1));
        assert_eq!(Counts::of(&run.results).error, 1);
        assert_eq!(span_ms(run.results.iter()), 0, "no times: no span");
    }

    #[test]
    fn a_span_runs_from_the_first_start_to_the_last_end() {
        let task = |started: Option<&str>, ms: u64, carried: bool| TaskResult {
            task: "T".into(),
            queue: "Q".into(),
            agent: "shell".into(),
            status: TaskStatus::Ok,
            title: String::new(),
            layer: String::new(),
            reason: None,
            attempts: 1,
            duration_ms: ms,
            commands: Vec::new(),
            line: None,
            carried_from: carried.then(|| "earlier".into()),
            started: started.map(String::from),
            wait_ms: 0,
            cargo: None,
            sandbox: None,
            cached: None,
        };
        // One after the other: 2s then 3s is 5s, not the longest task's 3s.
        let serial = [
            task(Some("2026-01-01T00:00:00.000Z"), 2000, false),
            task(Some("2026-01-01T00:00:02.000Z"), 3000, false),
        ];
        assert_eq!(span_ms(serial.iter()), 5000);
        // Overlapping: 0–4s and 1–2s is 4s.
        let parallel = [
            task(Some("2026-01-01T00:00:00.000Z"), 4000, false),
            task(Some("2026-01-01T00:00:01.000Z"), 1000, false),
        ];
        assert_eq!(span_ms(parallel.iter()), 4000);
        // A result carried from a week ago, or a time that does not parse, does not
        // stretch the span; the longest task still bounds it from below.
        let odd = [
            task(Some("2026-01-01T00:00:00.000Z"), 1000, false),
            task(Some("2025-12-24T00:00:00.000Z"), 1500, true),
            task(Some("not a time"), 700, false),
            task(None, 300, false),
        ];
        assert_eq!(span_ms(odd.iter()), 1500);
    }
}
