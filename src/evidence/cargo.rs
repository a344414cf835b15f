//! What cargo itself said during a task, when the cargo agent ran it: compiler
//! diagnostics as structured findings, and one outcome per test.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A task's cargo evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct CargoEvidence {
    /// Errors (and warnings when the hook asks for them), in the order cargo gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) findings: Vec<Finding>,
    /// One outcome per test that ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tests: Vec<TestOutcome>,
    /// Whether warnings were recorded (the hook asked): only then can this run serve as
    /// a baseline for the new-warnings gate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) warnings_recorded: bool,
    /// Findings left out past the cap per command.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) findings_dropped: usize,
    /// The new-warnings gate's verdict, when the hook asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gate: Option<WarningGate>,
    /// The packages cargo compiled for this task (not fresh), as `name@version`, each
    /// once, sorted: what `check` counts when per-crate `-p` tasks compile a dependency
    /// again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) compiled: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the new-warnings gate compared, and what it found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct WarningGate {
    /// The run compared with (its directory name), when one had this task's warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) baseline: Option<String>,
    /// Warnings that the baseline did not have (marked `new` among the findings).
    pub(crate) new_warnings: usize,
    /// Why nothing was compared, when no baseline had this task's warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// One compiler diagnostic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Finding {
    /// "error", "warning", ...
    pub(crate) level: String,
    /// The lint or error code, e.g. "E0308" or "clippy::unwrap_used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    /// Source file, relative to the workspace root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
    /// The compiler's own rendering (plain text, colours removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rendered: Option<String>,
    /// A warning that the baseline run did not have (the new-warnings gate).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) new: bool,
}

/// One test's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct TestOutcome {
    /// Full test path, e.g. "tests::adds".
    pub(crate) name: String,
    /// The package the test belongs to.
    #[serde(default)]
    pub(crate) package: String,
    /// The test binary (target name), e.g. "integration" or "lib".
    #[serde(default)]
    pub(crate) binary: String,
    /// "passed", "failed" or "ignored".
    pub(crate) status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<u64>,
    /// For a failure: the panic message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// For a failure: where it panicked, relative to the workspace root when the file
    /// is inside it, else as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) column: Option<u32>,
}
