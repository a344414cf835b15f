//! Which cargo command an argv runs, and the argv that asks cargo for JSON messages.

/// What cargo-tek can learn from a cargo command's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// build, check, clippy, doc, rustc: compiler diagnostics.
    Compile,
    /// `cargo test` (including `--no-run`): diagnostics, then libtest's output.
    Test,
    /// `cargo nextest run`: diagnostics, then nextest's libtest-json events.
    Nextest,
    /// Any other cargo command (fmt, run, …): run as the shell agent would.
    Other,
}

/// The format that gives each diagnostic as JSON with rustc's own (coloured) rendering.
pub(crate) const MESSAGE_FORMAT: &str = "--message-format=json-diagnostic-rendered-ansi";

/// Whether `program` is cargo (`cargo` or a path ending in it).
/// Whether the cargo agent is the default for a hook: one of its commands runs cargo.
/// Here, below both the planner and the agents, so that routing needs no agent.
pub(crate) fn suits(hook: &crate::config::Hook) -> bool {
    hook.commands
        .iter()
        .any(|c| c.shell.is_none() && c.cmd.first().is_some_and(|p| is_cargo(p)))
}

pub(crate) fn is_cargo(program: &str) -> bool {
    std::path::Path::new(program)
        .file_name()
        .is_some_and(|name| name == "cargo")
}

/// The subcommand of a cargo argv, and its index: the first word after the program
/// that is not `+toolchain` or a global option.
fn subcommand(argv: &[String]) -> Option<(usize, &str)> {
    let mut words = argv.iter().enumerate().skip(1);
    while let Some((i, word)) = words.next() {
        match word.as_str() {
            // Global options whose value is the next word.
            "-Z" | "-C" | "--config" | "--color" | "--explain" => {
                words.next();
            }
            w if w.starts_with('+') || w.starts_with('-') => {}
            w => return Some((i, w)),
        }
    }
    None
}

/// What a cargo argv is, and the argv to spawn: for commands with diagnostics,
/// [`MESSAGE_FORMAT`] right after the subcommand (so before any `--`), unless the
/// command chose a message format itself.
pub(crate) fn prepare(argv: &[String]) -> (Kind, Vec<String>) {
    let Some((at, sub)) = argv.first().filter(|p| is_cargo(p)).and(subcommand(argv)) else {
        return (Kind::Other, argv.to_vec());
    };
    let kind = match sub {
        "build" | "b" | "check" | "c" | "clippy" | "doc" | "d" | "rustc" => Kind::Compile,
        "test" | "t" => Kind::Test,
        "nextest" if argv.get(at + 1).is_some_and(|w| w == "run" || w == "r") => {
            return (Kind::Nextest, nextest_argv(argv, at + 1));
        }
        _ => return (Kind::Other, argv.to_vec()),
    };
    let own_args = argv[at + 1..].iter().take_while(|a| *a != "--");
    if own_args.clone().any(|a| a.starts_with("--message-format")) {
        return (kind, argv.to_vec());
    }
    let mut spawned = argv.to_vec();
    let mut at = at;
    if kind == Kind::Test && quiet(argv) {
        spawned = quiet_to_harness(spawned);
        // A `-q` before the subcommand is gone: it moved.
        at = subcommand(&spawned).map_or(at, |(i, _)| i);
    }
    spawned.insert(at + 1, MESSAGE_FORMAT.to_owned());
    (kind, spawned)
}

/// Where cargo's own arguments end: at `--`, after which they are the test harness's.
fn own_end(argv: &[String]) -> usize {
    argv.iter().position(|a| a == "--").unwrap_or(argv.len())
}

/// Whether a cargo argv asks cargo itself to be quiet (`-q`/`--quiet` before any `--`).
pub(crate) fn quiet(argv: &[String]) -> bool {
    argv[1.min(argv.len())..own_end(argv)]
        .iter()
        .any(|a| a == "-q" || a == "--quiet")
}

/// `cargo test -q` as `cargo test -- --quiet`: cargo's quiet hides its `Running` lines,
/// the only text that says which test binary the results that follow belong to, while
/// the harness's quiet is what makes the test output short. The reader leaves cargo's
/// status lines out of the log, so the log reads as `-q` asked.
fn quiet_to_harness(argv: Vec<String>) -> Vec<String> {
    let end = own_end(&argv);
    let mut spawned: Vec<String> = argv[..end]
        .iter()
        .enumerate()
        .filter(|(i, a)| *i == 0 || (*a != "-q" && *a != "--quiet"))
        .map(|(_, a)| a.clone())
        .collect();
    spawned.push("--".to_owned());
    spawned.push("--quiet".to_owned());
    spawned.extend(argv.into_iter().skip(end + 1));
    spawned
}

/// `cargo nextest run` with nextest's JSON test events, unless the command chose a
/// format itself (then it is read as text).
fn nextest_argv(argv: &[String], run_at: usize) -> Vec<String> {
    let own_args = argv[run_at + 1..].iter().take_while(|a| *a != "--");
    if own_args.clone().any(|a| a.contains("message-format")) {
        return argv.to_vec();
    }
    let mut spawned = argv[..=run_at].to_vec();
    spawned.extend(super::nextest::FORMAT.iter().map(|s| s.to_string()));
    spawned.extend_from_slice(&argv[run_at + 1..]);
    spawned
}

/// `cargo test …` as `cargo nextest run …`, for a hook that prefers nextest: only when
/// nothing in it is libtest-only (doctests, `--no-run`, benches).
pub(crate) fn as_nextest(argv: &[String]) -> Option<Vec<String>> {
    let (at, sub) = argv.first().filter(|p| is_cargo(p)).and(subcommand(argv))?;
    let own_args = || argv[at + 1..].iter().take_while(|a| *a != "--");
    let libtest_only = ["--doc", "--no-run", "--benches", "--bench", "--all-targets"];
    if !matches!(sub, "test" | "t") || own_args().any(|a| libtest_only.contains(&a.as_str())) {
        return None;
    }
    let mut spawned = argv[..at].to_vec();
    spawned.extend(["nextest".to_owned(), "run".to_owned()]);
    spawned.extend_from_slice(&argv[at + 1..]);
    Some(spawned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_format_goes_right_after_the_subcommand() {
        let (kind, spawned) = prepare(&argv(
            "cargo +stable -Z x --locked clippy -p a -- -D warnings",
        ));
        assert_eq!(kind, Kind::Compile);
        assert_eq!(
            spawned.join(" "),
            format!("cargo +stable -Z x --locked clippy {MESSAGE_FORMAT} -p a -- -D warnings")
        );
        let (kind, spawned) = prepare(&argv("/usr/bin/cargo t -- --message-format x"));
        assert_eq!(kind, Kind::Test);
        assert_eq!(spawned[2], MESSAGE_FORMAT);
    }

    #[test]
    fn nextest_gets_its_json_events_and_cargo_test_may_become_nextest() {
        let (kind, spawned) = prepare(&argv("cargo nextest run -p a -- x"));
        assert_eq!(kind, Kind::Nextest);
        assert_eq!(
            spawned.join(" "),
            "cargo nextest run --message-format libtest-json-plus --cargo-message-format json-diagnostic-rendered-ansi -p a -- x"
        );
        assert_eq!(
            as_nextest(&argv("cargo +stable test -p a -- x"))
                .unwrap()
                .join(" "),
            "cargo +stable nextest run -p a -- x"
        );
        assert_eq!(as_nextest(&argv("cargo test --doc")), None);
        assert_eq!(as_nextest(&argv("cargo build")), None);
    }

    #[test]
    fn a_quiet_cargo_test_keeps_its_running_lines_and_quiets_the_harness() {
        let (_, spawned) = prepare(&argv("cargo -q test -p a --quiet -- --exact x"));
        assert_eq!(
            spawned.join(" "),
            format!("cargo test {MESSAGE_FORMAT} -p a -- --quiet --exact x")
        );
        let (_, spawned) = prepare(&argv("cargo test -q"));
        assert_eq!(
            spawned.join(" "),
            format!("cargo test {MESSAGE_FORMAT} -- --quiet")
        );
        assert!(quiet(&argv("cargo test --quiet")));
        assert!(!quiet(&argv("cargo test -- --quiet")) && !quiet(&argv("cargo")));
        // Only `cargo test` needs its Running lines; a quiet build stays quiet.
        let (_, spawned) = prepare(&argv("cargo build -q"));
        assert_eq!(
            spawned.join(" "),
            format!("cargo build {MESSAGE_FORMAT} -q")
        );
    }

    #[test]
    fn others_are_left_alone() {
        for words in [
            "cargo fmt --check",
            "cargo run -- build",
            "cargo",
            "cargo-nextest build",
            "sh -c cargo build",
            "cargo build --message-format=short",
        ] {
            assert_eq!(prepare(&argv(words)).1, argv(words), "{words}");
        }
        assert_eq!(
            prepare(&argv("cargo build --message-format=short")).0,
            Kind::Compile
        );
        assert!(is_cargo("/home/u/.cargo/bin/cargo") && !is_cargo("cargo-tek"));
    }
}
