//! `hook` with `${matrix.NAME}` replaced: what one combination's task runs.

use super::model::{Combination, VARIABLE};
use crate::config::Hook;

/// `hook` with `${matrix.NAME}` replaced by `combination`'s values, and no matrix: what
/// the combination's task runs. Names the hook check refused never get here; any left
/// are kept as written.
pub fn substitute(hook: &Hook, combination: &Combination) -> Hook {
    let replace = |text: &str| -> String {
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
    };
    let mut out = hook.clone();
    out.matrix = None;
    for command in &mut out.commands {
        for word in &mut command.cmd {
            *word = replace(word);
        }
        command.shell = command.shell.as_deref().map(replace);
        command.cwd = command.cwd.as_deref().map(replace);
        for value in command.env.values_mut() {
            *value = replace(value);
        }
    }
    for value in out.env.values_mut() {
        *value = replace(value);
    }
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
        let out = substitute(hook, combination);
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
