//! The watchdog: a small process started once per run that ends the run's commands when
//! cargo-tek dies without cleaning up (`kill -9`, an OOM kill).
//!
//! Why not a parent-death signal on each command: `PR_SET_PDEATHSIG` must be set between
//! fork and exec, which forces std to `fork` cargo-tek for every command instead of
//! using `posix_spawn` (measured: 0.75 ms more per command, spawn1000 1.6 s against
//! 0.8 s). The watchdog costs one spawn per run instead. cargo-tek holds the write end of
//! a pipe (close-on-exec, so no task inherits it); when that end closes — on any exit,
//! however abrupt — the watchdog reads end-of-file and SIGKILLs the process groups still
//! listed and, where cgroups are in use, every command cgroup at once (`cgroup.kill` on
//! the run's tree).
//!
//! The list is a file, not the pipe: cargo-tek appends the process group of every
//! command it starts and ends to an unlinked file that the watchdog holds as its stdout,
//! and the watchdog reads it once, at the end. A record on the pipe woke the watchdog
//! twice per command, a context switch each on a 2-core machine (measured: about 70 µs
//! per command in spawn1000); a write to a file wakes nobody.
//!
//! A task runs as the same user, so it can kill the watchdog (it is easy to find by name)
//! and then cargo-tek, and nothing would be left to end the run's commands. So cargo-tek
//! watches the watchdog too (a pidfd, see [`lost`]): should the watchdog die while the
//! run lasts, cargo-tek does its job at once — SIGKILL to every listed group and the
//! cgroup tree — and ends the run. To leave survivors a task must now kill both within
//! the moment it takes cargo-tek to react (or stop cargo-tek first, with SIGSTOP): a
//! same-user process can always signal both, which only another user or a PID namespace
//! would prevent.
//!
//! The watchdog is cargo-tek's own binary run as `cargo-tek __tek-watchdog [CGROUP_DIR]`,
//! with an empty environment, in its own process group (a Ctrl-C at the terminal is for
//! cargo-tek, which forwards it), ignoring SIGINT, SIGTERM and SIGHUP.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use nix::sys::signal::{killpg, signal, SigHandler, Signal};
use nix::unistd::Pid;

/// The hidden first argument that makes the binary a watchdog.
pub const ARG: &str = "__tek-watchdog";

/// One record in the list: `+` or `-`, then a process group id (little endian).
const RECORD: usize = 5;

struct Link {
    /// Its end-of-file is the watchdog's signal.
    pipe: File,
    /// The list of process groups, which the watchdog reads at the end.
    list: File,
    child: Child,
    /// Readable once the watchdog has exited (Linux), for [`lost`].
    pidfd: Option<std::os::fd::OwnedFd>,
    cgroup_dir: Option<PathBuf>,
}

static LINK: Mutex<Option<Link>> = Mutex::new(None);

fn link() -> std::sync::MutexGuard<'static, Option<Link>> {
    LINK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the watchdog for this run; `cgroup_dir` is the run's cgroup tree, if any.
/// Without a watchdog (it could not start) commands still end with the run; only an
/// abrupt death of cargo-tek would leave them.
pub(crate) fn start(cgroup_dir: Option<&Path>) -> std::io::Result<()> {
    // Started before any command, so no spawn can slip in before close-on-exec is set
    // (and `pipe2` is not on macOS).
    let (read, write) = nix::unistd::pipe()?;
    for fd in [&read, &write] {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    // Unlinked, close-on-exec: only cargo-tek and the watchdog (as its stdout) hold it.
    let list = tempfile::tempfile()?;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg(ARG)
        .args(cgroup_dir)
        .env_clear()
        .stdin(Stdio::from(read))
        .stdout(Stdio::from(list.try_clone()?))
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn()?;
    let pidfd = pidfd_of(child.id());
    *link() = Some(Link {
        pipe: File::from(write),
        list,
        child,
        pidfd,
        cgroup_dir: cgroup_dir.map(Path::to_path_buf),
    });
    Ok(())
}

#[cfg(target_os = "linux")]
fn pidfd_of(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open returns a new descriptor (close-on-exec) or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid as i32, 0) };
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(not(target_os = "linux"))]
fn pidfd_of(_: u32) -> Option<std::os::fd::OwnedFd> {
    None
}

/// Resolves once the watchdog has died while the run still needs it, after doing its
/// job itself (every listed group and the cgroup tree SIGKILLed), with why, for the run
/// to end. Never resolves without a watchdog, or where it cannot be watched (no pidfd),
/// or when [`stop`] ended it.
pub(crate) async fn lost() -> String {
    let watched = link()
        .as_ref()
        .and_then(|l| l.pidfd.as_ref().and_then(|fd| fd.try_clone().ok()));
    let Some(fd) = watched else {
        return std::future::pending().await;
    };
    // SAFETY: the descriptor is ours (a duplicate) and owned by the AsyncFd from now on.
    if let Ok(fd) = unsafe { tokio::io::unix::AsyncFd::register(fd) } {
        // Readable once the watchdog has exited, however.
        let _ = fd.readable().await;
    }
    match take_over() {
        Some(why) => why,
        // Stopped on purpose: the run is over.
        None => std::future::pending().await,
    }
}

/// The watchdog's job, done by cargo-tek once the watchdog is dead; why, for the run.
fn take_over() -> Option<String> {
    let mut guard = link();
    let link = guard.as_mut()?;
    if let Ok(list) = link.list.try_clone() {
        end(&listed(list), link.cgroup_dir.as_deref());
    }
    let how = match link.child.try_wait() {
        Ok(Some(status)) => match std::os::unix::process::ExitStatusExt::signal(&status) {
            Some(sig) => format!("was killed by {}", super::process::signal_name(sig)),
            None => format!("exited ({status})"),
        },
        _ => "ended".to_owned(),
    };
    Some(format!(
        "the run's watchdog (pid {}) {how} while the run lasted, so nothing would end the tasks should cargo-tek die: every task was killed and the run ended",
        link.child.id()
    ))
}

/// The watchdog's pid, so that the run-end sweep of orphans leaves it alone.
pub(crate) fn pid() -> Option<u32> {
    link().as_ref().map(|l| l.child.id())
}

fn send(op: u8, pgid: i32) {
    let mut record = [0u8; RECORD];
    record[0] = op;
    record[1..].copy_from_slice(&pgid.to_le_bytes());
    if let Some(link) = link().as_mut() {
        // A full disk cannot be helped; the run goes on (and ends its commands itself).
        let _ = link.list.write_all(&record);
    }
}

/// A command's process group now exists.
pub(crate) fn track(pgid: i32) {
    send(b'+', pgid);
}

/// A command's process group has been ended by cargo-tek itself.
pub(crate) fn untrack(pgid: i32) {
    send(b'-', pgid);
}

/// Closes the pipe (the watchdog then ends what is still listed, normally nothing) and
/// reaps the watchdog.
pub(crate) fn stop() {
    let taken = link().take();
    if let Some(Link {
        pipe, mut child, ..
    }) = taken
    {
        drop(pipe);
        let _ = child.wait();
    }
}

/// The watchdog process itself: waits for end-of-file on stdin, then kills what the
/// list on stdout names.
pub fn serve(args: &[std::ffi::OsString]) -> i32 {
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGPIPE,
    ] {
        // SAFETY: setting a signal to "ignore" installs no handler code.
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
    // A task (same user) could otherwise open /proc/<watchdog>/fd/1 and rewrite the list.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_dumpable(false);
    let cgroup_dir = args.get(2).map(PathBuf::from);
    // Nothing is ever written to the pipe: a read returns at end-of-file.
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    while stdin.read(&mut sink).is_ok_and(|n| n > 0) {}
    // SAFETY: descriptor 1 is the list cargo-tek gave us, owned by nothing else here.
    let list = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(1) };
    end(&listed(list), cgroup_dir.as_deref());
    0
}

/// The process groups the list leaves running: started and not ended.
fn listed(mut list: File) -> HashSet<i32> {
    let mut bytes = Vec::new();
    if list.rewind().is_err() || list.read_to_end(&mut bytes).is_err() {
        return HashSet::new();
    }
    let mut groups = HashSet::new();
    for record in bytes.chunks_exact(RECORD) {
        let pgid = i32::from_le_bytes([record[1], record[2], record[3], record[4]]);
        match record[0] {
            b'+' => groups.insert(pgid),
            _ => groups.remove(&pgid),
        };
    }
    groups
}

fn end(groups: &HashSet<i32>, cgroup_dir: Option<&Path>) {
    if let Some(dir) = cgroup_dir {
        // cgroup.kill on the run's tree kills every command group below it.
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    }
    for &pgid in groups {
        if pgid > 1 {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_keeps_what_was_started_and_not_ended() {
        let mut list = tempfile::tempfile().unwrap();
        for (op, pgid) in [(b'+', 10), (b'+', 11), (b'-', 10), (b'+', 12), (b'+', 10)] {
            let mut record = [op, 0, 0, 0, 0];
            record[1..].copy_from_slice(&i32::to_le_bytes(pgid));
            list.write_all(&record).unwrap();
        }
        // A torn last record (cargo-tek killed mid-write) is ignored.
        list.write_all(b"+\x01").unwrap();
        assert_eq!(listed(list), HashSet::from([10, 11, 12]));
    }

    #[test]
    fn the_listed_groups_die_at_end_of_file_and_only_those() {
        let spawn = || {
            let mut command = Command::new("sleep");
            command.arg("30");
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            command.spawn().unwrap()
        };
        let (mut ended, mut kept, mut listed) = (spawn(), spawn(), HashSet::new());
        listed.insert(ended.id() as i32);
        end(&listed, None);
        let status = ended.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert!(
            kept.try_wait().unwrap().is_none(),
            "an unlisted group lives"
        );
        kept.kill().unwrap();
        kept.wait().unwrap();
    }
}
