//! The shared compile: `cargo test --workspace --no-run` at the workspace root,
//! supervised like any task command. cargo's stdout and stderr go, in order, into one
//! file (`cmd1.cargo.log`, its JSON messages); the log people read (`cmd1.stdout.log`)
//! gets cargo's human rendering, as the cargo agent writes it. When it fails, a second
//! command, `cargo build --workspace --tests --examples --profile test --keep-going`
//! (the same test executables; measured identical, a `[profile.test]` too), builds
//! everything that still can and reports every package that does not compile, so the
//! members that do not need a broken one still run their tests.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

pub(crate) use super::artifacts::Artifacts;
use crate::cargo::command::Kind;
use crate::cargo::findings::Places;
use crate::cargo::messages::{self, Reading};
use crate::evidence::{beneath, CommandRecord};
use crate::run_env::RunEnv;
use crate::supervise::{env::task_env, process, Cancel};

/// Where the compile's logs go in the run directory. `%` starts no folder a task id
/// could be given (see `logs::folder_name`).
pub(crate) const LOG_DIR: &str = "logs/%compile-once";

/// The message format asked for: rendered diagnostics in the JSON, as the cargo agent.
const MESSAGE_FORMAT: &str = "--message-format=json-diagnostic-rendered-ansi";

/// The compile as it ran, and what it built.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// `cargo test --workspace --no-run`.
    pub(crate) record: CommandRecord,
    /// After a failure, the `--keep-going` build that found what still builds.
    pub(crate) rest: Option<Box<CommandRecord>>,
    /// What was built (also after a failure, when the messages could be read).
    pub(crate) artifacts: Option<Arc<Artifacts>>,
    /// Why the compile failed.
    pub(crate) failure: Option<String>,
}

impl Compiled {
    pub(crate) fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// One cargo command of the compile, as it ended.
struct Ran {
    record: CommandRecord,
    /// Its raw output (cargo's JSON messages), absolute.
    raw: PathBuf,
    /// Why it failed.
    failure: Option<String>,
    /// It ran to an exit code (not cancelled, timed out, killed or unstarted).
    exited: bool,
}

/// Runs the shared compile in `root` with `flags` (`--locked`, ...).
pub(crate) async fn compile(
    root: PathBuf,
    flags: Vec<String>,
    env: Arc<RunEnv>,
    mut cancel: watch::Receiver<Cancel>,
) -> Compiled {
    let mut test = ["cargo", "test", "--workspace", "--no-run", MESSAGE_FORMAT]
        .map(String::from)
        .to_vec();
    test.extend(flags.iter().cloned());
    let first = run(1, test, &root, &env, &mut cancel).await;
    let rustc = env.base_env.get("RUSTC").map(ToOwned::to_owned);
    let Some(why) = first.failure.clone() else {
        let artifacts = read(&root, first.raw.clone(), false, flags, rustc).await;
        return match artifacts {
            Ok(artifacts) => Compiled {
                record: first.record,
                rest: None,
                artifacts: Some(Arc::new(artifacts)),
                failure: None,
            },
            Err(why) => Compiled {
                record: first.record,
                rest: None,
                artifacts: None,
                failure: Some(why),
            },
        };
    };
    if !first.exited {
        return Compiled {
            record: first.record,
            rest: None,
            artifacts: None,
            failure: Some(why),
        };
    }
    let mut build = [
        "cargo",
        "build",
        "--workspace",
        "--tests",
        "--examples",
        "--profile",
        "test",
        "--keep-going",
        MESSAGE_FORMAT,
    ]
    .map(String::from)
    .to_vec();
    build.extend(flags.iter().cloned());
    let rest = run(2, build, &root, &env, &mut cancel).await;
    let artifacts = match rest.exited {
        true => read(&root, rest.raw.clone(), true, flags, rustc).await.ok(),
        false => None,
    };
    Compiled {
        record: first.record,
        rest: Some(Box::new(rest.record)),
        artifacts: artifacts.map(Arc::new),
        failure: Some(why),
    }
}

/// Reads what was built, off the async threads (`cargo metadata`, `rustc` run).
async fn read(
    root: &std::path::Path,
    raw: PathBuf,
    failed: bool,
    flags: Vec<String>,
    rustc: Option<OsString>,
) -> Result<Artifacts, String> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || super::artifacts::read(&root, &raw, failed, &flags, rustc))
        .await
        .unwrap_or_else(|e| Err(format!("reading the compile's output failed: {e}")))
}

/// Runs command `n` of the compile, its output in one raw file and its human log
/// written from it afterwards.
async fn run(
    n: usize,
    argv: Vec<String>,
    root: &std::path::Path,
    env: &RunEnv,
    cancel: &mut watch::Receiver<Cancel>,
) -> Ran {
    let (out, raw_rel) = (
        format!("{LOG_DIR}/cmd{n}.stdout.log"),
        format!("{LOG_DIR}/cmd{n}.cargo.log"),
    );
    let mut record = CommandRecord {
        cmd: argv.clone(),
        cwd: ".".into(),
        rc: None,
        log: Some(out.clone()),
        stderr_log: None,
        signal: None,
        duration_ms: 0,
        timed_out: false,
        leaked: false,
        leaked_pids: Vec::new(),
        error: None,
        env: Vec::new(),
        timeout_ms: env.default_timeout.map(|t| t.as_millis() as u64),
        continue_on_error: false,
    };
    let raw = env.run_dir.join(&raw_rel);
    // Failures before the command started: it could not start.
    let unstarted = |mut record: CommandRecord, why: String| {
        record.error = Some(why.clone());
        Ran {
            record,
            raw: raw.clone(),
            failure: Some(format!("the workspace test compile could not start: {why}")),
            exited: false,
        }
    };
    let stdout = match beneath::create(&env.run_dir, &raw_rel) {
        Ok(file) => file,
        Err(e) => return unstarted(record, format!("failed to create `{raw_rel}`: {e}")),
    };
    let stderr = match stdout.try_clone() {
        Ok(file) => file,
        Err(e) => return unstarted(record, format!("failed to open `{raw_rel}`: {e}")),
    };
    let mut extra: Vec<(&str, OsString)> = vec![("CARGO_TEK", env.tek_exe.clone())];
    if let Some(color) = env.color {
        extra.push(("CARGO_TERM_COLOR", color.into()));
    }
    // The root, entered through the handle opened when the run began (see `cwd`).
    let opened = match env.cwd_bounds.open(".") {
        Ok(opened) => opened,
        Err(e) => return unstarted(record, e.to_string()),
    };
    let spawn = process::Spawn {
        argv,
        cwd: root.to_path_buf(),
        dir: opened.dir,
        env: task_env(&env.base_env, &[], &[], &extra),
        timeout: env.default_timeout,
        grace: env.grace,
        stdout,
        stderr,
        // cargo-tek's own shared compile, not a hook: the tasks that run its test
        // binaries get their hooks' sandbox.
        confine: None,
    };
    let exit = process::run(spawn, cancel).await;
    record.rc = exit.rc;
    record.signal = exit.signal.map(process::signal_name);
    record.duration_ms = exit.duration.as_millis() as u64;
    record.timed_out = exit.timed_out;
    record.error = exit.spawn_error.clone();
    human_log(env, root, &raw_rel, &out);
    let failure = (!exit.success()).then(|| {
        let why = match (&exit.spawn_error, exit.rc) {
            (Some(e), _) => format!("could not start: {e}"),
            _ if exit.cancelled => "was cancelled".into(),
            _ if exit.timed_out => "timed out".into(),
            (None, Some(rc)) => format!("exited with {rc}"),
            (None, None) => "was killed".into(),
        };
        format!("the workspace test compile {why}")
    });
    let exited =
        exit.spawn_error.is_none() && !exit.cancelled && !exit.timed_out && exit.rc.is_some();
    Ran {
        record,
        raw,
        failure,
        exited,
    }
}

/// Writes what a person would have read (rustc's rendering, cargo's status lines) from
/// the raw output to `out`, as the cargo agent does for its commands.
fn human_log(env: &RunEnv, root: &std::path::Path, raw_rel: &str, out: &str) {
    let how = Reading {
        kind: Kind::Compile,
        warnings: false,
        color: env.color == Some("always"),
        quiet: false,
        places: Places {
            root: root.to_path_buf(),
            cwd: root.to_path_buf(),
        },
    };
    let Ok(log) = beneath::create(&env.run_dir, out) else {
        return;
    };
    let mut log = BufWriter::new(log);
    let read = beneath::open(&env.run_dir, raw_rel)
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|raw| messages::read(BufReader::new(raw), &mut log, &how));
    if let Err(e) = read {
        let _ = writeln!(
            log,
            "cargo-tek: could not read cargo's output in `{raw_rel}`: {e}"
        );
    }
    let _ = log.flush();
}
