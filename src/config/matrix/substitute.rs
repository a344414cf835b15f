//! `hook` with `${matrix.NAME}` replaced: what one combination's task runs.

use super::model::{Combination, VARIABLE};
use super::msrv::{self, Known};
use crate::config::{Command, Hook};

/// `hook` with `${matrix.NAME}` replaced by `combination`'s values, and no matrix: what
/// the combination's task runs. A value `msrv` becomes the `rust-version` of the
/// package each command targets (see [`super::msrv`]) when `known` has one; the planner
/// refused the combinations that have none. Names the hook check refused never get
/// here; any left are kept as written.
pub(crate) fn substitute(hook: &Hook, combination: &Combination, known: &Known) -> Hook {
    let mut out = hook.clone();
    out.matrix = None;
    let wants = msrv::wants(combination);
    for command in &mut out.commands {
        let written = command.clone();
        fill(command, combination);
        if wants {
            if let Some(Ok(version)) = known.resolve(command) {
                *command = written;
                fill(command, &msrv::with_version(combination, &version));
            }
        }
    }
    // The hook's env is every command's: it gets the version of the workspace's cwd.
    let for_env = match known.resolve_root() {
        Some(Ok(version)) if wants => msrv::with_version(combination, &version),
        _ => combination.clone(),
    };
    for value in out.env.values_mut() {
        *value = replace(value, &for_env);
    }
    out
}

/// `command` with its variables replaced by `combination`'s values.
pub(super) fn fill(command: &mut Command, combination: &Combination) {
    for word in &mut command.cmd {
        *word = replace(word, combination);
    }
    command.shell = command.shell.as_deref().map(|s| replace(s, combination));
    command.cwd = command.cwd.as_deref().map(|s| replace(s, combination));
    for value in command.env.values_mut() {
        *value = replace(value, combination);
    }
}

fn replace(text: &str, combination: &Combination) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(VARIABLE) {
        let after = &rest[start + VARIABLE.len()..];
        let Some(end) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        match combination.get(&after[..end]) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + VARIABLE.len() + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::load;
    use super::*;

    #[test]
    fn substitution_reaches_argv_shell_cwd_and_env() {
        let hooks = load(
            r#"{"T": {"matrix": {"tc": ["stable"], "f": ["all"]},
                "env": {"H": "h-${matrix.tc}"},
                "commands": [
                  {"cmd": ["cargo", "+${matrix.tc}", "test", "--${matrix.f}-features"], "cwd": "crates/${matrix.f}", "env": {"C": "${matrix.tc}${matrix.f}"}},
                  {"shell": "echo ${matrix.tc} $HOME"}]}}"#,
        )
        .unwrap();
        let hook = hooks.get("T").unwrap();
        let combination = &hook.matrix.as_ref().unwrap().combinations().unwrap()[0];
        let out = substitute(hook, combination, &Known::Unread);
        assert_eq!(
            out.commands[0].cmd,
            ["cargo", "+stable", "test", "--all-features"]
        );
        assert_eq!(out.commands[0].cwd(), "crates/all");
        assert_eq!(out.commands[0].env["C"], "stableall");
        assert_eq!(out.commands[1].argv()[2], "echo stable $HOME");
        assert_eq!(out.env["H"], "h-stable");
        assert!(out.matrix.is_none());
    }
}
