//! The hook's use of `${matrix.NAME}`: every variable closed, declared, and given a
//! value by every combination; every `include` key an axis or a variable in use.

use super::model::VARIABLE;
use super::problem::{problem, Problem, Spot};
use crate::config::hooks::{Command, Hook};

/// Every string of `hook` that `${matrix.NAME}` is replaced in.
fn texts(hook: &Hook) -> impl Iterator<Item = &str> {
    let commands = hook.commands.iter().flat_map(|c: &Command| {
        c.cmd
            .iter()
            .map(String::as_str)
            .chain(c.shell.as_deref())
            .chain(c.cwd.as_deref())
            .chain(c.env.values().map(String::as_str))
    });
    commands.chain(hook.env.values().map(String::as_str))
}

/// The variables `text` uses, in order, or the text of an unclosed one as the error.
fn variables(text: &str) -> Result<Vec<&str>, &str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(VARIABLE) {
        let after = &rest[start + VARIABLE.len()..];
        let Some(end) = after.find('}') else {
            return Err(&rest[start..]);
        };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// What is wrong with `hook`'s matrix or its use of `${matrix.NAME}`, if anything.
pub(crate) fn check(hook: &Hook) -> Option<Problem> {
    let mut used: Vec<&str> = Vec::new();
    for text in texts(hook) {
        match variables(text) {
            Ok(names) => used.extend(names),
            Err(open) => {
                return Some(problem(
                    format!("`{open}` is not closed with `}}`"),
                    "write a matrix variable as `${matrix.NAME}`",
                    Spot::Text(VARIABLE.into()),
                ))
            }
        }
    }
    let Some(matrix) = &hook.matrix else {
        return used.first().map(|name| {
            problem(
                format!("`${{matrix.{name}}}` is used, but the hook has no matrix"),
                "declare the axis: \"matrix\": {\"NAME\": [\"value\", ...]}, or remove the variable",
                Spot::Text(format!("${{matrix.{name}}}")),
            )
        });
    };
    let combinations = match matrix.combinations() {
        Ok(c) => c,
        Err(problem) => return Some(problem.clone()),
    };
    for (index, entry) in matrix.include.iter().enumerate() {
        let unknown = entry
            .iter()
            .find(|(k, _)| !matrix.axes.iter().any(|(a, _)| a == k) && !used.contains(&k.as_str()));
        if let Some((key, _)) = unknown {
            return Some(problem(
                format!("`include` entry {} names `{key}`, which is not an axis of the matrix, and no command uses `${{matrix.{key}}}`", index + 1),
                format!("the axes are {}; a new key of `include` is a variable the commands use", matrix.axis_names()),
                Spot::Entry { list: "include", index },
            ));
        }
    }
    for name in used {
        if let Some(c) = combinations.iter().find(|c| c.get(name).is_none()) {
            let message = if combinations.iter().any(|c| c.get(name).is_some()) {
                format!("`${{matrix.{name}}}` has no value in combination `{}`: only some `include` entries set it", c.id("…"))
            } else {
                format!("`${{matrix.{name}}}` is not an axis of the matrix")
            };
            return Some(problem(
                message,
                format!("the axes are {}", matrix.axis_names()),
                Spot::Text(format!("${{matrix.{name}}}")),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testing::refused;

    #[test]
    fn mistakes_are_refused_at_their_line_and_column() {
        let cases = [
            // An unknown variable, at the variable.
            (
                "{\n\"T\": {\"matrix\": {\"tc\": [\"a\"]},\n  \"commands\": [{\"cmd\": [\"x\", \"${matrix.tx}\"]}]}}",
                "`${matrix.tx}` is not an axis",
                "hooks.json:3:31",
            ),
            // A variable in a hook without a matrix.
            (
                "{\"T\": {\"commands\": [{\"shell\": \"echo ${matrix.os}\"}]}}",
                "the hook has no matrix",
                "hooks.json:1:37",
            ),
            // An empty axis, at its key.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"],\n \"f\": []}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "matrix axis `f` is empty",
                "hooks.json:2:2",
            ),
            // A duplicate value, at its second time.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\",\n \"b\", \"a\"]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "lists \"a\" twice",
                "hooks.json:2:7",
            ),
            // A new combination in `include` naming an axis the matrix does not have.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"include\": [{\"tc\": \"a\"},\n {\"toolchain\": \"b\"}]}, \"commands\": [{\"cmd\": [\"x\", \"${matrix.tc}\"]}]}}",
                "`include` entry 2 names `toolchain`, which is not an axis",
                "hooks.json:2:2",
            ),
            // An exclude naming an unknown axis.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"exclude\": [{\"os\": \"a\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "`exclude` entry 1 names `os`",
                "hooks.json:1:",
            ),
            // A new combination that leaves an axis out.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"f\": [\"x\"], \"include\": [{\"tc\": \"b\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "gives no value for axis `f`",
                "hooks.json:1:",
            ),
            (
                "{\"T\": {\"matrix\": {}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "has no axes",
                "hooks.json:1:8",
            ),
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"exclude\": [{\"tc\": \"a\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "removes every combination",
                "hooks.json:1:8",
            ),
        ];
        for (text, message, location) in cases {
            let d = refused(text);
            assert!(d.message.contains(message), "{text}: {}", d.message);
            assert!(d.message.starts_with("hook `T`: "), "{}", d.message);
            assert!(d.location.starts_with(location), "{text}: {}", d.location);
        }
    }
}
