//! The watchdog: a small process started once per run that ends the run's commands when
//! cargo-tek dies without cleaning up (`kill -9`, an OOM kill).
//!
//! Why not a parent-death signal on each command: `PR_SET_PDEATHSIG` must be set between
//! fork and exec, which forces std to `fork` cargo-tek for every command instead of
//! using `posix_spawn` (measured: 0.75 ms more per command, spawn1000 1.6 s against
//! 0.8 s). The watchdog costs one spawn per run instead. cargo-tek holds the write end of
//! a pipe (close-on-exec, so no task inherits it) and sends the process group of every
//! command it starts and ends; when that end closes — on any exit, however abrupt — the
//! watchdog reads end-of-file and SIGKILLs the groups still listed and, where cgroups are
//! in use, every command cgroup at once (`cgroup.kill` on the run's tree).
//!
//! The watchdog is cargo-tek's own binary run as `cargo-tek __tek-watchdog [CGROUP_DIR]`,
//! with an empty environment, in its own process group (a Ctrl-C at the terminal is for
//! cargo-tek, which forwards it), ignoring SIGINT, SIGTERM and SIGHUP.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use nix::sys::signal::{killpg, signal, SigHandler, Signal};
use nix::unistd::Pid;

/// The hidden first argument that makes the binary a watchdog.
pub const ARG: &str = "__tek-watchdog";

/// One record on the pipe: `+` or `-`, then a process group id (little endian). Five
/// bytes, well under `PIPE_BUF`, so concurrent writes never interleave.
const RECORD: usize = 5;

struct Link {
    pipe: File,
    child: Child,
}

static LINK: Mutex<Option<Link>> = Mutex::new(None);

fn link() -> std::sync::MutexGuard<'static, Option<Link>> {
    LINK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the watchdog for this run; `cgroup_dir` is the run's cgroup tree, if any.
/// Without a watchdog (it could not start) commands still end with the run; only an
/// abrupt death of cargo-tek would leave them.
pub fn start(cgroup_dir: Option<&Path>) -> std::io::Result<()> {
    // Started before any command, so no spawn can slip in before close-on-exec is set
    // (and `pipe2` is not on macOS).
    let (read, write) = nix::unistd::pipe()?;
    for fd in [&read, &write] {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg(ARG)
        .args(cgroup_dir)
        .env_clear()
        .stdin(Stdio::from(read))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn()?;
    *link() = Some(Link {
        pipe: File::from(write),
        child,
    });
    Ok(())
}

/// The watchdog's pid, so that the run-end sweep of orphans leaves it alone.
pub fn pid() -> Option<u32> {
    link().as_ref().map(|l| l.child.id())
}

fn send(op: u8, pgid: i32) {
    let mut record = [0u8; RECORD];
    record[0] = op;
    record[1..].copy_from_slice(&pgid.to_le_bytes());
    if let Some(link) = link().as_mut() {
        // A watchdog that is gone cannot be helped; the run goes on.
        let _ = link.pipe.write_all(&record);
    }
}

/// A command's process group now exists.
pub fn track(pgid: i32) {
    send(b'+', pgid);
}

/// A command's process group has been ended by cargo-tek itself.
pub fn untrack(pgid: i32) {
    send(b'-', pgid);
}

/// Closes the pipe (the watchdog then ends what is still listed, normally nothing) and
/// reaps the watchdog.
pub fn stop() {
    let taken = link().take();
    if let Some(Link { pipe, mut child }) = taken {
        drop(pipe);
        let _ = child.wait();
    }
}

/// The watchdog process itself: reads records until end-of-file, then kills.
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
    // A task (same user) could otherwise open /proc/<watchdog>/fd/0 and drain the pipe.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_dumpable(false);
    let cgroup_dir = args.get(2).map(PathBuf::from);
    let mut groups = HashSet::new();
    let mut stdin = std::io::stdin().lock();
    let mut record = [0u8; RECORD];
    while stdin.read_exact(&mut record).is_ok() {
        let pgid = i32::from_le_bytes([record[1], record[2], record[3], record[4]]);
        match record[0] {
            b'+' => groups.insert(pgid),
            _ => groups.remove(&pgid),
        };
    }
    end(&groups, cgroup_dir.as_deref());
    0
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
