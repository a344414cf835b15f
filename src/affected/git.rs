//! What changed, according to git: the base and its merge base with HEAD, the changed
//! paths (committed, uncommitted and untracked), and files as they were at the base.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A git repository holding the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    /// The repository's top level.
    pub(crate) top: PathBuf,
}

/// The files git knows under `pathspec` (relative to `root`), tracked or untracked but
/// not ignored, as git names them (relative to `root`, unsorted). Tracked files deleted
/// from the work tree are still listed: callers that care check the disk.
pub(crate) fn ls_files(root: &Path, pathspec: &str) -> Result<Vec<String>, String> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
        ])
        .arg(pathspec)
        .current_dir(root)
        .output()
        .map_err(|e| format!("failed to run git ls-files: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// Git could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("`{dir}` is not inside a git repository: {message}")]
    NotARepo { dir: String, message: String },
    #[error("failed to run `git {args}`: {message}")]
    Failed { args: String, message: String },
}

/// Why the base could not be used, so that everything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// The base ref does not exist here.
    Missing,
    /// The clone is shallow and the base shares no history with HEAD in it.
    Shallow,
    /// The base exists but has no common history with HEAD.
    Unrelated,
}

impl Repo {
    /// The repository around `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, GitError> {
        let out = Command::new("git")
            .args(["rev-parse", "--show-toplevel"])
            .current_dir(dir)
            .output()
            .map_err(|e| GitError::NotARepo {
                dir: dir.display().to_string(),
                message: format!("git could not be started ({e})"),
            })?;
        if !out.status.success() {
            return Err(GitError::NotARepo {
                dir: dir.display().to_string(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        let top = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // The top level as git prints it may differ from `dir` through symlinks; keep
        // the canonical form so paths can be compared.
        let top = std::fs::canonicalize(&top).unwrap_or_else(|_| PathBuf::from(top));
        Ok(Self { top })
    }

    fn git(&self, args: &[&str]) -> Result<std::process::Output, GitError> {
        Command::new("git")
            .args(args)
            .current_dir(&self.top)
            .output()
            .map_err(|e| GitError::Failed {
                args: args.join(" "),
                message: e.to_string(),
            })
    }

    fn git_ok(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self.git(args)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Failed {
                args: args.join(" "),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// Whether the clone is shallow (history cut off).
    pub(crate) fn is_shallow(&self) -> bool {
        self.git(&["rev-parse", "--is-shallow-repository"])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
            .unwrap_or(false)
    }

    /// The merge base of `base` and HEAD, or why there is none.
    pub(crate) fn merge_base(&self, base: &str) -> Result<Result<String, Unusable>, GitError> {
        let spec = format!("{base}^{{commit}}");
        let exists = self.git(&["rev-parse", "--verify", "--quiet", &spec])?;
        if !exists.status.success() {
            return Ok(Err(if self.is_shallow() {
                Unusable::Shallow
            } else {
                Unusable::Missing
            }));
        }
        let out = self.git(&["merge-base", base, "HEAD"])?;
        if out.status.success() {
            return Ok(Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()));
        }
        Ok(Err(if self.is_shallow() {
            Unusable::Shallow
        } else {
            Unusable::Unrelated
        }))
    }

    /// Paths (relative to the top level, `/`-separated) that differ between `commit`
    /// and the work tree, plus untracked files that are not ignored. A rename is a
    /// delete plus an add.
    pub(crate) fn changed_paths(&self, commit: &str) -> Result<Changes, GitError> {
        // `--ignore-submodules=none`: `ignore = all` in `.gitmodules` (or
        // `diff.ignoreSubmodules`) must not hide a submodule bump from the decision;
        // the repository under test writes `.gitmodules`. `--raw` shows the modes, so
        // a submodule (mode 160000) is known as one.
        let diff = self.git_ok(&[
            "diff",
            "-z",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "--ignore-submodules=none",
            commit,
            "--",
        ])?;
        let untracked = self.git_ok(&["ls-files", "-z", "--others", "--exclude-standard"])?;
        let mut changes = parse_raw(&diff);
        changes.paths.extend(
            untracked
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        );
        changes.paths.sort();
        changes.paths.dedup();
        Ok(changes)
    }

    /// The tracked symlinks of the work tree, each with the paths (relative to the top
    /// level) it reaches: its target as written and, through any further links, the
    /// file at the end. Targets outside the repository are left out: git cannot say
    /// whether they changed.
    pub(crate) fn symlinks(&self) -> Result<Vec<Link>, GitError> {
        const SYMLINK: &str = "120000";
        let staged = self.git_ok(&["ls-files", "-s", "-z"])?;
        let mut out = Vec::new();
        for entry in staged.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else {
                continue;
            };
            if !meta.starts_with(SYMLINK) {
                continue;
            }
            let at = self.top.join(path);
            // A link deleted or replaced in the work tree is a changed path itself.
            let Ok(target) = std::fs::read_link(&at) else {
                continue;
            };
            let parent = Path::new(path).parent().unwrap_or(Path::new(""));
            let mut reaches = Vec::new();
            let written = if target.is_absolute() {
                target.strip_prefix(&self.top).ok().map(Path::to_path_buf)
            } else {
                normalize(&parent.join(&target))
            };
            reaches.extend(written);
            if let Ok(end) = std::fs::canonicalize(&at) {
                reaches.extend(end.strip_prefix(&self.top).ok().map(Path::to_path_buf));
            }
            let mut reaches: Vec<String> = reaches
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .filter(|p| !p.is_empty())
                .collect();
            reaches.sort();
            reaches.dedup();
            if !reaches.is_empty() {
                out.push(Link {
                    path: path.to_owned(),
                    reaches,
                });
            }
        }
        Ok(out)
    }

    /// A file's bytes at `commit`, or `None` when it did not exist there.
    pub(crate) fn show(&self, commit: &str, path: &str) -> Option<Vec<u8>> {
        let out = self.git(&["show", &format!("{commit}:{path}")]).ok()?;
        out.status.success().then_some(out.stdout)
    }

    /// Writes the tree of `commit` into `dest` (a fresh directory), through a
    /// throw-away index so neither the work tree nor the repository's worktree list is
    /// touched.
    pub(crate) fn checkout_into(&self, commit: &str, dest: &Path) -> Result<(), GitError> {
        let index = dest.with_extension("index");
        let run = |args: &[&str]| -> Result<(), GitError> {
            let out = Command::new("git")
                .args(args)
                .current_dir(&self.top)
                .env("GIT_INDEX_FILE", &index)
                .output()
                .map_err(|e| GitError::Failed {
                    args: args.join(" "),
                    message: e.to_string(),
                })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(GitError::Failed {
                    args: args.join(" "),
                    message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                })
            }
        };
        run(&["read-tree", commit])?;
        let prefix = format!("{}/", dest.display());
        let result = run(&["checkout-index", "-a", "-f", &format!("--prefix={prefix}")]);
        let _ = std::fs::remove_file(&index);
        result
    }
}

/// What changed since a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Changed paths, relative to the top level, sorted.
    pub(crate) paths: Vec<String>,
    /// Those of them that are submodules (a gitlink at the commit or now): their
    /// contents are another repository's, so the path stands for everything under it.
    pub(crate) submodules: BTreeSet<String>,
}

/// A tracked symlink and the paths it reaches (relative to the top level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) path: String,
    pub(crate) reaches: Vec<String>,
}

/// `a/b/../c` as `a/c`, without touching the file system; `None` when it climbs out.
fn normalize(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `git diff -z --raw` output: a `:old_mode new_mode old new status` record, then the
/// path (one path: renames are off).
fn parse_raw(raw: &[u8]) -> Changes {
    const GITLINK: &str = "160000";
    let mut out = Changes::default();
    let mut fields = raw.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(header) = fields.next() {
        let Some(path) = fields.next() else { break };
        let path = String::from_utf8_lossy(path).into_owned();
        let header = String::from_utf8_lossy(header);
        let mut modes = header.trim_start_matches(':').split(' ').take(2);
        if modes.any(|m| m == GITLINK) {
            out.submodules.insert(path.clone());
        }
        out.paths.push(path);
    }
    out
}

/// The base to compare against when none is given: the pull request's base branch
/// (`GITHUB_BASE_REF`) on origin, else origin's default branch.
pub(crate) fn default_base(github_base_ref: Option<&str>) -> String {
    match github_base_ref.map(str::trim).filter(|r| !r.is_empty()) {
        Some(branch) => format!("origin/{branch}"),
        None => "origin/HEAD".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_pull_requests_target_else_origin_head() {
        assert_eq!(default_base(Some("main")), "origin/main");
        assert_eq!(default_base(Some("")), "origin/HEAD");
        assert_eq!(default_base(None), "origin/HEAD");
    }

    #[test]
    fn raw_diff_records_name_their_submodules() {
        let raw = b":100644 100644 aaaa bbbb M\0src/lib.rs\0:160000 160000 cccc dddd M\0ext/lib\0:000000 160000 0000 eeee A\0ext/new\0";
        let changes = parse_raw(raw);
        assert_eq!(changes.paths, ["src/lib.rs", "ext/lib", "ext/new"]);
        assert_eq!(
            changes.submodules.into_iter().collect::<Vec<_>>(),
            ["ext/lib", "ext/new"]
        );
    }
}
