//! Starting one command, the way `posix_spawn` does it, plus the one step `posix_spawn`
//! cannot do: joining the command's cgroup before it runs.
//!
//! With cgroups, the child has to write to its cgroup's `cgroup.procs` between fork and
//! exec. Through `std::process::Command::pre_exec` that means a real `fork`: the kernel
//! copies the page tables of all of cargo-tek (its threads, its heap) for every command,
//! and cargo-tek then takes a page fault on each page it touches until the copies go
//! away — about 0.75 ms per command on our benchmark machine, three times the cost of
//! the command `true` itself. Here the child is a `vfork`-style clone instead
//! (`CLONE_VM | CLONE_VFORK`, as glibc's `posix_spawn` does): it shares cargo-tek's
//! memory until its `execve`, so nothing is copied, and the calling thread waits for
//! that `execve` only. The child runs only async-signal-safe calls on its own small
//! stack, touches no lock and allocates nothing: everything it needs is prepared before
//! the clone.
//!
//! The exit is awaited on a pidfd registered with Tokio, so no thread waits per command.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use nix::libc;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

use super::spawner;

/// What the child is to become.
pub(crate) struct Command<'a> {
    /// Absolute path of the program.
    pub(crate) program: &'a Path,
    /// `argv[0]` and the arguments.
    pub(crate) argv: &'a [String],
    /// The working directory, opened (see [`crate::cwd::Bounds::open`]): the child enters
    /// the handle, not a path that could be swapped for a link in between.
    pub(crate) dir: RawFd,
    /// The complete environment.
    pub(crate) env: &'a [(OsString, OsString)],
    pub(crate) stdout: File,
    pub(crate) stderr: File,
    /// The command's cgroup, to start in.
    pub(crate) cgroup: Option<CgroupFds>,
    /// The sandbox it enters right before `execve`, prepared by the parent (see
    /// [`super::sandbox`]): the child only makes the system calls.
    pub(crate) confine: Option<super::sandbox::Confine>,
}

/// A cgroup as the launcher uses it: its directory (clone3 starts the child in it) and
/// its open `cgroup.procs` (where clone3 cannot, the child writes itself into it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgroupFds {
    pub(crate) dir: RawFd,
    pub(crate) procs: RawFd,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Exited(i32),
    Signaled(i32),
}

/// A started command's main process, ours to wait for. Dropped before it was waited
/// for, it is killed and reaped later.
#[derive(Debug)]
pub(crate) struct Child {
    pid: Pid,
    pidfd: Option<AsyncFd<OwnedFd>>,
    reaped: bool,
}

/// Steps of the child, named in the error when one fails.
const STEPS: [&str; 6] = [
    "join its cgroup",
    "start its own process group",
    "set up its standard streams",
    "enter its working directory",
    "enter its sandbox",
    "execute it",
];

/// Size of the child's stack: it only makes a handful of system calls.
const STACK: usize = 64 * 1024;

thread_local! {
    /// The child's stack, kept for the thread's next spawn: each command would otherwise
    /// allocate and zero 64 KiB that the child barely touches.
    static STACK_OF_THREAD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `/dev/null`, opened once (close-on-exec, above the standard streams): every
/// command's stdin.
fn dev_null() -> io::Result<RawFd> {
    static DEV_NULL: std::sync::OnceLock<OwnedFd> = std::sync::OnceLock::new();
    if let Some(fd) = DEV_NULL.get() {
        return Ok(fd.as_raw_fd());
    }
    let fd = above_stdio(File::open("/dev/null")?.into())?;
    Ok(DEV_NULL.get_or_init(|| fd).as_raw_fd())
}

fn c_string(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

/// A descriptor numbered 3 or above, so that installing the child's standard streams
/// never overwrites one of the others (cargo-tek may have been started with 0–2 closed).
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let moved = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: fcntl just returned this new descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// Starts `command`. Until its child is registered as live (see [`spawner::children`]),
/// a [`spawner::Spawning`] keeps the orphan sweep from reaping it.
pub(crate) fn start(command: Command<'_>) -> io::Result<Child> {
    reap_abandoned();
    let program = c_string(command.program.as_os_str().as_bytes(), "the program path")?;
    let argv: Vec<CString> = command
        .argv
        .iter()
        .map(|a| c_string(a.as_bytes(), "an argument"))
        .collect::<io::Result<_>>()?;
    let env: Vec<CString> = command
        .env
        .iter()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(OsStr::as_bytes(v));
            c_string(&kv, "an environment variable")
        })
        .collect::<io::Result<_>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    let stdin = dev_null()?;
    let stdout = above_stdio(command.stdout.into())?;
    let stderr = above_stdio(command.stderr.into())?;
    let streams = [stdin, stdout.as_raw_fd(), stderr.as_raw_fd()];
    // The child's report of a failed step: (step + 1) << 32 | errno. Shared memory.
    let failure = AtomicI64::new(0);
    let mut plan = ChildPlan {
        program: program.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        env: env_ptrs.as_ptr(),
        dir: command.dir,
        streams,
        procs: -1,
        failure: &failure,
        probe: false,
        confine: command.confine,
    };

    // No signal handler may run in the child before it has reset them: block all of them
    // in this thread (the child inherits the mask) and restore the mask afterwards.
    let all = nix::sys::signal::SigSet::all();
    let mut old_mask = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&all),
        Some(&mut old_mask),
    )?;
    let spawning = spawner::Spawning::begin();
    // Born in its cgroup where the kernel can (clone3), else it joins it itself.
    let mut cloned = command
        .cgroup
        .and_then(|group| into_cgroup::clone(&plan, group.dir));
    if cloned.is_none() {
        plan.procs = command.cgroup.map_or(-1, |group| group.procs);
        cloned = Some(clone_then_join(&plan).map(|pid| (pid, None)));
    }
    let cloned = cloned.expect("one of the two clones ran");
    if let Ok((pid, _)) = &cloned {
        spawner::children().insert(pid.as_raw() as u32);
    }
    drop(spawning);
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&old_mask),
        None,
    );
    let (pid, pidfd) = cloned?;
    let failed = failure.load(Ordering::SeqCst);
    if failed != 0 {
        let _ = waitpid(pid, None);
        spawner::forget(pid.as_raw() as u32);
        let step = STEPS
            .get(((failed >> 32) - 1) as usize)
            .copied()
            .unwrap_or("start");
        let err = io::Error::from_raw_os_error((failed & 0xffff_ffff) as i32);
        return Err(io::Error::new(
            err.kind(),
            format!("could not {step}: {err}"),
        ));
    }
    let pidfd = pidfd.or_else(|| {
        // SAFETY: pidfd_open returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    });
    // SAFETY: once registered, the descriptor is owned by the AsyncFd and closed only
    // when it is dropped.
    let pidfd = pidfd.and_then(|fd| unsafe { AsyncFd::register(fd) }.ok());
    Ok(Child {
        pid,
        pidfd,
        reaped: false,
    })
}

/// Everything the child needs, prepared before the clone: pointers into memory the
/// parent keeps alive while the clone suspends it.
struct ChildPlan {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    env: *const *const libc::c_char,
    /// The working directory's handle, entered with `fchdir`.
    dir: RawFd,
    streams: [RawFd; 3],
    /// `cgroup.procs` to write itself into, or -1.
    procs: RawFd,
    failure: *const AtomicI64,
    /// Exit at once with 0 (see [`into_cgroup`]'s probe).
    probe: bool,
    /// The sandbox to enter last, after the working directory (entering it needs no
    /// access the sandbox might deny) and before `execve`.
    confine: Option<super::sandbox::Confine>,
}

/// The child's steps, up to its `execve`; never returns.
///
/// # Safety
/// Only in the child of a `CLONE_VM | CLONE_VFORK` clone made with `plan`, with every
/// signal blocked: it makes only async-signal-safe calls on what `plan` points to.
unsafe fn child_steps(plan: &ChildPlan) -> ! {
    if plan.probe {
        libc::_exit(0)
    }
    let fail = |step: usize| -> ! {
        let errno = *libc::__errno_location();
        (*plan.failure).store(((step as i64 + 1) << 32) | errno as i64, Ordering::SeqCst);
        libc::_exit(127)
    };
    // Handlers are cargo-tek's code: back to the defaults before anything can arrive.
    // Ignored signals stay ignored across exec, as for any child — except SIGPIPE, which
    // Rust ignores for itself and every spawner resets. Only the standard signals, 1–31:
    // nothing in cargo-tek handles a real-time one, and each look is a system call.
    for signal in 1..32 {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
            continue;
        }
        let handled = old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN;
        if handled || signal == libc::SIGPIPE {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, std::ptr::null_mut());
        }
    }
    if plan.procs >= 0 && libc::write(plan.procs, b"0".as_ptr().cast(), 1) != 1 {
        fail(0);
    }
    if libc::setpgid(0, 0) != 0 {
        fail(1);
    }
    for (target, fd) in plan.streams.iter().enumerate() {
        if libc::dup2(*fd, target as i32) < 0 {
            fail(2);
        }
    }
    if libc::fchdir(plan.dir) != 0 {
        fail(3);
    }
    if let Some(confine) = &plan.confine {
        if !super::sandbox::enter(confine) {
            fail(4);
        }
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    libc::execve(plan.program, plan.argv, plan.env);
    fail(5)
}

/// The portable clone: `CLONE_VM | CLONE_VFORK` on a small stack of this thread's,
/// through glibc's or musl's `clone`; the child joins its cgroup itself (`plan.procs`).
fn clone_then_join(plan: &ChildPlan) -> io::Result<Pid> {
    let mut stack = STACK_OF_THREAD.with_borrow_mut(std::mem::take);
    stack.resize(STACK, 0);
    // SAFETY: CLONE_VM|CLONE_VFORK suspends this thread until the child has exec'd or
    // exited, so everything the child borrows outlives its use; signals are blocked.
    let cloned = unsafe {
        nix::sched::clone(
            Box::new(|| child_steps(plan)),
            &mut stack,
            nix::sched::CloneFlags::CLONE_VM | nix::sched::CloneFlags::CLONE_VFORK,
            Some(libc::SIGCHLD),
        )
    };
    // The child has exec'd or exited: its stack is free again.
    STACK_OF_THREAD.with_borrow_mut(|kept| *kept = stack);
    Ok(cloned?)
}

/// Starting the child inside its cgroup: `clone3` with `CLONE_INTO_CGROUP` (Linux 5.7).
/// Writing to `cgroup.procs` moves a running process, which takes a lock over every
/// cgroup of the system for writing and waits for the kernel's other CPUs to notice; a
/// child created in its cgroup moves nowhere (measured: about 0.1 ms per command).
/// `CLONE_PIDFD` hands back its pidfd on the way.
///
/// The C libraries offer no `clone3` wrapper, and a child that shares our memory cannot
/// return through a function call without destroying the frame its parent returns
/// through; so the system call is made inline, and the child, on this thread's stack
/// below everything the suspended parent keeps, calls [`child_steps`], which never
/// returns. x86-64 only; elsewhere (and where the kernel or a seccomp filter refuses
/// clone3) [`clone_then_join`] does the job.
mod into_cgroup {
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use nix::libc;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::Pid;

    use super::ChildPlan;

    /// Set once clone3 was refused for good (no such call, not allowed, no cgroup2).
    static REFUSED: AtomicBool = AtomicBool::new(false);
    /// Whether a child created in a cgroup survives its birth here (see [`probe`]).
    static PROBED: OnceLock<bool> = OnceLock::new();

    /// Creates one child in `dir` that exits at once, and says whether it did. Some
    /// kernels (6.18 here) SIGKILL every child that clone3 creates in a cgroup when that
    /// cgroup's count of `cgroup.kill`s differs from the one cargo-tek itself is in; a
    /// fresh group differs from cargo-tek's own exactly when someone once wrote
    /// `cgroup.kill` there (a killed systemd scope, reused), and then nothing could run.
    fn probe(plan: &ChildPlan, dir: RawFd) -> bool {
        let probe = ChildPlan {
            probe: true,
            ..*plan
        };
        let args = CloneArgs {
            flags: CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: as for a command, with a plan whose child only exits.
        let Some(ret) = (unsafe { raw(&args, &probe) }) else {
            return false;
        };
        if ret <= 0 {
            return false;
        }
        matches!(
            waitpid(Pid::from_raw(ret as i32), None),
            Ok(WaitStatus::Exited(_, 0))
        )
    }

    /// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }

    const CLONE_VM: u64 = 0x100;
    const CLONE_PIDFD: u64 = 0x1000;
    const CLONE_VFORK: u64 = 0x4000;
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

    /// The child in cgroup `dir`, with its pidfd; `None` where this cannot be done (the
    /// caller then clones the portable way).
    pub(super) fn clone(
        plan: &ChildPlan,
        dir: RawFd,
    ) -> Option<io::Result<(Pid, Option<OwnedFd>)>> {
        if REFUSED.load(Ordering::Relaxed) || !PROBED.get_or_init(|| probe(plan, dir)) {
            return None;
        }
        let mut pidfd: RawFd = -1;
        let args = CloneArgs {
            flags: CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP,
            pidfd: &mut pidfd as *mut RawFd as u64,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: see the module's comment and [`raw`].
        let ret = unsafe { raw(&args, plan)? };
        if ret < 0 {
            let errno = (-ret) as i32;
            if matches!(
                errno,
                libc::ENOSYS
                    | libc::EPERM
                    | libc::EINVAL
                    | libc::E2BIG
                    | libc::EOPNOTSUPP
                    | libc::EBADF
            ) {
                REFUSED.store(true, Ordering::Relaxed);
            }
            // No child was made: the portable clone tries, and reports its own error.
            return None;
        }
        // SAFETY: the kernel just gave us this descriptor.
        let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
        Some(Ok((Pid::from_raw(ret as i32), pidfd)))
    }

    /// The system call: in the parent, the child's pid or -errno once the child has
    /// exec'd or exited; the child runs [`super::child_steps`] and never comes back.
    ///
    /// # Safety
    /// `plan` must be valid for the child (see [`super::child_steps`]) and every signal
    /// blocked in this thread. The asm block may use the stack (no `nostack`), so the
    /// compiler keeps nothing below the stack pointer, where the child's frames go, and
    /// the stack pointer is aligned for a call on entry.
    #[cfg(target_arch = "x86_64")]
    unsafe fn raw(args: &CloneArgs, plan: &ChildPlan) -> Option<i64> {
        let ret: i64;
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // The child: rax is 0, every other register as the parent's but rcx and r11.
            "mov rdi, {plan}",
            "call {entry}",
            "ud2",
            "2:",
            plan = in(reg) plan as *const ChildPlan,
            entry = sym child_entry,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            // `out`, not `lateout`: `plan` must not sit in a register the syscall clobbers.
            out("rcx") _,
            out("r11") _,
        );
        Some(ret)
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn raw(_: &CloneArgs, _: &ChildPlan) -> Option<i64> {
        None
    }

    #[cfg(target_arch = "x86_64")]
    extern "C" fn child_entry(plan: *const ChildPlan) -> ! {
        // SAFETY: called only by `raw`, in the child, with the plan the parent keeps.
        unsafe { super::child_steps(&*plan) }
    }
}

impl Child {
    pub(crate) fn id(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// Waits for the main process to end and reaps it.
    pub(crate) async fn wait(&mut self) -> io::Result<Status> {
        loop {
            if let Some(status) = self.try_reap()? {
                return Ok(status);
            }
            match &self.pidfd {
                Some(fd) => {
                    // Readable once the process has exited.
                    let mut ready = fd.readable().await?;
                    ready.clear_ready();
                }
                // No pidfd (a kernel older than 5.3): look again shortly.
                None => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
    }

    fn try_reap(&mut self) -> io::Result<Option<Status>> {
        let status = match waitpid(self.pid, Some(WaitPidFlag::WNOHANG))? {
            WaitStatus::Exited(_, code) => Status::Exited(code),
            WaitStatus::Signaled(_, signal, _) => Status::Signaled(signal as i32),
            _ => return Ok(None),
        };
        self.reaped = true;
        spawner::forget(self.id());
        Ok(Some(status))
    }
}

/// Children dropped before they were reaped: killed, and reaped at the next start.
static ABANDONED: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

fn reap_abandoned() {
    let mut abandoned = ABANDONED.lock().unwrap_or_else(|p| p.into_inner());
    abandoned.retain(|pid| {
        let gone = !matches!(
            waitpid(*pid, Some(WaitPidFlag::WNOHANG)),
            Ok(WaitStatus::StillAlive)
        );
        if gone {
            spawner::forget(pid.as_raw() as u32);
        }
        !gone
    });
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        ABANDONED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(self.pid);
        reap_abandoned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` with sh, its stdout in `dir/out`.
    fn sh(dir: &Path, script: &str, cwd: &Path) -> io::Result<Child> {
        let argv = ["sh".to_string(), "-c".into(), script.into()];
        let cwd = File::open(cwd)?;
        start(Command {
            program: Path::new("/bin/sh"),
            argv: &argv,
            dir: cwd.as_raw_fd(),
            env: &[("PATH".into(), "/usr/bin:/bin".into())],
            stdout: File::create(dir.join("out")).unwrap(),
            stderr: File::create(dir.join("err")).unwrap(),
            cgroup: None,
            confine: None,
        })
    }

    fn out(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("out")).unwrap()
    }

    #[tokio::test]
    async fn the_child_gets_its_own_group_streams_cwd_and_default_signals() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        // Rust ignores SIGPIPE in cargo-tek; a task must get the default back, or
        // `yes | head` would never end by SIGPIPE.
        let mut child = sh(
            dir.path(),
            "echo pid=$$ pgid=$(cut -d' ' -f5 /proc/$$/stat); readlink /proc/self/fd/0; pwd; \
             grep SigIgn /proc/self/status; echo oops >&2; exit 7",
            &sub,
        )
        .unwrap();
        assert_eq!(child.wait().await.unwrap(), Status::Exited(7));
        let out = out(dir.path());
        let mut lines = out.lines();
        let ids = lines.next().unwrap();
        let pid = child.id();
        assert_eq!(ids, format!("pid={pid} pgid={pid}"), "own process group");
        assert_eq!(lines.next(), Some("/dev/null"), "stdin from /dev/null");
        assert_eq!(lines.next(), Some(sub.to_str().unwrap()));
        let ignored =
            u64::from_str_radix(lines.next().unwrap().split_whitespace().nth(1).unwrap(), 16)
                .unwrap();
        assert_eq!(
            ignored & (1 << (libc::SIGPIPE - 1)),
            0,
            "SIGPIPE is not ignored"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("err")).unwrap(),
            "oops\n"
        );
        assert!(!spawner::children().is_live(pid), "forgotten once reaped");
    }

    #[tokio::test]
    async fn a_signal_death_and_each_failed_step_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = sh(dir.path(), "kill -TERM $$", dir.path()).unwrap();
        assert_eq!(child.wait().await.unwrap(), Status::Signaled(libc::SIGTERM));

        // A handle that is no directory: the step is named.
        let file = File::open("/dev/null").unwrap();
        let gone = start(Command {
            program: Path::new("/bin/sh"),
            argv: &["sh".to_string()],
            dir: file.as_raw_fd(),
            env: &[],
            stdout: File::create(dir.path().join("out")).unwrap(),
            stderr: File::create(dir.path().join("err")).unwrap(),
            cgroup: None,
            confine: None,
        })
        .unwrap_err();
        assert!(
            gone.to_string()
                .starts_with("could not enter its working directory: Not a directory"),
            "{gone}"
        );
        let not_executable = dir.path().join("data.txt");
        std::fs::write(&not_executable, "x").unwrap();
        let err = start(Command {
            program: &not_executable,
            argv: &["data.txt".to_string()],
            dir: File::open(dir.path()).unwrap().as_raw_fd(),
            env: &[],
            stdout: File::create(dir.path().join("out")).unwrap(),
            stderr: File::create(dir.path().join("err")).unwrap(),
            cgroup: None,
            confine: None,
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("could not execute it: Permission denied"),
            "{err}"
        );
        let nul = sh(dir.path(), "echo a\0b", dir.path()).unwrap_err();
        assert_eq!(nul.to_string(), "an argument contains a NUL byte");
    }

    #[tokio::test]
    async fn a_child_dropped_unwaited_is_killed_and_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let child = sh(dir.path(), "sleep 30", dir.path()).unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        drop(child);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // Reaped by a later start (or already by the drop).
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(std::time::Instant::now() < until, "{pid} still there");
            reap_abandoned();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
