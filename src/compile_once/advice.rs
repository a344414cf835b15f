//! What `check` says about compile once: per-crate `cargo test -p` hooks that would
//! each re-resolve features (when it is off), and, when it is on, which hooks it takes
//! over and which it leaves alone, with why.

use super::cost::{is_split_test, SplitCost};
use crate::config::{Hook, Hooks};

/// One piece of advice about a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advice {
    /// A warning (else a note, shown with `-v`).
    pub(crate) warning: bool,
    /// The hooks.json key it is about.
    pub(crate) key: String,
    pub(crate) message: String,
    pub(crate) help: String,
}

/// Whether `hook` runs `cargo test -p` for tests other than doctests: a hook meant to
/// be split. (`cargo test --workspace`, and `--doc`, which compile once leaves to a
/// task of its own, are fine as they are.)
fn tests_packages(hook: &Hook) -> bool {
    hook.commands.iter().any(|c| is_split_test(&c.argv()))
}

/// The advice for `hooks`, with manifest.json's `compile_once` as given, and what split
/// test tasks cost in an earlier run when one shows it.
pub(crate) fn advise(hooks: &Hooks, compile_once: bool, cost: Option<&SplitCost>) -> Vec<Advice> {
    let splits: Vec<(&str, String)> = hooks
        .iter()
        .filter_map(|(key, hook)| super::split(hook).ok().map(|s| (key, s.package)))
        .collect();
    if !compile_once {
        if splits.len() < 2 {
            return Vec::new();
        }
        let keys: Vec<&str> = splits.iter().map(|(k, _)| *k).take(5).collect();
        let more = if splits.len() > keys.len() {
            ", …"
        } else {
            ""
        };
        let measured = cost.map_or(String::new(), |c| format!("; {}", c.describe()));
        return vec![Advice {
            warning: true,
            key: splits[0].0.to_owned(),
            message: format!(
                "{} hooks run `cargo test -p <package>` ({}{more}): each resolves features for its own package, so shared dependencies can be compiled again for each, and each holds the target dir while its tests run{measured}",
                splits.len(),
                keys.join(", ")
            ),
            help: "set \"compile_once\": true in manifest.json: one `cargo test --workspace --no-run` compiles them all, then each task runs its package's test binaries in parallel; doctests then need a task of their own (`cargo test --workspace --doc`)".into(),
        }];
    }
    let mut advice: Vec<Advice> = hooks
        .iter()
        .filter(|(_, hook)| tests_packages(hook))
        .filter_map(|(key, hook)| {
            let why = super::split(hook).err()?;
            Some(Advice {
                warning: true,
                key: key.to_owned(),
                message: format!("hook `{key}` runs `cargo test` but is not compiled once: {why}"),
                help: "compile once takes over hooks of exactly one command `cargo test -p <package>` (plus --locked, --offline, --frozen, -q, and arguments after `--`); this one runs as written".into(),
            })
        })
        .collect();
    advice.extend(splits.iter().map(|(key, package)| Advice {
        warning: false,
        key: (*key).to_owned(),
        message: format!(
            "hook `{key}` is compiled once: it runs the test binaries of `{package}` after one shared `cargo test --workspace --no-run`"
        ),
        help: "doctests are not part of that compile; run them in a task of their own (`cargo test --workspace --doc`)".into(),
    }));
    advice
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn hooks(json: &str) -> Hooks {
        let src = SourceFile::from_bytes("hooks.json".into(), json.as_bytes().to_vec()).unwrap();
        Hooks::load(src).unwrap()
    }

    const TWO: &str = r#"{
        "A": {"commands": [{"cmd": ["cargo", "test", "-p", "a"]}]},
        "B": {"commands": [{"cmd": ["cargo", "test", "-p", "b"]}]},
        "C": {"commands": [{"cmd": ["cargo", "test", "-p", "c", "--features", "x"]}]},
        "D": {"commands": [{"cmd": ["cargo", "fmt"]}]},
        "E": {"commands": [{"cmd": ["cargo", "test", "--workspace", "--doc"]}]},
        "F": {"commands": [{"cmd": ["cargo", "test", "--workspace"]}]}
    }"#;

    #[test]
    fn split_tests_get_a_warning_when_compile_once_is_off() {
        let advice = advise(&hooks(TWO), false, None);
        assert_eq!(advice.len(), 1);
        assert!(advice[0].warning && advice[0].key == "A");
        assert!(
            advice[0].message.starts_with("2 hooks run `cargo test -p"),
            "{advice:?}"
        );
        assert!(advice[0].help.contains("\"compile_once\": true"));
        assert!(advise(
            &hooks(r#"{"A": {"commands": [{"cmd": ["cargo", "test", "-p", "a"]}]}}"#),
            false,
            None
        )
        .is_empty());
    }

    #[test]
    fn with_compile_once_each_test_hook_is_explained() {
        let advice = advise(&hooks(TWO), true, None);
        let warnings: Vec<_> = advice.iter().filter(|a| a.warning).collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].key, "C");
        assert!(
            warnings[0].message.contains("`--features` changes"),
            "{warnings:?}"
        );
        let notes: Vec<&str> = advice
            .iter()
            .filter(|a| !a.warning)
            .map(|a| a.key.as_str())
            .collect();
        assert_eq!(notes, ["A", "B"]);
        assert!(advice[1].help.contains("doctests"));
    }
}
