//! The `shell` agent: runs a hook's commands in order as argv arrays (a shell only when a
//! command asks for one with `"shell"`), stopping at the first failure unless a command
//! says `continue_on_error`.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

use super::limits::TaskClock;
use super::{Agent, BoxFuture, Job, Outcome};
use crate::evidence::{logs, CommandRecord, TaskStatus};
use crate::plan::HookSource;
use crate::preflight::Preflight;
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
pub struct ShellAgent;

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
    pub stdout: File,
    pub stderr: File,
    pub log: Option<String>,
    pub stderr_log: Option<String>,
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
    let why = match job.hook_source {
        HookSource::Task => "task hook",
        HookSource::Queue => "queue hook",
        HookSource::None => "no hook",
    };
    let env = &job.env;
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
    let mut records = Vec::new();
    let mut status = TaskStatus::Ok;
    let mut reason = None;
    // The hook's timeout is the whole attempt's; each command may also have its own.
    let clock = TaskClock::start(hook.timeout.map(|d| d.0));
    let mut preflight = env.dry_run.then(|| {
        let path = task_env(&env.base_env, &hook.pass_env, &[], &[])
            .into_iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v);
        Preflight::new(&env.cwd_bounds, path)
    });
    for (i, command) in hook.commands.iter().enumerate() {
        let argv = if env.dry_run {
            command.argv()
        } else {
            around.argv(command.argv())
        };
        let limit = clock.limit(command.timeout.map(|d| d.0), env.default_timeout);
        let timeout = limit.map(|l| l.duration);
        let mut record = CommandRecord {
            cmd: argv.clone(),
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
            timeout_ms: timeout.map(|t| t.as_millis() as u64),
            continue_on_error: command.continue_on_error,
        };
        if let Some(preflight) = &mut preflight {
            // A dry run spawns nothing, but a command that could not start fails it just
            // as it would fail the real run.
            match preflight.command(&hook, command) {
                Ok(()) if status == TaskStatus::Ok || status == TaskStatus::Noop => {
                    status = TaskStatus::Noop;
                    reason = Some(format!("dry run: would run via the {why}"));
                }
                Ok(()) => {}
                Err(problem) => {
                    record.error = Some(problem.to_string());
                    if status != TaskStatus::Error {
                        status = TaskStatus::Error;
                        reason = Some(format!("dry run: command {} would fail: {problem}", i + 1));
                    }
                }
            }
            records.push(record);
            continue;
        }
        // Checked again right before spawning: the tree may have changed since loading.
        // Opened, not only resolved: the child enters this very directory (see `cwd`).
        let opened = match env.cwd_bounds.open(command.cwd()) {
            Ok(opened) => opened,
            Err(err) => {
                record.error = Some(err.to_string());
                records.push(record);
                status = TaskStatus::Error;
                reason = Some(err.to_string());
                if command.continue_on_error {
                    continue;
                }
                break;
            }
        };
        let dir = opened.path;
        let (out_rel, err_rel) = logs::paths(&job.task.id, job.attempt, i + 1);
        let streams = match around.streams(&env.run_dir, &dir, &out_rel, &err_rel) {
            Ok(streams) => streams,
            Err(err) => {
                let why =
                    format!("evidence could not be written: failed to create `{out_rel}`: {err}");
                record.error = Some(why.clone());
                records.push(record);
                status = TaskStatus::Error;
                reason = Some(why);
                break;
            }
        };
        record.log = streams.log;
        record.stderr_log = streams.stderr_log;
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
        let mut task_env = task_env(
            &env.base_env,
            &hook.pass_env,
            &[&hook.env, &command.env],
            &extra,
        );
        let log_dir = env
            .run_dir
            .join(&out_rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| env.run_dir.clone());
        if enforced.is_some() {
            private_tmpdir(&mut task_env, env.cwd_bounds.root(), &log_dir);
        }
        // Built for each command: its environment says where `$TMPDIR` and `~` are. Kept
        // until the command has ended, so the descriptor the child uses stays open.
        let confinement = match &enforced {
            None => Confinement::default(),
            Some(enforced) => {
                let places = Places {
                    root: env.cwd_bounds.root(),
                    env: &task_env,
                    log_dir: log_dir.clone(),
                };
                match Confinement::build(enforced, &places) {
                    Ok(confinement) => confinement,
                    Err(why) => {
                        record.error = Some(why.clone());
                        records.push(record);
                        status = TaskStatus::Error;
                        reason = Some(why);
                        break;
                    }
                }
            }
        };
        let spawn = process::Spawn {
            argv,
            cwd: dir,
            dir: opened.dir,
            env: task_env,
            timeout,
            grace: env.grace,
            stdout: streams.stdout,
            stderr: streams.stderr,
            confine: confinement.confine(),
        };
        let exit = process::run(spawn, &mut job.cancel).await;
        drop(confinement);
        record.rc = exit.rc;
        record.signal = exit.signal.map(process::signal_name);
        record.duration_ms = exit.duration.as_millis() as u64;
        record.timed_out = exit.timed_out;
        record.leaked = exit.leaked;
        record.leaked_pids = exit.leaked_pids.clone();
        record.error = exit.spawn_error.clone();
        around.ended(&env.run_dir, &mut record);
        records.push(record);
        if exit.success() {
            continue;
        }
        let (s, r) = if exit.cancelled {
            (TaskStatus::Cancelled, "cancelled".to_owned())
        } else if exit.timed_out {
            let why = limit.map_or_else(|| "its timeout".to_owned(), |l| clock.explain(l));
            (
                TaskStatus::Timeout,
                format!(
                    "command {} (`{}`) timed out after {}: {why}",
                    i + 1,
                    crate::text::shell_words(&command.argv()),
                    humantime::format_duration(Duration::from_millis(
                        exit.duration.as_millis() as u64
                    ))
                ),
            )
        } else if let Some(err) = exit.spawn_error {
            (TaskStatus::Error, err)
        } else if let Some(sig) = exit.signal {
            (
                TaskStatus::Error,
                format!("command {} killed by {}", i + 1, process::signal_name(sig)),
            )
        } else {
            (
                TaskStatus::Error,
                format!("command {} exited with {}", i + 1, exit.rc.unwrap_or(-1)),
            )
        };
        // A sandboxed command that failed says so: the rules it ran under, and whether
        // its output shows a denial.
        let r = match &enforced {
            Some(enforced) if s == TaskStatus::Error => {
                let rules = enforced.rules.describe();
                if records.last().is_some_and(|rec| denied(&env.run_dir, rec)) {
                    format!("{r}: denied by the sandbox ({rules})")
                } else {
                    format!("{r} (in the sandbox: {rules})")
                }
            }
            _ => r,
        };
        // The worst outcome wins; cancellation and timeouts always stop the task.
        if status == TaskStatus::Ok || s != TaskStatus::Error {
            status = s;
            reason = Some(r);
        }
        if !command.continue_on_error || matches!(s, TaskStatus::Cancelled | TaskStatus::Timeout) {
            break;
        }
    }
    Outcome {
        status,
        commands: records,
        reason,
        cargo: None,
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
