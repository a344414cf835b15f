//! What can be known about a command before it is spawned: its cwd resolves to an
//! allowed directory, and its program exists, found the way the spawn will find it (on
//! the PATH the task will see, the hook's own `env.PATH` when it sets one). `check` and
//! a dry run both ask here, so neither passes what `run` would reject.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::config::{Command, Hook};
use crate::cwd::{Bounds, CwdError};

/// Why a command would not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Cwd(#[from] CwdError),
    #[error("program `{program}` {message}")]
    Program { program: String, message: String },
}

impl Problem {
    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Problem::Cwd(CwdError::Missing { .. } | CwdError::NotADirectory { .. }) => {
                "a cwd is a directory relative to the workspace root; create it, or fix the path"
            }
            Problem::Cwd(_) => {
                "a cwd stays inside the workspace, unless manifest.json lists its directory in `allowed_cwds`"
            }
            Problem::Program { .. } => {
                "install it, fix the program name, or fix the PATH the hook sets in `env`"
            }
        }
    }
}

/// Answers for many commands, remembering what it looked up: 50,000 hooks running
/// `cargo` in `.` cost one PATH search and one cwd resolution, not 50,000.
pub struct Preflight<'a> {
    bounds: &'a Bounds,
    /// The PATH a task gets when its hook does not set one.
    path: Option<OsString>,
    cwds: HashMap<String, Result<PathBuf, CwdError>>,
    programs: HashMap<(String, Option<OsString>, PathBuf), Result<(), String>>,
}

impl<'a> Preflight<'a> {
    /// Checks against `bounds`, with `path` as the PATH tasks inherit.
    pub fn new(bounds: &'a Bounds, path: Option<OsString>) -> Self {
        Self {
            bounds,
            path,
            cwds: HashMap::new(),
            programs: HashMap::new(),
        }
    }

    /// Whether `command` of `hook` would start.
    pub fn command(&mut self, hook: &Hook, command: &Command) -> Result<(), Problem> {
        let cwd = command.cwd();
        if !self.cwds.contains_key(cwd) {
            let resolved = self.bounds.resolve(cwd);
            self.cwds.insert(cwd.to_owned(), resolved);
        }
        let dir = self.cwds[cwd].clone()?;
        let Some(program) = command.argv().into_iter().next() else {
            return Ok(());
        };
        // The command's env wins over the hook's, as in the task's environment.
        let own = command.env.get("PATH").or_else(|| hook.env.get("PATH"));
        let path = own.map(OsString::from).or_else(|| self.path.clone());
        let key = (program, path, dir);
        if !self.programs.contains_key(&key) {
            let found =
                find_program(&key.0, &key.2, key.1.as_deref()).map_err(|message| match own {
                    Some(own) => format!("{message} (the PATH the hook sets: `{own}`)"),
                    None => message,
                });
            self.programs.insert(key.clone(), found);
        }
        self.programs[&key]
            .clone()
            .map_err(|message| Problem::Program {
                program: key.0,
                message,
            })
    }
}

/// Finds a program the way the spawn will: a path containing `/` relative to the
/// command's cwd, otherwise a search of `path`.
fn find_program(program: &str, cwd: &Path, path: Option<&OsStr>) -> Result<(), String> {
    if program.contains('/') {
        let candidate = cwd.join(program);
        return match std::fs::metadata(&candidate) {
            Ok(meta) if is_executable(&meta) => Ok(()),
            Ok(_) => Err("is not an executable file".into()),
            Err(_) => Err(format!(
                "does not exist (looked at {})",
                candidate.display()
            )),
        };
    }
    which::which_in(program, path, cwd)
        .map(|_| ())
        .map_err(|_| match path {
            Some(_) => "was not found on PATH".into(),
            None => "was not found: PATH is not set".into(),
        })
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn programs_are_found_on_the_hooks_own_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join("my-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bounds = Bounds::new(dir.path(), &[]).unwrap();
        let mut pre = Preflight::new(&bounds, Some("/usr/bin:/bin".into()));

        let h = hook(r#"{"commands": [{"cmd": ["my-tool"]}], "env": {"PATH": "bin"}}"#);
        assert_eq!(pre.command(&h, &h.commands[0]), Ok(()));
        let h = hook(r#"{"commands": [{"cmd": ["my-tool"]}]}"#);
        assert!(matches!(
            pre.command(&h, &h.commands[0]),
            Err(Problem::Program { .. })
        ));
        // The hook's PATH replaces the inherited one: `sh` is not in `bin`.
        let h = hook(r#"{"commands": [{"cmd": ["sh"], "env": {"PATH": "bin"}}]}"#);
        let err = pre.command(&h, &h.commands[0]).unwrap_err();
        assert!(
            err.to_string()
                .contains("not found on PATH (the PATH the hook sets: `bin`)"),
            "{err}"
        );
        let h = hook(r#"{"commands": [{"cmd": ["sh"], "cwd": "nope"}]}"#);
        assert!(matches!(
            pre.command(&h, &h.commands[0]),
            Err(Problem::Cwd(CwdError::Missing { .. }))
        ));
    }
}
