//! The toolchain in a cache key: what `rustc -vV` and `cargo -V` say, asked the way a
//! task would ask (its `PATH`, `RUSTC` and `RUSTUP_TOOLCHAIN`, in the workspace root so
//! that a `rust-toolchain.toml` applies). Asked once per run for each distinct
//! environment: the toolchain does not change while tasks run.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// What the toolchain says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Toolchain {
    /// `rustc -vV` (or why it could not be asked).
    pub(crate) rustc: String,
    /// `cargo -V`.
    pub(crate) cargo: String,
}

/// The variables that choose the toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Chooser {
    pub(crate) path: Option<OsString>,
    pub(crate) rustc: Option<OsString>,
    pub(crate) rustup_toolchain: Option<OsString>,
}

impl Chooser {
    /// The choosing variables of a task's environment.
    pub(crate) fn of(env: &[(OsString, OsString)]) -> Self {
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Self {
            path: get("PATH"),
            rustc: get("RUSTC").filter(|v| !v.is_empty()),
            rustup_toolchain: get("RUSTUP_TOOLCHAIN"),
        }
    }
}

/// Toolchains asked so far in this run.
#[derive(Debug, Default)]
pub(crate) struct Toolchains {
    seen: HashMap<Chooser, Toolchain>,
}

impl Toolchains {
    /// The toolchain `chooser` selects, asked in `root` the first time.
    pub(crate) fn get(&mut self, chooser: &Chooser, root: &Path) -> Toolchain {
        self.seen
            .entry(chooser.clone())
            .or_insert_with(|| Toolchain {
                rustc: ask(
                    chooser,
                    chooser.rustc.clone().unwrap_or_else(|| "rustc".into()),
                    "-vV",
                    root,
                ),
                cargo: ask(chooser, "cargo".into(), "-V", root),
            })
            .clone()
    }
}

fn ask(chooser: &Chooser, program: OsString, flag: &str, root: &Path) -> String {
    let found = which::which_in(&program, chooser.path.as_ref(), root);
    let Ok(program) = found else {
        return format!("{} not found", program.to_string_lossy());
    };
    let mut command = Command::new(&program);
    command
        .arg(flag)
        .current_dir(root)
        .env_remove("RUSTUP_TOOLCHAIN");
    if let Some(path) = &chooser.path {
        command.env("PATH", path);
    }
    if let Some(toolchain) = &chooser.rustup_toolchain {
        command.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    match command.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => format!(
            "`{} {flag}` failed ({}): {}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`{} {flag}` could not start: {e}", program.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_rustc_on_path_is_a_different_toolchain() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let fake = bin.join("rustc");
        std::fs::write(&fake, "#!/bin/sh\necho 'rustc 0.0.0-fake'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut toolchains = Toolchains::default();
        let fake_path = Chooser {
            path: Some(bin.into_os_string()),
            rustc: None,
            rustup_toolchain: None,
        };
        let got = toolchains.get(&fake_path, dir.path());
        assert_eq!(got.rustc, "rustc 0.0.0-fake\n");
        assert_eq!(got.cargo, "cargo not found");
    }
}
