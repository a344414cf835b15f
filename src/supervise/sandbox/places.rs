//! Where a task's sandbox paths point: `~`, `$TMPDIR` and the other names a rule may
//! start with, read from the task's own environment, and the credentials no rule opens.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where a task's paths point: what `$TMPDIR`, `~` and the relative paths mean for it.
pub(crate) struct Places<'a> {
    /// The workspace root (relative paths are beneath it).
    pub(crate) root: &'a Path,
    /// The task's environment (HOME, TMPDIR, CARGO_HOME, CARGO_TARGET_DIR, PATH).
    pub(crate) env: &'a [(OsString, OsString)],
    /// The task's own log directory in the run directory: always writable.
    pub(crate) log_dir: PathBuf,
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
    pub(crate) fn tmpdir(&self) -> PathBuf {
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
    pub(super) fn expand(&self, written: &str) -> Result<PathBuf, String> {
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
    pub(super) fn secrets(&self) -> Vec<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
