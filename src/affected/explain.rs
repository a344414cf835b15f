//! The decision as data: for every task, run or skip, and the reasons — the chain from a
//! changed path through the crates to the task, or the rule. `output::affected` puts it
//! in words; `--format json` prints it as is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::base::RulesOrigin;
use super::covers::{Crates, TaskCover};
use super::graph::CrateCause;

/// Why a task runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum Reason {
    /// A changed path affects every task.
    Everything { path: String, rule: String },
    /// The change could not be measured.
    Fallback { why: String },
    /// Its own definition changed (its hooks.json entry, its line in sot.md).
    Definition { what: String },
    /// A crate it covers is affected: the chain from the cause to that crate.
    Crate { chain: Vec<String> },
    /// A changed path matches one of its `covers.paths`.
    Path { path: String, glob: String },
    /// What it covers could not be inferred.
    AlwaysRuns { why: String },
    /// A task that runs waits for it.
    DependencyOf { task: String },
}

/// One task's verdict.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskDecision {
    pub(crate) id: String,
    pub(crate) queue: String,
    pub(crate) run: bool,
    /// Why it runs (empty when it does not).
    pub(crate) reasons: Vec<Reason>,
    /// Why it does not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) skip: Option<String>,
    pub(crate) cover: TaskCover,
}

/// The whole decision.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Decision {
    pub(crate) base: String,
    pub(crate) merge_base: Option<String>,
    /// Changed paths, relative to the workspace root (to the repository when outside).
    pub(crate) changed_paths: Vec<String>,
    /// Why every task runs, when one does.
    pub(crate) everything: Option<Reason>,
    /// A warning for the user (a shallow clone, a missing base), with the fix.
    pub(crate) warning: Option<String>,
    /// Where the path rules came from (the base), when the change was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rules: Option<RulesOrigin>,
    /// Affected crates and why.
    pub(crate) crates: BTreeMap<String, CrateCause>,
    pub(crate) tasks: Vec<TaskDecision>,
}

impl Decision {
    /// The ids of the tasks that run.
    pub(crate) fn selected(&self) -> BTreeSet<String> {
        self.tasks
            .iter()
            .filter(|t| t.run)
            .map(|t| t.id.clone())
            .collect()
    }
}

/// Why a task runs because of the crates it covers, if it does: any affected crate for
/// a task over all crates, one of its own for a task over some.
pub(crate) fn crate_reason(
    cover: &TaskCover,
    crates: &BTreeMap<String, CrateCause>,
) -> Option<Reason> {
    match &cover.crates {
        Crates::Everything => Some(Reason::AlwaysRuns {
            why: cover.source.clone(),
        }),
        Crates::All => crates.keys().next().map(|name| Reason::Crate {
            chain: chain(crates, name),
        }),
        Crates::Some(names) => {
            names
                .iter()
                .find(|n| crates.contains_key(*n))
                .map(|name| Reason::Crate {
                    chain: chain(crates, name),
                })
        }
    }
}

pub(super) fn skip_reason(cover: &TaskCover) -> String {
    match &cover.crates {
        Crates::Some(names) if names.is_empty() && cover.paths.is_empty() => {
            "covers nothing that changed".into()
        }
        Crates::Some(names) if names.is_empty() => {
            format!("no changed path matches {}", cover.paths.join(", "))
        }
        Crates::Some(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut s = format!("{} not affected", names.join(", "));
            if !cover.paths.is_empty() {
                s.push_str(&format!(
                    "; no changed path matches {}",
                    cover.paths.join(", ")
                ));
            }
            s
        }
        _ => "no crate is affected".into(),
    }
}

/// The chain that affects `name`: the changed path (or dependency change), then each
/// crate down to `name`.
pub(super) fn chain(crates: &BTreeMap<String, CrateCause>, name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    let mut current = name.to_owned();
    // Bounded by the number of crates: a cycle in dev-dependencies cannot loop it.
    for _ in 0..=crates.len() {
        match crates.get(&current) {
            Some(CrateCause::DependsOn { name }) => {
                out.push(name.clone());
                current = name.clone();
            }
            Some(CrateCause::Path { path }) => {
                out.push(path.clone());
                break;
            }
            Some(CrateCause::Dependencies { detail }) => {
                out.push(detail.clone());
                break;
            }
            None => break,
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(i: u8) -> String {
        format!("c{i:02}")
    }

    proptest! {
        /// Whatever the graph, a task that covers a crate the change affects — directly
        /// or through any chain of dependencies — is selected, and its chain starts at
        /// the path that changed and ends at a crate the task covers.
        #[test]
        fn a_covered_affected_crate_always_selects_the_task(
            edges in proptest::collection::vec((0u8..20, 0u8..20), 0..40),
            changed in 0u8..20,
            covered in proptest::collection::btree_set(0u8..20, 1..5),
        ) {
            // Causes as graph::affected builds them: a walk from the changed crate
            // over "depends on" edges (a, b): a depends on b.
            let mut crates = BTreeMap::new();
            crates.insert(name(changed), CrateCause::Path { path: format!("crates/{}/src/lib.rs", name(changed)) });
            let mut frontier = vec![changed];
            while let Some(n) = frontier.pop() {
                for &(a, b) in &edges {
                    if b == n && !crates.contains_key(&name(a)) {
                        crates.insert(name(a), CrateCause::DependsOn { name: name(n) });
                        frontier.push(a);
                    }
                }
            }
            let cover = TaskCover {
                crates: Crates::Some(covered.iter().map(|&i| name(i)).collect()),
                paths: Vec::new(),
                source: "declared".into(),
            };
            let hit = covered.iter().any(|&i| crates.contains_key(&name(i)));
            let reason = crate_reason(&cover, &crates);
            if hit {
                let Some(Reason::Crate { chain }) = reason else {
                    panic!("a covered affected crate did not select the task");
                };
                prop_assert!(chain.first().unwrap().starts_with("crates/"));
                prop_assert!(covered.iter().any(|&i| chain.last() == Some(&name(i))));
            } else {
                prop_assert!(reason.is_none());
            }
            // A task over all crates runs whenever anything is affected.
            let all = TaskCover { crates: Crates::All, ..cover };
            prop_assert!(crate_reason(&all, &crates).is_some());
        }
    }
}
