//! `report --merge`: the runs of the shards of one plan, and of the legs of a matrix,
//! merged into one run directory that every report flag works on unchanged.

mod combine;
mod error;
mod find;
mod planned;
mod stamp;
mod write;

pub use combine::{combine, Missing};
pub use error::missing_list;
pub use find::run_dirs;
pub use planned::{add_missing_tasks, PlannedShard, PlannedTask};
pub use stamp::{MergeStamp, MergedLeg};
pub use write::write;
