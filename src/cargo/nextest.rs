//! `cargo nextest run`'s machine-readable test events (`--message-format
//! libtest-json-plus`, which nextest still calls experimental and enables with
//! `NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1`) read into [`TestOutcome`]s. Each test's name
//! carries its binary (`alpha::it$tests::adds`), and a failure its captured output, from
//! which [`super::libtest`] reads the panic.

use serde::Deserialize;

use super::libtest;
use crate::evidence::cargo::TestOutcome;

/// The environment that turns the format on.
pub(crate) const ENABLE: (&str, &str) = ("NEXTEST_EXPERIMENTAL_LIBTEST_JSON", "1");

/// The arguments that ask for it, and for cargo's JSON messages while building.
pub(crate) const FORMAT: [&str; 4] = [
    "--message-format",
    "libtest-json-plus",
    "--cargo-message-format",
    "json-diagnostic-rendered-ansi",
];

/// One line of libtest's JSON as nextest writes it (other fields are ignored).
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    event: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    exec_time: Option<f64>,
    #[serde(default)]
    stdout: Option<String>,
}

/// The outcome of one event line, when it is a finished test; `None` for anything else
/// (suites, starts, or a line that is not such an event).
pub(crate) fn outcome(line: &str) -> Option<TestOutcome> {
    let event: Event = serde_json::from_str(line).ok()?;
    if event.kind != "test" {
        return None;
    }
    let status = match event.event.as_str() {
        "ok" => "passed",
        "failed" | "timeout" => "failed",
        "ignored" => "ignored",
        _ => return None,
    };
    let full = event.name?;
    // `alpha::it$tests::adds`: the package, the test binary (`bin/x` for a binary's
    // tests, the crate's own name for its library), a `$`, the test.
    let (binary_id, name) = full.split_once('$').unwrap_or(("", &full));
    let (package, binary) = binary_id.split_once("::").unwrap_or((binary_id, ""));
    let binary = if binary.is_empty() || binary.replace('-', "_") == package.replace('-', "_") {
        "lib"
    } else {
        binary
    };
    let mut outcome = TestOutcome {
        name: name.to_owned(),
        package: package.to_owned(),
        binary: binary.to_owned(),
        status: status.to_owned(),
        duration_ms: event.exec_time.map(|s| (s * 1000.0).round() as u64),
        ..TestOutcome::default()
    };
    if status == "failed" {
        let captured = event.stdout.unwrap_or_default();
        let text = format!("test {name} ... FAILED\n---- {name} stdout ----\n{captured}");
        if let Some(failed) = libtest::parse(&text, package, binary).pop() {
            outcome.message = failed.message;
            outcome.file = failed.file;
            outcome.line = failed.line;
            outcome.column = failed.column;
        }
    }
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_tests_become_outcomes_with_their_binary_and_panic() {
        let failed = outcome(
            r#"{"type":"test","event":"failed","name":"alpha::alpha$tests::compares","exec_time":0.5,"stdout":"\nthread 'tests::compares' (1) panicked at crates/alpha/src/lib.rs:14:9:\none and one\n  left: 2\nstack backtrace:\n"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                failed.package.as_str(),
                failed.binary.as_str(),
                failed.name.as_str()
            ),
            ("alpha", "lib", "tests::compares")
        );
        assert_eq!(failed.status, "failed");
        assert_eq!(failed.duration_ms, Some(500));
        assert_eq!(failed.message.as_deref(), Some("one and one\n  left: 2"));
        assert_eq!((failed.line, failed.column), (Some(14), Some(9)));
        let passed =
            outcome(r#"{"type":"test","event":"ok","name":"beta::it$adds","exec_time":0.001}"#)
                .unwrap();
        assert_eq!(
            (passed.binary.as_str(), passed.status.as_str()),
            ("it", "passed")
        );
        assert!(outcome(r#"{"type":"test","event":"started","name":"a$b"}"#).is_none());
        assert!(outcome(r#"{"type":"suite","event":"started","test_count":2}"#).is_none());
        assert!(outcome("not json").is_none());
    }
}
