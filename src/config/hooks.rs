//! `config/hooks.json`, the predecessor's format: an object whose keys are task ids or
//! queue names and whose values say which commands run. A task's own hook wins over its
//! queue's.
//!
//! ```json
//! { "TASK-002": { "commands": [{ "cmd": ["cargo", "build"], "cwd": "." }] } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json::{load_json, JsonError, KeyIndex, UniqueMap};
use super::Duration;
use crate::source::SourceFile;

/// What one task or queue runs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Hook {
    /// Commands, run in order; the first failure stops the task unless the command says
    /// `continue_on_error`.
    #[serde(deserialize_with = "compact")]
    pub(crate) commands: Vec<Command>,
    /// Environment for every command of the hook.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) env: BTreeMap<String, String>,
    /// Names of scrubbed variables (tokens, `INPUT_*`) this hook needs passed through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pass_env: Vec<String>,
    /// Time limit per command unless the command sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timeout: Option<Duration>,
    /// Attempts after a failure; a task that passes on a retry is `flaky`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) retries: Option<u32>,
    /// The agent that runs this hook (default `cargo` when a command runs cargo, else
    /// `shell`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) agent: Option<String>,
    /// Shared things this task holds while it runs (a database, a port): tasks naming the
    /// same resource run at most its capacity (manifest.json `resources`, default 1) at a
    /// time. Cargo target directories are claimed without being named here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) resources: Vec<String>,
    /// cargo agent: record compiler warnings as findings, not only errors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) warnings: bool,
    /// cargo agent: fail the task on warnings that the baseline run did not have
    /// (records warnings too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) fail_on_new_warnings: bool,
    /// cargo agent: run `cargo test` commands as `cargo nextest run` when cargo-nextest
    /// is installed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) nextest: bool,
    /// What the task reads, for `--affected` (inferred from the commands when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) covers: Option<super::Covers>,
    /// Axes of values: each combination is a task of its own, with `${matrix.NAME}`
    /// replaced in its commands (see `config::matrix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) matrix: Option<Box<super::Matrix>>,
    /// Where the task's processes may write, what they may read, whether they may use
    /// the network (manifest.json `sandbox` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Boxed: most hooks have none, and a file may hold 50,000 hooks.
    pub(crate) sandbox: Option<Box<super::Sandbox>>,
    /// More files the result cache hashes into the task's key (globs relative to the
    /// workspace root), read from disk whether git tracks them or not: generated
    /// files, fixtures outside any crate. With them a task that is no cargo command
    /// can be cached too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) inputs: Vec<String>,
    /// Names of more environment variables whose values go into the task's cache key
    /// (`*` for any run of letters, digits and `_`), on top of the built-in list
    /// (`RUSTFLAGS`, `CARGO_PROFILE_*`, ...; see `cache::env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) env_inputs: Vec<String>,
    /// `false`: the result cache never replays this task, nor stores it (a deploy, a
    /// task whose result depends on the network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cache: Option<bool>,
}

/// One command: an argv array, or a script for `sh -c` when asked for explicitly.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Command {
    /// Program and arguments; no shell is involved.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "argv"
    )]
    pub(crate) cmd: Vec<String>,
    /// A script run by `sh -c`, only when the hook asks for a shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shell: Option<String>,
    /// Directory relative to the workspace root; it may not leave the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cwd: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timeout: Option<Duration>,
    /// Keep going to the next command even if this one fails (the predecessor's
    /// run-them-all behaviour).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) continue_on_error: bool,
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
    pub(crate) fn argv(&self) -> Vec<String> {
        match &self.shell {
            Some(script) => vec!["sh".into(), "-c".into(), script.clone()],
            None => self.cmd.clone(),
        }
    }

    /// The working directory as written, `.` by default.
    pub(crate) fn cwd(&self) -> &str {
        self.cwd.as_deref().unwrap_or(".")
    }
}

/// The most retries a hook or `--retries` may ask for: more is a typo, not a plan.
pub(crate) const MAX_RETRIES: u32 = 100;

/// `cmd`: an argv array. A string is the most common mistake (the predecessor's users
/// wrote `"cmd": "cargo build"`), so it gets its own message rather than serde's.
fn argv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Argv;
    impl<'de> serde::de::Visitor<'de> for Argv {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an argv array of strings, e.g. [\"cargo\", \"build\"]")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            let words: Vec<String> = text.split_whitespace().map(|w| format!("{w:?}")).collect();
            Err(E::custom(format!(
                "`cmd` is a string ({text:?}); write it as an argv array, [{}], or use \"shell\": {text:?} to run it with sh -c",
                words.join(", ")
            )))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut argv = Vec::new();
            while let Some(word) = seq.next_element::<String>()? {
                argv.push(word);
            }
            Ok(argv)
        }
    }
    d.deserialize_any(Argv)
}

/// Why an environment variable name cannot be set (None when it can).
pub(crate) fn env_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.contains('=') {
        Some("contains `=`")
    } else if name.contains('\0') {
        Some("contains a NUL byte")
    } else {
        None
    }
}

/// The loaded hooks file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hooks {
    entries: UniqueMap<Hook>,
    /// The file they came from, for diagnostics (None when there is no hooks file).
    pub(crate) source: Option<SourceFile>,
    /// What a matrix value `msrv` resolves from, set by the loader that read the
    /// workspace (see `config::matrix::msrv`).
    pub(crate) known: super::matrix::Known,
}

const HELP: &str = "hooks.json maps task ids or queue names to {\"commands\": [{\"cmd\": [\"program\", \"arg\"], \"cwd\": \"dir\"}]}";

/// What is wrong with a hook that parsed, and what to do about it.
fn problem(hook: &Hook) -> Option<(String, String)> {
    for (i, command) in hook.commands.iter().enumerate() {
        let problem = match (command.cmd.is_empty(), &command.shell) {
            (true, None) => Some("has neither `cmd` nor `shell`"),
            (false, Some(_)) => Some("has both `cmd` and `shell`; choose one"),
            (false, None) if command.cmd[0].is_empty() => Some("has an empty program name"),
            _ => None,
        };
        if let Some(problem) = problem {
            return Some((format!("command {} {problem}", i + 1), HELP.into()));
        }
    }
    if let Some(retries) = hook.retries.filter(|&r| r > MAX_RETRIES) {
        return Some((
            format!("`retries` is {retries}, more than the {MAX_RETRIES} allowed"),
            "a task that fails that often will not pass on a retry; lower `retries`".into(),
        ));
    }
    let names = hook
        .env
        .keys()
        .chain(hook.commands.iter().flat_map(|c| c.env.keys()))
        .chain(hook.pass_env.iter());
    for name in names {
        if let Some(problem) = env_name_problem(name) {
            return Some((
                format!("environment variable name {name:?} {problem}"),
                "a variable name is what goes before `=`: letters, digits and `_`".into(),
            ));
        }
    }
    let values = hook
        .env
        .iter()
        .chain(hook.commands.iter().flat_map(|c| c.env.iter()));
    for (name, value) in values {
        if value.contains('\0') {
            return Some((
                format!("the value of environment variable `{name}` contains a NUL byte"),
                "the environment cannot hold NUL bytes; remove it".into(),
            ));
        }
    }
    for glob in &hook.inputs {
        if let Err(e) = globset::Glob::new(glob) {
            return Some((
                format!("`inputs` has an invalid glob {glob:?}: {e}"),
                "a glob is relative to the workspace root, e.g. \"gen/**\" or \"fixtures/*.json\""
                    .into(),
            ));
        }
    }
    for name in &hook.env_inputs {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*')
        {
            return Some((
                format!("`env_inputs` names {name:?}, which is no variable name"),
                "name variables by letters, digits and `_`, with `*` for any run of them (\"MY_*\")".into(),
            ));
        }
    }
    for argv in hook.commands.iter().map(Command::argv) {
        if argv.iter().any(|a| a.contains('\0')) {
            return Some((
                "a command contains a NUL byte".into(),
                "arguments cannot hold NUL bytes; remove it".into(),
            ));
        }
    }
    None
}

impl Hooks {
    /// Parses and validates a hooks file.
    pub(crate) fn load(src: SourceFile) -> Result<Self, JsonError> {
        let entries: UniqueMap<Hook> = load_json(&src, HELP)?;
        for (key, hook) in entries.iter() {
            if let Some((message, help)) = problem(hook) {
                // Located only now: finding a key is a scan of the whole file.
                let range = KeyIndex::new(&src.text).range(key);
                return Err(src
                    .diagnostic(
                        format!("hook `{key}`: {message}"),
                        vec![(range, "in this hook".into())],
                        Some(help),
                    )
                    .into());
            }
            if let Some(found) = super::matrix::check(hook) {
                let at = KeyIndex::new(&src.text).range(key);
                let range = super::matrix::locate(&src.text, at.start, &found.at);
                return Err(src
                    .diagnostic(
                        format!("hook `{key}`: {}", found.message),
                        vec![(range, "here".into())],
                        Some(found.help),
                    )
                    .into());
            }
        }
        Ok(Self {
            entries,
            source: Some(src),
            known: Default::default(),
        })
    }

    /// The hook registered under `key` (a task id or a queue name).
    pub(crate) fn get(&self, key: &str) -> Option<&Hook> {
        self.entries.get(key)
    }

    /// All hooks in file order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Hook)> {
        self.entries.iter()
    }

    /// Number of hooks.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no hooks.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Hooks, JsonError> {
        Hooks::load(
            SourceFile::from_bytes("config/hooks.json".into(), text.as_bytes().to_vec()).unwrap(),
        )
    }

    /// Asserts that the diagnostic says each of `parts` and points at `location`.
    fn says(d: &crate::source::SourceDiagnostic, parts: &[&str], location: &str) {
        for part in parts {
            assert!(d.message.contains(part), "{part:?} in {}", d.message);
        }
        assert!(d.location.starts_with(location), "{}", d.location);
    }

    /// The diagnostic of a hooks.json that must be refused.
    fn refused(text: &str) -> crate::source::SourceDiagnostic {
        match load(text) {
            Err(JsonError::Invalid(d)) => d,
            other => panic!("{text} was not refused: {other:?}"),
        }
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
        let d = refused("{\n \"TASK-1\": {\"commands\": [], \"comands\": 1}\n}");
        says(&d, &["unknown field `comands`"], "config/hooks.json:2:");
    }

    #[test]
    fn a_command_needs_exactly_one_of_cmd_and_shell() {
        let d = refused("{\"T\": {\"commands\": [{\"cwd\": \".\"}]}}");
        assert!(d.message.contains("neither `cmd` nor `shell`"));
        let d = refused("{\"T\": {\"commands\": [{\"cmd\": [\"a\"], \"shell\": \"b\"}]}}");
        assert!(d.message.contains("both"));
        let h = load("{\"T\": {\"commands\": [{\"shell\": \"echo $HOME\"}]}}").unwrap();
        assert_eq!(
            h.get("T").unwrap().commands[0].argv(),
            ["sh", "-c", "echo $HOME"]
        );
    }

    #[test]
    fn a_string_cmd_says_to_use_an_array_or_shell() {
        let d = refused("{\n  \"T\": {\"commands\": [{\"cmd\": \"cargo build\"}]}\n}");
        says(
            &d,
            &[
                r#"write it as an argv array, ["cargo", "build"]"#,
                r#""shell": "cargo build""#,
            ],
            "config/hooks.json:2:",
        );
    }

    #[test]
    fn bad_env_names_and_huge_retries_are_refused_at_their_hook() {
        for (hook, expected) in [
            (
                r#"{"commands": [{"cmd": ["true"]}], "env": {"A=B": "1"}}"#,
                "contains `=`",
            ),
            (
                r#"{"commands": [{"cmd": ["true"], "env": {"A\u0000": "1"}}]}"#,
                "NUL",
            ),
            (
                r#"{"commands": [{"cmd": ["true"]}], "env": {"A": "x\u0000"}}"#,
                "NUL",
            ),
            (
                r#"{"commands": [{"cmd": ["true"]}], "retries": 4294967295}"#,
                "more than the 100",
            ),
            (
                r#"{"commands": [{"cmd": ["true"]}], "inputs": ["gen/[x"]}"#,
                "`inputs` has an invalid glob",
            ),
            (
                r#"{"commands": [{"cmd": ["true"]}], "env_inputs": ["MY-MODE"]}"#,
                "which is no variable name",
            ),
        ] {
            let d = refused(&format!(
                "{{\n\"X\": {{\"commands\": []}},\n\"T\": {hook}}}"
            ));
            assert!(d.message.contains(expected), "{hook}: {}", d.message);
            assert_eq!(d.location, "config/hooks.json:3:1", "{hook}");
        }
    }
}
