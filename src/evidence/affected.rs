//! How an `--affected` run chose its tasks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The base the change was measured against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AffectedStamp {
    /// The base as asked for, e.g. "origin/main".
    pub base: String,
    /// The merge base commit, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_base: Option<String>,
    /// How many paths changed.
    #[serde(default)]
    pub changed_paths: usize,
    /// Why every task ran, when the change could not narrow the run (a shallow clone,
    /// a toolchain change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub everything: Option<String>,
    /// How many tasks the change affects (the rest are skipped, `unaffected`).
    #[serde(default)]
    pub selected: usize,
}

/// The reason of a task that `--affected` left out.
pub const UNAFFECTED: &str = "unaffected";

/// Whether `result` is a task `--affected` left out: skipped because the change does
/// not reach it, which does not fail the run.
pub fn is_unaffected(result: &super::TaskResult) -> bool {
    result.status == super::TaskStatus::Skipped && result.reason.as_deref() == Some(UNAFFECTED)
}
