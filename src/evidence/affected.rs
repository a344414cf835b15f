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
}
