//! The scheduler's side of compile once (see [`crate::compile_once`]): which tasks are
//! split, the one shared compile (started when the first of them is ready, holding the
//! target dir like any cargo build), and what each split task does once it is done.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::claims;
use super::resources::{Pool, Resource};
use crate::agent::RunEnv;
use crate::compile_once::{self, Compiled, Split};
use crate::config::{Hook, Hooks, Manifest};
use crate::plan::{Graph, Node, Plan};
use crate::supervise::Cancel;

enum State {
    Idle,
    Running,
    Done(Box<Compiled>),
}

/// What a ready task should do now.
pub enum Step {
    /// Not a split task: run it as configured.
    AsConfigured,
    /// Run this hook (its package's test binaries).
    Run(Hook),
    /// The compile failed: the task fails with this reason and the compile's command.
    Fail(String, Box<crate::evidence::CommandRecord>),
    /// Wait for the compile (started now when `compile` is Some, to be spawned).
    Wait {
        compile: Option<std::pin::Pin<Box<dyn Future<Output = Compiled> + Send>>>,
    },
}

/// Compile once for one run.
pub struct Once {
    splits: HashMap<usize, (Hook, Split)>,
    state: State,
    claims: Vec<Resource>,
    root: PathBuf,
    flags: Vec<String>,
}

impl Once {
    /// Finds the split tasks among those selected (none unless manifest.json asks for
    /// compile once, and none in a dry run).
    pub fn new(
        inputs: (&Plan, &Graph, &Hooks, &Manifest),
        selected: &[bool],
        context: &claims::Context,
        dry_run: bool,
    ) -> Self {
        let (plan, graph, hooks, manifest) = inputs;
        let mut splits = HashMap::new();
        if manifest.compile_once && !dry_run && context.target_dir.is_some() {
            for (node, n) in graph.nodes.iter().enumerate() {
                let Node::Task { queue, index } = *n else {
                    continue;
                };
                if !selected[node] {
                    continue;
                }
                let (q, task) = (&plan.queues[queue], &plan.queues[queue].tasks[index]);
                if let (Some(hook), _) = crate::plan::hook_of(&task.id, &q.name, hooks) {
                    if let Ok(split) = compile_once::split(&hook) {
                        splits.insert(node, (hook.into_owned(), split));
                    }
                }
            }
        }
        let mut flags: Vec<String> = splits
            .values()
            .flat_map(|(_, s)| s.cargo_flags.iter().cloned())
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
            claims,
            root: context.root.clone(),
            flags,
        }
    }

    /// Whether `node` is a split task.
    pub fn is_split(&self, node: usize) -> bool {
        self.splits.contains_key(&node)
    }

    /// What the ready `node` does now.
    pub fn step(
        &mut self,
        node: usize,
        pool: &mut Pool,
        env: &Arc<RunEnv>,
        cancel: &watch::Receiver<Cancel>,
    ) -> Step {
        let Some((hook, split)) = self.splits.get(&node) else {
            return Step::AsConfigured;
        };
        match &self.state {
            State::Done(compiled) => match &compiled.result {
                Ok(artifacts) => match compile_once::rewrite(hook, split, artifacts, &self.root) {
                    Ok(hook) => Step::Run(hook),
                    Err(why) => Step::Fail(why, Box::new(compiled.record.clone())),
                },
                Err(why) => Step::Fail(why.clone(), Box::new(compiled.record.clone())),
            },
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

    /// One outcome per test of a split task, read from its binaries' logs with
    /// libtest's parser (None for other tasks).
    pub fn tests(
        &self,
        node: usize,
        result: &crate::evidence::TaskResult,
        run_dir: &std::path::Path,
    ) -> Option<crate::evidence::cargo::CargoEvidence> {
        let (_, split) = self.splits.get(&node)?;
        let mut tests = Vec::new();
        for command in &result.commands {
            let (Some(exe), Some(log)) = (command.cmd.first(), &command.log) else {
                continue;
            };
            // `deps/<target>-<hash>`: the target's name, as cargo calls the binary.
            let file = std::path::Path::new(exe)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let binary = file
                .rsplit_once('-')
                .map_or(file.as_str(), |(name, _)| name);
            let Ok(text) = std::fs::read(run_dir.join(log)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text);
            tests.extend(crate::cargo::libtest::parse(&text, &split.package, binary));
        }
        Some(crate::evidence::cargo::CargoEvidence {
            tests,
            ..Default::default()
        })
    }

    /// The compile ended: its target dir is free again.
    pub fn finished(&mut self, compiled: Compiled, pool: &mut Pool) {
        pool.release(&self.claims);
        self.state = State::Done(Box::new(compiled));
    }

    /// What a waiting task waits for, for the display.
    pub fn waits_for(&self) -> String {
        "the workspace test compile".into()
    }
}
