//! What a merged run records about where its results came from: in run.json, so the
//! report can name a missing shard and give each matrix leg its own section.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::RunStatus;

/// How a run was merged from the runs of shards and matrix legs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct MergeStamp {
    /// One per leg, in the order the report shows them; a merge of the shards of one
    /// plan has one leg.
    pub(crate) legs: Vec<MergedLeg>,
    /// Results that came twice (the same shard uploaded by two attempts, the same task
    /// in two runs) and were kept once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) duplicates: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One matrix leg: its runs (one, or one per shard) and where its results are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct MergedLeg {
    /// From the job and matrix values recorded at run time; empty when none were.
    pub(crate) name: String,
    /// The plan hash its shards share, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) plan_hash: Option<String>,
    /// How many shards the plan has, when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shards: Option<u32>,
    /// Planned shards with no run (rendered as missing with `--allow-missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) missing: Vec<u32>,
    /// Tasks of the missing shards listed as not run, from the plan file given to the
    /// merge (`--plan`); without one, nobody knows them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) missing_tasks: usize,
    /// The leg's status, as one run's would be (a missing shard makes it `error`).
    pub(crate) status: RunStatus,
    /// Its results are `results[first .. first + count]` of the merged run.
    pub(crate) first: usize,
    pub(crate) count: usize,
    pub(crate) runs: Vec<MergedSource>,
}

/// One run that went into the merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct MergedSource {
    pub(crate) run_id: String,
    /// The shard it ran (1-based), when sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<u32>,
    pub(crate) status: RunStatus,
    /// cargo-tek stopped before finishing it (a `kill -9`, a cancelled job): its
    /// results come from its journal, which is kept under `sources/`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) incomplete: bool,
    pub(crate) tasks: usize,
    /// What the run took, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<u64>,
    /// What the plan estimated its shard to take, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) estimate_ms: Option<u64>,
}
