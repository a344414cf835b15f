//! Which environment variables go into a task's cache key: a built-in allowlist of the
//! names that change what cargo and rustc build or how tests run, plus the hook's
//! `env_inputs`. Everything else in the environment is left out on purpose: CI sets
//! dozens of variables that differ on every run (`GITHUB_SHA`, `RUNNER_TEMP`) and
//! hashing them would make every key new. A variable a task really reads belongs in
//! `env_inputs`.

use std::collections::BTreeMap;
use std::ffi::OsString;

/// Names (with `*` for any run of characters) whose values change what a task builds
/// or how it runs.
pub(crate) const BUILT_IN: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTDOC",
    "RUSTUP_TOOLCHAIN",
    "RUSTC_BOOTSTRAP",
    "CARGO_BUILD_*",
    "CARGO_PROFILE_*",
    "CARGO_TARGET_*",
    "CARGO_UNSTABLE_*",
    "CARGO_INCREMENTAL",
    "CARGO_FEATURE_*",
    "RUST_TEST_THREADS",
    "RUST_MIN_STACK",
    "NEXTEST_*",
    "CC",
    "CXX",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
];

/// Allowlisted by a pattern above, but only a place on this machine: where cargo puts
/// its output does not change a result, and hashing it would keep two machines from
/// ever sharing one.
const WHERE_ONLY: &[&str] = &["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"];

/// What the key holds of one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Plain(String),
    /// A secret's value is never hashed into a key that may leave the machine; that it
    /// is set is.
    Secret,
}

/// The allowlisted variables of a task's environment, by name.
pub(crate) fn of(
    task_env: &[(OsString, OsString)],
    extra: &[String],
    is_secret: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Value> {
    let wanted = |name: &str| {
        !WHERE_ONLY.contains(&name)
            && BUILT_IN
                .iter()
                .copied()
                .chain(extra.iter().map(String::as_str))
                .any(|p| crate::redact::name_matches(p, name))
    };
    task_env
        .iter()
        .filter_map(|(k, v)| {
            let name = k.to_str()?;
            wanted(name).then(|| {
                let value = if is_secret(name) {
                    Value::Secret
                } else {
                    Value::Plain(v.to_string_lossy().into_owned())
                };
                (name.to_owned(), value)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn only_allowlisted_names_and_no_secret_values() {
        let got = of(
            &env(&[
                ("RUSTFLAGS", "-Dwarnings"),
                ("GITHUB_SHA", "abc"),
                ("CARGO_TARGET_DIR", "/tmp/t"),
                ("CARGO_PROFILE_DEV_DEBUG", "0"),
                ("MY_MODE", "fast"),
                ("MY_TOKEN", "s3cret"),
            ]),
            &["MY_*".into()],
            &|n| n == "MY_TOKEN",
        );
        let names: Vec<&str> = got.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "CARGO_PROFILE_DEV_DEBUG",
                "MY_MODE",
                "MY_TOKEN",
                "RUSTFLAGS"
            ]
        );
        assert_eq!(got["MY_TOKEN"], Value::Secret);
        assert_eq!(got["MY_MODE"], Value::Plain("fast".into()));
    }
}
