//! How an `--affected` run chose its tasks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The base the change was measured against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct AffectedStamp {
    /// The base as asked for, e.g. "origin/main".
    pub(crate) base: String,
    /// The merge base commit, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merge_base: Option<String>,
    /// How many paths changed.
    #[serde(default)]
    pub(crate) changed_paths: usize,
    /// Why every task ran, when the change could not narrow the run (a shallow clone,
    /// a toolchain change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) everything: Option<String>,
    /// How many tasks the change affects (the rest are skipped, `unaffected`).
    #[serde(default)]
    pub(crate) selected: usize,
}

/// The reason of a task that `--affected` left out.
pub(crate) const UNAFFECTED: &str = "unaffected";

/// Whether `result` is a task `--affected` left out: skipped because the change does
/// not reach it, which does not fail the run.
pub(crate) fn is_unaffected(result: &super::TaskResult) -> bool {
    result.status == super::TaskStatus::Skipped && result.reason.as_deref() == Some(UNAFFECTED)
}
