//! Which hooks compile once can take over: exactly one command,
//! `cargo test -p X` (plus flags that do not change what is compiled), with nothing in
//! its environment that would change the compile. Anything else keeps running as
//! written, and the reason is what `plan` and `check` show.

use crate::config::Hook;

/// A hook that runs one package's tests, as compile once will run them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// The package (`-p`).
    pub(crate) package: String,
    /// `--locked`, `--offline`, `--frozen`: passed on to the shared compile.
    pub(crate) cargo_flags: Vec<String>,
    /// Arguments after `--`, given to every test binary.
    pub(crate) test_args: Vec<String>,
}

/// Flags that change nothing about what is built or run.
const KEPT: &[&str] = &["--locked", "--offline", "--frozen"];
const IGNORED: &[&str] = &["-q", "--quiet", "-v", "--verbose", "--no-fail-fast"];

/// Environment variables that change the compile (a `-p` run with them is not the
/// workspace compile).
fn changes_compile(name: &str) -> bool {
    (name.starts_with("CARGO_") && !name.starts_with("CARGO_TERM_"))
        || name.starts_with("RUSTC")
        || name == "RUSTFLAGS"
        || name == "RUSTDOCFLAGS"
}

/// The split of `hook`, or why compile once leaves it alone.
pub(crate) fn split(hook: &Hook) -> Result<Split, String> {
    let [command] = hook.commands.as_slice() else {
        return Err("it has more than one command".into());
    };
    if command.shell.is_some() {
        return Err("it runs a shell script".into());
    }
    let argv = &command.cmd;
    let is_cargo = argv
        .first()
        .and_then(|p| std::path::Path::new(p).file_name())
        .is_some_and(|n| n == "cargo");
    if !is_cargo || !matches!(argv.get(1).map(String::as_str), Some("test" | "t")) {
        return Err("it is not `cargo test -p <package>`".into());
    }
    if let Some(name) = hook
        .env
        .keys()
        .chain(command.env.keys())
        .find(|n| changes_compile(n))
    {
        return Err(format!("its env sets `{name}`, which changes the compile"));
    }
    let mut package = None;
    let mut split = Split {
        package: String::new(),
        cargo_flags: Vec::new(),
        test_args: Vec::new(),
    };
    let mut args = argv[2..].iter();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--" => {
                split.test_args = args.by_ref().cloned().collect();
                break;
            }
            "-p" | "--package" => args.next().cloned(),
            a if KEPT.contains(&a) => {
                split.cargo_flags.push(a.to_owned());
                continue;
            }
            a if IGNORED.contains(&a) => continue,
            a => match a
                .strip_prefix("--package=")
                .or_else(|| a.strip_prefix("-p"))
            {
                Some(v) if !v.is_empty() => Some(v.to_owned()),
                _ => return Err(format!("`{a}` changes what `cargo test` builds or runs")),
            },
        };
        match (value, &package) {
            (Some(v), None) => package = Some(v),
            (Some(_), Some(_)) => return Err("it tests more than one package".into()),
            (None, _) => return Err("`-p` has no package".into()),
        }
    }
    split.package = package.ok_or("it names no package (`-p`)")?;
    if split.package.contains(['@', ':', '#', '*']) {
        return Err(format!("`{}` is a package spec, not a name", split.package));
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(cmd: &str) -> Result<Split, String> {
        let hook: Hook =
            serde_json::from_str(&format!(r#"{{"commands": [{{"cmd": {cmd}}}]}}"#)).unwrap();
        split(&hook)
    }

    #[test]
    fn per_crate_test_commands_are_split() {
        let s = of(r#"["cargo", "test", "-p", "grep-cli", "--locked", "--", "--test-threads=1"]"#)
            .unwrap();
        assert_eq!(s.package, "grep-cli");
        assert_eq!(s.cargo_flags, ["--locked"]);
        assert_eq!(s.test_args, ["--test-threads=1"]);
        assert_eq!(
            of(r#"["cargo", "t", "--package=a", "-q"]"#)
                .unwrap()
                .package,
            "a"
        );
        assert_eq!(of(r#"["cargo", "test", "-pa"]"#).unwrap().package, "a");
    }

    #[test]
    fn anything_that_changes_the_build_is_left_alone_with_why() {
        for (cmd, why) in [
            (
                r#"["cargo", "test", "-p", "a", "--features", "x"]"#,
                "`--features` changes",
            ),
            (
                r#"["cargo", "test", "--workspace"]"#,
                "`--workspace` changes",
            ),
            (
                r#"["cargo", "test", "-p", "a", "-p", "b"]"#,
                "more than one package",
            ),
            (r#"["cargo", "test"]"#, "names no package"),
            (r#"["cargo", "build", "-p", "a"]"#, "not `cargo test"),
            (r#"["cargo", "test", "-p", "a@1.0"]"#, "package spec"),
        ] {
            let err = of(cmd).unwrap_err();
            assert!(err.contains(why), "{cmd}: {err}");
        }
        let hook: Hook = serde_json::from_str(
            r#"{"env": {"RUSTFLAGS": "-Dwarnings"}, "commands": [{"cmd": ["cargo", "test", "-p", "a"]}]}"#,
        )
        .unwrap();
        assert!(split(&hook).unwrap_err().contains("RUSTFLAGS"));
        let hook: Hook = serde_json::from_str(
            r#"{"env": {"RUST_BACKTRACE": "1"}, "commands": [{"cmd": ["cargo", "test", "-p", "a"]}]}"#,
        )
        .unwrap();
        assert!(split(&hook).is_ok(), "the tests' own env is fine");
    }
}
