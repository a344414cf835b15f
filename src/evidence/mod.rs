//! Evidence of a run: run.json, the journal, per-task logs and JUnit, written so that a
//! crash at any moment leaves a readable run directory.

pub mod affected;
mod atomic;
pub mod beneath;
pub mod cargo;
pub mod cargo_cause;
pub mod cause;
pub mod history;
pub mod journal;
pub mod junit;
pub mod leg;
mod load;
pub mod logs;
pub mod merge;
mod record;
pub mod recorder;
pub mod run_dir;
pub mod seal;
pub mod shard;

pub use affected::{is_unaffected, AffectedStamp, UNAFFECTED};
pub use atomic::write_atomic;
pub use load::{load_run, load_sealed, LoadedRun, RUN_JSON};
pub use record::{
    span_ms, CachedFrom, CommandRecord, Counts, RunRecord, RunStatus, SandboxRecord, TaskResult,
    TaskStatus, ToolInfo, RUN_SCHEMA_VERSION,
};
