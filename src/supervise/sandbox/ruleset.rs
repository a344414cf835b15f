//! The Landlock ruleset of a sandbox: what is handled (files, TCP, abstract sockets) and
//! each place granted, opened now in the parent so the child only has to enter it.

use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::{Enforced, Places};
use crate::config::Net;

/// Directories every `read` list includes: without them no program starts.
const SYSTEM_READ: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc",
    "/sys", "/run", "/opt", "/nix",
];

/// Device files every sandbox may write (`> /dev/null`).
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

pub(super) fn text(err: impl std::fmt::Display) -> String {
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
pub(super) fn ruleset(enforced: &Enforced, places: &Places<'_>) -> Result<Option<OwnedFd>, String> {
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
    let created = create(handled, net, enforced.abi)?;
    if handled.is_empty() {
        return Ok(Option::<OwnedFd>::from(created));
    }
    let root = nix::fcntl::open(
        places.root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| text(format!("the workspace root: {e}")))?;
    let mut grants = Grants {
        created,
        root,
        abi,
        places,
    };
    if write {
        grants.writable(rules.write.iter().flatten(), write_access | read_access)?;
    }
    if read {
        grants.readable(rules.read.iter().flatten(), read_access)?;
    }
    Ok(Option::<OwnedFd>::from(grants.created))
}

/// The ruleset, handling `handled` file access and, for `net: none`, TCP.
fn create(handled: BitFlags<AccessFs>, net: bool, abi: u32) -> Result<RulesetCreated, String> {
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
        if abi >= 6 {
            ruleset = ruleset.scope(Scope::AbstractUnixSocket).map_err(text)?;
        }
    }
    ruleset.create().map_err(text)
}

/// A created ruleset taking its rules, with what opening their places needs.
struct Grants<'a> {
    created: RulesetCreated,
    /// The workspace root, which relative places are opened beneath.
    root: OwnedFd,
    abi: ABI,
    places: &'a Places<'a>,
}

impl Grants<'_> {
    fn grant(&mut self, fd: OwnedFd, access: BitFlags<AccessFs>) -> Result<(), String> {
        let access = if is_dir(&fd) {
            access
        } else {
            access & AccessFs::from_file(self.abi)
        };
        if access.is_empty() {
            return Ok(());
        }
        (&mut self.created)
            .add_rule(PathBeneath::new(fd, access))
            .map_err(text)?;
        Ok(())
    }

    /// Writable: the `write` places, the temporary and log directories, /dev/null.
    fn writable<'w>(
        &mut self,
        written: impl Iterator<Item = &'w String>,
        access: BitFlags<AccessFs>,
    ) -> Result<(), String> {
        let places = self.places;
        let tmp = tmp_outside_workspace(places)?;
        let mut places_written = Vec::new();
        for written in written {
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
            let fd = open(&self.root, &path).map_err(|e| {
                format!(
                    "sandbox write path `{written}` ({}): {}",
                    full.display(),
                    std::io::Error::from(e)
                )
            })?;
            self.grant(fd, access)?;
        }
        for device in DEVICES {
            if let Ok(fd) = open(&self.root, Path::new(device)) {
                self.grant(fd, access)?;
            }
        }
        Ok(())
    }

    /// Readable: the `read` places less the secrets, the system, PATH.
    fn readable<'r>(
        &mut self,
        written: impl Iterator<Item = &'r String>,
        access: BitFlags<AccessFs>,
    ) -> Result<(), String> {
        let places = self.places;
        let secrets = places.secrets();
        let mut readable: Vec<PathBuf> = Vec::new();
        for written in written {
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
            if let Ok(fd) = open(&self.root, &path) {
                self.grant(fd, access)?;
            }
        }
        Ok(())
    }
}

/// The task's temporary directory, refused when it holds the workspace: making it
/// writable would make the workspace writable.
fn tmp_outside_workspace(places: &Places<'_>) -> Result<PathBuf, String> {
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
    Ok(tmp)
}

/// Adds `path` to `out`, or, when a secret lies beneath it, each of its entries
/// that is not (and no link to) a secret, recursively: Landlock only allows, so the
/// way to keep `~/.ssh` out of a readable `~` is to allow its siblings one by one.
fn carve(path: &Path, secrets: &[PathBuf], seen: &mut HashSet<PathBuf>, out: &mut Vec<PathBuf>) {
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
