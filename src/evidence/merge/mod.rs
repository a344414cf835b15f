//! `report --merge`: the runs of the shards of one plan, and of the legs of a matrix,
//! merged into one run directory that every report flag works on unchanged.

mod combine;
mod error;
mod find;
mod planned;
mod stamp;
mod write;

pub(crate) use combine::{combine, Missing};
pub(crate) use error::missing_list;
pub(crate) use find::run_dirs;
pub(crate) use planned::{add_missing_tasks, PlannedShard, PlannedTask};
pub(crate) use stamp::{MergeStamp, MergedLeg};
pub(crate) use write::write;
