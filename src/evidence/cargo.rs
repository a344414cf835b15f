//! What cargo itself said during a task, when the cargo agent ran it: compiler
//! diagnostics as structured findings, and one outcome per test.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A task's cargo evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CargoEvidence {
    /// Errors (and warnings when the hook asks for them), in the order cargo gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// One outcome per test that ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestOutcome>,
}

/// One compiler diagnostic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// "error", "warning", ...
    pub level: String,
    /// The lint or error code, e.g. "E0308" or "clippy::unwrap_used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    /// Source file, relative to the workspace root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The compiler's own rendering (plain text, colours removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
}

/// One test's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TestOutcome {
    /// Full test path, e.g. "tests::adds".
    pub name: String,
    /// The package the test belongs to.
    #[serde(default)]
    pub package: String,
    /// The test binary (target name), e.g. "integration" or "lib".
    #[serde(default)]
    pub binary: String,
    /// "passed", "failed" or "ignored".
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For a failure: the panic message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a failure: where it panicked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}
