//! Writing init's files: every target is inspected before anything is written, so that
//! a refusal leaves the workspace exactly as it was. An existing file is overwritten
//! only when asked (`--force`); a symlink is never written through, asked or not.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A file init means to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedFile {
    /// The directory init owns the layout below: the workspace root (the repository's
    /// for the workflow). No directory between it and the file may be a symlink.
    pub(crate) base: PathBuf,
    pub(crate) path: PathBuf,
    /// How messages name it (relative to the workspace root when inside it).
    pub(crate) shown: String,
    pub(crate) contents: String,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) shown: String,
    /// It existed and `--force` replaced it.
    pub(crate) replaced: bool,
}

/// Why init wrote nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum InitError {
    #[error("refusing to overwrite {}: {}", list(.0), if .0.len() == 1 { "it already exists" } else { "they already exist" })]
    #[diagnostic(help("nothing was written; pass --force to overwrite"))]
    Exists(Vec<String>),
    #[error("refusing to write through a symlink: {}", list(.0))]
    #[diagnostic(help(
        "nothing was written, and --force does not change that; replace the link with a regular file or directory, or remove it"
    ))]
    Symlink(Vec<String>),
    #[error("cannot write {}: {}", list(.0), if .0.len() == 1 { "it is a directory, or a path on the way is not one" } else { "each is a directory, or a path on the way is not one" })]
    #[diagnostic(help("nothing was written; move what is in the way"))]
    NotAFile(Vec<String>),
    #[error("failed to write `{shown}`: {source}")]
    Io {
        shown: String,
        #[source]
        source: std::io::Error,
    },
}

impl InitError {
    /// Whether the input was at fault (exit 1), not the machine (a failed write).
    pub(crate) fn is_refusal(&self) -> bool {
        !matches!(self, InitError::Io { .. })
    }
}

fn list(files: &[String]) -> String {
    files
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is at a target now.
enum Found {
    Nothing,
    File,
    Symlink,
    NotAFile,
}

/// Looks at `path` and at every directory between `base` and it (not `base` itself or
/// above: the workspace may well live under a symlinked directory such as macOS's
/// `/tmp`).
fn inspect(base: &Path, path: &Path) -> Found {
    if let Ok(below) = path.strip_prefix(base) {
        let mut dir = base.to_path_buf();
        let parents: Vec<_> = below.components().collect();
        for part in &parents[..parents.len().saturating_sub(1)] {
            dir.push(part);
            match std::fs::symlink_metadata(&dir) {
                Ok(meta) if meta.file_type().is_symlink() => return Found::Symlink,
                Ok(meta) if !meta.is_dir() => return Found::NotAFile,
                Ok(_) => {}
                Err(_) => return Found::Nothing,
            }
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Found::Symlink,
        Ok(meta) if meta.is_file() => Found::File,
        Ok(_) => Found::NotAFile,
        Err(_) => Found::Nothing,
    }
}

/// Writes `files` (creating missing directories), or none of them: when one exists and `force` is false, or one is (or lies under) a symlink.
/// Each is opened without following a symlink, so one planted after the check is
/// refused too rather than followed.
pub(crate) fn write_all(files: &[PlannedFile], force: bool) -> Result<Vec<Written>, InitError> {
    let (mut existing, mut links, mut blocked) = (Vec::new(), Vec::new(), Vec::new());
    for file in files {
        match inspect(&file.base, &file.path) {
            Found::Nothing => {}
            Found::File => existing.push(file.shown.clone()),
            Found::Symlink => links.push(file.shown.clone()),
            Found::NotAFile => blocked.push(file.shown.clone()),
        }
    }
    if !links.is_empty() {
        return Err(InitError::Symlink(links));
    }
    if !blocked.is_empty() {
        return Err(InitError::NotAFile(blocked));
    }
    if !existing.is_empty() && !force {
        return Err(InitError::Exists(existing));
    }
    files
        .iter()
        .map(|file| {
            write_one(file).map(|()| Written {
                shown: file.shown.clone(),
                replaced: existing.contains(&file.shown),
            })
        })
        .collect()
}

fn write_one(file: &PlannedFile) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        shown: file.shown.clone(),
        source,
    };
    if let Some(parent) = file.path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&file.path)
        .map_err(io)?;
    out.write_all(file.contents.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(base: &Path, rel: &str, text: &str) -> PlannedFile {
        PlannedFile {
            base: base.to_path_buf(),
            path: base.join(rel),
            shown: rel.into(),
            contents: text.into(),
        }
    }

    #[test]
    fn nothing_is_written_while_one_file_exists_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("config")).unwrap();
        std::fs::write(base.join("config/hooks.json"), "{}").unwrap();
        let files = [
            planned(base, "sot.md", "new sot"),
            planned(base, "config/hooks.json", "new hooks"),
            planned(base, ".github/workflows/x.yml", "new workflow"),
        ];
        let err = write_all(&files, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to overwrite `config/hooks.json`: it already exists"
        );
        assert!(err.is_refusal());
        assert!(!base.join("sot.md").exists());
        assert!(!base.join(".github").exists());
        assert_eq!(
            std::fs::read_to_string(base.join("config/hooks.json")).unwrap(),
            "{}"
        );

        let written = write_all(&files, true).unwrap();
        assert_eq!(
            written.iter().map(|w| w.replaced).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert_eq!(
            std::fs::read_to_string(base.join("config/hooks.json")).unwrap(),
            "new hooks"
        );
        assert_eq!(
            std::fs::read_to_string(base.join(".github/workflows/x.yml")).unwrap(),
            "new workflow"
        );
    }

    #[test]
    fn a_symlink_is_never_written_through_not_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("ws");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("target.md"), "keep").unwrap();
        std::os::unix::fs::symlink(elsewhere.join("target.md"), base.join("sot.md")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, base.join("config")).unwrap();
        let files = [
            planned(&base, "sot.md", "x"),
            planned(&base, "config/hooks.json", "x"),
        ];
        for force in [false, true] {
            let err = write_all(&files, force).unwrap_err();
            assert_eq!(
                err.to_string(),
                "refusing to write through a symlink: `sot.md`, `config/hooks.json`"
            );
        }
        assert_eq!(
            std::fs::read_to_string(elsewhere.join("target.md")).unwrap(),
            "keep"
        );
        assert!(!elsewhere.join("hooks.json").exists());
        // Planted after the check: the open itself refuses to follow it.
        let late = planned(&base, "late.md", "x");
        std::os::unix::fs::symlink(elsewhere.join("target.md"), &late.path).unwrap();
        assert!(write_one(&late).is_err());
        assert_eq!(
            std::fs::read_to_string(elsewhere.join("target.md")).unwrap(),
            "keep"
        );
    }

    #[test]
    fn a_directory_in_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sot.md")).unwrap();
        let err = write_all(&[planned(dir.path(), "sot.md", "x")], true).unwrap_err();
        assert!(matches!(err, InitError::NotAFile(_)), "{err}");
    }
}
