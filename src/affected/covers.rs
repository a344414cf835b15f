//! What each task covers: declared in its hook (`covers`; a task's own wins over its
//! queue's), else inferred from its commands — never narrower than the truth.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::config::{Command, Covers, Hooks};

/// The crates a task depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "names")]
pub(crate) enum Crates {
    /// These workspace members.
    Some(BTreeSet<String>),
    /// Every member of the workspace.
    All,
    /// Unknown: the task always runs.
    Everything,
}

/// What a task covers, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TaskCover {
    pub(crate) crates: Crates,
    /// Globs relative to the workspace root.
    pub(crate) paths: Vec<String>,
    /// Why: "declared in hooks.json (task hook)", or how it was inferred.
    pub(crate) source: String,
}

/// A workspace member: its package name and its directory relative to the root (`""`
/// for a package at the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) dir: String,
}

/// The cover of the task `id` in `queue`.
pub(crate) fn of(id: &str, queue: &str, hooks: &Hooks, members: &[Member]) -> TaskCover {
    // A matrix's combination reads its own commands, values substituted.
    let (hook, source) = crate::plan::hook_of(id, queue, hooks);
    let own = hook
        .as_deref()
        .filter(|_| source == crate::plan::HookSource::Task);
    let queued = match source {
        crate::plan::HookSource::Queue => hook.as_deref(),
        _ => hooks.get(queue),
    };
    let declared = own
        .and_then(|h| h.covers.as_ref().map(|c| (c, "task hook")))
        .or_else(|| queued.and_then(|h| h.covers.as_ref().map(|c| (c, "queue hook"))));
    if let Some((covers, which)) = declared {
        return declared_cover(covers, which);
    }
    match own.or(queued) {
        None => TaskCover {
            crates: Crates::Everything,
            paths: Vec::new(),
            source: "no hook: nothing to infer from".into(),
        },
        Some(hook) => infer(&hook.commands, members),
    }
}

fn declared_cover(covers: &Covers, which: &str) -> TaskCover {
    TaskCover {
        crates: Crates::Some(covers.crates.iter().cloned().collect()),
        paths: covers.paths.clone(),
        source: format!("declared (`covers` in the {which})"),
    }
}

/// The union of what each command reads; one command that cannot be read makes the
/// whole task run always.
pub(crate) fn infer(commands: &[Command], members: &[Member]) -> TaskCover {
    let mut crates = BTreeSet::new();
    let mut all = false;
    let mut why = Vec::new();
    for command in commands {
        match infer_one(command, members) {
            Inferred::Crates(names, how) => {
                why.push(how);
                crates.extend(names);
            }
            Inferred::All(how) => {
                why.push(how);
                all = true;
            }
            Inferred::Unknown(how) => {
                return TaskCover {
                    crates: Crates::Everything,
                    paths: Vec::new(),
                    source: format!("inferred: {how}, so it always runs"),
                }
            }
        }
    }
    if commands.is_empty() {
        return TaskCover {
            crates: Crates::Everything,
            paths: Vec::new(),
            source: "inferred: the hook has no commands".into(),
        };
    }
    TaskCover {
        crates: if all {
            Crates::All
        } else {
            Crates::Some(crates)
        },
        paths: Vec::new(),
        source: format!("inferred: {}", why.join("; ")),
    }
}

enum Inferred {
    Crates(Vec<String>, String),
    All(String),
    Unknown(String),
}

fn infer_one(command: &Command, members: &[Member]) -> Inferred {
    let argv = &command.cmd;
    let shown = argv.join(" ");
    if command.shell.is_some() {
        return Inferred::Unknown("a `shell` script".into());
    }
    let is_cargo = argv
        .first()
        .and_then(|p| Path::new(p).file_name())
        .is_some_and(|f| f == "cargo");
    if !is_cargo {
        return Inferred::Unknown(format!("`{shown}` is not a cargo command"));
    }
    let mut packages = Vec::new();
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workspace" | "--all" => {
                return Inferred::All(format!("`{shown}` builds the whole workspace"))
            }
            "--manifest-path" => {
                return Inferred::All(format!("`{shown}` names a manifest"));
            }
            "-p" | "--package" => match args.next() {
                Some(name) => packages.push(name.clone()),
                None => return Inferred::Unknown(format!("`{shown}` has `{arg}` without a name")),
            },
            other => {
                if let Some(name) = other
                    .strip_prefix("--package=")
                    .or_else(|| other.strip_prefix("-p").filter(|n| !n.is_empty()))
                {
                    packages.push(name.to_owned());
                } else if other.starts_with("--manifest-path=") {
                    return Inferred::All(format!("`{shown}` names a manifest"));
                } else if other == "--" {
                    break;
                }
            }
        }
    }
    // A package spec may carry a version or be a glob; only plain member names narrow.
    if !packages.is_empty() {
        if packages
            .iter()
            .all(|p| members.iter().any(|m| &m.name == p))
        {
            return Inferred::Crates(
                packages.clone(),
                format!("`{shown}` names -p {}", packages.join(", ")),
            );
        }
        return Inferred::All(format!(
            "`{shown}` names packages that are not plain member names"
        ));
    }
    let cwd = command.cwd().trim_start_matches("./").trim_end_matches('/');
    let cwd = if cwd == "." { "" } else { cwd };
    if !cwd.is_empty() {
        if let Some(m) = members.iter().find(|m| m.dir == cwd) {
            return Inferred::Crates(
                vec![m.name.clone()],
                format!("`{shown}` runs in `{cwd}`, the directory of `{}`", m.name),
            );
        }
    }
    Inferred::All(format!("`{shown}` without -p runs on the whole workspace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<Member> {
        ["core", "util", "cli"]
            .iter()
            .map(|n| Member {
                name: (*n).into(),
                dir: format!("crates/{n}"),
            })
            .collect()
    }

    fn cmd(argv: &[&str], cwd: Option<&str>) -> Command {
        serde_json::from_value(serde_json::json!({ "cmd": argv, "cwd": cwd })).unwrap()
    }

    #[test]
    fn dash_p_names_the_crates() {
        let c = infer(
            &[cmd(
                &["cargo", "test", "-p", "core", "--package=util"],
                None,
            )],
            &members(),
        );
        assert_eq!(
            c.crates,
            Crates::Some(["core".into(), "util".into()].into())
        );
        let c = infer(&[cmd(&["cargo", "test", "-pcore"], None)], &members());
        assert_eq!(c.crates, Crates::Some(["core".into()].into()));
    }

    #[test]
    fn workspace_or_no_dash_p_covers_all_crates() {
        for argv in [
            &["cargo", "test", "--workspace"][..],
            &["cargo", "clippy"][..],
        ] {
            assert_eq!(infer(&[cmd(argv, None)], &members()).crates, Crates::All);
        }
    }

    #[test]
    fn a_member_directory_covers_that_crate() {
        let c = infer(&[cmd(&["cargo", "test"], Some("crates/cli"))], &members());
        assert_eq!(c.crates, Crates::Some(["cli".into()].into()));
    }

    #[test]
    fn anything_else_always_runs() {
        let c = infer(&[cmd(&["make", "docs"], None)], &members());
        assert_eq!(c.crates, Crates::Everything);
        assert!(
            c.source.contains("`make docs` is not a cargo command"),
            "{}",
            c.source
        );
        let c = infer(
            &[cmd(&["cargo", "test", "-p", "core@1.0"], None)],
            &members(),
        );
        assert_eq!(c.crates, Crates::All);
        // Text after `--` belongs to the test binary, not to cargo.
        let c = infer(
            &[cmd(
                &["cargo", "test", "-p", "core", "--", "--workspace"],
                None,
            )],
            &members(),
        );
        assert_eq!(c.crates, Crates::Some(["core".into()].into()));
    }
}
