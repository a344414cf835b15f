//! Helpers for the matrix's unit tests: hooks.json from text, refused or expanded.

use crate::config::{Hooks, JsonError};
use crate::source::{SourceDiagnostic, SourceFile};

pub(super) fn load(text: &str) -> Result<Hooks, JsonError> {
    Hooks::load(SourceFile::from_bytes("hooks.json".into(), text.as_bytes().to_vec()).unwrap())
}

pub(super) fn refused(text: &str) -> SourceDiagnostic {
    match load(text) {
        Err(JsonError::Invalid(d)) => d,
        other => panic!("{text} was not refused: {other:?}"),
    }
}

/// The ids of hook `T`'s combinations.
pub(super) fn ids(matrix: &str) -> Vec<String> {
    let hooks = load(&format!(
        r#"{{"T": {{"matrix": {matrix}, "commands": [{{"cmd": ["true"]}}]}}}}"#
    ))
    .unwrap();
    let combinations = hooks
        .get("T")
        .unwrap()
        .matrix
        .as_ref()
        .unwrap()
        .combinations();
    combinations.unwrap().iter().map(|c| c.id("T")).collect()
}
