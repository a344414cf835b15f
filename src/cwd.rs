//! Keeping a command's working directory where it may be: inside the workspace, or inside
//! a directory that manifest.json lists in `allowed_cwds`. Checked by `check`, by a dry
//! run, and again right before spawning, since the tree can change in between.

use std::path::{Component, Path, PathBuf};

/// Why a cwd was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CwdError {
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
}

/// A directory of `allowed_cwds` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("allowed cwd `{entry}` cannot be resolved: {source}")]
pub struct AllowedError {
    /// The entry as written in manifest.json.
    pub entry: String,
    #[source]
    pub source: std::io::Error,
}

/// Where commands may run: the workspace root and the allowed directories, each resolved
/// once (symlinks followed), so a check is a prefix comparison of real paths.
#[derive(Debug, Clone)]
pub struct Bounds {
    root: PathBuf,
    allowed: Vec<PathBuf>,
}

impl Bounds {
    /// Resolves `root` and each of `allowed` (relative entries are relative to the root).
    pub fn new(root: &Path, allowed: &[String]) -> Result<Self, AllowedError> {
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
            .collect::<Result<_, _>>()?;
        Ok(Self {
            root: real_root,
            allowed,
        })
    }

    /// Bounds around a root that is already canonical, with nothing else allowed.
    #[cfg(test)]
    pub fn canonical_root(root: PathBuf) -> Self {
        Self {
            root,
            allowed: Vec::new(),
        }
    }

    /// The workspace root, symlinks resolved.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `cwd` as written in hooks.json to the real directory a command runs in.
    /// Refuses absolute paths and `..` that climbs out unless their real path is in an
    /// allowed directory, real paths (symlinks followed) outside every bound, and
    /// anything that is missing or not a directory.
    pub fn resolve(&self, cwd: &str) -> Result<PathBuf, CwdError> {
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

    /// Whether an absolute `path` starts with an allowed directory as written after
    /// resolving (so a missing directory under `/tmp` is reported as missing).
    fn allowed_lexically(&self, path: &Path) -> bool {
        path.is_absolute() && self.allowed.iter().any(|a| path.starts_with(a))
    }
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
}
