//! The sandbox a hook asks for (`config::Sandbox`), made real: a Landlock ruleset for
//! files and TCP, and a seccomp filter on `socket()` for the socket families Landlock
//! does not cover.
//!
//! Everything is built in the parent: the ruleset is an open descriptor, the filter a
//! static BPF program. The child of the launcher's vfork-style clone (see
//! [`super::launch`]) shares cargo-tek's memory until its `execve` and may not allocate,
//! so all it does is three system calls — `prctl(PR_SET_NO_NEW_PRIVS)`,
//! `landlock_restrict_self` and `seccomp(SECCOMP_SET_MODE_FILTER)` — on what this module
//! prepared ([`enter`]). The `landlock` crate's own `restrict_self` is not called there:
//! it keeps state and error values of its own, and nothing promises it never allocates.
//! All three are per-thread state of the child (its credentials, its `no_new_privs` flag,
//! its filter), so cargo-tek itself stays unconfined; every process the command starts
//! inherits them through `fork` and `execve`, and none can be lifted.
//!
//! Why both: Landlock (ABI 4) can deny TCP `connect` and `bind`, but knows no other
//! socket family, so UDP, raw and packet sockets are refused by the filter when they are
//! created. Unix sockets stay allowed: pipes are not sockets, but socketpairs, the C
//! library's name service (`getpwuid` through nscd or systemd-userdb) and syslog are,
//! and refusing them breaks ordinary programs while the network stays closed anyway.
//! `io_uring_setup` is refused too: io_uring can create sockets without `socket()`.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::config::{Net, SandboxRules};

/// The Landlock ABI each kind of rule needs: `write` needs truncation (ABI 3), or a
/// task could still empty any file it may read; `net` needs TCP (ABI 4).
pub const WRITE_ABI: u32 = 3;
pub const READ_ABI: u32 = 1;
pub const NET_ABI: u32 = 4;

/// The Landlock ABI of this kernel, asked once (0: no Landlock).
pub fn kernel_abi() -> u32 {
    #[cfg(target_os = "linux")]
    {
        static ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *ABI.get_or_init(|| {
            const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
            // SAFETY: with a null attribute and size 0 the call only returns a number.
            let abi = unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_landlock_create_ruleset,
                    std::ptr::null::<u8>(),
                    0usize,
                    LANDLOCK_CREATE_RULESET_VERSION,
                )
            };
            abi.max(0) as u32
        })
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// The kernel's ABI for messages: "7", or "no Landlock".
pub fn describe_abi(abi: u32) -> String {
    if abi == 0 {
        "no Landlock".into()
    } else {
        format!("Landlock ABI {abi}")
    }
}

/// A sandbox as this kernel enforces it.
#[derive(Debug, Clone)]
pub struct Enforced {
    pub rules: SandboxRules,
    pub abi: u32,
    /// The kinds of rule (`write`, `read`, `net`) that are not enforced here: only with
    /// `required: false`.
    pub not_enforced: Vec<&'static str>,
}

impl Enforced {
    fn enforces(&self, kind: &str) -> bool {
        !self.not_enforced.contains(&kind)
    }

    /// Whether anything is enforced at all.
    pub fn any(&self) -> bool {
        (self.rules.write.is_some() && self.enforces("write"))
            || (self.rules.read.is_some() && self.enforces("read"))
            || (self.rules.net == Net::None && self.enforces("net"))
    }
}

/// Which of `rules` a kernel with Landlock ABI `abi` enforces; an error naming what is
/// missing when a required rule cannot be.
pub fn enforce(rules: SandboxRules, abi: u32) -> Result<Enforced, String> {
    let mut wanted = Vec::new();
    if rules.write.is_some() {
        wanted.push(("write", WRITE_ABI));
    }
    if rules.read.is_some() {
        wanted.push(("read", READ_ABI));
    }
    if rules.net == Net::None {
        wanted.push(("net", NET_ABI));
    }
    let mut not_enforced = Vec::new();
    for (kind, needs) in wanted {
        let missing = if abi < needs {
            Some(format!(
                "sandbox needs Landlock ABI {needs} for {kind} rules; this kernel has {}",
                if abi == 0 {
                    "none".to_owned()
                } else {
                    abi.to_string()
                }
            ))
        } else if kind == "net" && !filter_available() {
            Some(format!(
                "sandbox needs a seccomp filter for net rules, which cargo-tek does not have for {}",
                std::env::consts::ARCH
            ))
        } else {
            None
        };
        if let Some(missing) = missing {
            if rules.required {
                return Err(missing);
            }
            not_enforced.push(kind);
        }
    }
    Ok(Enforced {
        rules,
        abi,
        not_enforced,
    })
}

/// Where a task's paths point: what `$TMPDIR`, `~` and the relative paths mean for it.
pub struct Places<'a> {
    /// The workspace root (relative paths are beneath it).
    pub root: &'a Path,
    /// The task's environment (HOME, TMPDIR, CARGO_HOME, CARGO_TARGET_DIR, PATH).
    pub env: &'a [(OsString, OsString)],
    /// The task's own log directory in the run directory: always writable.
    pub log_dir: PathBuf,
}

impl Places<'_> {
    fn var(&self, name: &str) -> Option<PathBuf> {
        self.env
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| PathBuf::from(v))
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
    }

    /// `$TMPDIR`, else `/tmp`.
    pub fn tmpdir(&self) -> PathBuf {
        self.var("TMPDIR").unwrap_or_else(|| "/tmp".into())
    }

    fn cargo_home(&self) -> Option<PathBuf> {
        self.var("CARGO_HOME")
            .or_else(|| self.home().map(|h| h.join(".cargo")))
    }

    fn target_dir(&self) -> PathBuf {
        match self.var("CARGO_TARGET_DIR") {
            Some(dir) if dir.is_absolute() => dir,
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// A path as written in the sandbox: `~/`, `$HOME`, `$TMPDIR`, `$CARGO_HOME` and
    /// `$CARGO_TARGET_DIR` expanded; relative paths stay relative (to the root).
    fn expand(&self, written: &str) -> Result<PathBuf, String> {
        let (head, rest) = match written.split_once('/') {
            Some((head, rest)) => (head, rest),
            None => (written, ""),
        };
        let base = match head {
            "~" | "$HOME" => self.home(),
            "$TMPDIR" => Some(self.tmpdir()),
            "$CARGO_HOME" => self.cargo_home(),
            "$CARGO_TARGET_DIR" => Some(self.target_dir()),
            _ if head.starts_with('$') => {
                return Err(format!(
                    "sandbox path `{written}`: `{head}` is not one of $HOME, $TMPDIR, $CARGO_HOME, $CARGO_TARGET_DIR"
                ))
            }
            _ => return Ok(PathBuf::from(written)),
        };
        let base = base.ok_or_else(|| {
            format!("sandbox path `{written}`: the task has no {head} (HOME is not set)")
        })?;
        Ok(if rest.is_empty() {
            base
        } else {
            base.join(rest)
        })
    }

    /// Files no `read` list makes readable: credentials in the home directory and
    /// cargo's home.
    fn secrets(&self) -> Vec<PathBuf> {
        let mut secrets = Vec::new();
        if let Some(home) = self.home() {
            for rel in [
                ".ssh",
                ".gnupg",
                ".netrc",
                ".git-credentials",
                ".aws",
                ".docker/config.json",
                ".config/gh",
                ".cargo/credentials",
                ".cargo/credentials.toml",
            ] {
                secrets.push(home.join(rel));
            }
        }
        if let Some(cargo) = self.cargo_home() {
            secrets.push(cargo.join("credentials"));
            secrets.push(cargo.join("credentials.toml"));
        }
        secrets
            .into_iter()
            .filter_map(|s| std::fs::canonicalize(s).ok())
            .collect()
    }
}

/// Directories every `read` list includes: without them no program starts.
const SYSTEM_READ: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc",
    "/sys", "/run", "/opt", "/nix",
];

/// Device files every sandbox may write (`> /dev/null`).
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// What the child applies: the ruleset's descriptor and the filter, both owned here and
/// kept for as long as commands may start with them.
#[derive(Debug, Default)]
pub struct Confinement {
    ruleset: Option<OwnedFd>,
    filter: bool,
}

/// What [`enter`] reads in the child: plain values, no allocation.
#[derive(Debug, Clone, Copy)]
pub struct Confine {
    /// The Landlock ruleset, or -1.
    pub ruleset: RawFd,
    /// The seccomp filter: its first instruction and length (null: none).
    pub filter: *const nix::libc::sock_filter,
    pub filter_len: u16,
}

// SAFETY: the pointer is to the static filter, never written after it is built.
unsafe impl Send for Confine {}

impl Confinement {
    /// Builds the ruleset and the filter for `enforced` in `places`: the `write`
    /// directories are created (beneath the root for relative ones, following no link
    /// out of it) and opened now.
    pub fn build(enforced: &Enforced, places: &Places<'_>) -> Result<Self, String> {
        if !enforced.any() {
            return Ok(Self::default());
        }
        #[cfg(target_os = "linux")]
        {
            let ruleset = linux::ruleset(enforced, places)?;
            let filter = enforced.rules.net == Net::None && enforced.enforces("net");
            if filter {
                linux::filter()?;
            }
            Ok(Self { ruleset, filter })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = places;
            Err("sandbox rules need Linux".into())
        }
    }

    /// The values for the child.
    pub fn confine(&self) -> Option<Confine> {
        if self.ruleset.is_none() && !self.filter {
            return None;
        }
        #[cfg(target_os = "linux")]
        let (filter, filter_len) = match self.filter.then(linux::filter) {
            Some(Ok(program)) => (program.as_ptr().cast(), program.len() as u16),
            _ => (std::ptr::null(), 0),
        };
        #[cfg(not(target_os = "linux"))]
        let (filter, filter_len) = (std::ptr::null(), 0);
        Some(Confine {
            ruleset: self.ruleset.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
            filter,
            filter_len,
        })
    }
}

/// In the child, right before `execve`: no new privileges, the ruleset, the filter.
/// Returns false with errno set when a step fails.
///
/// # Safety
/// Async-signal-safe system calls only, on values the parent keeps alive; meant for the
/// launcher's child (see the module's comment).
#[cfg(target_os = "linux")]
pub unsafe fn enter(confine: &Confine) -> bool {
    use nix::libc;
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return false;
    }
    if confine.ruleset >= 0
        && libc::syscall(libc::SYS_landlock_restrict_self, confine.ruleset, 0u32) != 0
    {
        return false;
    }
    if !confine.filter.is_null() {
        let program = libc::sock_fprog {
            len: confine.filter_len,
            filter: confine.filter.cast_mut(),
        };
        if libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &program as *const libc::sock_fprog,
        ) != 0
        {
            return false;
        }
    }
    true
}

/// What a denied operation looks like in a program's message: Landlock and the filter
/// answer EACCES ("Permission denied"), a link or rename out of a `write` place EXDEV.
const DENIALS: &[&str] = &[
    "Permission denied",
    "Operation not permitted",
    "Invalid cross-device link",
];

/// How much of the end of each log is searched for a denial.
const DENIAL_TAIL: u64 = 64 * 1024;

/// Whether a failed command shows a denial: in its spawn error, or near the end of its
/// logs (only the tail is read, whatever the log's size).
pub fn denied(error: Option<&str>, logs: &[PathBuf]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let says = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        DENIALS.iter().any(|d| text.contains(d))
    };
    if error.is_some_and(|e| says(e.as_bytes())) {
        return true;
    }
    logs.iter().any(|log| {
        let Ok(mut file) = std::fs::File::open(log) else {
            return false;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(len.saturating_sub(DENIAL_TAIL)))
            .and_then(|_| file.take(DENIAL_TAIL).read_to_end(&mut tail))
            .is_ok()
            && says(&tail)
    })
}

/// Whether this build has a seccomp filter for this architecture.
fn filter_available() -> bool {
    cfg!(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ))
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{BTreeMap, HashSet};
    use std::os::fd::OwnedFd;
    use std::path::{Path, PathBuf};

    use landlock::{
        AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
        RulesetCreatedAttr, Scope, ABI,
    };
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
    use nix::sys::stat::Mode;

    use super::{Enforced, Places, DEVICES, SYSTEM_READ};
    use crate::config::Net;

    fn text(err: impl std::fmt::Display) -> String {
        format!("sandbox could not be set up: {err}")
    }

    /// A path's handle for a rule (`O_PATH`): beneath the root for a relative path,
    /// following no link out of it.
    fn open(root: &OwnedFd, path: &Path) -> nix::Result<OwnedFd> {
        let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
        if path.is_absolute() {
            return nix::fcntl::open(path, flags, Mode::empty());
        }
        let how = OpenHow::new()
            .flags(flags)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        nix::fcntl::openat2(root, path, how)
    }

    fn is_dir(fd: &OwnedFd) -> bool {
        nix::sys::stat::fstat(fd)
            .map(|s| s.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR)
            .unwrap_or(false)
    }

    /// The ruleset for `enforced`, or None when only the filter is wanted.
    pub(super) fn ruleset(
        enforced: &Enforced,
        places: &Places<'_>,
    ) -> Result<Option<OwnedFd>, String> {
        let abi = ABI::from(enforced.abi as i32);
        let rules = &enforced.rules;
        let write = rules.write.is_some() && enforced.enforces("write");
        let read = rules.read.is_some() && enforced.enforces("read");
        let net = rules.net == Net::None && enforced.enforces("net");
        let write_access = if write {
            AccessFs::from_write(abi)
        } else {
            BitFlags::EMPTY
        };
        let read_access = if read {
            AccessFs::from_read(abi)
        } else {
            BitFlags::EMPTY
        };
        let handled = write_access | read_access;
        let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        if !handled.is_empty() {
            ruleset = ruleset.handle_access(handled).map_err(text)?;
        }
        if net {
            ruleset = ruleset
                .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
                .map_err(text)?;
            // Abstract Unix sockets have no path for Landlock to check: with ABI 6 they
            // are scoped to the sandbox, so no service outside it is reachable by name.
            if enforced.abi >= 6 {
                ruleset = ruleset.scope(Scope::AbstractUnixSocket).map_err(text)?;
            }
        }
        let mut created = ruleset.create().map_err(text)?;
        if handled.is_empty() {
            return Ok(Option::<OwnedFd>::from(created));
        }
        let root = nix::fcntl::open(
            places.root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| text(format!("the workspace root: {e}")))?;
        let mut grant = |fd: OwnedFd, access: BitFlags<AccessFs>| -> Result<(), String> {
            let access = if is_dir(&fd) {
                access
            } else {
                access & AccessFs::from_file(abi)
            };
            if access.is_empty() {
                return Ok(());
            }
            (&mut created)
                .add_rule(PathBeneath::new(fd, access))
                .map_err(text)?;
            Ok(())
        };

        // Writable: the `write` places, the temporary and log directories, /dev/null.
        if write {
            let tmp = places.tmpdir();
            if let Ok(real_tmp) = std::fs::canonicalize(&tmp) {
                if let Ok(real_root) = std::fs::canonicalize(places.root) {
                    if real_root.starts_with(&real_tmp) {
                        return Err(format!(
                            "sandbox: the temporary directory `{}` holds the workspace, so making it writable would make the workspace writable; set TMPDIR to a directory outside `{}`",
                            tmp.display(),
                            real_root.display()
                        ));
                    }
                }
            }
            let mut places_written = Vec::new();
            for written in rules.write.iter().flatten() {
                places_written.push((written.clone(), places.expand(written)?));
            }
            places_written.push(("$TMPDIR".into(), tmp));
            places_written.push(("the log directory".into(), places.log_dir.clone()));
            for (written, path) in places_written {
                let full = if path.is_absolute() {
                    path.clone()
                } else {
                    places.root.join(&path)
                };
                // A place to write may not exist yet (target/ before the first build): a
                // directory is made. A lock file is not: the one cargo writes is granted
                // when it is there (in CI it is committed).
                if full.file_name().is_some_and(|n| n == "Cargo.lock") {
                    if !full.is_file() {
                        continue;
                    }
                } else {
                    let _ = std::fs::create_dir_all(&full);
                }
                let fd = open(&root, &path).map_err(|e| {
                    format!(
                        "sandbox write path `{written}` ({}): {}",
                        full.display(),
                        std::io::Error::from(e)
                    )
                })?;
                grant(fd, write_access | read_access)?;
            }
            for device in DEVICES {
                if let Ok(fd) = open(&root, Path::new(device)) {
                    grant(fd, write_access | read_access)?;
                }
            }
        }

        // Readable: the `read` places less the secrets, the system, PATH.
        if read {
            let secrets = places.secrets();
            let mut readable: Vec<PathBuf> = Vec::new();
            for written in rules.read.iter().flatten() {
                let path = places.expand(written)?;
                let full = if path.is_absolute() {
                    path
                } else {
                    places.root.join(path)
                };
                if let Ok(real) = std::fs::canonicalize(&full) {
                    carve(&real, &secrets, &mut HashSet::new(), &mut readable);
                }
            }
            let path_dirs = places
                .env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| std::env::split_paths(v).collect::<Vec<_>>())
                .unwrap_or_default();
            for dir in SYSTEM_READ
                .iter()
                .map(PathBuf::from)
                .chain(path_dirs.into_iter().filter(|d| d.is_absolute()))
            {
                if let Ok(real) = std::fs::canonicalize(&dir) {
                    carve(&real, &secrets, &mut HashSet::new(), &mut readable);
                }
            }
            // What is always writable is readable too: the temporary directory, and the
            // log directory (so `/dev/stdout` can be opened again).
            readable.push(places.tmpdir());
            readable.push(places.log_dir.clone());
            for path in readable {
                if let Ok(fd) = open(&root, &path) {
                    grant(fd, read_access)?;
                }
            }
        }
        Ok(Option::<OwnedFd>::from(created))
    }

    /// Adds `path` to `out`, or, when a secret lies beneath it, each of its entries
    /// that is not (and no link to) a secret, recursively: Landlock only allows, so the
    /// way to keep `~/.ssh` out of a readable `~` is to allow its siblings one by one.
    fn carve(
        path: &Path,
        secrets: &[PathBuf],
        seen: &mut HashSet<PathBuf>,
        out: &mut Vec<PathBuf>,
    ) {
        if !seen.insert(path.to_path_buf()) || secrets.iter().any(|s| path.starts_with(s)) {
            return;
        }
        if !secrets.iter().any(|s| s.starts_with(path)) {
            out.push(path.to_path_buf());
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            if let Ok(real) = std::fs::canonicalize(entry.path()) {
                carve(&real, secrets, seen, out);
            }
        }
    }

    /// The seccomp filter of `net: none`, built once: `socket()` of any family but Unix,
    /// and of IPv4/IPv6 anything but a TCP stream, fails with EACCES, as does
    /// `io_uring_setup`. On x86-64, the x32 numbers of both calls are refused outright.
    pub(super) fn filter() -> Result<&'static [nix::libc::sock_filter], String> {
        static FILTER: std::sync::OnceLock<Result<seccompiler::BpfProgram, String>> =
            std::sync::OnceLock::new();
        let built = FILTER.get_or_init(|| build().map_err(text));
        match built {
            // SAFETY: seccompiler's sock_filter is the kernel's struct, as libc's is.
            Ok(program) => {
                Ok(unsafe { std::slice::from_raw_parts(program.as_ptr().cast(), program.len()) })
            }
            Err(e) => Err(e.clone()),
        }
    }

    fn build() -> Result<seccompiler::BpfProgram, seccompiler::BackendError> {
        use seccompiler::{
            BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
            SeccompCondition as Cond, SeccompFilter, SeccompRule,
        };
        {
            use nix::libc::{
                AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, SOCK_DCCP, SOCK_DGRAM, SOCK_RAW, SOCK_RDM,
                SOCK_SEQPACKET,
            };
            let c = |arg: u8, op: Op, value: u64| Cond::new(arg, Len::Dword, op, value);
            let mut socket = Vec::new();
            // Any family but Unix, IPv4 and IPv6.
            socket.push(SeccompRule::new(vec![
                c(0, Op::Ne, AF_UNIX as u64)?,
                c(0, Op::Ne, AF_INET as u64)?,
                c(0, Op::Ne, AF_INET6 as u64)?,
            ])?);
            for family in [AF_INET, AF_INET6] {
                // Any type but a stream: datagram, raw, RDM, seqpacket, DCCP, packet (the
                // low bits; the rest are flags, and the kernel refuses other types). Named
                // one by one rather than as "not a stream", which seccompiler cannot say:
                // the filter is compiled in every command's start, so it is kept short.
                for kind in [
                    SOCK_DGRAM,
                    SOCK_RAW,
                    SOCK_RDM,
                    SOCK_SEQPACKET,
                    SOCK_DCCP,
                    // SOCK_PACKET (libc deprecates the name, the kernel still takes it).
                    10,
                ] {
                    let kind = kind as u64;
                    socket.push(SeccompRule::new(vec![
                        c(0, Op::Eq, family as u64)?,
                        c(1, Op::MaskedEq(0xf), kind)?,
                    ])?);
                }
                // A stream of another protocol than TCP (SCTP, MPTCP).
                socket.push(SeccompRule::new(vec![
                    c(0, Op::Eq, family as u64)?,
                    c(2, Op::Ne, 0)?,
                    c(2, Op::Ne, IPPROTO_TCP as u64)?,
                ])?);
            }
            let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
            rules.insert(nix::libc::SYS_socket, socket);
            rules.insert(nix::libc::SYS_io_uring_setup, Vec::new());
            #[cfg(target_arch = "x86_64")]
            {
                const X32: i64 = 0x4000_0000;
                // x32 programs get no socket at all: short, and they are rare.
                rules.insert(nix::libc::SYS_socket | X32, Vec::new());
                rules.insert(nix::libc::SYS_io_uring_setup | X32, Vec::new());
            }
            let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)?;
            let filter = SeccompFilter::new(
                rules,
                SeccompAction::Allow,
                SeccompAction::Errno(nix::libc::EACCES as u32),
                arch,
            )?;
            BpfProgram::try_from(filter)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> SandboxRules {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_missing_abi_is_an_error_unless_not_required() {
        let err = enforce(rules(r#"{"net": "none"}"#), 2).unwrap_err();
        assert_eq!(
            err,
            "sandbox needs Landlock ABI 4 for net rules; this kernel has 2"
        );
        let err = enforce(rules(r#"{"write": []}"#), 0).unwrap_err();
        assert!(err.ends_with("this kernel has none"), "{err}");
        let loose = enforce(
            rules(r#"{"write": ["out"], "net": "none", "required": false}"#),
            3,
        )
        .unwrap();
        assert_eq!(loose.not_enforced, ["net"]);
        assert!(loose.any());
        let all = enforce(rules(r#"{"write": ["out"], "net": "none"}"#), 7).unwrap();
        assert!(all.not_enforced.is_empty());
    }

    #[test]
    fn paths_expand_from_the_task_environment() {
        let env: Vec<(OsString, OsString)> = vec![
            ("HOME".into(), "/home/u".into()),
            ("TMPDIR".into(), "/scratch".into()),
        ];
        let places = Places {
            root: Path::new("/ws"),
            env: &env,
            log_dir: "/ws/.tek/runs/1/logs/T".into(),
        };
        assert_eq!(
            places.expand("~/.cache").unwrap(),
            Path::new("/home/u/.cache")
        );
        assert_eq!(places.expand("$TMPDIR").unwrap(), Path::new("/scratch"));
        assert_eq!(
            places.expand("$CARGO_HOME/git").unwrap(),
            Path::new("/home/u/.cargo/git")
        );
        assert_eq!(
            places.expand("$CARGO_TARGET_DIR").unwrap(),
            Path::new("/ws/target")
        );
        assert_eq!(places.expand("out").unwrap(), Path::new("out"));
        assert!(places.expand("$PWD/x").unwrap_err().contains("not one of"));
    }
}
