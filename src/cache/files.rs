//! The files of a cache key, found when the task starts: a package's files as git sees
//! them (tracked, or untracked and not ignored, so `target/` and editor litter stay
//! out), else walked on disk; and the files `inputs` and `covers.paths` globs match, on
//! disk whatever git thinks (a generated file is the point of `inputs`). Each is hashed
//! by content; its path is part of the key too, so a rename or a deletion is a change.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use globset::GlobSet;
use sha2::{Digest, Sha256};

/// Where the files are, and what is never one of a task's inputs.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) root: PathBuf,
    /// Whether the root is inside a git work tree.
    pub(crate) git: bool,
    /// Directories never hashed (absolute): cargo's target dir, the runs directory.
    pub(crate) skip: Vec<PathBuf>,
}

impl Tree {
    /// The tree at `root`, asking git once whether it is a work tree.
    pub(crate) fn new(root: &Path, skip: Vec<PathBuf>) -> Self {
        let git = Command::new("git")
            .args(["rev-parse", "--is-inside-work-tree"])
            .current_dir(root)
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"));
        Self {
            root: root.to_path_buf(),
            git,
            skip,
        }
    }

    fn skipped(&self, abs: &Path) -> bool {
        abs.file_name().is_some_and(|n| n == ".git") || self.skip.iter().any(|s| abs.starts_with(s))
    }

    /// The files under `dir` (relative to the root, `""` for the root itself), as
    /// paths relative to the root, leaving out what lies under `not_theirs`.
    pub(crate) fn package_files(
        &self,
        dir: &str,
        not_theirs: &[&str],
    ) -> Result<Vec<String>, String> {
        let mut files = if self.git {
            self.git_files(dir)?
        } else {
            let mut out = Vec::new();
            self.walk(&self.root.join(dir), &mut out);
            out
        };
        files.retain(|f| {
            !not_theirs
                .iter()
                .any(|other| crate::affected::within_dir(f, other))
        });
        Ok(files)
    }

    fn git_files(&self, dir: &str) -> Result<Vec<String>, String> {
        let spec = if dir.is_empty() { "." } else { dir };
        let mut files: Vec<String> = crate::affected::ls_files(&self.root, spec)?
            .into_iter()
            // Tracked but deleted in the work tree: gone, as far as the task can tell.
            .filter(|p| {
                let abs = self.root.join(p);
                abs.symlink_metadata().is_ok() && !self.skipped(&abs)
            })
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Every file below `abs` (symlinks not followed), relative to the root.
    fn walk(&self, abs: &Path, out: &mut Vec<String>) {
        if self.skipped(abs) {
            return;
        }
        let Ok(meta) = abs.symlink_metadata() else {
            return;
        };
        if !meta.is_dir() {
            if let Ok(rel) = abs.strip_prefix(&self.root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
            return;
        }
        let Ok(entries) = std::fs::read_dir(abs) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            self.walk(&child, out);
        }
    }

    /// The files on disk that `globs` match, searched from the literal start of each
    /// pattern (`gen/**` walks `gen/` only).
    pub(crate) fn matching(&self, patterns: &[String], globs: &GlobSet) -> Vec<String> {
        let mut starts: Vec<String> = patterns.iter().map(|p| literal_start(p)).collect();
        starts.sort();
        starts.dedup();
        // `a` covers `a/b`: walk each place once.
        let kept: Vec<String> = starts
            .iter()
            .filter(|s| {
                !starts
                    .iter()
                    .any(|o| o != *s && (o.is_empty() || crate::affected::within_dir(s, o)))
            })
            .cloned()
            .collect();
        let mut out = Vec::new();
        for start in kept {
            self.walk(&self.root.join(&start), &mut out);
        }
        out.retain(|f| globs.is_match(f));
        out.sort();
        out.dedup();
        out
    }

    /// The SHA-256 of a file's bytes (of a symlink's target path, for a link): hex.
    pub(crate) fn hash(&self, rel: &str) -> String {
        let abs = self.root.join(rel);
        let mut hasher = Sha256::new();
        match abs.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                hasher.update(b"symlink\0");
                if let Ok(target) = std::fs::read_link(&abs) {
                    hasher.update(target.to_string_lossy().as_bytes());
                }
            }
            Ok(meta) if meta.is_dir() => hasher.update(b"directory\0"),
            Ok(_) => match std::fs::File::open(&abs) {
                Ok(mut file) => {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match file.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => hasher.update(&buf[..n]),
                            Err(e) => {
                                hasher.update(format!("unreadable: {e}").as_bytes());
                                break;
                            }
                        }
                    }
                }
                Err(e) => hasher.update(format!("unreadable: {e}").as_bytes()),
            },
            Err(_) => hasher.update(b"absent\0"),
        }
        hex::encode(hasher.finalize())
    }

    /// Each file's hash, by path.
    pub(crate) fn hashes(
        &self,
        files: impl IntoIterator<Item = String>,
    ) -> BTreeMap<String, String> {
        files
            .into_iter()
            .map(|f| {
                let h = self.hash(&f);
                (f, h)
            })
            .collect()
    }
}

/// The directory a glob starts in: its components before the first with a wildcard.
fn literal_start(pattern: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let parts: Vec<&str> = pattern.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        // The last literal component is a file name, not a directory to walk from,
        // unless more follows it.
        if part.contains(['*', '?', '[', '{']) || i + 1 == parts.len() {
            break;
        }
        out.push(part);
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_is_walked_from_its_literal_start() {
        assert_eq!(literal_start("gen/**"), "gen");
        assert_eq!(literal_start("a/b/*.json"), "a/b");
        assert_eq!(literal_start("**/x"), "");
        assert_eq!(literal_start("data.txt"), "");
        assert_eq!(literal_start("fixtures/data.txt"), "fixtures");
    }

    #[test]
    fn globs_see_ignored_files_and_packages_do_not_see_other_packages() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (rel, text) in [
            ("gen/out.txt", "1"),
            ("gen/sub/deep.txt", "2"),
            ("crates/a/src/lib.rs", ""),
            ("crates/a/inner/Cargo.toml", ""),
            ("target/debug/x", ""),
        ] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let tree = Tree {
            root: root.to_path_buf(),
            git: false,
            skip: vec![root.join("target")],
        };
        let mut set = globset::GlobSetBuilder::new();
        set.add(crate::affected::glob("gen/**").unwrap());
        let found = tree.matching(&["gen/**".into()], &set.build().unwrap());
        assert_eq!(found, ["gen/out.txt", "gen/sub/deep.txt"]);
        let files = tree.package_files("crates/a", &["crates/a/inner"]).unwrap();
        assert_eq!(files, ["crates/a/src/lib.rs"]);
        let all = tree.package_files("", &[]).unwrap();
        assert!(!all.iter().any(|f| f.starts_with("target/")), "{all:?}");
        assert_ne!(tree.hash("gen/out.txt"), tree.hash("gen/sub/deep.txt"));
        assert_eq!(tree.hash("nothing"), tree.hash("also-nothing"));
    }
}
