//! Everything one command may have started: its process group, its cgroup (where
//! available) and the orphans that carry its marker. What is left of it when its main
//! process is gone is found, reported and killed here.

use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::cgroup::Group;
use super::subreaper;

/// One command's processes.
#[derive(Debug)]
pub(crate) struct Scope {
    pgid: i32,
    mark: String,
    cgroup: Option<Group>,
    /// Found empty by the caller: nothing to check or kill when dropped.
    empty: bool,
}

impl Scope {
    pub(crate) fn new(pgid: i32, mark: String, cgroup: Option<Group>) -> Self {
        Self {
            pgid,
            mark,
            cgroup,
            empty: false,
        }
    }

    /// Ends a scope that [`Scope::alive`] (or [`Scope::kill`]) just found empty: its
    /// cgroup goes back to the pool without being read again. The usual end of a
    /// command, so it costs nothing beyond the look that found it empty.
    pub(crate) fn close_empty(mut self) {
        self.empty = true;
        if let (Some(group), Some(tree)) = (self.cgroup.take(), super::cgroup::existing_tree()) {
            tree.reuse(group);
        }
    }

    fn group_alive(&self) -> bool {
        killpg(Pid::from_raw(self.pgid), None).is_ok()
    }

    /// Whether anything of the command is still running.
    pub(crate) fn alive(&self) -> bool {
        if let Some(group) = &self.cgroup {
            // Exact: nothing leaves a cgroup on its own.
            return group.populated();
        }
        self.group_alive() || !subreaper::marked(&self.mark).is_empty()
    }

    /// The pids still running, sorted.
    pub(crate) fn pids(&self) -> Vec<u32> {
        let mut pids = match &self.cgroup {
            Some(group) => group.pids(),
            None => {
                let mut pids = subreaper::group_members(self.pgid);
                pids.extend(subreaper::marked(&self.mark));
                pids
            }
        };
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Sends `signal` to the group, and to whatever left it.
    pub(crate) fn signal(&self, signal: Signal) {
        // ESRCH just means the group is already gone.
        let _ = killpg(Pid::from_raw(self.pgid), signal);
        if let Some(group) = &self.cgroup {
            group.signal(signal);
        }
        subreaper::sweep(Some(&self.mark), signal);
    }

    /// SIGKILLs everything of the command and waits (at most `wait`) until it is gone:
    /// killing a parent hands its children to us, so this repeats until nothing is left.
    pub(crate) async fn kill(&self, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            match &self.cgroup {
                Some(group) => group.kill(),
                None => {
                    let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
                }
            }
            subreaper::sweep(Some(&self.mark), Signal::SIGKILL);
            if !self.alive() || Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Reap what just died, so no zombie of ours waits for the end of the run.
        subreaper::sweep(Some(&self.mark), Signal::SIGKILL);
    }
}

impl Drop for Scope {
    /// A supervision dropped half-way (its task aborted) still ends what it started.
    fn drop(&mut self) {
        if self.empty {
            return;
        }
        if self.group_alive() {
            let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
            subreaper::sweep(Some(&self.mark), Signal::SIGKILL);
        }
        if let Some(group) = self.cgroup.take() {
            if group.populated() {
                group.kill();
            }
            if let Some(tree) = super::cgroup::existing_tree() {
                tree.release(group);
            }
        }
    }
}
