//! cargo-tek as a child subreaper (Linux): a process a task leaves behind — however it
//! left its process group (`setsid`, `setpgid`) — comes back to cargo-tek as its child
//! when its parent exits, instead of going to init. Each command's processes carry an
//! inherited marker variable ([`MARK`]), read back from `/proc/<pid>/environ`, which
//! says whose orphan it is. Without cgroups this is how survivors are attributed; with
//! them it still reaps the orphans' exit statuses.
//!
//! A process that clears its environment and leaves its group cannot be attributed here:
//! it is killed at the end of the run ([`sweep`] with no mark), not at the end of its task.

/// The variable every command and its descendants inherit: `<cargo-tek pid>.<spawn number>`.
pub(crate) const MARK: &str = "TEK_SUPERVISOR_MARK";

/// Makes this process the reaper of its descendants' orphans; false where unsupported.
pub(crate) fn enable() -> bool {
    imp::enable()
}

/// Orphans (our children that no command waits for) still alive whose marker is `mark`.
pub(crate) fn marked(mark: &str) -> Vec<u32> {
    imp::orphans(Some(mark), false)
}

/// Sends `signal` to the live orphans marked `mark` (every orphan when `None`), reaps the
/// dead ones, and returns the pids signalled.
pub(crate) fn sweep(mark: Option<&str>, signal: nix::sys::signal::Signal) -> Vec<u32> {
    imp::orphans(mark, true)
        .into_iter()
        .filter(|&pid| {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).is_ok()
        })
        .collect()
}

/// The live members of process group `pgid` (a scan of /proc; only on the leak path).
pub(crate) fn group_members(pgid: i32) -> Vec<u32> {
    imp::group_members(pgid)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::Path;

    use nix::sys::wait::{waitpid, WaitPidFlag};
    use nix::unistd::Pid;

    use super::MARK;
    use crate::supervise::spawner;

    pub(crate) fn enable() -> bool {
        nix::sys::prctl::set_child_subreaper(true).is_ok()
    }

    /// The fields of /proc/<pid>/stat we use.
    struct Stat {
        state: u8,
        ppid: i32,
        pgrp: i32,
    }

    fn stat(dir: &Path) -> Option<Stat> {
        let text = std::fs::read(dir.join("stat")).ok()?;
        // The command name may hold anything, parentheses included: fields start after
        // the last `)`.
        let after = text.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&text[after + 1..]).ok()?;
        let mut fields = rest.split_ascii_whitespace();
        let state = fields.next()?.bytes().next()?;
        let ppid = fields.next()?.parse().ok()?;
        let pgrp = fields.next()?.parse().ok()?;
        Some(Stat { state, ppid, pgrp })
    }

    fn pids() -> impl Iterator<Item = u32> {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
    }

    /// Our direct children that can be orphans. The kernel hands an orphan to the first
    /// live thread of the subreaper, which is our main thread for the whole run, so its
    /// one `children` file lists every orphan: reading it is what a command's end costs
    /// when nothing was left (one read, not one per thread). Where the kernel lacks
    /// those files, a scan of /proc.
    fn children() -> Vec<u32> {
        let me = std::process::id();
        let mut found = match std::fs::read_to_string(format!("/proc/self/task/{me}/children")) {
            Ok(list) => list
                .split_ascii_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .collect(),
            Err(_) => pids()
                .filter(|pid| {
                    stat(&Path::new("/proc").join(pid.to_string()))
                        .is_some_and(|s| s.ppid == me as i32)
                })
                .collect::<Vec<_>>(),
        };
        found.sort_unstable();
        found.dedup();
        found
    }

    fn has_mark(dir: &Path, mark: &str) -> bool {
        let Ok(environ) = std::fs::read(dir.join("environ")) else {
            return false;
        };
        let wanted = format!("{MARK}={mark}");
        environ.split(|&b| b == 0).any(|kv| kv == wanted.as_bytes())
    }

    pub(crate) fn orphans(mark: Option<&str>, reap: bool) -> Vec<u32> {
        // Holding the lock: nothing is registered meanwhile. A command's main process
        // listed below but not registered belongs to a spawn still under way; it is
        // never taken for an orphan and reaped behind our back: no zombie is reaped
        // while a spawn is (a later sweep reaps it).
        let live = spawner::children();
        let listed = children();
        let reap = reap && !spawner::any_spawning();
        let mut found = Vec::new();
        for pid in listed {
            // The watchdog is our child too, and must outlive every sweep.
            if live.is_live(pid) || super::super::watchdog::pid() == Some(pid) {
                continue;
            }
            let dir = Path::new("/proc").join(pid.to_string());
            let Some(stat) = stat(&dir) else { continue };
            if stat.state == b'Z' || stat.state == b'X' {
                if reap {
                    let _ = waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG));
                }
                continue;
            }
            if mark.is_none_or(|mark| has_mark(&dir, mark)) {
                found.push(pid);
            }
        }
        found
    }

    pub(crate) fn group_members(pgid: i32) -> Vec<u32> {
        pids()
            .filter(|pid| {
                stat(&Path::new("/proc").join(pid.to_string()))
                    .is_some_and(|s| s.pgrp == pgid && s.state != b'Z' && s.state != b'X')
            })
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stat_survives_a_command_name_with_parentheses() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("stat"), "42 (a) b) S 7 9 9 0").unwrap();
            let s = stat(dir.path()).unwrap();
            assert_eq!((s.state, s.ppid, s.pgrp), (b'S', 7, 9));
        }

        #[test]
        fn marks_are_matched_exactly() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("environ"), format!("A=1\0{MARK}=1.10\0")).unwrap();
            assert!(has_mark(dir.path(), "1.10"));
            assert!(!has_mark(dir.path(), "1.1"));
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(crate) fn enable() -> bool {
        false
    }
    pub(crate) fn orphans(_mark: Option<&str>, _reap: bool) -> Vec<u32> {
        Vec::new()
    }
    pub(crate) fn group_members(_pgid: i32) -> Vec<u32> {
        Vec::new()
    }
}
