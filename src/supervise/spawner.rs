//! Spawning every command from one long-lived thread, and knowing which children are ours.
//!
//! Spawns happen on one dedicated thread that lives as long as the process. Anything
//! tied to the spawning *thread* (a parent-death signal, which the kernel sends when the
//! thread that forked the child exits) then holds for the whole run, never for a tokio
//! worker that the runtime retires. (cargo-tek now leaves that job to the run's
//! watchdog, see [`super::watchdog`], so that spawns can be `posix_spawn`.)
//!
//! The thread keeps the set of direct children tokio waits for ([`Children`]): the
//! orphan sweep (see [`super::subreaper`]) must never reap one of those, or tokio would
//! lose its exit status. Spawning and registering happen under the lock the sweep takes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(any(test, not(target_os = "linux")))]
use std::sync::{mpsc, OnceLock};
use std::sync::{LazyLock, Mutex, MutexGuard};

#[cfg(any(test, not(target_os = "linux")))]
use tokio::sync::oneshot;

/// A spawn request: the command, the runtime to register the child with, the answer.
// Elsewhere than Linux commands are spawned by tokio, from this thread; on Linux the
// launcher (`super::launch`) spawns them itself and only the bookkeeping here is used.
#[cfg(any(test, not(target_os = "linux")))]
struct Request {
    command: tokio::process::Command,
    runtime: tokio::runtime::Handle,
    reply: oneshot::Sender<std::io::Result<tokio::process::Child>>,
}

/// The pids of the commands tokio is waiting for.
#[derive(Debug, Default)]
pub(crate) struct Children {
    live: HashSet<u32>,
}

impl Children {
    /// Whether `pid` is a command's main process that tokio still waits for.
    pub(crate) fn is_live(&self, pid: u32) -> bool {
        self.live.contains(&pid)
    }

    /// Registers a main process started elsewhere (see [`super::launch`]).
    pub(crate) fn insert(&mut self, pid: u32) {
        self.live.insert(pid);
    }
}

static CHILDREN: LazyLock<Mutex<Children>> = LazyLock::new(Default::default);

/// Locks the set of live children; while held, no command is spawned.
pub(crate) fn children() -> MutexGuard<'static, Children> {
    CHILDREN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Spawns under way that have not registered their child yet.
static SPAWNING: AtomicUsize = AtomicUsize::new(0);

/// Held across one spawn, from before the clone until the child is registered: while any
/// is held, sweeps reap no zombie they do not know (see [`any_spawning`]). This lets a
/// spawn run without the [`children`] lock, which it would otherwise hold for as long as
/// the clone suspends its thread (until the child execs: on a busy machine, until the
/// child gets a core), stalling every command's end on the lock meanwhile.
pub(crate) struct Spawning(());

impl Spawning {
    pub(crate) fn begin() -> Self {
        SPAWNING.fetch_add(1, Ordering::SeqCst);
        Spawning(())
    }
}

impl Drop for Spawning {
    fn drop(&mut self) {
        SPAWNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a child may exist that is ours but not registered yet. Read under the
/// [`children`] lock after listing our children: a main process found unregistered then
/// belongs to a spawn that has not finished (it registers under that lock, then ends its
/// [`Spawning`]), so this is true and the sweep leaves its zombie alone.
pub(crate) fn any_spawning() -> bool {
    SPAWNING.load(Ordering::SeqCst) > 0
}

/// Forgets a main process once tokio has reaped it.
pub(crate) fn forget(pid: u32) {
    children().live.remove(&pid);
}

#[cfg(any(test, not(target_os = "linux")))]
static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();

#[cfg(any(test, not(target_os = "linux")))]
fn spawner() -> std::io::Result<mpsc::Sender<Request>> {
    if let Some(tx) = SPAWNER.get() {
        return Ok(tx.lock().unwrap_or_else(|p| p.into_inner()).clone());
    }
    let (tx, rx) = mpsc::channel::<Request>();
    // The sender lives in a static and is never dropped, so this thread never exits.
    std::thread::Builder::new()
        .name("tek-spawner".into())
        .spawn(move || {
            for request in rx {
                let Request {
                    mut command,
                    runtime,
                    reply,
                } = request;
                let _entered = runtime.enter();
                let mut children = children();
                let spawned = command.spawn();
                if let Some(pid) = spawned.as_ref().ok().and_then(|c| c.id()) {
                    children.live.insert(pid);
                }
                drop(children);
                drop(command);
                if let Err(Ok(orphaned)) = reply.send(spawned) {
                    // The caller is gone; the child dies with this handle (kill_on_drop).
                    if let Some(pid) = orphaned.id() {
                        forget(pid);
                    }
                }
            }
        })?;
    let stored = SPAWNER.get_or_init(|| Mutex::new(tx));
    Ok(stored.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// Spawns `command` on the spawner thread, registered with the current runtime.
#[cfg(any(test, not(target_os = "linux")))]
pub(crate) async fn spawn(
    command: tokio::process::Command,
) -> std::io::Result<tokio::process::Child> {
    let (reply, answer) = oneshot::channel();
    let request = Request {
        command,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    spawner()?
        .send(request)
        .map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
    answer
        .await
        .map_err(|_| std::io::Error::other("the spawner thread dropped the request"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn children_are_registered_until_forgotten() {
        let mut command = tokio::process::Command::new("true");
        command.kill_on_drop(true);
        let mut child = spawn(command).await.unwrap();
        let pid = child.id().unwrap();
        assert!(children().is_live(pid));
        assert!(child.wait().await.unwrap().success());
        forget(pid);
        assert!(!children().is_live(pid));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_spawning_thread_outlives_the_callers_thread() {
        // Spawned from a thread that then exits: with PDEATHSIG set by the caller's thread
        // the child would die with it; from the spawner thread it lives on.
        let handle = tokio::runtime::Handle::current();
        let child = std::thread::spawn(move || {
            handle.block_on(async {
                let mut command = tokio::process::Command::new("sleep");
                command.arg("1");
                unsafe {
                    command.pre_exec(|| {
                        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                            .map_err(std::io::Error::from)
                    });
                }
                spawn(command).await.unwrap()
            })
        })
        .join()
        .unwrap();
        let mut child = child;
        let pid = child.id().unwrap();
        let status = child.wait().await.unwrap();
        forget(pid);
        assert!(
            status.success(),
            "killed with its spawning thread: {status:?}"
        );
    }
}
