//! `cargo tek check`: validates sot.md and the config together, beyond what parsing
//! already guarantees.

use std::collections::HashSet;
use std::path::Path;

use crate::config::key_range;
use crate::cwd;
use crate::plan::HookSource;
use crate::project::Project;
use crate::source::SourceDiagnostic;

/// How serious a finding is. Errors make `check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// One thing `check` found.
#[derive(Debug)]
pub struct Finding {
    pub severity: Severity,
    pub diagnostic: SourceDiagnostic,
}

/// Runs every check. `path` is the PATH used to find programs.
pub fn check(project: &Project, path: Option<&std::ffi::OsStr>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let root = &project.workspace.root;
    let ids: HashSet<&str> = project.plan.tasks().map(|(_, t)| t.id.as_str()).collect();
    let queues: HashSet<&str> = project
        .plan
        .queues
        .iter()
        .map(|q| q.name.as_str())
        .collect();

    if let Some(src) = &project.hooks.source {
        for (key, hook) in project.hooks.iter() {
            let range = key_range(&src.text, key);
            if !ids.contains(key) && !queues.contains(key) {
                findings.push(Finding {
                    severity: Severity::Error,
                    diagnostic: src.diagnostic(
                        format!(
                            "hook `{key}` names no task or queue in {}",
                            project.sot.name
                        ),
                        vec![(range.clone(), "unknown task id or queue name".into())],
                        Some(
                            match crate::sot::closest(key, ids.iter().chain(&queues).copied()) {
                                Some(near) => format!("did you mean `{near}`? keys are task ids or full queue names (with the em dash)"),
                                None => "keys are task ids or full queue names (with the em dash)".into(),
                            },
                        ),
                    ),
                });
            }
            for command in &hook.commands {
                if let Err(e) = cwd::resolve(root, command.cwd(), false) {
                    findings.push(Finding {
                        severity: Severity::Error,
                        diagnostic: src.diagnostic(
                            format!("hook `{key}`: {e}"),
                            vec![(range.clone(), "in this hook".into())],
                            Some(
                                "a cwd is relative to the workspace root and stays inside it"
                                    .into(),
                            ),
                        ),
                    });
                    continue;
                }
                let argv = command.argv();
                let Some(program) = argv.first() else {
                    continue;
                };
                let dir = root.join(command.cwd());
                if let Err(message) = find_program(program, &dir, path) {
                    findings.push(Finding {
                        severity: Severity::Error,
                        diagnostic: src.diagnostic(
                            format!("hook `{key}`: program `{program}` {message}"),
                            vec![(range.clone(), "in this hook".into())],
                            Some("install it, or fix the program name in the command".into()),
                        ),
                    });
                }
            }
        }
    }

    if let Some(src) = &project.manifest_source {
        for (name, _) in project.manifest.queues.iter() {
            if !queues.contains(name) {
                findings.push(Finding {
                    severity: Severity::Error,
                    diagnostic: src.diagnostic(
                        format!(
                            "manifest names queue `{name}`, which is not in {}",
                            project.sot.name
                        ),
                        vec![(key_range(&src.text, name), "unknown queue".into())],
                        Some("queue names must match sot.md exactly".into()),
                    ),
                });
            }
        }
        for rule in &project.manifest.layers {
            for id in rule.ids.iter().filter(|id| !ids.contains(id.as_str())) {
                let range = src
                    .text
                    .find(&format!("\"{id}\""))
                    .map_or(0..0, |s| s..s + id.len() + 2);
                findings.push(Finding {
                    severity: Severity::Warning,
                    diagnostic: src.diagnostic(
                        format!("layer `{}` lists unknown task `{id}`", rule.name),
                        vec![(range, "no such task".into())],
                        None,
                    ),
                });
            }
        }
    }

    // Indexed once: a 50,000-task plan must not make this quadratic.
    let ranges: std::collections::HashMap<&str, std::ops::Range<usize>> = project
        .document
        .tasks()
        .map(|(_, t)| (t.id.as_str(), t.range.clone()))
        .collect();
    for (queue, task) in project.plan.tasks() {
        if task
            .runs
            .as_ref()
            .is_some_and(|r| r.hook == HookSource::None)
        {
            let range = ranges.get(task.id.as_str()).cloned().unwrap_or(0..0);
            findings.push(Finding {
                severity: Severity::Note,
                diagnostic: project.sot.diagnostic(
                    format!(
                        "task `{}` in `{}` has no hook and will run as a noop",
                        task.id, queue.name
                    ),
                    vec![(range, "no hook for this task or its queue".into())],
                    None,
                ),
            });
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

/// Finds a program the way the spawn will: a path containing `/` relative to the
/// command's cwd, otherwise a search of PATH.
fn find_program(program: &str, cwd: &Path, path: Option<&std::ffi::OsStr>) -> Result<(), String> {
    if program.contains('/') {
        let candidate = cwd.join(program);
        return match std::fs::metadata(&candidate) {
            Ok(meta) if is_executable(&meta) => Ok(()),
            Ok(_) => Err("is not executable".into()),
            Err(_) => Err(format!(
                "does not exist (looked at {})",
                candidate.display()
            )),
        };
    }
    which::which_in(program, path, cwd)
        .map(|_| ())
        .map_err(|_| "was not found on PATH".into())
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}
