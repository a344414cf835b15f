//! libtest's stable human output (what `cargo test` and a test binary print without
//! `-Z unstable-options`) read into one [`TestOutcome`] per test: the `test NAME ... ok`
//! lines give names and statuses, the `---- NAME stdout ----` sections of the failures
//! give the panic message and location.
//!
//! Used for `cargo test` by the cargo agent and for test binaries run directly, so it
//! takes lines as they come ([`Parser::line`]) or a whole text ([`parse`]). Locations
//! are kept as printed: relative to the directory rustc ran in (the cargo workspace
//! root), which the caller resolves.

use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::cargo::TestOutcome;

/// Message lines kept of one panic.
const MESSAGE_LINES: usize = 12;
/// Chars kept of one message line.
const LINE_CHARS: usize = 300;

fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("the patterns of libtest.rs are valid regexes")
}

/// `test NAME ... RESULT`, with `--report-time`'s `<0.012s>` when present.
static RESULT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^test (.+?)(?: - should panic)? \.\.\. (ok|FAILED|ignored|bench:)(.*?)(?: <([0-9.]+)s>)?$",
    )
});
/// `--quiet` (terse) output names only the failures.
static TERSE_FAILED: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(\S+) --- FAILED$"));
static SECTION: LazyLock<Regex> = LazyLock::new(|| pattern(r"^---- (.+?) std(?:out|err) ----$"));
static PANIC: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^thread '([^']*)'(?: \(\d+\))? panicked at (.*)$"));
static AT: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(.+?):(\d+):(\d+):?$"));
static OLD_PANIC: LazyLock<Regex> = LazyLock::new(|| pattern(r"^'(.*)', (.+?):(\d+):(\d+)$"));

/// Reads one test binary's output (or several in a row) line by line.
#[derive(Debug)]
pub(crate) struct Parser {
    package: String,
    binary: String,
    outcomes: Vec<TestOutcome>,
    /// The failure section being read: the test's index and the section's lines.
    section: Option<(Option<usize>, Vec<String>)>,
}

impl Parser {
    /// A parser whose outcomes carry `package` and `binary` (either may be empty).
    pub(crate) fn new(package: &str, binary: &str) -> Self {
        Self {
            package: package.to_owned(),
            binary: binary.to_owned(),
            outcomes: Vec::new(),
            section: None,
        }
    }

    /// From now on, outcomes belong to this binary: `cargo test` runs several in turn.
    pub(crate) fn switch_to(&mut self, package: &str, binary: &str) {
        self.close_section();
        self.package = package.to_owned();
        self.binary = binary.to_owned();
    }

    /// Feeds one line (without its newline; ANSI codes are ignored).
    pub(crate) fn line(&mut self, raw: &str) {
        let stripped = console::strip_ansi_codes(raw);
        let line = stripped.trim_end();
        let terse = TERSE_FAILED.captures(line);
        if let Some(c) = RESULT.captures(line) {
            self.close_section();
            let status = match &c[2] {
                "ok" | "bench:" => "passed",
                "FAILED" => "failed",
                _ => "ignored",
            };
            let duration_ms = c
                .get(4)
                .and_then(|s| s.as_str().parse::<f64>().ok())
                .map(|s| (s * 1000.0).round() as u64);
            self.outcomes.push(TestOutcome {
                name: c[1].to_owned(),
                package: self.package.clone(),
                binary: self.binary.clone(),
                status: status.to_owned(),
                duration_ms,
                ..TestOutcome::default()
            });
            return;
        }
        if let Some(c) = terse {
            self.close_section();
            self.outcomes.push(TestOutcome {
                name: c[1].to_owned(),
                package: self.package.clone(),
                binary: self.binary.clone(),
                status: "failed".to_owned(),
                ..TestOutcome::default()
            });
            return;
        }
        if let Some(c) = SECTION.captures(line) {
            self.close_section();
            let name = &c[1];
            let index = self
                .outcomes
                .iter()
                .rposition(|o| o.name == name && o.binary == self.binary);
            self.section = Some((index, Vec::new()));
            return;
        }
        if line == "failures:" || line.starts_with("test result: ") {
            self.close_section();
            return;
        }
        if let Some((_, lines)) = &mut self.section {
            if lines.len() < 4 * MESSAGE_LINES + 200 {
                lines.push(cut(line));
            }
        }
    }

    /// The outcomes read so far, in the order libtest reported them.
    pub(crate) fn finish(mut self) -> Vec<TestOutcome> {
        self.close_section();
        self.outcomes
    }

    fn close_section(&mut self) {
        let Some((Some(index), lines)) = self.section.take() else {
            return;
        };
        let outcome = &mut self.outcomes[index];
        let failure = failure(&lines);
        outcome.message = failure.message;
        outcome.file = failure.file;
        outcome.line = failure.line;
        outcome.column = failure.column;
    }
}

/// Reads a whole text of libtest output (a test binary run directly).
pub(crate) fn parse(text: &str, package: &str, binary: &str) -> Vec<TestOutcome> {
    let mut parser = Parser::new(package, binary);
    text.lines().for_each(|l| parser.line(l));
    parser.finish()
}

#[derive(Debug, Default, PartialEq)]
struct Failure {
    message: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
}

/// The panic in a failure section, else what the test printed last (a test returning
/// `Err` prints `Error: …`).
fn failure(lines: &[String]) -> Failure {
    for (i, line) in lines.iter().enumerate() {
        let Some(c) = PANIC.captures(line.trim_start()) else {
            continue;
        };
        let rest = &c[2];
        if let Some(old) = OLD_PANIC.captures(rest) {
            return Failure {
                message: Some(old[1].to_owned()),
                file: Some(old[2].to_owned()),
                line: old[3].parse().ok(),
                column: old[4].parse().ok(),
            };
        }
        let at = AT.captures(rest);
        let message: Vec<&str> = lines[i + 1..]
            .iter()
            .map(String::as_str)
            .take_while(|l| {
                !l.trim().is_empty()
                    && !l.starts_with("note: run with `RUST_BACKTRACE")
                    && !l.starts_with("stack backtrace:")
            })
            .take(MESSAGE_LINES)
            .collect();
        return Failure {
            message: (!message.is_empty()).then(|| message.join("\n")),
            file: at.as_ref().map(|c| c[1].to_owned()),
            line: at.as_ref().and_then(|c| c[2].parse().ok()),
            column: at.as_ref().and_then(|c| c[3].parse().ok()),
        };
    }
    let printed: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let tail = &printed[printed.len().saturating_sub(MESSAGE_LINES)..];
    Failure {
        message: (!tail.is_empty()).then(|| tail.join("\n")),
        ..Failure::default()
    }
}

fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "
running 5 tests
test tests::adds ... ok
test tests::compares ... FAILED
test tests::later ... ignored
test tests::reasoned ... ignored, needs a network
test tests::boom - should panic ... ok
test tests::errs ... FAILED

failures:

---- tests::compares stdout ----
some output the test printed

thread 'tests::compares' panicked at crates/alpha/src/lib.rs:12:9:
assertion `left == right` failed
  left: 1
 right: 2
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- tests::errs stdout ----
Error: \"no such file\"

failures:
    tests::compares
    tests::errs

test result: FAILED. 3 passed; 2 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    #[test]
    fn one_outcome_per_test_with_the_panic_of_a_failure() {
        let tests = parse(RUN, "alpha", "lib");
        let summary: Vec<(&str, &str)> = tests
            .iter()
            .map(|t| (t.name.as_str(), t.status.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("tests::adds", "passed"),
                ("tests::compares", "failed"),
                ("tests::later", "ignored"),
                ("tests::reasoned", "ignored"),
                ("tests::boom", "passed"),
                ("tests::errs", "failed"),
            ]
        );
        let failed = &tests[1];
        assert_eq!(
            (failed.package.as_str(), failed.binary.as_str()),
            ("alpha", "lib")
        );
        assert_eq!(
            failed.message.as_deref(),
            Some("assertion `left == right` failed\n  left: 1\n right: 2")
        );
        assert_eq!(failed.file.as_deref(), Some("crates/alpha/src/lib.rs"));
        assert_eq!((failed.line, failed.column), (Some(12), Some(9)));
        assert_eq!(tests[5].message.as_deref(), Some("Error: \"no such file\""));
        assert_eq!(tests[5].file, None);
        assert_eq!(tests[0].message, None);
    }

    #[test]
    fn binaries_in_turn_keep_their_own_tests_apart() {
        let mut parser = Parser::new("alpha", "lib");
        parser.line("test same ... ok");
        parser.switch_to("beta", "it");
        for line in [
            "\u{1b}[1mtest same ... FAILED\u{1b}[0m",
            "---- same stdout ----",
            "thread 'same' (4711) panicked at tests/it.rs:3:5:",
            "boom",
            "stack backtrace:",
            "   0: std::panicking",
        ] {
            parser.line(line);
        }
        let tests = parser.finish();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].message, None, "the first binary's test passed");
        assert_eq!(tests[1].binary, "it");
        assert_eq!(tests[1].message.as_deref(), Some("boom"));
        assert_eq!(tests[1].line, Some(3));
    }

    #[test]
    fn old_panics_report_times_and_noise() {
        let text = "test a ... ok <0.250s>\ntest b ... FAILED\n---- b stdout ----\nthread 'b' panicked at 'gone', src/lib.rs:7:3\ntest c has been running for over 60 seconds\nnot a test line\n";
        let tests = parse(text, "", "");
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].duration_ms, Some(250));
        assert_eq!(tests[1].message.as_deref(), Some("gone"));
        assert_eq!(tests[1].file.as_deref(), Some("src/lib.rs"));
        assert!(parse("", "", "").is_empty());
        let terse = parse(
            "running 2 tests\n. 1/2\nt::b --- FAILED\n\nfailures:\n\n---- t::b stdout ----\nthread 't::b' panicked at src/lib.rs:2:1:\nno\n",
            "",
            "",
        );
        assert_eq!(terse.len(), 1, "--quiet names only the failures");
        assert_eq!(
            (terse[0].status.as_str(), terse[0].message.as_deref()),
            ("failed", Some("no"))
        );
    }
}
