//! What a task claims before it starts: the resources its hook names, and the cargo
//! target directory of every cargo command in it that builds.
//!
//! cargo takes an exclusive lock on a target directory for the whole of a build, check,
//! clippy, doc or test; a second cargo on the same directory prints "Blocking waiting
//! for file lock on build directory" and waits, while it looks busy to everyone else. So
//! such commands claim the directory, which has a capacity of 1. The directory is found
//! as cargo finds it: `--target-dir`, else `CARGO_TARGET_DIR` (or
//! `CARGO_BUILD_TARGET_DIR`) in the command's or hook's `env`, relative to the command's
//! cwd, else the workspace's (from `cargo metadata`, which already applied cargo-tek's
//! own environment and `.cargo/config.toml`). `cargo fmt`, `cargo metadata` and other
//! commands that do not build claim nothing.

use std::path::{Component, Path, PathBuf};

use super::resources::Resource;
use crate::config::{Command, Hook};

/// Where commands run and which target directory cargo uses by default.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// The workspace root (command cwds are relative to it).
    pub(crate) root: PathBuf,
    /// The workspace's target directory (None: cargo target dirs are not claimed).
    pub(crate) target_dir: Option<PathBuf>,
}

impl Context {
    /// The workspace's: cargo commands claim the target dir they build in, the
    /// workspace's by default (none when planning a bare sot.md).
    pub(crate) fn of(workspace: &crate::workspace::Workspace) -> Self {
        Self {
            root: workspace.root.clone(),
            target_dir: workspace.is_cargo.then(|| workspace.target_dir.clone()),
        }
    }
}

/// Cargo subcommands (and aliases) that take the build directory lock.
const BUILDS: &[&str] = &[
    "build", "b", "check", "c", "clippy", "test", "t", "doc", "d", "run", "r", "bench", "rustc",
    "rustdoc", "fix", "nextest", "llvm-cov", "hack", "miri",
];

/// Options of cargo itself (before the subcommand) that take a value.
const GLOBAL_WITH_VALUE: &[&str] = &["--color", "--config", "-Z", "-C", "--explain"];

/// Everything `hook` claims, sorted and without duplicates.
pub(crate) fn of_hook(hook: &Hook, context: &Context) -> Vec<Resource> {
    let mut claims: Vec<Resource> = hook
        .resources
        .iter()
        .map(|name| Resource::Named(name.clone()))
        .collect();
    if let Some(default) = &context.target_dir {
        for command in &hook.commands {
            if let Some(dir) = target_dir(hook, command, &context.root, default) {
                claims.push(Resource::CargoTarget(dir));
            }
        }
    }
    claims.sort();
    claims.dedup();
    claims
}

/// The target directory `command` builds in, when it is a building cargo command.
fn target_dir(hook: &Hook, command: &Command, root: &Path, default: &Path) -> Option<PathBuf> {
    let words: Vec<String> = match &command.shell {
        // A script is not parsed as a shell would; any `cargo <builds>` in it counts.
        Some(script) => script.split_whitespace().map(str::to_owned).collect(),
        None => command.cmd.clone(),
    };
    let start = words.iter().position(|w| is_cargo(w))?;
    let args = &words[start + 1..];
    let sub = subcommand(args)?;
    if !BUILDS.contains(&args[sub].as_str()) {
        return None;
    }
    let cwd = root.join(command.cwd());
    let flag = args[sub..]
        .iter()
        .take_while(|a| *a != "--")
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--target-dir") {
            Some("") => args.get(sub + i + 1).cloned(),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        });
    let from_env = || {
        ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
            .iter()
            .find_map(|name| command.env.get(*name).or_else(|| hook.env.get(*name)))
            .cloned()
    };
    Some(match flag.or_else(from_env) {
        Some(dir) => normalize(&cwd.join(dir)),
        None => normalize(default),
    })
}

fn is_cargo(word: &str) -> bool {
    Path::new(word)
        .file_name()
        .is_some_and(|name| name == "cargo")
}

/// The index of the subcommand among cargo's arguments: the first word that is not
/// `+toolchain` nor a global option (or its value).
fn subcommand(args: &[String]) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.starts_with('+') || (arg.starts_with('-') && arg.contains('=')) {
            i += 1;
        } else if GLOBAL_WITH_VALUE.contains(&arg.as_str()) {
            i += 2;
        } else if arg.starts_with('-') {
            i += 1;
        } else {
            return Some(i);
        }
    }
    None
}

/// `a/./b/../c` as `a/c`, and through symlinks when the directory exists, so that two
/// spellings of one directory are one resource.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    fn context() -> Context {
        Context {
            root: "/nonexistent/ws".into(),
            target_dir: Some("/nonexistent/ws/target".into()),
        }
    }

    fn targets(json: &str) -> Vec<PathBuf> {
        of_hook(&hook(json), &context())
            .into_iter()
            .filter_map(|r| match r {
                Resource::CargoTarget(dir) => Some(dir),
                Resource::Named(_) => None,
            })
            .collect()
    }

    #[test]
    fn building_cargo_commands_claim_the_workspace_target_dir() {
        for cmd in [
            r#"["cargo", "build", "--workspace"]"#,
            r#"["cargo", "+nightly", "--locked", "clippy", "--", "-D", "warnings"]"#,
            r#"["/usr/bin/cargo", "--color", "never", "test", "-p", "x"]"#,
        ] {
            let json = format!(r#"{{"commands": [{{"cmd": {cmd}}}]}}"#);
            assert_eq!(
                targets(&json),
                [PathBuf::from("/nonexistent/ws/target")],
                "{cmd}"
            );
        }
    }

    #[test]
    fn fmt_and_other_programs_claim_nothing() {
        for cmd in [
            r#"["cargo", "fmt", "--check"]"#,
            r#"["cargo", "metadata"]"#,
            r#"["make", "build"]"#,
            r#"["cargo", "--color", "build"]"#,
        ] {
            let json = format!(r#"{{"commands": [{{"cmd": {cmd}}}]}}"#);
            assert!(targets(&json).is_empty(), "{cmd}");
        }
    }

    #[test]
    fn the_target_dir_comes_from_the_flag_then_the_env_relative_to_the_cwd() {
        let flag = r#"{"commands": [{"cmd": ["cargo", "doc", "--target-dir", "../t2"], "cwd": "crates/a"}]}"#;
        assert_eq!(targets(flag), [PathBuf::from("/nonexistent/ws/crates/t2")]);
        let eq = r#"{"commands": [{"cmd": ["cargo", "doc", "--target-dir=/x/t"]}]}"#;
        assert_eq!(targets(eq), [PathBuf::from("/x/t")]);
        let env =
            r#"{"env": {"CARGO_TARGET_DIR": "t3"}, "commands": [{"cmd": ["cargo", "build"]}]}"#;
        assert_eq!(targets(env), [PathBuf::from("/nonexistent/ws/t3")]);
        // After `--` it is the program's argument, not cargo's.
        let after = r#"{"commands": [{"cmd": ["cargo", "run", "--", "--target-dir", "x"]}]}"#;
        assert_eq!(targets(after), [PathBuf::from("/nonexistent/ws/target")]);
    }

    #[test]
    fn shell_scripts_and_named_resources_are_claimed_once() {
        let json = r#"{"resources": ["db", "db"], "commands": [
            {"shell": "cargo test 2>&1 | tee log"}, {"cmd": ["cargo", "build"]}]}"#;
        assert_eq!(
            of_hook(&hook(json), &context()),
            [
                Resource::Named("db".into()),
                Resource::CargoTarget("/nonexistent/ws/target".into())
            ]
        );
    }
}
