//! Finding the run directories among the paths given to `report --merge`: run
//! directories themselves, or folders holding them (downloaded artifacts), a few levels
//! deep. Artifacts are untrusted: a symlink is never followed, hidden and staging names
//! are passed over.

use std::path::{Path, PathBuf};

use crate::evidence::journal;
use crate::evidence::RUN_JSON;

/// How deep below a given folder run directories are looked for
/// (`artifacts/tek-run-1/<run id>/run.json` is two levels down).
const MAX_DEPTH: usize = 3;

/// At most this many run directories are merged (the Actions matrix allows 256 jobs).
pub(crate) const MAX_RUNS: usize = 1024;

/// Whether `dir` holds a run: a run.json or a journal, as regular files (a symlink named
/// run.json does not make a run).
fn is_run_dir(dir: &Path) -> bool {
    [RUN_JSON, journal::FILE].iter().any(|name| {
        std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.file_type().is_file())
    })
}

/// The run directories at or below `paths`, sorted and without repeats. A given path
/// that does not exist or holds no run is an error naming it.
pub(crate) fn run_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        if !meta.is_dir() {
            return Err(format!(
                "`{}` is not a directory: give run directories or folders that hold them",
                path.display()
            ));
        }
        let before = found.len();
        // The path itself was named by the user and may be a symlink; below it, nothing is.
        walk(path, 0, &mut found);
        if found.len() == before {
            return Err(format!(
                "no run directory (a folder with run.json or events.jsonl) in `{}`",
                path.display()
            ));
        }
        if found.len() > MAX_RUNS {
            return Err(format!("more than {MAX_RUNS} run directories to merge"));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if is_run_dir(dir) {
        found.push(dir.to_path_buf());
        return;
    }
    if depth >= MAX_DEPTH || found.len() > MAX_RUNS {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        // file_type() does not follow a symlink: a linked folder is passed over.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    children.sort();
    for child in children {
        walk(&child, depth + 1, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_runs_in_artifact_folders_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in ["a/tek-run-1/r1", "a/tek-run-2/r2", "a/.hidden/r3", "b"] {
            std::fs::create_dir_all(root.join(rel)).unwrap();
        }
        std::fs::write(root.join("a/tek-run-1/r1/run.json"), "{}").unwrap();
        std::fs::write(root.join("a/tek-run-2/r2/events.jsonl"), "").unwrap();
        std::fs::write(root.join("a/.hidden/r3/run.json"), "{}").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("r4")).unwrap();
        std::fs::write(outside.path().join("r4/run.json"), "{}").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("a/linked")).unwrap();
        std::os::unix::fs::symlink(
            root.join("a/tek-run-1/r1/run.json"),
            root.join("b/run.json"),
        )
        .unwrap();

        let dirs = run_dirs(&[root.join("a"), root.join("a/tek-run-1/r1")]).unwrap();
        assert_eq!(
            dirs,
            [root.join("a/tek-run-1/r1"), root.join("a/tek-run-2/r2")]
        );
        let err = run_dirs(&[root.join("b")]).unwrap_err();
        assert!(err.contains("no run directory"), "{err}");
        let err = run_dirs(&[root.join("missing")]).unwrap_err();
        assert!(err.contains("missing"), "{err}");
    }
}
