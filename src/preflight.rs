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
pub(crate) enum Problem {
    #[error(transparent)]
    Cwd(#[from] CwdError),
    #[error("program `{program}` {message}")]
    Program { program: String, message: String },
}

impl Problem {
    /// What to do about it.
    pub(crate) fn help(&self) -> &'static str {
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
pub(crate) struct Preflight<'a> {
    bounds: &'a Bounds,
    /// The PATH a task gets when its hook does not set one.
    path: Option<OsString>,
    cwds: HashMap<String, Result<PathBuf, CwdError>>,
    /// Programs of hooks that set no PATH, by cwd as written, then program.
    inherited: HashMap<String, HashMap<String, Result<(), String>>>,
    /// Programs of hooks that set their own PATH, by program, that PATH and the cwd.
    programs: HashMap<(String, OsString, PathBuf), Result<(), String>>,
}

impl<'a> Preflight<'a> {
    /// Checks against `bounds`, with `path` as the PATH tasks inherit.
    pub(crate) fn new(bounds: &'a Bounds, path: Option<OsString>) -> Self {
        Self {
            bounds,
            path,
            cwds: HashMap::new(),
            inherited: HashMap::new(),
            programs: HashMap::new(),
        }
    }

    /// Whether `command` of `hook` would start.
    pub(crate) fn command(&mut self, hook: &Hook, command: &Command) -> Result<(), Problem> {
        let cwd = command.cwd();
        if !self.cwds.contains_key(cwd) {
            let resolved = self.bounds.resolve(cwd);
            self.cwds.insert(cwd.to_owned(), resolved);
        }
        let dir = match &self.cwds[cwd] {
            Ok(dir) => dir,
            Err(e) => return Err(e.clone().into()),
        };
        // The program as the spawn sees it, without building the argv.
        let program = match (&command.shell, command.cmd.first()) {
            (Some(_), _) => "sh",
            (None, Some(program)) => program.as_str(),
            (None, None) => return Ok(()),
        };
        // The command's env wins over the hook's, as in the task's environment.
        let own = command.env.get("PATH").or_else(|| hook.env.get("PATH"));
        let found = match own {
            // The common case, a hook that sets no PATH: found by cwd and program, with
            // nothing allocated once known (a 50,000-hook check asks 50,000 times).
            None => {
                let known = self.inherited.entry(cwd.to_owned()).or_default();
                if !known.contains_key(program) {
                    let found = find_program(program, dir, self.path.as_deref());
                    known.insert(program.to_owned(), found);
                }
                known[program].clone()
            }
            Some(own) => {
                let key = (program.to_owned(), OsString::from(own), dir.clone());
                if !self.programs.contains_key(&key) {
                    let found = find_program(&key.0, &key.2, Some(&key.1))
                        .map_err(|message| format!("{message} (the PATH the hook sets: `{own}`)"));
                    self.programs.insert(key.clone(), found);
                }
                self.programs[&key].clone()
            }
        };
        found.map_err(|message| Problem::Program {
            program: program.to_owned(),
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
