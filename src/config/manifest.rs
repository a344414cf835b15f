//! `config/manifest.json`: task id pattern, layers, agents per layer or queue, and queue
//! ordering (a queue that waits for others, or runs its tasks one at a time).
//!
//! ```json
//! {
//!   "id_pattern": "TASK-[0-9]+",
//!   "layers": [{ "name": "foundation", "from": 1, "to": 21, "agent": "shell" }],
//!   "queues": { "Queue B — Quality gates": { "after": ["Queue A — Workspace bootstrapping"], "serial": true } },
//!   "grace_period": "5s",
//!   "allowed_cwds": ["/tmp"],
//!   "secrets": ["MY_API_KEY", "DEPLOY_*"]
//! }
//! ```

use serde::{Deserialize, Serialize};

use super::json::{load_json, JsonError, UniqueMap};
use super::Duration;
use crate::source::SourceFile;

/// The manifest. Every field is optional; an absent file means all defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// Editor hint; ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// Regular expression a task id must match in the native format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_pattern: Option<String>,
    /// Layer rules, first match wins; unmatched tasks keep the default layer.
    #[serde(default)]
    pub(crate) layers: Vec<LayerRule>,
    /// Per-queue settings, keyed by the queue's full name.
    #[serde(default)]
    pub(crate) queues: UniqueMap<QueueRule>,
    /// How long a cancelled task gets between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) grace_period: Option<Duration>,
    /// Directories outside the workspace that hooks may use as their cwd (absolute, or
    /// relative to the workspace root); each is resolved once, symlinks followed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed_cwds: Vec<String>,
    /// A task the predecessor planned and cargo-tek does not is an error, not a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) strict_legacy: bool,
    /// How many tasks may hold each named resource at once (hooks.json `resources`);
    /// a resource not listed here has a capacity of 1.
    #[serde(default)]
    pub(crate) resources: UniqueMap<usize>,
    /// Per-crate `cargo test -p X` tasks share one workspace test compile and then run
    /// their own test binaries directly (see `compile_once`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) compile_once: bool,
    /// More variables holding secrets, by name or with `*` (`DEPLOY_*`): kept from tasks
    /// unless a hook names them in `pass_env`, and their values masked in everything
    /// cargo-tek writes, like the built-in list (`supervise::env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets: Vec<SecretName>,
    /// The sandbox of every hook that does not set its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sandbox: Option<super::Sandbox>,
    /// Every run uses the result cache, as `run --cache` does: a task whose inputs
    /// did not change since it last passed is not run again (see `cache`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) cache: bool,
}

/// A variable name in manifest.json `secrets`, checked while parsing so that a mistake
/// points at its line and column: letters, digits and `_`, with `*` for any run of
/// them, and at least one letter or digit (`*` alone would mask every value there is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct SecretName(String);

impl SecretName {
    /// Whether the variable `name` is one of these.
    pub(crate) fn matches(&self, name: &str) -> bool {
        crate::redact::name_matches(&self.0, name)
    }

    fn check(name: &str) -> Result<(), String> {
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '*')))
        {
            return Err(format!(
                "invalid secret name {name:?}: {c:?} is not a letter, digit, `_` or `*`"
            ));
        }
        if !name.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "invalid secret name {name:?}: name a variable, such as \"MY_API_KEY\" or \"DEPLOY_*\""
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SecretName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::check(&name).map_err(serde::de::Error::custom)?;
        Ok(Self(name))
    }
}

/// Assigns a layer (and optionally an agent) to tasks by id or by id number range.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LayerRule {
    pub(crate) name: String,
    /// Explicit task ids.
    #[serde(default)]
    pub(crate) ids: Vec<String>,
    /// Inclusive range over the id's number (`TASK-021` is 21).
    #[serde(default)]
    pub(crate) from: Option<u64>,
    #[serde(default)]
    pub(crate) to: Option<u64>,
    /// Agent for tasks of this layer.
    #[serde(default)]
    pub(crate) agent: Option<String>,
}

impl LayerRule {
    /// Whether this rule claims `id`.
    pub(crate) fn matches(&self, id: &str) -> bool {
        if self.ids.iter().any(|i| i == id) {
            return true;
        }
        if self.from.is_none() && self.to.is_none() {
            return false;
        }
        crate::sot::ids_number(id)
            .is_some_and(|n| self.from.is_none_or(|lo| n >= lo) && self.to.is_none_or(|hi| n <= hi))
    }
}

/// Settings for one queue.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueRule {
    /// Queues whose tasks must all finish before this queue's tasks start.
    #[serde(default)]
    pub(crate) after: Vec<String>,
    /// Run this queue's tasks one at a time, in document order.
    #[serde(default)]
    pub(crate) serial: bool,
    /// Agent for this queue's tasks (wins over the layer's).
    #[serde(default)]
    pub(crate) agent: Option<String>,
}

const HELP: &str = "see the README's \"manifest.json\" section for the fields";

impl Manifest {
    /// Parses and validates a manifest file.
    pub(crate) fn load(src: &SourceFile) -> Result<Self, JsonError> {
        let manifest: Manifest = load_json(src, HELP)?;
        if let Some(pattern) = &manifest.id_pattern {
            if let Err(e) = crate::sot::IdPattern::new(pattern) {
                let range = super::key_range(&src.text, "id_pattern");
                return Err(src
                    .diagnostic(
                        format!("invalid `id_pattern`: {e}"),
                        vec![(range, "this pattern".into())],
                        Some("use a regular expression such as \"OPS-[0-9]+\"".into()),
                    )
                    .into());
            }
        }
        if let Some((name, _)) = manifest.resources.iter().find(|(_, &n)| n == 0) {
            let range = super::key_range(&src.text, name);
            return Err(src
                .diagnostic(
                    format!("resource `{name}` has a capacity of 0, so no task could ever hold it"),
                    vec![(range, "this resource".into())],
                    Some("give it a capacity of 1 or more, or remove it".into()),
                )
                .into());
        }
        Ok(manifest)
    }

    /// The rule for a queue, if any.
    pub(crate) fn queue(&self, name: &str) -> Option<&QueueRule> {
        self.queues.get(name)
    }

    /// Whether `secrets` names the variable `name`.
    pub(crate) fn names_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s.matches(name))
    }

    /// The sandbox a hook runs in: its own, else this manifest's default.
    pub(crate) fn sandbox_of<'a>(&'a self, hook: &'a super::Hook) -> Option<&'a super::Sandbox> {
        hook.sandbox.as_deref().or(self.sandbox.as_ref())
    }

    /// The first layer rule claiming `id`.
    pub(crate) fn layer(&self, id: &str) -> Option<&LayerRule> {
        self.layers.iter().find(|rule| rule.matches(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_match_by_id_or_range() {
        let src = SourceFile::from_bytes(
            "manifest.json".into(),
            br#"{"layers": [
            {"name": "special", "ids": ["TASK-050"]},
            {"name": "low", "from": 1, "to": 10, "agent": "noop"}]}"#
                .to_vec(),
        )
        .unwrap();
        let m = Manifest::load(&src).unwrap();
        assert_eq!(m.layer("TASK-050").unwrap().name, "special");
        assert_eq!(m.layer("TASK-007").unwrap().name, "low");
        assert!(m.layer("TASK-011").is_none());
    }

    #[test]
    fn secrets_are_names_or_patterns_checked_with_their_position() {
        let load = |text: &str| {
            let src =
                SourceFile::from_bytes("manifest.json".into(), text.as_bytes().to_vec()).unwrap();
            Manifest::load(&src)
        };
        let m = load(r#"{"secrets": ["MY_API_KEY", "DEPLOY_*"]}"#).unwrap();
        assert!(m.names_secret("MY_API_KEY") && m.names_secret("DEPLOY_PROD"));
        assert!(!m.names_secret("MY_API_KEY_2") && !m.names_secret("PATH"));
        for (text, says, at) in [
            (
                "{\"secrets\": [\"OK\",\n  \"A-B\"]}",
                "'-' is not a letter",
                "manifest.json:2:8",
            ),
            (
                "{\"secrets\": [\"**\"]}",
                "name a variable",
                "manifest.json:1:18",
            ),
            (
                "{\"secrets\": \"MY_API_KEY\"}",
                "expected a sequence",
                "manifest.json:1:24",
            ),
        ] {
            let Err(JsonError::Invalid(d)) = load(text) else {
                panic!("{text} loads")
            };
            assert!(d.message.contains(says), "{}", d.message);
            assert_eq!(d.location, at, "{text}");
        }
    }

    #[test]
    fn bad_id_pattern_is_reported() {
        let src = SourceFile::from_bytes(
            "manifest.json".into(),
            br#"{"id_pattern": "OPS-[0-9"}"#.to_vec(),
        )
        .unwrap();
        let Err(JsonError::Invalid(d)) = Manifest::load(&src) else {
            panic!()
        };
        assert!(d.message.contains("invalid `id_pattern`"));
        assert_eq!(d.location, "manifest.json:1:2");
    }
}
