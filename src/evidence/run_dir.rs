//! A fresh run directory per run, named by a sortable id, never reused and never reached
//! through a symlink.

use std::path::{Path, PathBuf};

/// Creates `<runs_dir>/<run id>/` and `logs/` inside it. The id sorts by time
/// (`20261125T142301Z-1a2b3c`); creation fails rather than reuse an existing directory.
pub fn create(runs_dir: &Path) -> std::io::Result<(String, PathBuf)> {
    std::fs::create_dir_all(runs_dir)?;
    let meta = std::fs::symlink_metadata(runs_dir)?;
    if meta.file_type().is_symlink() {
        // create_dir_all followed it; refuse to write evidence through a planted link.
        return Err(std::io::Error::other(format!(
            "runs directory `{}` is a symlink",
            runs_dir.display()
        )));
    }
    let stamp = humantime::format_rfc3339_millis(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    for _ in 0..16 {
        let mut random = [0u8; 3];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("{stamp}-{suffix}");
        let dir = runs_dir.join(&id);
        // create_dir (not _all) fails on an existing entry, symlink or not.
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                std::fs::create_dir(dir.join("logs"))?;
                return Ok((id, dir));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "could not create a unique run directory",
    ))
}

/// The newest run directory (greatest name) under `runs_dir`.
pub fn latest(runs_dir: &Path) -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(runs_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names.pop().map(|n| runs_dir.join(n))
}

/// The previous run before `current` (for `--rerun-failed`).
pub fn latest_before(runs_dir: &Path, current: Option<&str>) -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(runs_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && Some(n.as_str()) != current)
        .collect();
    names.sort();
    names.pop().map(|n| runs_dir.join(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_and_sortable() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = create(dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (b, path_b) = create(dir.path()).unwrap();
        assert!(a < b, "{a} {b}");
        assert_eq!(latest(dir.path()).unwrap(), path_b);
        assert!(path_b.join("logs").is_dir());
    }

    #[test]
    fn a_symlinked_runs_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("runs")).unwrap();
        assert!(create(&dir.path().join("runs")).is_err());
    }
}
