//! Affected runs: which tasks a change can affect, and why. Changed paths come from
//! git (against the merge base), changed crates from the package graphs of both commits
//! (`determinator`), and each task's reach from its `covers` (declared or inferred).
//! Nothing here prints: `output::affected` shows a [`Decision`].
//!
//! Composition: the decision becomes a filter over the task set
//! ([`crate::runner::Selection::affected`], see [`select`]), applied with `--only` and
//! `--queue`; sharding plans its shards over the tasks the selection includes.

mod base;
mod covers;
mod decide;
mod definition;
mod explain;
mod git;
mod graph;
mod paths;
mod rules;
mod select;
mod validate;

pub(crate) use covers::Crates;
pub(crate) use git::ls_files;
// The result cache (`crate::cache`) hashes what a task covers, as `--affected` reads it.
pub(crate) use covers::{of as cover_of, Member};
pub(crate) use decide::{decide, Inputs};
pub(crate) use explain::{Decision, Reason};
pub(crate) use graph::{load as load_graph, local_packages, within as within_dir};
pub(crate) use rules::{glob, RuleMatch, Rules, BUILTIN_EVERYTHING};
pub(crate) use rules::{ignores_overruled, AffectedRules};
pub(crate) use select::select;
pub(crate) use validate::{validate as validate_covers, Known};
