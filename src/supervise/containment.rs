//! The run-level guarantee: while a run lasts cargo-tek is the subreaper of everything
//! its tasks start, and when it ends, nothing they started is left — whatever no
//! command's end accounted for (a process that cleared its environment and left its
//! group, say) is killed here.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{cgroup, subreaper, watchdog};

/// Held for the length of a run; [`Containment::finish`] (or dropping it) kills leftovers.
#[derive(Debug)]
pub(crate) struct Containment {
    finished: bool,
}

impl Containment {
    /// Makes cargo-tek the subreaper of its tasks' orphans (Linux).
    pub(crate) fn start() -> Self {
        subreaper::enable();
        // Best effort: without a watchdog, only an abrupt death of cargo-tek is uncovered.
        let _ = watchdog::start(cgroup::tree().map(cgroup::Tree::dir));
        Self { finished: false }
    }

    /// Kills every orphan still alive and every command cgroup, reaps them, and returns
    /// how many processes were killed.
    pub(crate) fn finish(&mut self) -> usize {
        self.finished = true;
        watchdog::stop();
        let mut killed = std::collections::BTreeSet::new();
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let round = subreaper::sweep(None, Signal::SIGKILL);
            if round.is_empty() || Instant::now() >= until {
                break;
            }
            killed.extend(round);
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(tree) = cgroup::existing_tree() {
            tree.kill_all(Duration::from_secs(1));
        }
        // Reap the last ones.
        subreaper::sweep(None, Signal::SIGKILL);
        killed.len()
    }
}

impl Drop for Containment {
    fn drop(&mut self) {
        if !self.finished {
            self.finish();
        }
    }
}
