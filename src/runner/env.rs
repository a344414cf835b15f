//! The environment a task sees: cargo-tek's own, minus credentials CI puts there, plus
//! the hook's variables. Text from sot.md never gets here.

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
];

/// Whether a variable is scrubbed by default.
pub fn is_scrubbed(name: &str) -> bool {
    SCRUBBED.contains(&name) || name.starts_with("INPUT_")
}

/// Builds a task's environment from `base` (normally the process environment).
pub fn task_env(
    base: &[(OsString, OsString)],
    pass_env: &[String],
    layers: &[&BTreeMap<String, String>],
    extra: &[(&str, OsString)],
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = base
        .iter()
        .filter(|(k, _)| {
            let name = k.to_string_lossy();
            !is_scrubbed(&name) || pass_env.iter().any(|p| *p == name)
        })
        .cloned()
        .collect();
    for (k, v) in extra {
        env.insert(OsString::from(k), v.clone());
    }
    for layer in layers {
        for (k, v) in layer.iter() {
            env.insert(k.into(), v.into());
        }
    }
    env.into_iter().collect()
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
            ("PATH", "/bin"),
        ]
        .iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let hook = BTreeMap::from([("A".to_string(), "1".to_string())]);
        let env = task_env(&base, &["GH_TOKEN".into()], &[&hook], &[]);
        let names: Vec<_> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["A", "GH_TOKEN", "PATH"]);
    }
}
