//! Which shard of which plan a run was, so that shards of one plan can be merged and a
//! missing one named.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A run of one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ShardStamp {
    /// 1-based.
    pub(crate) index: u32,
    pub(crate) total: u32,
    /// Hash of the plan (and the sot.md, hooks.json and manifest.json it came from)
    /// that every shard of one run shares.
    pub(crate) plan_hash: String,
    /// The ids the plan gave this shard, so that a merge can tell a task the shard was
    /// given but did not report (narrowed by id, results deleted) from one it never had.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) assigned: Vec<String>,
    /// What the plan estimated this shard to take, ms, so the merged report can put it
    /// beside what it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) estimate_ms: Option<u64>,
}
