//! Keeping a command's working directory where it may be: inside the workspace, or inside
//! a directory that manifest.json lists in `allowed_cwds`. Checked by `check`, by a dry
//! run, and again right before spawning, since the tree can change in between.
//!
//! Right before spawning, a checked path is not enough: a task can swap the directory for
//! a symlink (`renameat2` with `RENAME_EXCHANGE`) between the check and the child's
//! `chdir`, and the command then runs wherever the link points. So [`Bounds::open`] opens
//! the directory once, beneath the root (or the allowed directory) opened when the run
//! began, following no symlink on the way, and the child enters that handle (`fchdir`):
//! what was checked is what it runs in.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

/// Why a cwd was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CwdError {
    #[error("cwd `{0}` is absolute; write it relative to the workspace root, or list the directory in manifest.json `allowed_cwds`")]
    Absolute(String),
    #[error("cwd `{0}` leaves the workspace through `..`; list the directory in manifest.json `allowed_cwds` to allow it")]
    ParentEscape(String),
    #[error("cwd `{cwd}` resolves to `{resolved}`, outside the workspace (through a symlink); list the directory in manifest.json `allowed_cwds` to allow it")]
    SymlinkEscape { cwd: String, resolved: String },
    #[error("cwd `{cwd}` resolves to `{resolved}`, which is neither inside the workspace nor in manifest.json `allowed_cwds`")]
    NotAllowed { cwd: String, resolved: String },
    #[error("cwd `{cwd}` does not exist: {message}")]
    Missing { cwd: String, message: String },
    #[error("cwd `{cwd}` is not a directory")]
    NotADirectory { cwd: String },
    #[error("cwd `{cwd}` changed while it was being entered: `{resolved}` is no longer a plain directory beneath its bound (a symlink was swapped in on its path?); refused rather than run elsewhere")]
    Changed { cwd: String, resolved: String },
}

/// A directory of `allowed_cwds` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("allowed cwd `{entry}` cannot be resolved: {source}")]
pub(crate) struct AllowedError {
    /// The entry as written in manifest.json.
    pub(crate) entry: String,
    #[source]
    pub(crate) source: std::io::Error,
}

/// Where commands may run: the workspace root and the allowed directories, each resolved
/// once (symlinks followed), so a check is a prefix comparison of real paths. Each is
/// also held open, so that a command's directory is opened beneath the very directory
/// that was resolved, whatever happens to the paths above it later.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    root: PathBuf,
    allowed: Vec<PathBuf>,
    /// The root's handle, then each allowed directory's, in order.
    handles: Arc<Vec<OwnedFd>>,
}

/// A command's working directory, opened: the child enters `dir` (`fchdir`), and `path`
/// is its real path as it was checked, for messages and for finding the program.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) path: PathBuf,
    pub(crate) dir: OwnedFd,
}

impl Bounds {
    /// Resolves `root` and each of `allowed` (relative entries are relative to the root).
    pub(crate) fn new(root: &Path, allowed: &[String]) -> Result<Self, AllowedError> {
        let real_root = root.canonicalize().map_err(|source| AllowedError {
            entry: root.display().to_string(),
            source,
        })?;
        let allowed = allowed
            .iter()
            .map(|entry| {
                real_root
                    .join(entry)
                    .canonicalize()
                    .map_err(|source| AllowedError {
                        entry: entry.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<PathBuf>, _>>()?;
        let handles = std::iter::once((root.display().to_string(), &real_root))
            .chain(allowed.iter().map(|a| (a.display().to_string(), a)))
            .map(|(entry, dir)| open_dir(dir).map_err(|source| AllowedError { entry, source }))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            root: real_root,
            allowed,
            handles: Arc::new(handles),
        })
    }

    /// Bounds around a root that is already canonical, with nothing else allowed.
    #[cfg(test)]
    pub(crate) fn canonical_root(root: PathBuf) -> Self {
        let handle = open_dir(&root).expect("the test's root can be opened");
        Self {
            root,
            allowed: Vec::new(),
            handles: Arc::new(vec![handle]),
        }
    }

    /// The workspace root, symlinks resolved.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `cwd` as written in hooks.json to the real directory a command runs in.
    /// Refuses absolute paths and `..` that climbs out unless their real path is in an
    /// allowed directory, real paths (symlinks followed) outside every bound, and
    /// anything that is missing or not a directory.
    pub(crate) fn resolve(&self, cwd: &str) -> Result<PathBuf, CwdError> {
        // The common case costs no path walk on every spawn.
        if cwd == "." || cwd.is_empty() {
            return Ok(self.root.clone());
        }
        let path = Path::new(cwd);
        let outside = lexically_outside(path);
        if let (Some(err), true) = (&outside, self.allowed.is_empty()) {
            return Err(err.clone());
        }
        let real = self
            .root
            .join(path)
            .canonicalize()
            .map_err(|e| match &outside {
                // A path that may not be used at all is refused for that, not for being
                // missing.
                Some(err) if !self.allowed_lexically(path) => err.clone(),
                _ => CwdError::Missing {
                    cwd: cwd.to_owned(),
                    message: e.to_string(),
                },
            })?;
        let in_allowed = self.allowed.iter().any(|a| real.starts_with(a));
        if !real.starts_with(&self.root) && !in_allowed {
            let resolved = real.display().to_string();
            return Err(match outside {
                Some(_) => CwdError::NotAllowed {
                    cwd: cwd.to_owned(),
                    resolved,
                },
                None => CwdError::SymlinkEscape {
                    cwd: cwd.to_owned(),
                    resolved,
                },
            });
        }
        if !real.is_dir() {
            return Err(CwdError::NotADirectory {
                cwd: cwd.to_owned(),
            });
        }
        Ok(real)
    }

    /// Resolves `cwd` as [`Bounds::resolve`] does, then opens the real directory beneath
    /// the bound it lies in, following no symlink below that bound: if the path has
    /// changed since it was resolved (a directory swapped for a link), the command is
    /// refused rather than started elsewhere. The handle is what the child enters.
    pub(crate) fn open(&self, cwd: &str) -> Result<Opened, CwdError> {
        let real = self.resolve(cwd)?;
        let changed = || CwdError::Changed {
            cwd: cwd.to_owned(),
            resolved: real.display().to_string(),
        };
        // The root first: an allowed directory may lie inside it, and the root's handle
        // is the one every ordinary command uses.
        let (base, handle) = std::iter::once(&self.root)
            .chain(&self.allowed)
            .zip(self.handles.iter())
            .find(|(base, _)| real.starts_with(base))
            .ok_or_else(changed)?;
        let rel = real.strip_prefix(base).map_err(|_| changed())?;
        let dir = open_beneath(handle, rel).map_err(|e| match e {
            // A link, a file, or a step out of the bound where the checked path had
            // plain directories: the tree changed in between.
            Errno::ELOOP | Errno::ENOTDIR | Errno::EXDEV | Errno::EMLINK => changed(),
            e => CwdError::Missing {
                cwd: cwd.to_owned(),
                message: std::io::Error::from(e).to_string(),
            },
        })?;
        Ok(Opened { path: real, dir })
    }

    /// Whether an absolute `path` starts with an allowed directory as written after
    /// resolving (so a missing directory under `/tmp` is reported as missing).
    fn allowed_lexically(&self, path: &Path) -> bool {
        path.is_absolute() && self.allowed.iter().any(|a| path.starts_with(a))
    }
}

/// Flags for a directory handle that is only entered, never read: `O_PATH` where there
/// is one, so that a directory with search but no read permission can still be a cwd.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_FLAGS: OFlag = OFlag::O_PATH
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC);

/// Opens a bound (the root, an allowed directory) by its real path.
fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    Ok(nix::fcntl::open(dir, DIR_FLAGS, Mode::empty())?)
}

/// Opens `rel` (plain components only: a real path with its bound stripped) beneath
/// `base`, following no symlink: `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`
/// (Linux 5.6), else one `openat` per component with `O_NOFOLLOW`, each relative to the
/// one before. Both refuse a link anywhere on the path; the walk is the same guarantee,
/// one system call per component instead of one in all.
fn open_beneath(base: &OwnedFd, rel: &Path) -> Result<OwnedFd, Errno> {
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{OpenHow, ResolveFlag};
        let how = OpenHow::new().flags(DIR_FLAGS).resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
        let path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        match nix::fcntl::openat2(base.as_fd(), path, how) {
            // No openat2 (an older kernel), or a seccomp filter that refuses it (some
            // container runtimes answer EPERM): the walk below.
            Err(Errno::ENOSYS | Errno::EPERM) => {}
            other => return other,
        }
    }
    walk_beneath(base, rel)
}

/// The component-by-component fallback of [`open_beneath`].
fn walk_beneath(base: &OwnedFd, rel: &Path) -> Result<OwnedFd, Errno> {
    let mut current = openat(base.as_fd(), ".", DIR_FLAGS, Mode::empty())?;
    for component in rel.components() {
        let Component::Normal(part) = component else {
            // A real path with its bound stripped has only plain components.
            return Err(Errno::EXDEV);
        };
        current = openat(
            current.as_fd(),
            part,
            DIR_FLAGS | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )?;
    }
    Ok(current)
}

/// The refusal for a path that leaves the root as written: absolute, or `..` climbing
/// above it.
fn lexically_outside(path: &Path) -> Option<CwdError> {
    let cwd = path.display().to_string();
    if path.is_absolute() || path.has_root() {
        return Some(CwdError::Absolute(cwd));
    }
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Some(CwdError::Absolute(cwd)),
        }
        if depth < 0 {
            return Some(CwdError::ParentEscape(cwd));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_accepts_inside_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("crates/a")).unwrap();
        std::fs::write(root.join("file"), "").unwrap();
        let b = Bounds::new(&root, &[]).unwrap();
        assert!(b.resolve("crates/a").unwrap().ends_with("crates/a"));
        assert!(b.resolve("crates/../crates/a").is_ok());
        assert!(b.resolve(".").is_ok());
        assert_eq!(b.resolve(".."), Err(CwdError::ParentEscape("..".into())));
        assert_eq!(
            b.resolve("crates/../../x"),
            Err(CwdError::ParentEscape("crates/../../x".into()))
        );
        assert_eq!(b.resolve("/tmp"), Err(CwdError::Absolute("/tmp".into())));
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        assert!(matches!(
            b.resolve("out"),
            Err(CwdError::SymlinkEscape { .. })
        ));
        assert!(matches!(
            b.resolve("missing"),
            Err(CwdError::Missing { .. })
        ));
        assert_eq!(
            b.resolve("file"),
            Err(CwdError::NotADirectory { cwd: "file".into() })
        );
        assert!(b
            .resolve("/tmp")
            .unwrap_err()
            .to_string()
            .contains("allowed_cwds"));
    }

    #[test]
    fn allowed_directories_are_resolved_once_with_their_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(root.join("crates")).unwrap();
        std::fs::create_dir_all(shared.join("sub")).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        // The allowed entry is a symlink: its target is what counts.
        std::os::unix::fs::symlink(&shared, dir.path().join("alias")).unwrap();
        let alias = dir.path().join("alias").display().to_string();
        let b = Bounds::new(&root, std::slice::from_ref(&alias)).unwrap();
        let real_shared = shared.canonicalize().unwrap();
        assert_eq!(b.resolve(&alias).unwrap(), real_shared);
        assert_eq!(
            b.resolve(&format!("{}/sub", shared.display())).unwrap(),
            real_shared.join("sub")
        );
        assert_eq!(b.resolve("../shared").unwrap(), real_shared);
        assert!(matches!(
            b.resolve(&dir.path().join("other").display().to_string()),
            Err(CwdError::NotAllowed { .. })
        ));
        assert!(matches!(
            b.resolve(&format!("{}/nope", shared.display())),
            Err(CwdError::Missing { .. })
        ));
        assert!(Bounds::new(&root, &["/no/such/dir".into()]).is_err());
    }

    /// The real path of the directory a handle refers to.
    fn entered(opened: &Opened) -> PathBuf {
        use std::os::fd::AsRawFd;
        std::fs::read_link(format!("/proc/self/fd/{}", opened.dir.as_raw_fd())).unwrap()
    }

    #[test]
    fn open_holds_the_checked_directory_and_refuses_a_link_swapped_in() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("sub/d")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let b = Bounds::new(&root, &[]).unwrap();
        let real = root.canonicalize().unwrap().join("sub/d");
        let opened = b.open("sub/d").unwrap();
        assert_eq!(
            (opened.path.clone(), entered(&opened)),
            (real.clone(), real.clone())
        );
        assert_eq!(entered(&b.open(".").unwrap()), root.canonicalize().unwrap());
        // The handle stays on the directory even once a link has taken its name.
        std::fs::rename(root.join("sub/d"), root.join("sub/moved")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("sub/d")).unwrap();
        assert_eq!(
            entered(&opened),
            root.canonicalize().unwrap().join("sub/moved")
        );
        assert!(matches!(
            b.open("sub/d"),
            Err(CwdError::SymlinkEscape { .. })
        ));
        // A link swapped in between the check and the open: what `open` does after
        // `resolve` has said yes, for either way of opening.
        let canonical = root.canonicalize().unwrap();
        let link_to_outside = Path::new("sub/d");
        assert_eq!(
            open_beneath(&b.handles[0], link_to_outside).unwrap_err(),
            Errno::ELOOP
        );
        assert!(matches!(
            walk_beneath(&b.handles[0], link_to_outside).unwrap_err(),
            Errno::ELOOP | Errno::ENOTDIR
        ));
        // An inside link on the way is refused as well: the path checked had none.
        std::os::unix::fs::symlink(canonical.join("sub/moved"), root.join("alias")).unwrap();
        assert!(open_beneath(&b.handles[0], Path::new("alias")).is_err());
        assert!(walk_beneath(&b.handles[0], Path::new("alias")).is_err());
        // And the walk enters a plain path just as openat2 does.
        let walked = walk_beneath(&b.handles[0], Path::new("sub/moved")).unwrap();
        assert_eq!(
            entered(&Opened {
                path: PathBuf::new(),
                dir: walked
            }),
            canonical.join("sub/moved")
        );
        // A link inside the workspace still works as a cwd: it is resolved first.
        assert_eq!(
            entered(&b.open("alias").unwrap()),
            canonical.join("sub/moved")
        );
        assert!(CwdError::Changed {
            cwd: "sub/d".into(),
            resolved: "/x".into()
        }
        .to_string()
        .contains("refused"));
    }
}
