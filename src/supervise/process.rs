//! Supervising one command: its own process group (and cgroup, where available), stdin
//! from /dev/null, output straight into log files, a timeout, cancellation, the run's
//! watchdog told of its group (should cargo-tek die), and no survivors — whatever the main process leaves running,
//! in its group or out of it, is found and killed (see [`super::scope`]).

use std::ffi::OsString;
use std::fs::File;
#[cfg(not(target_os = "linux"))]
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
#[cfg(not(target_os = "linux"))]
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::sync::watch;

#[cfg(target_os = "linux")]
use super::launch::{self, Status};
use super::scope::Scope;
use super::{cgroup, spawner, subreaper, watchdog};

/// How long group members may outlive the main process before they count as leaked.
pub(crate) const LEAK_WAIT: Duration = Duration::from_millis(200);

/// How long SIGKILLed processes get to disappear before the command is given up on.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// A request to stop running tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// Keep going.
    None,
    /// Forward this signal to each group, then SIGKILL after the grace period.
    Graceful(i32),
    /// SIGKILL every group now (a second signal).
    Immediate,
}

/// What to spawn.
#[derive(Debug)]
pub(crate) struct Spawn {
    pub(crate) argv: Vec<String>,
    /// Already resolved and checked to be inside the workspace: its real path, for
    /// messages and for finding the program.
    pub(crate) cwd: PathBuf,
    /// The same directory, opened beneath its bound (see [`crate::cwd::Bounds::open`]).
    /// On Linux the child enters this handle, so a link swapped in for the path after the
    /// check cannot move the command; elsewhere the path is entered.
    pub(crate) dir: std::os::fd::OwnedFd,
    /// The complete environment (the child's starts empty).
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) stdout: File,
    pub(crate) stderr: File,
    /// The sandbox the command runs in: values whose descriptor the caller keeps open
    /// until the command has started (see [`super::sandbox::Confinement`]).
    pub(crate) confine: Option<super::sandbox::Confine>,
}

/// How a command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Exit {
    pub(crate) rc: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) timed_out: bool,
    pub(crate) cancelled: bool,
    pub(crate) leaked: bool,
    /// What was left running when the command ended normally (and was then killed).
    pub(crate) leaked_pids: Vec<u32>,
    /// The command could not be started.
    pub(crate) spawn_error: Option<String>,
    pub(crate) duration: Duration,
}

impl Exit {
    /// Success means exit code 0 — a signal death is never a success.
    pub(crate) fn success(&self) -> bool {
        self.rc == Some(0)
            && self.signal.is_none()
            && !self.timed_out
            && !self.cancelled
            && self.spawn_error.is_none()
    }
}

/// A signal number's name, e.g. "SIGKILL".
pub(crate) fn signal_name(signal: i32) -> String {
    Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {signal}"))
}

type ProgramCache =
    std::sync::Mutex<std::collections::HashMap<(String, OsString, PathBuf), PathBuf>>;
static FOUND: std::sync::OnceLock<ProgramCache> = std::sync::OnceLock::new();

/// The program's absolute path: relative to the cwd when it contains a `/`, else found
/// on the `PATH` in `env`.
fn resolve_program(
    program: &str,
    cwd: &std::path::Path,
    env: &[(OsString, OsString)],
) -> Result<PathBuf, String> {
    if program.contains('/') {
        // On Linux the child resolves a relative program itself, after entering its
        // directory's handle: joined to the path here, it would be looked up through
        // whatever that path names by then.
        #[cfg(target_os = "linux")]
        return Ok(PathBuf::from(program));
        #[cfg(not(target_os = "linux"))]
        return Ok(cwd.join(program));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    // A thousand tasks running `cargo` would search PATH a thousand times; remember what
    // was found (only hits, and only while the file is still there, so a tool a task
    // installs mid-run is still found).
    // The cwd is part of the key: relative PATH entries resolve against it.
    let key = (
        program.to_owned(),
        path.clone().unwrap_or_default(),
        cwd.to_path_buf(),
    );
    let cache = FOUND.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        if hit.is_file() {
            return Ok(hit);
        }
    }
    let found = which::which_in(program, path, cwd);
    if let (Ok(hit), Ok(mut c)) = (&found, cache.lock()) {
        c.insert(key, hit.clone());
    }
    found.map_err(|_| {
        format!(
            "failed to start `{program}`: not found on the task's PATH (No such file or directory)"
        )
    })
}

/// Numbers the spawns of this process, for markers and cgroup names.
static SPAWNS: AtomicU64 = AtomicU64::new(0);

/// Runs one command to completion under supervision.
pub(crate) async fn run(spawn: Spawn, cancel: &mut watch::Receiver<Cancel>) -> Exit {
    let started = Instant::now();
    let mut running = match begin(spawn, started).await {
        Ok(running) => running,
        Err(exit) => return exit,
    };
    let mut exit = Exit::default();
    let status = running.wait(cancel, &mut exit).await;
    spawner::forget(running.pid);
    match status {
        Ok(Status::Exited(code)) => exit.rc = Some(code),
        Ok(Status::Signaled(signal)) => exit.signal = Some(signal),
        Err(err) => {
            exit.spawn_error = Some(format!("failed to wait for `{}`: {err}", running.program))
        }
    }
    let pid = running.pid;
    end_survivors(running.scope, &mut exit).await;
    watchdog::untrack(pid as i32);
    exit.duration = started.elapsed();
    exit
}

/// A started command, with what watching it needs.
struct Running {
    program: String,
    child: Started,
    pid: u32,
    scope: Scope,
    timeout: Option<Duration>,
    grace: Duration,
}

/// Resolves the program and starts it in its group (and cgroup), told to the watchdog;
/// the finished `Exit` when it cannot be started.
async fn begin(spawn: Spawn, started: Instant) -> Result<Running, Exit> {
    let Some(program) = spawn.argv.first() else {
        return Err(Exit {
            spawn_error: Some("empty command".into()),
            ..Exit::default()
        });
    };
    let not_started = |message: String| Exit {
        spawn_error: Some(message),
        duration: started.elapsed(),
        ..Exit::default()
    };
    // Resolve the program against the child's own PATH ourselves: it is the PATH the
    // task will see, and the error names it. It then starts the way posix_spawn does,
    // joining its cgroup on the way (see `launch`). No parent-death signal is set here:
    // the run's watchdog stands in for it (see `watchdog`).
    let resolved = resolve_program(program, &spawn.cwd, &spawn.env).map_err(not_started)?;
    let number = SPAWNS.fetch_add(1, Ordering::Relaxed);
    let mark = format!("{}.{number}", std::process::id());
    let cgroup = cgroup::tree().and_then(|tree| tree.group().ok());
    let mut env = spawn.env;
    env.push((subreaper::MARK.into(), mark.clone().into()));
    let child = start(
        &resolved,
        &spawn.argv,
        (&spawn.cwd, &spawn.dir),
        &env,
        (spawn.stdout, spawn.stderr),
        cgroup
            .as_ref()
            .map(|group| (group.dir_fd(), group.procs_fd())),
        spawn.confine,
    )
    .await
    .map_err(|err| {
        not_started(format!(
            "failed to start `{program}` in `{}`: {err}",
            spawn.cwd.display()
        ))
    })?;
    let pid = child.id();
    watchdog::track(pid as i32);
    Ok(Running {
        program: program.clone(),
        child,
        pid,
        scope: Scope::new(pid as i32, mark, cgroup),
        timeout: spawn.timeout,
        grace: spawn.grace,
    })
}

impl Running {
    /// Waits for the main process while applying the timeout and cancel requests to its
    /// scope: SIGTERM (or the forwarded signal), then SIGKILL after the grace period.
    async fn wait(
        &mut self,
        cancel: &mut watch::Receiver<Cancel>,
        exit: &mut Exit,
    ) -> std::io::Result<Status> {
        let deadline = self.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut kill_at: Option<tokio::time::Instant> = None;
        // A cancel requested before we started still applies.
        let mut pending = Some(*cancel.borrow());
        loop {
            if let Some(request) = pending.take() {
                match request {
                    Cancel::None => {}
                    Cancel::Graceful(signal) => {
                        exit.cancelled = true;
                        self.scope
                            .signal(Signal::try_from(signal).unwrap_or(Signal::SIGTERM));
                        kill_at.get_or_insert(tokio::time::Instant::now() + self.grace);
                    }
                    Cancel::Immediate => {
                        exit.cancelled = true;
                        self.scope.signal(Signal::SIGKILL);
                    }
                }
            }
            tokio::select! {
                status = self.child.wait() => break status,
                _ = sleep_until(deadline), if deadline.is_some() && !exit.timed_out && !exit.cancelled => {
                    exit.timed_out = true;
                    self.scope.signal(Signal::SIGTERM);
                    kill_at = Some(tokio::time::Instant::now() + self.grace);
                }
                _ = sleep_until(kill_at), if kill_at.is_some() => {
                    self.scope.signal(Signal::SIGKILL);
                    kill_at = None;
                }
                changed = cancel.changed() => {
                    match changed {
                        Ok(()) => pending = Some(*cancel.borrow()),
                        // The runner is gone: stop everything.
                        Err(_) => pending = Some(Cancel::Immediate),
                    }
                }
            }
        }
    }
}

/// Whatever is left dies now. A normal exit gets a short grace first, and survivors
/// then mark the command as having leaked processes. The usual case — nothing left —
/// costs one look.
async fn end_survivors(scope: Scope, exit: &mut Exit) {
    let stopped = exit.timed_out || exit.cancelled;
    let mut left = stopped || scope.alive();
    if left && !stopped {
        let until = Instant::now() + LEAK_WAIT;
        while left && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
            left = scope.alive();
        }
        if left {
            exit.leaked = true;
            exit.leaked_pids = scope.pids();
        }
    }
    if left {
        scope.kill(KILL_WAIT).await;
    } else {
        scope.close_empty();
    }
}

/// Starts the command: a vfork-style clone on Linux (see [`super::launch`]), std's
/// spawn through the spawner thread elsewhere.
async fn start(
    program: &std::path::Path,
    argv: &[String],
    // The working directory's real path and its handle.
    (cwd, dir): (&std::path::Path, &std::os::fd::OwnedFd),
    env: &[(OsString, OsString)],
    (stdout, stderr): (File, File),
    // The cgroup's open directory and `cgroup.procs`.
    cgroup: Option<(i32, i32)>,
    confine: Option<super::sandbox::Confine>,
) -> std::io::Result<Started> {
    #[cfg(target_os = "linux")]
    return launch::start(launch::Command {
        program,
        argv,
        dir: {
            let _ = cwd;
            std::os::fd::AsRawFd::as_raw_fd(dir)
        },
        env,
        stdout,
        stderr,
        cgroup: cgroup.map(|(dir, procs)| launch::CgroupFds { dir, procs }),
        confine,
    });
    #[cfg(not(target_os = "linux"))]
    {
        // The sandbox needs Linux: a sandboxed task fails before it gets here.
        let _ = (cgroup, dir, confine);
        let mut command = tokio::process::Command::new(program);
        command.arg0(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(cwd)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        // The spawner drops the command right after spawning: the child has its own
        // copies of the log files and /dev/null, and we should not hold three
        // descriptors per task.
        let child = spawner::spawn(command).await?;
        match child.id() {
            Some(pid) => Ok(OtherChild { child, pid }),
            None => Err(std::io::Error::other(
                "the child exited before it could be supervised",
            )),
        }
    }
}

#[cfg(target_os = "linux")]
type Started = launch::Child;
#[cfg(not(target_os = "linux"))]
type Started = OtherChild;

/// std's child, with the interface of [`launch::Child`].
#[cfg(not(target_os = "linux"))]
struct OtherChild {
    child: tokio::process::Child,
    pid: u32,
}

#[cfg(not(target_os = "linux"))]
enum Status {
    Exited(i32),
    Signaled(i32),
}

#[cfg(not(target_os = "linux"))]
impl OtherChild {
    fn id(&self) -> u32 {
        self.pid
    }

    async fn wait(&mut self) -> std::io::Result<Status> {
        let status = self.child.wait().await?;
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => Status::Exited(code),
            (None, signal) => Status::Signaled(signal.unwrap_or(0)),
        })
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(dir: &std::path::Path, argv: &[&str], timeout: Option<Duration>) -> Spawn {
        Spawn {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: dir.to_path_buf(),
            dir: File::open(dir).unwrap().into(),
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            timeout,
            grace: Duration::from_millis(300),
            stdout: File::create(dir.join("out")).unwrap(),
            stderr: File::create(dir.join("err")).unwrap(),
            confine: None,
        }
    }

    #[tokio::test]
    async fn exit_codes_signals_and_spawn_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, mut rx) = watch::channel(Cancel::None);
        let ok = run(
            spawn(dir.path(), &["sh", "-c", "echo hi; exit 0"], None),
            &mut rx,
        )
        .await;
        assert!(ok.success(), "{ok:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out")).unwrap(),
            "hi\n"
        );
        let fail = run(spawn(dir.path(), &["sh", "-c", "exit 3"], None), &mut rx).await;
        assert_eq!(fail.rc, Some(3));
        let killed = run(
            spawn(dir.path(), &["sh", "-c", "kill -9 $$"], None),
            &mut rx,
        )
        .await;
        assert_eq!((killed.rc, killed.signal), (None, Some(9)));
        assert!(!killed.success());
        let missing = run(spawn(dir.path(), &["no-such-program-xyz"], None), &mut rx).await;
        assert!(missing.spawn_error.unwrap().contains("No such file"));
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, mut rx) = watch::channel(Cancel::None);
        let marker = dir.path().join("survivor");
        let script = format!(
            "(trap '' TERM; sleep 2; touch {}) & sleep 30",
            marker.display()
        );
        let exit = run(
            spawn(
                dir.path(),
                &["sh", "-c", &script],
                Some(Duration::from_millis(200)),
            ),
            &mut rx,
        )
        .await;
        assert!(exit.timed_out && !exit.success());
        assert!(exit.duration < Duration::from_secs(2), "{exit:?}");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "a grandchild survived the timeout");
    }

    #[tokio::test]
    async fn a_background_child_holding_stdout_is_leaked_not_hung() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, mut rx) = watch::channel(Cancel::None);
        let started = Instant::now();
        let exit = run(
            spawn(dir.path(), &["sh", "-c", "sleep 30 & echo started"], None),
            &mut rx,
        )
        .await;
        assert!(exit.leaked, "{exit:?}");
        assert_eq!(exit.rc, Some(0));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn cancel_forwards_the_signal_then_kills() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = watch::channel(Cancel::None);
        let handle = tokio::spawn(async move {
            run(
                spawn(
                    dir.path(),
                    &["sh", "-c", "trap '' INT TERM; sleep 30"],
                    None,
                ),
                &mut rx,
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(Cancel::Graceful(libc_sigint())).unwrap();
        let exit = tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .unwrap()
            .unwrap();
        assert!(exit.cancelled);
        assert_eq!(
            exit.signal,
            Some(9),
            "ignored SIGINT, so SIGKILL after the grace period"
        );
    }

    fn libc_sigint() -> i32 {
        Signal::SIGINT as i32
    }
}
