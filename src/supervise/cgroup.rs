//! A cgroup v2 sub-group per command, where cargo-tek's own cgroup is writable (root, a
//! delegated systemd scope, a container with its own cgroup namespace). A process cannot
//! leave its cgroup by `setsid`, `setpgid` or clearing its environment, so this is the
//! one exact answer to "what did this command start"; `cgroup.kill` ends all of it.
//!
//! Layout: `<cargo-tek's cgroup>/tek-<pid>/<n>`. cargo-tek itself stays where
//! it is; a command starts in its group (clone3, see [`Group::dir_fd`]) or joins it
//! between fork and exec (see [`Group::procs_fd`]), so nothing it starts is ever outside. No controllers are enabled, so the "no internal
//! processes" rule does not apply. `CARGO_TEK_NO_CGROUP=1` turns this off.
//!
//! After a `kill -9` of cargo-tek the groups stay behind with whatever was left in them;
//! the next run in the same cgroup kills them (see [`Tree::reclaim_stale`]).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `<cargo-tek's cgroup>/tek-<pid>`: the parent of this process's command groups.
///
/// Groups are reused: creating and removing a cgroup costs the kernel far more than a
/// spawn (removal waits for RCU), so an empty group goes back to a free list and the
/// tree is removed once, at the end of the run.
#[derive(Debug)]
pub(crate) struct Tree {
    dir: PathBuf,
    free: Mutex<Vec<Group>>,
    made: AtomicU64,
}

/// One command's cgroup.
#[derive(Debug)]
pub(crate) struct Group {
    dir: PathBuf,
    /// The directory, open: a child can be created in it (clone3's CLONE_INTO_CGROUP).
    dir_fd: File,
    procs: File,
    /// `cgroup.kill` was written: never reused (see [`Group::kill`]).
    killed: std::sync::atomic::AtomicBool,
}

static TREE: OnceLock<Option<Tree>> = OnceLock::new();

/// This process's tree of command groups, created on first use; `None` where cgroups v2
/// are not available or not writable.
pub(crate) fn tree() -> Option<&'static Tree> {
    TREE.get_or_init(Tree::create).as_ref()
}

/// The tree, only if it was ever created.
pub(crate) fn existing_tree() -> Option<&'static Tree> {
    TREE.get().and_then(Option::as_ref)
}

impl Tree {
    fn create() -> Option<Tree> {
        if std::env::var_os("CARGO_TEK_NO_CGROUP").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let own = own_cgroup_dir()?;
        let tree = Tree::at(own.join(format!("tek-{}", std::process::id())));
        std::fs::create_dir(&tree.dir).ok()?;
        Tree::reclaim_stale(&own);
        Some(tree)
    }

    /// Kills and removes the trees of cargo-tek processes that are gone (killed with
    /// `kill -9`, say) and left their commands' processes behind.
    fn reclaim_stale(own: &Path) {
        for entry in std::fs::read_dir(own).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("tek-")) else {
                continue;
            };
            if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
                continue;
            }
            let stale = Tree::at(entry.path());
            stale.kill_all(Duration::from_secs(1));
        }
    }

    fn at(dir: PathBuf) -> Tree {
        Tree {
            dir,
            free: Mutex::new(Vec::new()),
            made: AtomicU64::new(0),
        }
    }

    /// An empty group for one command: a released one, or a new one.
    pub(crate) fn group(&self) -> std::io::Result<Group> {
        // A group used before keeps its open `cgroup.procs`.
        if let Some(group) = self.free.lock().ok().and_then(|mut free| free.pop()) {
            return Ok(group);
        }
        let dir = self
            .dir
            .join(self.made.fetch_add(1, Ordering::Relaxed).to_string());
        if let Err(err) = std::fs::create_dir(&dir) {
            // The tree is removed at the end of each run; a later run in the same
            // process (tests run commands in-process) makes it again.
            if err.kind() != std::io::ErrorKind::NotFound {
                return Err(err);
            }
            std::fs::create_dir(&self.dir)?;
            std::fs::create_dir(&dir)?;
        }
        let procs = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))?;
        let dir_fd = File::open(&dir)?;
        Ok(Group {
            dir,
            dir_fd,
            procs,
            killed: Default::default(),
        })
    }

    /// The tree's directory (the watchdog kills it whole after an abrupt end).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes back a command's group; only an empty one is used again.
    pub(crate) fn release(&self, group: Group) {
        if !group.populated() {
            self.reuse(group);
        }
    }

    /// Puts `group`, known to be empty, back in the pool, unless it was killed.
    pub(crate) fn reuse(&self, group: Group) {
        if group.killed.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            free.push(group);
        }
    }

    /// Kills everything in the tree, waits (at most `wait`) for it to empty, removes it.
    pub(crate) fn kill_all(&self, wait: Duration) {
        if let Ok(mut free) = self.free.lock() {
            free.clear();
        }
        kill(&self.dir);
        let until = Instant::now() + wait;
        while populated(&self.dir) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

impl Group {
    /// The open `cgroup.procs`: a child writes "0" to it before exec to join the group.
    pub(crate) fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// The open directory: a child can be created in the group (see `launch`).
    pub(crate) fn dir_fd(&self) -> RawFd {
        self.dir_fd.as_raw_fd()
    }

    /// The live processes in the group.
    pub(crate) fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_ascii_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Whether any process is left in the group.
    pub(crate) fn populated(&self) -> bool {
        populated(&self.dir)
    }

    /// Sends `signal` to every process in the group.
    pub(crate) fn signal(&self, signal: nix::sys::signal::Signal) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
        }
    }

    /// SIGKILLs every process in the group. The group is not used again: some kernels
    /// (6.18 here) then kill every child that clone3 creates in it.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        kill(&self.dir);
    }
}

fn populated(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .map(|events| events.lines().any(|l| l == "populated 1"))
        .unwrap_or(false)
}

/// `cgroup.kill` (Linux 5.14+), else SIGKILL to each member until none is left.
fn kill(dir: &Path) {
    let killed = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"));
    if killed.is_ok() {
        return;
    }
    let until = Instant::now() + Duration::from_secs(1);
    while populated(dir) && Instant::now() < until {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs
            .split_ascii_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                kill(&entry.path());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// cargo-tek's own cgroup v2 directory, from /proc/self/cgroup and the cgroup2 mount.
fn own_cgroup_dir() -> Option<PathBuf> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mounts.lines().find_map(parse_cgroup2_mount)?;
    let relative = own.strip_prefix(mount.root.as_str()).unwrap_or(own);
    let dir = mount.point.join(relative.trim_start_matches('/'));
    dir.join("cgroup.procs").exists().then_some(dir)
}

struct Mount {
    root: String,
    point: PathBuf,
}

/// A mountinfo line of the cgroup2 file system: `id parent dev root point opts ... - cgroup2 ...`.
fn parse_cgroup2_mount(line: &str) -> Option<Mount> {
    let (fields, rest) = line.split_once(" - ")?;
    if rest.split_ascii_whitespace().next()? != "cgroup2" {
        return None;
    }
    let mut fields = fields.split_ascii_whitespace();
    let root = fields.nth(3)?.to_owned();
    let point = PathBuf::from(unescape(fields.next()?));
    Some(Mount { root, point })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let line = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";
        let m = parse_cgroup2_mount(line).unwrap();
        assert_eq!(
            (m.root.as_str(), m.point.as_path()),
            ("/", Path::new("/sys/fs/cgroup/unified"))
        );
        let v1 = "30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu";
        assert!(parse_cgroup2_mount(v1).is_none());
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }

    #[test]
    fn a_group_holds_a_command_and_everything_it_starts() {
        let Some(tree) = tree() else {
            // The fallback (process groups and markers) is what runs here.
            return;
        };
        let group = tree.group().unwrap();
        let fd = group.procs_fd();
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "setsid sleep 30 & sleep 30"]);
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                nix::unistd::write(fd, b"0").map(drop).map_err(Into::into)
            });
        }
        let mut child = command.spawn().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while group.pids().len() < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            group.pids().len() >= 2,
            "the setsid'd sleep is in the group too"
        );
        group.kill();
        child.wait().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while group.populated() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!group.populated());
        let dir = group.dir.clone();
        tree.release(group);
        assert_ne!(
            tree.group().unwrap().dir,
            dir,
            "a killed group is not used again"
        );
        let unkilled = tree.group().unwrap();
        let dir = unkilled.dir.clone();
        tree.release(unkilled);
        assert_eq!(
            tree.group().unwrap().dir,
            dir,
            "an empty group is used again"
        );
    }
}
