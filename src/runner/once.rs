//! The scheduler's side of compile once (see [`crate::compile_once`]): which tasks are
//! split, the one shared compile (started when the first of them is ready, holding the
//! target dir like any cargo build), and what each split task does once it is done.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::claims;
use super::resources::{Pool, Resource};
use super::routes::Routes;
use crate::compile_once::{self, Artifacts, Broken, Compiled, Split, TestBinary};
use crate::config::Hook;
use crate::evidence::cargo::CargoEvidence;
use crate::evidence::{CommandRecord, TaskResult, TaskStatus};
use crate::plan::{Graph, Node, Plan};
use crate::run_env::RunEnv;
use crate::supervise::Cancel;

enum State {
    Idle,
    Running,
    Done(Box<Compiled>),
}

/// What a ready task should do now.
pub(crate) enum Step {
    /// Not a split task: run it as configured.
    AsConfigured,
    /// Run this hook (its package's test binaries).
    // Boxed: a hook is large, and most steps are not this one.
    Run(Box<Hook>),
    /// The task cannot run its tests: it fails with this.
    Fail(Box<Failed>),
    /// Wait for the compile (started now when `compile` is Some, to be spawned).
    Wait {
        compile: Option<std::pin::Pin<Box<dyn Future<Output = Compiled> + Send>>>,
    },
}

/// A split task that fails without running anything.
pub(crate) struct Failed {
    pub(crate) reason: String,
    /// The compile's commands it shows (none for a task whose cause another one shows).
    pub(crate) commands: Vec<CommandRecord>,
    /// The compiler error, for the task that reports a broken package.
    pub(crate) cargo: Option<Box<CargoEvidence>>,
}

/// Compile once for one run.
pub(crate) struct Once {
    /// Split tasks by node: the hook, its split, the task's id.
    splits: HashMap<usize, (Hook, Split, String)>,
    state: State,
    /// After a failed compile: the task that reports each broken package's error (its
    /// own task, else the first task that needs it); the others refer to it.
    owners: HashMap<String, usize>,
    claims: Vec<Resource>,
    root: PathBuf,
    flags: Vec<String>,
}

impl Once {
    /// Finds the split tasks among those selected (none unless manifest.json asks for
    /// compile once, and none in a dry run).
    pub(crate) fn new(
        (plan, graph, routes): (&Plan, &Graph, &Routes),
        compile_once: bool,
        selected: &[bool],
        context: &claims::Context,
        dry_run: bool,
    ) -> Self {
        let mut splits = HashMap::new();
        if compile_once && !dry_run && context.target_dir.is_some() {
            for (node, n) in graph.nodes.iter().enumerate() {
                let Node::Task { queue, index } = *n else {
                    continue;
                };
                if !selected[node] {
                    continue;
                }
                if let Some(hook) = &routes.of(node).hook {
                    if let Ok(split) = compile_once::split(hook) {
                        let id = plan.queues[queue].tasks[index].id.clone();
                        splits.insert(node, (hook.clone(), split, id));
                    }
                }
            }
        }
        let mut flags: Vec<String> = splits
            .values()
            .flat_map(|(_, s, _)| s.cargo_flags.iter().cloned())
            .collect();
        flags.sort();
        flags.dedup();
        let claims = context
            .target_dir
            .iter()
            .map(|dir| Resource::CargoTarget(claims::normalize(dir)))
            .collect();
        Self {
            splits,
            state: State::Idle,
            owners: HashMap::new(),
            claims,
            root: context.root.clone(),
            flags,
        }
    }

    /// Whether `node` is a split task.
    pub(crate) fn is_split(&self, node: usize) -> bool {
        self.splits.contains_key(&node)
    }

    /// What the ready `node` does now.
    pub(crate) fn step(
        &mut self,
        node: usize,
        pool: &mut Pool,
        env: &Arc<RunEnv>,
        cancel: &watch::Receiver<Cancel>,
    ) -> Step {
        let Some((hook, split, _)) = self.splits.get(&node) else {
            return Step::AsConfigured;
        };
        match &self.state {
            State::Done(compiled) => {
                let inherited = env
                    .base_env
                    .get(compile_once::DYLIB_PATH)
                    .map(|v| v.to_string_lossy().into_owned());
                let run = |artifacts: &Artifacts| match compile_once::rewrite(
                    hook,
                    split,
                    artifacts,
                    &self.root,
                    inherited.as_deref(),
                ) {
                    Ok(hook) => Step::Run(Box::new(hook)),
                    Err(why) => Step::Fail(Box::new(Failed {
                        reason: why,
                        commands: vec![compiled.record.clone()],
                        cargo: None,
                    })),
                };
                let failed = |reason: String| {
                    Step::Fail(Box::new(Failed {
                        reason,
                        commands: std::iter::once(&compiled.record)
                            .chain(compiled.rest.as_deref())
                            .cloned()
                            .collect(),
                        cargo: None,
                    }))
                };
                match (&compiled.artifacts, &compiled.failure) {
                    (Some(artifacts), None) => run(artifacts),
                    (Some(artifacts), Some(why)) => {
                        let package = &split.package;
                        if let Some(broken) = artifacts.broken.get(package) {
                            Step::Fail(Box::new(self.broken(node, broken, None, compiled)))
                        } else if let Some(broken) = artifacts
                            .blocked
                            .get(package)
                            .and_then(|b| artifacts.broken.get(b))
                        {
                            let failed = self.broken(node, broken, Some(package), compiled);
                            Step::Fail(Box::new(failed))
                        } else if artifacts.incomplete.contains(package) {
                            failed(format!(
                                "not built: {why} before the test executables of `{package}` were built"
                            ))
                        } else {
                            run(artifacts)
                        }
                    }
                    (None, why) => failed(
                        why.clone()
                            .unwrap_or_else(|| "the workspace test compile failed".into()),
                    ),
                }
            }
            State::Running => Step::Wait { compile: None },
            State::Idle => {
                if pool.try_acquire(&self.claims).is_err() {
                    return Step::Wait { compile: None };
                }
                self.state = State::Running;
                let future = compile_once::compile(
                    self.root.clone(),
                    self.flags.clone(),
                    env.clone(),
                    cancel.clone(),
                );
                Step::Wait {
                    compile: Some(Box::pin(future)),
                }
            }
        }
    }

    /// How a task fails for a broken package: `dependent` is the task's own package
    /// when it only depends on the broken one. The task that owns the package's error
    /// shows it (the keep-going build as its command, the error as its evidence); the
    /// others name the package and that task.
    fn broken(
        &self,
        node: usize,
        broken: &Broken,
        dependent: Option<&String>,
        compiled: &Compiled,
    ) -> Failed {
        let owner = self.owners.get(&broken.package).copied();
        let n = broken.errors;
        let at = broken
            .first
            .file
            .as_ref()
            .map(|file| {
                let line = broken.first.line.map_or(String::new(), |l| format!(":{l}"));
                let col = broken
                    .first
                    .column
                    .map_or(String::new(), |c| format!(":{c}"));
                format!(", the first at {file}{line}{col}")
            })
            .unwrap_or_default();
        let errors = format!("{}{at}", crate::text::count(n, "error", "errors"));
        let name = &broken.package;
        let reason = match (dependent, owner) {
            (None, _) => format!("`{name}` did not compile: {errors}"),
            (Some(own), Some(o)) if o == node => {
                format!("not built: `{own}` depends on `{name}`, which did not compile: {errors}")
            }
            (Some(own), Some(o)) => format!(
                "not built: `{own}` depends on `{name}`, which did not compile (its error is under {})",
                self.splits.get(&o).map_or("another task", |(_, _, id)| id.as_str())
            ),
            (Some(own), None) => {
                format!("not built: `{own}` depends on `{name}`, which did not compile: {errors}")
            }
        };
        if owner.is_some_and(|o| o != node) {
            return Failed {
                reason,
                commands: Vec::new(),
                cargo: None,
            };
        }
        Failed {
            reason,
            commands: compiled.rest.as_deref().into_iter().cloned().collect(),
            cargo: Some(Box::new(CargoEvidence {
                findings: vec![broken.first.clone()],
                ..CargoEvidence::default()
            })),
        }
    }

    /// A split task ran its binaries: one outcome per test, read from their logs with
    /// libtest's parser, each under the binary's name as the cargo agent gives it
    /// (`lib`, or the target's), and a reason that names the binary that failed.
    pub(crate) fn finish(&self, node: usize, result: &mut TaskResult, run_dir: &Path) {
        let Some((_, split, _)) = self.splits.get(&node) else {
            return;
        };
        let artifacts = match &self.state {
            State::Done(compiled) => compiled.artifacts.as_deref(),
            _ => None,
        };
        let binaries: &[TestBinary] = artifacts
            .and_then(|a| a.packages.get(&split.package))
            .map_or(&[], |(_, binaries)| binaries.as_slice());
        let name = |exe: &str| -> String {
            if let Some(binary) = binaries.iter().find(|b| b.executable == Path::new(exe)) {
                return binary.name();
            }
            // `deps/<target>-<hash>`.
            let file = Path::new(exe)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            file.rsplit_once('-')
                .map_or(file.clone(), |(n, _)| n.to_owned())
        };
        let mut tests = Vec::new();
        for command in &result.commands {
            let (Some(exe), Some(log)) = (command.cmd.first(), &command.log) else {
                continue;
            };
            let Ok(text) = std::fs::read(run_dir.join(log)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text);
            tests.extend(crate::cargo::libtest::parse(
                &text,
                &split.package,
                &name(exe),
            ));
        }
        if result.status == TaskStatus::Error {
            let failed: Vec<&CommandRecord> = result
                .commands
                .iter()
                .filter(|c| {
                    c.error.is_none() && (c.signal.is_some() || c.rc.is_some_and(|rc| rc != 0))
                })
                .collect();
            if let Some(first) = failed.first() {
                let how = match (&first.signal, first.rc) {
                    (Some(signal), _) => format!("was killed by {signal}"),
                    (None, rc) => format!("exited with {}", rc.unwrap_or(-1)),
                };
                let more = match failed.len() - 1 {
                    0 => String::new(),
                    n => format!(" ({n} more failed)"),
                };
                let exe = first.cmd.first().map_or("", String::as_str);
                result.reason = Some(format!(
                    "test binary `{}` of package `{}` {how}{more}",
                    name(exe),
                    split.package
                ));
            }
        }
        result.cargo.get_or_insert_with(|| {
            Box::new(CargoEvidence {
                tests,
                ..Default::default()
            })
        });
    }

    /// The compile ended: its target dir is free again.
    pub(crate) fn finished(&mut self, compiled: Compiled, pool: &mut Pool) {
        pool.release(&self.claims);
        if let Some(artifacts) = compiled.artifacts.as_deref() {
            let mut nodes: Vec<(&usize, &Split)> =
                self.splits.iter().map(|(n, (_, s, _))| (n, s)).collect();
            nodes.sort_by_key(|(n, _)| **n);
            // A broken package's own task reports it, else the first that needs it.
            for (node, split) in &nodes {
                if artifacts.broken.contains_key(&split.package) {
                    self.owners.insert(split.package.clone(), **node);
                }
            }
            for (node, split) in &nodes {
                if let Some(broken) = artifacts.blocked.get(&split.package) {
                    self.owners.entry(broken.clone()).or_insert(**node);
                }
            }
        }
        self.state = State::Done(Box::new(compiled));
    }

    /// What a waiting task waits for, for the display.
    pub(crate) fn waits_for(&self) -> String {
        "the workspace test compile".into()
    }
}
