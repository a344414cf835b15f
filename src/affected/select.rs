//! A decision as a filter over the task set.

use std::collections::HashSet;

use super::Decision;

/// The ids of the tasks that run. Set it as [`crate::runner::Selection::affected`]:
/// the other filters (`--only`, `--queue`, a shard) then apply on top of it, and the
/// tasks it leaves out are recorded as skipped, reason [`crate::evidence::UNAFFECTED`].
pub(crate) fn select(decision: &Decision) -> HashSet<String> {
    decision.selected().into_iter().collect()
}
