//! The environment a task sees: cargo-tek's own, minus credentials CI puts there and the
//! files through which a step talks to the workflow, plus the hook's variables. Text
//! from sot.md never gets here.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Variables that never reach a task unless its hook names them in `pass_env`.
pub const SCRUBBED: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
    // A task writing these files would set the environment, outputs, PATH, state or job
    // summary of later steps.
    "GITHUB_ENV",
    "GITHUB_OUTPUT",
    "GITHUB_PATH",
    "GITHUB_STATE",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ACTION_PATH",
];

/// Whether a variable is scrubbed by default.
pub fn is_scrubbed(name: &str) -> bool {
    SCRUBBED.contains(&name) || name.starts_with("INPUT_")
}

/// cargo-tek's environment, split once per run into what every task gets and the
/// scrubbed variables a hook may pass through by name.
#[derive(Debug, Clone, Default)]
pub struct BaseEnv {
    kept: Vec<(OsString, OsString)>,
    scrubbed: Vec<(OsString, OsString)>,
}

impl BaseEnv {
    /// Splits `vars` (normally `std::env::vars_os()`).
    pub fn new(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let (scrubbed, kept) = vars
            .into_iter()
            .partition(|(k, _)| is_scrubbed(&k.to_string_lossy()));
        Self { kept, scrubbed }
    }
}

/// Builds a task's environment: the base, the scrubbed variables named in `pass_env`,
/// then `extra` and the `layers` (later ones win).
pub fn task_env(
    base: &BaseEnv,
    pass_env: &[String],
    layers: &[&BTreeMap<String, String>],
    extra: &[(&str, OsString)],
) -> Vec<(OsString, OsString)> {
    let mut overlay: BTreeMap<OsString, OsString> = base
        .scrubbed
        .iter()
        .filter(|(k, _)| pass_env.iter().any(|p| k == p.as_str()))
        .cloned()
        .collect();
    for (k, v) in extra {
        overlay.insert(OsString::from(k), v.clone());
    }
    for layer in layers {
        for (k, v) in layer.iter() {
            overlay.insert(k.into(), v.into());
        }
    }
    let mut env = Vec::with_capacity(base.kept.len() + overlay.len());
    env.extend(
        base.kept
            .iter()
            .filter(|(k, _)| !overlay.contains_key(k))
            .cloned(),
    );
    env.extend(overlay);
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_scrubbed_unless_passed_through() {
        let base: Vec<(OsString, OsString)> = [
            ("GITHUB_TOKEN", "s1"),
            ("INPUT_GITHUB-TOKEN", "s2"),
            ("GH_TOKEN", "s3"),
            ("GITHUB_ENV", "/runner/env"),
            ("GITHUB_STEP_SUMMARY", "/runner/summary"),
            ("PATH", "/bin"),
        ]
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let base = BaseEnv::new(base);
        let hook = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("PATH".to_string(), "/hook/bin".to_string()),
        ]);
        let env = task_env(&base, &["GH_TOKEN".into()], &[&hook], &[]);
        let mut pairs: Vec<_> = env
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        pairs.sort();
        assert_eq!(pairs, ["A=1", "GH_TOKEN=s3", "PATH=/hook/bin"]);
    }
}
