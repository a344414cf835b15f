//! Which CI job and matrix leg a run was, recorded at run time, so that the runs of a
//! matrix can be merged into one report with a section per leg.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Matrix keys that say which shard a job runs (the `plan --shards` matrix), not which
/// leg: shards of one leg merge into one section.
const SHARD_KEYS: [&str; 3] = ["shard", "tasks", "estimate"];

/// The job and matrix values of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct LegStamp {
    /// An explicit leg name (`CARGO_TEK_LEG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// `GITHUB_JOB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) job: Option<String>,
    /// The matrix values (`CARGO_TEK_MATRIX`, the JSON of `${{ toJSON(matrix) }}` that
    /// the Action passes), each as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) matrix: BTreeMap<String, String>,
    /// The `os` leg of a hook matrix this run ran (`run --leg os=…`, the job's
    /// matrix or `RUNNER_OS`): its combinations of that `os` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) os: Option<String>,
}

impl LegStamp {
    /// The leg of this process, from `CARGO_TEK_LEG`, `GITHUB_JOB` and
    /// `CARGO_TEK_MATRIX`; `None` when none is set. A matrix that is not a JSON object
    /// is ignored: it names no leg.
    pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let matrix = set("CARGO_TEK_MATRIX")
            .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
            .and_then(|v| match v {
                serde_json::Value::Object(map) => Some(
                    map.into_iter()
                        .map(|(k, v)| {
                            let text = match v {
                                serde_json::Value::String(s) => s,
                                other => other.to_string(),
                            };
                            (k, text)
                        })
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default();
        let stamp = Self {
            name: set("CARGO_TEK_LEG"),
            job: set("GITHUB_JOB"),
            matrix,
            os: None,
        };
        (stamp != Self::default()).then_some(stamp)
    }

    /// The stamp of a run on `os` leg `os` (if any), over what the environment says.
    pub(crate) fn of_run(from_env: Option<Self>, os: Option<String>) -> Option<Self> {
        match os {
            None => from_env,
            Some(os) => Some(Self {
                os: Some(os),
                ..from_env.unwrap_or_default()
            }),
        }
    }

    /// The leg's name: the explicit one, else the job and the matrix values
    /// (`test (ubuntu-latest, stable)`). With `sharded`, the matrix keys of a shard
    /// (`shard`, `tasks`, `estimate`) are left out, so every shard of a leg has its name.
    pub(crate) fn label(&self, sharded: bool) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let mut values: Vec<&str> = self
            .matrix
            .iter()
            .filter(|(k, _)| !(sharded && SHARD_KEYS.contains(&k.as_str())))
            .map(|(_, v)| v.as_str())
            .collect();
        // A leg run by hand (`--leg`) has no job matrix to name it by.
        if let Some(os) = self
            .os
            .as_deref()
            .filter(|_| !self.matrix.contains_key("os"))
        {
            values.insert(0, os);
        }
        match (&self.job, values.is_empty()) {
            (Some(job), true) => job.clone(),
            (Some(job), false) => format!("{job} ({})", values.join(", ")),
            (None, false) => values.join(", "),
            (None, true) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_leg_is_named_by_its_job_and_matrix_values_without_the_shard() {
        let leg = LegStamp::from_env(env(&[
            ("GITHUB_JOB", "test"),
            (
                "CARGO_TEK_MATRIX",
                r#"{"os": "ubuntu-latest", "rust": "1.80", "shard": "2/4", "tasks": 3}"#,
            ),
        ]))
        .unwrap();
        assert_eq!(leg.label(false), "test (ubuntu-latest, 1.80, 2/4, 3)");
        assert_eq!(leg.label(true), "test (ubuntu-latest, 1.80)");
        let named = LegStamp::from_env(env(&[("CARGO_TEK_LEG", "linux"), ("GITHUB_JOB", "t")]));
        assert_eq!(named.unwrap().label(false), "linux");
    }

    #[test]
    fn nothing_set_or_a_broken_matrix_names_no_leg() {
        assert_eq!(LegStamp::from_env(env(&[])), None);
        assert_eq!(
            LegStamp::from_env(env(&[("CARGO_TEK_MATRIX", "[1, 2"), ("GITHUB_JOB", " ")])),
            None
        );
        let only_job =
            LegStamp::from_env(env(&[("GITHUB_JOB", "lint"), ("CARGO_TEK_MATRIX", "null")]));
        assert_eq!(only_job.unwrap().label(true), "lint");
    }
}
