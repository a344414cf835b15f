//! The environment a task sees: cargo-tek's own, minus credentials CI puts there and the
//! files through which a step talks to the workflow, plus the hook's variables. Text
//! from sot.md never gets here.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Variables that never reach a task unless its hook names them in `pass_env`.
pub(crate) const SCRUBBED: &[&str] = &[
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
    // Registry tokens: `cargo publish` in a task must ask for one with `pass_env`.
    "CARGO_REGISTRY_TOKEN",
    // Seals the journal: a task holding it could forge the evidence it is kept from.
    "CARGO_TEK_JOURNAL_KEY",
    // The result cache's remote store: a task holding the token or the signing key could
    // write passes that other runs replay (cache poisoning).
    "CARGO_TEK_CACHE_TOKEN",
    "CARGO_TEK_CACHE_SIGNATURE_KEY",
];

/// Prefixes of variables scrubbed by default: the Action's inputs, and every `AWS_*`.
/// All of AWS rather than the three credential names: `AWS_REGION` is harmless, but
/// new credential variables keep appearing (`AWS_SECURITY_TOKEN`,
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, `AWS_WEB_IDENTITY_TOKEN_FILE`), and a hook that
/// needs one names it in `pass_env`.
pub(crate) const SCRUBBED_PREFIXES: &[&str] = &["INPUT_", "AWS_"];

/// Whether a variable is scrubbed by default.
pub(crate) fn is_scrubbed(name: &str) -> bool {
    SCRUBBED.contains(&name)
        || SCRUBBED_PREFIXES.iter().any(|p| name.starts_with(p))
        || is_registry_token(name)
}

/// `CARGO_REGISTRIES_<NAME>_TOKEN`, cargo's token for a named registry.
fn is_registry_token(name: &str) -> bool {
    name.strip_prefix("CARGO_REGISTRIES_")
        .and_then(|rest| rest.strip_suffix("_TOKEN"))
        .is_some_and(|registry| !registry.is_empty())
}

/// Whether the value of a variable is a secret, to be masked wherever cargo-tek writes
/// text: a scrubbed variable whose name says credential. The other scrubbed ones are
/// URLs, the workflow-command file paths, `AWS_REGION`, inputs such as `mode`: kept from
/// tasks, but masking them would shred every log that names a path or a region.
/// manifest.json `secrets` names more.
pub(crate) fn is_secret(name: &str) -> bool {
    const CREDENTIAL: [&str; 5] = ["TOKEN", "SECRET", "PASSWORD", "KEY", "CREDENTIAL"];
    let upper = name.to_ascii_uppercase();
    is_scrubbed(name) && CREDENTIAL.iter().any(|word| upper.contains(word))
}

/// cargo-tek's environment, split once per run into what every task gets and the
/// scrubbed variables a hook may pass through by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct BaseEnv {
    kept: Vec<(OsString, OsString)>,
    scrubbed: Vec<(OsString, OsString)>,
}

impl BaseEnv {
    /// Splits `vars` (normally `std::env::vars_os()`), scrubbing the built-in names only.
    #[cfg(test)]
    pub(crate) fn new(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Self::scrubbing(vars, |_| false)
    }

    /// Splits `vars`, scrubbing also the names `also` accepts (manifest.json `secrets`).
    pub(crate) fn scrubbing(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
        also: impl Fn(&str) -> bool,
    ) -> Self {
        let (scrubbed, kept) = vars.into_iter().partition(|(k, _)| {
            let k = k.to_string_lossy();
            is_scrubbed(&k) || also(&k)
        });
        Self { kept, scrubbed }
    }

    /// A variable every task gets (not a scrubbed one).
    pub(crate) fn get(&self, name: &str) -> Option<&std::ffi::OsStr> {
        self.kept
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }
}

/// Builds a task's environment: the base, the scrubbed variables named in `pass_env`,
/// then `extra` and the `layers` (later ones win).
pub(crate) fn task_env(
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

    #[test]
    fn registry_and_cloud_credentials_are_scrubbed_and_secret() {
        for name in [
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_CORP_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "INPUT_GITHUB-TOKEN",
            "GITHUB_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "CARGO_TEK_CACHE_TOKEN",
            "CARGO_TEK_CACHE_SIGNATURE_KEY",
        ] {
            assert!(is_scrubbed(name) && is_secret(name), "{name}");
        }
        // Scrubbed, yet no secret: masking a region or a path would shred the logs.
        for name in [
            "AWS_REGION",
            "GITHUB_ENV",
            "ACTIONS_RUNTIME_URL",
            "INPUT_MODE",
        ] {
            assert!(is_scrubbed(name) && !is_secret(name), "{name}");
        }
        for name in [
            "CARGO_REGISTRIES__TOKEN",
            "CARGO_HOME",
            "PATH",
            "MY_API_KEY",
        ] {
            assert!(!is_scrubbed(name), "{name}");
        }
        let base = BaseEnv::scrubbing(
            [
                ("MY_API_KEY".into(), "k".into()),
                ("PATH".into(), "/bin".into()),
            ],
            |n| n == "MY_API_KEY",
        );
        let env = task_env(&base, &[], &[], &[]);
        assert_eq!(env, [("PATH".into(), "/bin".into())]);
    }
}
