//! Why runs could not be merged. All of them are the user's input (exit 1), except a
//! failure to write the merged run directory.

use std::path::PathBuf;

/// A refusal to merge.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MergeError {
    #[error(
        "runs of different plans cannot be merged{leg}: `{first}` ran plan {first_hash} and `{second}` ran plan {second_hash}; merge the shards of one `plan --shards` run (same commit, same plan.json)"
    )]
    PlanMismatch {
        leg: String,
        first: PathBuf,
        first_hash: String,
        second: PathBuf,
        second_hash: String,
    },
    #[error("`{dir}` says it is shard {index} of {total}, which is not a shard of that plan")]
    BadShard {
        dir: PathBuf,
        index: u32,
        total: u32,
    },
    #[error("{leg}mixes runs with shard stamps and runs without (`{sharded}` and `{plain}`); merge the shards of one plan, or name the legs (CARGO_TEK_LEG)")]
    Mixed {
        leg: String,
        sharded: PathBuf,
        plain: PathBuf,
    },
    #[error("{leg}{} missing: no run of {} among the merged runs (a job that failed before uploading, or an artifact that was not downloaded); pass --allow-missing to report without {}", missing_list(.missing, *.total), if .missing.len() == 1 { "it" } else { "them" }, if .missing.len() == 1 { "it" } else { "them" })]
    Missing {
        leg: String,
        missing: Vec<u32>,
        total: u32,
    },
}

/// `shard 2/4` or `shards 2/4, 3/4`.
pub(crate) fn missing_list(missing: &[u32], total: u32) -> String {
    let list: Vec<String> = missing.iter().map(|k| format!("{k}/{total}")).collect();
    match list.len() {
        1 => format!("shard {}", list[0]),
        _ => format!("shards {}", list.join(", ")),
    }
}
