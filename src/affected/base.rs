//! The affected rules as the base has them. The change under test must never decide
//! what it skips (as GitHub reads `pull_request_target` workflows from the base): a pull
//! request adding `ignore = ["**"]` is judged by the rules it wants to change.

use std::path::Path;

use serde::Serialize;

use super::git::Repo;
use super::rules::AffectedRules;

/// Where the rules of a decision came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RulesOrigin {
    /// The commit they were read from (the merge base).
    pub(crate) commit: String,
    /// Whether the change edits them (its rules apply once it is merged).
    pub(crate) edited: bool,
}

/// `[workspace.metadata.tek.affected]` (else `[package.metadata.tek.affected]`, as
/// `workspace.rs` reads it) from the root Cargo.toml at `commit`. No manifest there (a
/// new workspace) means the built-in rules only; a manifest or table that cannot be read
/// is an error, and the caller runs everything.
pub(super) fn rules_at(repo: &Repo, commit: &str, prefix: &Path) -> Result<AffectedRules, String> {
    let rel = prefix.join("Cargo.toml");
    let Some(bytes) = repo.show(commit, &rel.to_string_lossy()) else {
        return Ok(AffectedRules::default());
    };
    let text =
        String::from_utf8(bytes).map_err(|_| "the root Cargo.toml is not UTF-8".to_owned())?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("the root Cargo.toml does not parse: {e}"))?;
    let tek = |top: &str| {
        table
            .get(top)
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("tek"))
    };
    let Some(affected) = tek("workspace")
        .or_else(|| tek("package"))
        .and_then(|t| t.get("affected"))
    else {
        return Ok(AffectedRules::default());
    };
    affected
        .clone()
        .try_into()
        .map_err(|e| format!("invalid [workspace.metadata.tek.affected]: {e}"))
}
