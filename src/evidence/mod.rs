//! Evidence of a run: run.json, the journal, per-task logs and JUnit, written so that a
//! crash at any moment leaves a readable run directory.

pub(crate) mod affected;
mod atomic;
pub(crate) mod beneath;
pub(crate) mod cargo;
pub(crate) mod cargo_cause;
pub(crate) mod cause;
pub(crate) mod history;
pub(crate) mod journal;
pub(crate) mod junit;
pub(crate) mod leg;
mod load;
pub(crate) mod logs;
pub(crate) mod merge;
mod record;
pub(crate) mod recorder;
pub(crate) mod run_dir;
pub(crate) mod seal;
pub(crate) mod shard;

pub(crate) use affected::{is_unaffected, AffectedStamp, UNAFFECTED};
pub(crate) use atomic::write_atomic;
pub(crate) use load::{load_run, load_sealed, LoadedRun, RUN_JSON};
pub(crate) use record::{
    span_ms, waiting_ms, CachedFrom, CommandRecord, Counts, RunRecord, RunStatus, SandboxRecord,
    TaskResult, TaskStatus, ToolInfo, RUN_SCHEMA_VERSION,
};
