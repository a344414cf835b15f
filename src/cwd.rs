//! Keeping a command's working directory inside the workspace. Checked when config is
//! loaded and again right before spawning, since the tree can change in between.

use std::path::{Component, Path, PathBuf};

/// Why a cwd was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CwdError {
    #[error("cwd `{0}` is absolute; write it relative to the workspace root")]
    Absolute(String),
    #[error("cwd `{0}` leaves the workspace through `..`")]
    ParentEscape(String),
    #[error("cwd `{cwd}` resolves to `{resolved}`, outside the workspace (through a symlink)")]
    SymlinkEscape { cwd: String, resolved: String },
    #[error("cwd `{cwd}` does not exist: {message}")]
    Missing { cwd: String, message: String },
}

/// Resolves `cwd` (as written in hooks.json) against `root`. Refuses absolute paths,
/// `..` that climbs above the root, and directories whose real path (symlinks followed)
/// is outside the root. When `must_exist` is false a missing directory passes the
/// lexical checks (it may be created by an earlier task).
pub fn resolve(root: &Path, cwd: &str, must_exist: bool) -> Result<PathBuf, CwdError> {
    resolve_from(root, false, cwd, must_exist)
}

/// [`resolve`] with a root that is already canonical (symlinks resolved).
pub fn resolve_in_canonical(real_root: &Path, cwd: &str) -> Result<PathBuf, CwdError> {
    resolve_from(real_root, true, cwd, true)
}

fn resolve_from(
    root: &Path,
    root_is_canonical: bool,
    cwd: &str,
    must_exist: bool,
) -> Result<PathBuf, CwdError> {
    if root_is_canonical && (cwd == "." || cwd.is_empty()) {
        return Ok(root.to_path_buf());
    }
    let path = Path::new(cwd);
    if path.is_absolute() || path.has_root() {
        return Err(CwdError::Absolute(cwd.to_owned()));
    }
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(CwdError::Absolute(cwd.to_owned()))
            }
        }
        if depth < 0 {
            return Err(CwdError::ParentEscape(cwd.to_owned()));
        }
    }
    let joined = root.join(path);
    // A root known to be canonical (the runner resolves it once per run) saves a path
    // walk on every spawn.
    let real_root = match root_is_canonical {
        true => Ok(root.to_path_buf()),
        false => root.canonicalize(),
    };
    match (joined.canonicalize(), real_root) {
        (Ok(real), Ok(real_root)) => {
            if real.starts_with(&real_root) {
                Ok(real)
            } else {
                Err(CwdError::SymlinkEscape {
                    cwd: cwd.to_owned(),
                    resolved: real.display().to_string(),
                })
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            if must_exist {
                Err(CwdError::Missing {
                    cwd: cwd.to_owned(),
                    message: e.to_string(),
                })
            } else {
                Ok(joined)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_and_accepts_inside_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("crates/a")).unwrap();
        assert!(resolve(&root, "crates/a", true)
            .unwrap()
            .ends_with("crates/a"));
        assert!(resolve(&root, "crates/../crates/a", true).is_ok());
        assert!(resolve(&root, ".", true).is_ok());
        assert_eq!(
            resolve(&root, "..", true),
            Err(CwdError::ParentEscape("..".into()))
        );
        assert_eq!(
            resolve(&root, "crates/../../x", true),
            Err(CwdError::ParentEscape("crates/../../x".into()))
        );
        assert_eq!(
            resolve(&root, "/tmp", true),
            Err(CwdError::Absolute("/tmp".into()))
        );
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        assert!(matches!(
            resolve(&root, "out", true),
            Err(CwdError::SymlinkEscape { .. })
        ));
        assert!(matches!(
            resolve(&root, "missing", true),
            Err(CwdError::Missing { .. })
        ));
        assert!(resolve(&root, "missing", false).is_ok());
    }
}
