//! The `shell` agent: runs a hook's commands in order as argv arrays (a shell only when a
//! command asks for one with `"shell"`), stopping at the first failure unless a command
//! says `continue_on_error`.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

use super::limits::{Limit, TaskClock};
use super::{Agent, BoxFuture, Job, Outcome};
use crate::config::{Command as HookCommand, Hook};
use crate::evidence::{logs, CommandRecord, TaskStatus};
use crate::plan::HookSource;
use crate::preflight::Preflight;
use crate::run_env::RunEnv;
use crate::supervise::sandbox::{self, Confinement, Enforced, Places};
use crate::supervise::{env::task_env, process};

/// Letters, digits, `.`, `_` and `-`, at most 64 of them.
fn is_plain_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Whether a failed command's error or the end of its logs shows a denial.
fn denied(run_dir: &Path, record: &CommandRecord) -> bool {
    let logs: Vec<_> = [&record.log, &record.stderr_log]
        .into_iter()
        .flatten()
        .map(|log| run_dir.join(log))
        .collect();
    sandbox::denied(record.error.as_deref(), &logs)
}

/// Runs hook commands as supervised processes.
pub(crate) struct ShellAgent;

impl Agent for ShellAgent {
    fn name(&self) -> &'static str {
        "shell"
    }

    fn run(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { run(job, &mut Plain).await })
    }
}

/// Where a command's output goes: the files the child writes, and the logs run.json
/// names (relative to the run directory).
pub(super) struct Streams {
    pub(crate) stdout: File,
    pub(crate) stderr: File,
    pub(crate) log: Option<String>,
    pub(crate) stderr_log: Option<String>,
}

/// What another agent adds around each command it runs the way `shell` does, so that
/// supervision (process group, environment, limits, logs written by the child) stays
/// in one place.
pub(super) trait Around: Send {
    /// The argv to spawn for the next command (given as the hook wrote it).
    fn argv(&mut self, argv: Vec<String>) -> Vec<String>;
    /// Variables the next command gets on top of the task's environment.
    fn env(&self) -> Vec<(&'static str, OsString)> {
        Vec::new()
    }
    /// Creates the files the command's output goes to; `dir` is where it runs,
    /// `out`/`err` are its log paths.
    fn streams(
        &mut self,
        run_dir: &Path,
        dir: &Path,
        out: &str,
        err: &str,
    ) -> std::io::Result<Streams>;
    /// The command ended (or could not start): a chance to turn what it wrote into logs.
    fn ended(&mut self, run_dir: &Path, record: &mut CommandRecord);
}

/// The shell agent's own: the argv as written, stdout and stderr in their own logs.
struct Plain;

impl Around for Plain {
    fn argv(&mut self, argv: Vec<String>) -> Vec<String> {
        argv
    }

    fn streams(
        &mut self,
        run_dir: &Path,
        _: &Path,
        out: &str,
        err: &str,
    ) -> std::io::Result<Streams> {
        let (stdout, stderr) = logs::create_pair(run_dir, (out, err))?;
        Ok(Streams {
            stdout,
            stderr,
            log: Some(out.to_owned()),
            stderr_log: Some(err.to_owned()),
        })
    }

    fn ended(&mut self, _: &Path, _: &mut CommandRecord) {}
}

/// Runs the hook's commands in order under supervision, with `around` adding to each.
pub(super) async fn run(mut job: Job, around: &mut dyn Around) -> Outcome {
    let Some(hook) = job.hook.clone() else {
        return Outcome {
            status: TaskStatus::Noop,
            commands: Vec::new(),
            reason: Some("no hook".into()),
            cargo: None,
        };
    };
    // The sandbox, as this kernel enforces it; a rule it cannot enforce fails the task
    // here, before anything ran, unless the sandbox says `required: false`.
    let enforced = match hook
        .sandbox
        .as_ref()
        .map(|s| sandbox::enforce(s.rules(), sandbox::kernel_abi()))
        .transpose()
    {
        Ok(enforced) => enforced.filter(Enforced::any),
        Err(why) => {
            return Outcome {
                status: TaskStatus::Error,
                commands: Vec::new(),
                reason: Some(why),
                cargo: None,
            }
        }
    };
    let env = job.env.clone();
    let mut tally = Tally::default();
    if env.dry_run {
        tally.dry_run(&job, &hook);
    } else {
        let task = Task {
            hook: &hook,
            env: &env,
            enforced: enforced.as_ref(),
            // The hook's timeout is the whole attempt's; each command may have its own.
            clock: TaskClock::start(hook.timeout.map(|d| d.0)),
        };
        for (i, command) in hook.commands.iter().enumerate() {
            if task.command(i, command, &mut job, around, &mut tally).await == Next::Stop {
                break;
            }
        }
    }
    Outcome {
        status: tally.status,
        commands: tally.records,
        reason: tally.reason,
        cargo: None,
    }
}

/// How the task stands after the commands so far.
struct Tally {
    status: TaskStatus,
    reason: Option<String>,
    records: Vec<CommandRecord>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            status: TaskStatus::Ok,
            reason: None,
            records: Vec::new(),
        }
    }
}

/// Whether the task goes on to its next command.
#[derive(PartialEq)]
enum Next {
    Go,
    Stop,
}

impl Tally {
    /// A command that could not be started: the task errors, with the reason.
    fn not_started(&mut self, mut record: CommandRecord, why: String) {
        record.error = Some(why.clone());
        self.records.push(record);
        self.status = TaskStatus::Error;
        self.reason = Some(why);
    }

    /// A command failed as `status`: the worst outcome wins.
    fn failed(&mut self, status: TaskStatus, why: String) {
        if self.status == TaskStatus::Ok || status != TaskStatus::Error {
            self.status = status;
            self.reason = Some(why);
        }
    }

    /// A dry run spawns nothing, but a command that could not start fails it just as
    /// it would fail the real run.
    fn dry_run(&mut self, job: &Job, hook: &Hook) {
        let env = &job.env;
        let why = match job.hook_source {
            HookSource::Task => "task hook",
            HookSource::Queue => "queue hook",
            HookSource::None => "no hook",
        };
        let path = task_env(&env.base_env, &hook.pass_env, &[], &[])
            .into_iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v);
        let mut preflight = Preflight::new(&env.cwd_bounds, path);
        let clock = TaskClock::start(hook.timeout.map(|d| d.0));
        for (i, command) in hook.commands.iter().enumerate() {
            let limit = clock.limit(command.timeout.map(|d| d.0), env.default_timeout);
            let mut record = new_record(command.argv(), hook, command, limit);
            match preflight.command(hook, command) {
                Ok(()) if matches!(self.status, TaskStatus::Ok | TaskStatus::Noop) => {
                    self.status = TaskStatus::Noop;
                    self.reason = Some(format!("dry run: would run via the {why}"));
                }
                Ok(()) => {}
                Err(problem) => {
                    record.error = Some(problem.to_string());
                    if self.status != TaskStatus::Error {
                        self.status = TaskStatus::Error;
                        self.reason =
                            Some(format!("dry run: command {} would fail: {problem}", i + 1));
                    }
                }
            }
            self.records.push(record);
        }
    }
}

/// A command's record before it ran.
fn new_record(
    argv: Vec<String>,
    hook: &Hook,
    command: &HookCommand,
    limit: Option<Limit>,
) -> CommandRecord {
    CommandRecord {
        cmd: argv,
        cwd: command.cwd().to_owned(),
        rc: None,
        log: None,
        stderr_log: None,
        signal: None,
        duration_ms: 0,
        timed_out: false,
        leaked: false,
        leaked_pids: Vec::new(),
        error: None,
        env: hook.env.keys().chain(command.env.keys()).cloned().collect(),
        timeout_ms: limit.map(|l| l.duration.as_millis() as u64),
        continue_on_error: command.continue_on_error,
    }
}

/// What every command of one attempt shares.
struct Task<'a> {
    hook: &'a Hook,
    env: &'a RunEnv,
    enforced: Option<&'a Enforced>,
    clock: TaskClock,
}

/// A command ready to spawn: the confinement stays alive until it has ended, so the
/// descriptors the child uses stay open.
struct Ready {
    spawn: process::Spawn,
    confinement: Confinement,
}

impl Task<'_> {
    /// Runs command `i` (0-based) and tallies it.
    async fn command(
        &self,
        i: usize,
        command: &HookCommand,
        job: &mut Job,
        around: &mut dyn Around,
        tally: &mut Tally,
    ) -> Next {
        let limit = self
            .clock
            .limit(command.timeout.map(|d| d.0), self.env.default_timeout);
        let mut record = new_record(around.argv(command.argv()), self.hook, command, limit);
        let ready = match self.prepare(i, command, job, around, limit, &mut record) {
            Ok(ready) => ready,
            Err((why, next)) => {
                tally.not_started(record, why);
                return next;
            }
        };
        let exit = process::run(ready.spawn, &mut job.cancel).await;
        drop(ready.confinement);
        record.rc = exit.rc;
        record.signal = exit.signal.map(process::signal_name);
        record.duration_ms = exit.duration.as_millis() as u64;
        record.timed_out = exit.timed_out;
        record.leaked = exit.leaked;
        record.leaked_pids = exit.leaked_pids.clone();
        record.error = exit.spawn_error.clone();
        around.ended(&self.env.run_dir, &mut record);
        if exit.success() {
            tally.records.push(record);
            return Next::Go;
        }
        let (status, why) = self.failure(i, command, &exit, limit, &record);
        tally.records.push(record);
        tally.failed(status, why);
        let stops = matches!(status, TaskStatus::Cancelled | TaskStatus::Timeout);
        if command.continue_on_error && !stops {
            Next::Go
        } else {
            Next::Stop
        }
    }

    /// Everything a command needs before it can be spawned: its directory (checked
    /// again right before spawning: the tree may have changed since loading), its log
    /// files, environment and confinement. An error says whether the task goes on.
    fn prepare(
        &self,
        i: usize,
        command: &HookCommand,
        job: &Job,
        around: &mut dyn Around,
        limit: Option<Limit>,
        record: &mut CommandRecord,
    ) -> Result<Ready, (String, Next)> {
        let env = self.env;
        // Opened, not only resolved: the child enters this very directory (see `cwd`).
        let opened = env.cwd_bounds.open(command.cwd()).map_err(|err| {
            let next = if command.continue_on_error {
                Next::Go
            } else {
                Next::Stop
            };
            (err.to_string(), next)
        })?;
        let (out_rel, err_rel) = logs::paths(&job.task.id, job.attempt, i + 1);
        let streams = around
            .streams(&env.run_dir, &opened.path, &out_rel, &err_rel)
            .map_err(|err| {
                let why =
                    format!("evidence could not be written: failed to create `{out_rel}`: {err}");
                (why, Next::Stop)
            })?;
        record.log = streams.log;
        record.stderr_log = streams.stderr_log;
        let log_dir = env
            .run_dir
            .join(&out_rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| env.run_dir.clone());
        let mut task_env = self.environment(command, job, around);
        if self.enforced.is_some() {
            private_tmpdir(&mut task_env, env.cwd_bounds.root(), &log_dir);
        }
        // Built for each command: its environment says where `$TMPDIR` and `~` are.
        let confinement = match self.enforced {
            None => Confinement::default(),
            Some(enforced) => {
                let places = Places {
                    root: env.cwd_bounds.root(),
                    env: &task_env,
                    log_dir,
                };
                Confinement::build(enforced, &places).map_err(|why| (why, Next::Stop))?
            }
        };
        let spawn = process::Spawn {
            argv: record.cmd.clone(),
            cwd: opened.path,
            dir: opened.dir,
            env: task_env,
            timeout: limit.map(|l| l.duration),
            grace: env.grace,
            stdout: streams.stdout,
            stderr: streams.stderr,
            confine: confinement.confine(),
        };
        Ok(Ready { spawn, confinement })
    }

    /// The command's complete environment: the task's, cargo-tek's own variables, and
    /// what the agent adds.
    fn environment(
        &self,
        command: &HookCommand,
        job: &Job,
        around: &dyn Around,
    ) -> Vec<(OsString, OsString)> {
        let env = self.env;
        let mut extra: Vec<(&str, OsString)> = vec![
            ("CARGO_TEK", env.tek_exe.clone()),
            ("TEK_RUN_DIR", env.run_dir.clone().into()),
        ];
        // Text from sot.md never reaches a task's environment: the id is passed only
        // when it is a plain token, whatever `id_pattern` allows.
        if is_plain_token(&job.task.id) {
            extra.push(("TEK_TASK_ID", job.task.id.clone().into()));
        }
        if let Some(color) = env.color {
            extra.push(("CARGO_TERM_COLOR", color.into()));
        }
        extra.extend(around.env());
        task_env(
            &env.base_env,
            &self.hook.pass_env,
            &[&self.hook.env, &command.env],
            &extra,
        )
    }

    /// Why command `i` failed, as the task's status and reason.
    fn failure(
        &self,
        i: usize,
        command: &HookCommand,
        exit: &process::Exit,
        limit: Option<Limit>,
        record: &CommandRecord,
    ) -> (TaskStatus, String) {
        let (status, why) = if exit.cancelled {
            (TaskStatus::Cancelled, "cancelled".to_owned())
        } else if exit.timed_out {
            let why = limit.map_or_else(|| "its timeout".to_owned(), |l| self.clock.explain(l));
            let took = Duration::from_millis(exit.duration.as_millis() as u64);
            let shown = crate::text::shell_words(&command.argv());
            let took = humantime::format_duration(took);
            let text = format!(
                "command {} (`{shown}`) timed out after {took}: {why}",
                i + 1
            );
            (TaskStatus::Timeout, text)
        } else if let Some(err) = &exit.spawn_error {
            (TaskStatus::Error, err.clone())
        } else if let Some(sig) = exit.signal {
            let text = format!("command {} killed by {}", i + 1, process::signal_name(sig));
            (TaskStatus::Error, text)
        } else {
            let text = format!("command {} exited with {}", i + 1, exit.rc.unwrap_or(-1));
            (TaskStatus::Error, text)
        };
        // A sandboxed command that failed says so: the rules it ran under, and whether
        // its output shows a denial.
        match self.enforced {
            Some(enforced) if status == TaskStatus::Error => {
                let rules = enforced.rules.describe();
                if denied(&self.env.run_dir, record) {
                    (status, format!("{why}: denied by the sandbox ({rules})"))
                } else {
                    (status, format!("{why} (in the sandbox: {rules})"))
                }
            }
            _ => (status, why),
        }
    }
}

/// A sandboxed command's `$TMPDIR`: the system one, unless the workspace lies beneath it
/// (a checkout under `/tmp`), where making it writable would make the workspace
/// writable. Then a private one in the task's log directory, which is writable anyway.
fn private_tmpdir(task_env: &mut Vec<(OsString, OsString)>, root: &Path, log_dir: &Path) {
    let tmp = task_env
        .iter()
        .find(|(k, v)| k == "TMPDIR" && !v.is_empty())
        .map_or_else(
            || std::path::PathBuf::from("/tmp"),
            |(_, v)| std::path::PathBuf::from(v),
        );
    let (Ok(tmp), Ok(root)) = (std::fs::canonicalize(&tmp), std::fs::canonicalize(root)) else {
        return;
    };
    if !root.starts_with(&tmp) {
        return;
    }
    let private = log_dir.join("tmp");
    if std::fs::create_dir_all(&private).is_ok() {
        task_env.retain(|(k, _)| k != "TMPDIR");
        task_env.push(("TMPDIR".into(), private.into_os_string()));
    }
}
