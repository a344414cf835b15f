//! `covers` in a hook: what a task reads, so that `--affected` can leave it out when a
//! change cannot touch it.
//!
//! ```json
//! { "TASK-010": { "commands": [...], "covers": { "crates": ["core"], "paths": ["docs/**"] } } }
//! ```

use serde::{Deserialize, Serialize};

/// The crates (workspace members, by package name) and the paths (globs relative to the
/// workspace root) a task's outcome depends on. A change to an affected crate — or to a
/// crate it depends on — or to a matching path makes the task run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Covers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) crates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) paths: Vec<String>,
}
