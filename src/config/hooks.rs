//! `config/hooks.json`, the predecessor's format: an object whose keys are task ids or
//! queue names and whose values say which commands run. A task's own hook wins over its
//! queue's.
//!
//! ```json
//! { "TASK-002": { "commands": [{ "cmd": ["cargo", "build"], "cwd": "." }] } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json::{key_range, load_json, JsonError, UniqueMap};
use super::Duration;
use crate::source::SourceFile;

/// What one task or queue runs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Commands, run in order; the first failure stops the task unless the command says
    /// `continue_on_error`.
    #[serde(deserialize_with = "compact")]
    pub commands: Vec<Command>,
    /// Environment for every command of the hook.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Names of scrubbed variables (tokens, `INPUT_*`) this hook needs passed through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// Time limit per command unless the command sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Attempts after a failure; a task that passes on a retry is `flaky`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// The agent that runs this hook (default `shell`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// One command: an argv array, or a script for `sh -c` when asked for explicitly.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Program and arguments; no shell is involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// A script run by `sh -c`, only when the hook asks for a shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Directory relative to the workspace root; it may not leave the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Keep going to the next command even if this one fails (the predecessor's
    /// run-them-all behaviour).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
}

/// A `Vec` without serde's spare capacity: it grows to four slots for one command,
/// and 50,000 hooks kept 18 MB of empty slots for the whole command.
fn compact<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let mut items = Vec::<T>::deserialize(deserializer)?;
    items.shrink_to_fit();
    Ok(items)
}

impl Command {
    /// The argv actually spawned: `cmd`, or `sh -c <script>`.
    pub fn argv(&self) -> Vec<String> {
        match &self.shell {
            Some(script) => vec!["sh".into(), "-c".into(), script.clone()],
            None => self.cmd.clone(),
        }
    }

    /// The working directory as written, `.` by default.
    pub fn cwd(&self) -> &str {
        self.cwd.as_deref().unwrap_or(".")
    }
}

/// The loaded hooks file.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    entries: UniqueMap<Hook>,
    /// The file they came from, for diagnostics (None when there is no hooks file).
    pub source: Option<SourceFile>,
}

const HELP: &str = "hooks.json maps task ids or queue names to {\"commands\": [{\"cmd\": [\"program\", \"arg\"], \"cwd\": \"dir\"}]}";

impl Hooks {
    /// Parses and validates a hooks file.
    pub fn load(src: SourceFile) -> Result<Self, JsonError> {
        let entries: UniqueMap<Hook> = load_json(&src, HELP)?;
        for (key, hook) in entries.iter() {
            for (i, command) in hook.commands.iter().enumerate() {
                let problem = match (command.cmd.is_empty(), &command.shell) {
                    (true, None) => Some("has neither `cmd` nor `shell`"),
                    (false, Some(_)) => Some("has both `cmd` and `shell`; choose one"),
                    (false, None) if command.cmd[0].is_empty() => Some("has an empty program name"),
                    _ => None,
                };
                if let Some(problem) = problem {
                    let range = key_range(&src.text, key);
                    return Err(src
                        .diagnostic(
                            format!("command {} of hook `{key}` {problem}", i + 1),
                            vec![(range, "in this hook".into())],
                            Some(HELP.into()),
                        )
                        .into());
                }
            }
        }
        Ok(Self {
            entries,
            source: Some(src),
        })
    }

    /// The hook registered under `key` (a task id or a queue name).
    pub fn get(&self, key: &str) -> Option<&Hook> {
        self.entries.get(key)
    }

    /// All hooks in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Hook)> {
        self.entries.iter()
    }

    /// Number of hooks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no hooks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Result<Hooks, JsonError> {
        Hooks::load(
            SourceFile::from_bytes(
                Path::new("hooks.json"),
                "config/hooks.json".into(),
                text.as_bytes().to_vec(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn predecessor_format_loads() {
        let h = load(r#"{"TASK-001": {"commands": [{"cmd": ["echo", "hi"], "cwd": "crates/a"}]},
                         "Queue A — X": {"commands": [{"cmd": ["true"]}], "retries": 2, "timeout": "5m"}}"#).unwrap();
        assert_eq!(h.get("TASK-001").unwrap().commands[0].cmd, ["echo", "hi"]);
        assert_eq!(h.get("TASK-001").unwrap().commands[0].cwd(), "crates/a");
        assert_eq!(
            h.get("Queue A — X").unwrap().timeout.unwrap().0.as_secs(),
            300
        );
        assert!(h.get("TASK-002").is_none());
    }

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let Err(JsonError::Invalid(d)) =
            load("{\n \"TASK-1\": {\"commands\": [], \"comands\": 1}\n}")
        else {
            panic!()
        };
        assert!(
            d.message.contains("unknown field `comands`"),
            "{}",
            d.message
        );
        assert!(
            d.location.starts_with("config/hooks.json:2:"),
            "{}",
            d.location
        );
    }

    #[test]
    fn a_command_needs_exactly_one_of_cmd_and_shell() {
        let Err(JsonError::Invalid(d)) = load("{\"T\": {\"commands\": [{\"cwd\": \".\"}]}}") else {
            panic!()
        };
        assert!(d.message.contains("neither `cmd` nor `shell`"));
        let Err(JsonError::Invalid(d)) =
            load("{\"T\": {\"commands\": [{\"cmd\": [\"a\"], \"shell\": \"b\"}]}}")
        else {
            panic!()
        };
        assert!(d.message.contains("both"));
        let h = load("{\"T\": {\"commands\": [{\"shell\": \"echo $HOME\"}]}}").unwrap();
        assert_eq!(
            h.get("T").unwrap().commands[0].argv(),
            ["sh", "-c", "echo $HOME"]
        );
    }
}
