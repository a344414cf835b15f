//! junit.xml for the tools that read JUnit: one suite per queue, one case per task; and
//! for the tests the cargo agent saw, one suite per crate and test binary
//! (`alpha/lib`, `alpha/it`), one case per test.
//! Secrets are masked as in the report: junit.xml is uploaded and rendered by other tools.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::logs::{locate, tail, Layout};
use super::record::{RunRecord, TaskStatus};
use crate::redact::Secrets;

/// Output kept per test case: JUnit readers choke on huge system-out blocks.
const OUTPUT_TAIL: usize = 16 * 1024;

/// Renders the run as JUnit XML, with `secrets` and GitHub-token-shaped strings masked.
pub(crate) fn render(
    run: &RunRecord,
    run_dir: &Path,
    secrets: &Secrets,
) -> Result<String, quick_junit::SerializeError> {
    let clean = |s: &str| secrets.mask(s);
    let layout = Layout::of_schema(run.schema_version);
    let mut report = Report::new("cargo-tek");
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in &run.results {
        let index = match suites.iter().position(|s| s.name.as_str() == result.queue) {
            Some(i) => i,
            None => {
                suites.push(TestSuite::new(clean(&result.queue)));
                suites.len() - 1
            }
        };
        let mut status = match result.status {
            TaskStatus::Ok | TaskStatus::Flaky => TestCaseStatus::success(),
            // A noop ran nothing: a reader must not count it as a pass.
            TaskStatus::Noop => TestCaseStatus::skipped(),
            TaskStatus::Error => TestCaseStatus::non_success(NonSuccessKind::Failure),
            TaskStatus::Timeout | TaskStatus::Cancelled => {
                TestCaseStatus::non_success(NonSuccessKind::Error)
            }
            TaskStatus::Skipped => TestCaseStatus::skipped(),
        };
        let message = match (&result.reason, result.status) {
            (Some(reason), _) => Some(reason.clone()),
            (None, TaskStatus::Flaky) => Some(format!("passed after {} attempts", result.attempts)),
            (None, TaskStatus::Error | TaskStatus::Timeout) => {
                Some(result.status.as_str().to_owned())
            }
            _ => None,
        };
        if let Some(message) = message {
            status.set_message(clean(&message));
        }
        let mut case = TestCase::new(
            clean(format!("{} {}", result.task, result.title).trim()),
            status,
        );
        case.set_classname(clean(&result.queue));
        case.set_time(Duration::from_millis(result.duration_ms));
        // A replayed pass says so: a JUnit reader must not take it for a fresh run.
        if let Some(cached) = &result.cached {
            case.add_property(quick_junit::Property::new(
                "cached-from-run",
                clean(&cached.run),
            ));
            case.add_property(quick_junit::Property::new("cache-key", clean(&cached.key)));
        }
        let mut out = String::new();
        let mut err = String::new();
        // Output only for tasks that did not pass: that is what a JUnit reader shows, and a
        // thousand passing tasks' tails would make the file (and our memory) balloon.
        let commands = match (result.status.is_success(), result.culprit()) {
            (true, _) => &[][..],
            // The failing command's output, not its predecessors'.
            (false, Some(i)) => &result.commands[i..=i],
            (false, None) => &result.commands[..],
        };
        for command in commands {
            for (log, text) in [(&command.log, &mut out), (&command.stderr_log, &mut err)] {
                if let Some(log) = log {
                    text.push_str(
                        &match locate(run_dir, result.carried_from.as_deref(), log) {
                            Some((dir, rel)) => tail(dir, &rel, OUTPUT_TAIL, layout),
                            None => Ok(String::new()),
                        }
                        .unwrap_or_else(|e| format!("({e})\n")),
                    );
                }
            }
        }
        if !out.is_empty() {
            case.set_system_out(clean(&out));
        }
        if !err.is_empty() {
            case.set_system_err(clean(&err));
        }
        suites[index].add_test_case(case);
        for test in result.cargo.iter().flat_map(|c| &c.tests) {
            let name = clean(&format!("{}/{}", test.package, test.binary));
            let index = match suites.iter().position(|s| s.name.as_str() == name) {
                Some(i) => i,
                None => {
                    suites.push(TestSuite::new(name.clone()));
                    suites.len() - 1
                }
            };
            suites[index].add_test_case(test_case(test, &name, &clean));
        }
    }
    report.add_test_suites(suites);
    // Masked once more as a whole, in case XML escaping split nothing but a secret
    // straddled two fields' joins.
    Ok(secrets.mask(&report.to_string()?))
}

/// One test the cargo agent saw: its status, and for a failure the panic message and
/// where it panicked.
fn test_case(
    test: &super::cargo::TestOutcome,
    suite: &str,
    clean: &impl Fn(&str) -> String,
) -> TestCase {
    let status = match test.status.as_str() {
        "passed" => TestCaseStatus::success(),
        "ignored" => TestCaseStatus::skipped(),
        _ => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = test.message.as_deref().unwrap_or("failed");
            status.set_message(clean(message.lines().next().unwrap_or("failed")));
            let mut description = message.to_owned();
            if let (Some(file), Some(line)) = (&test.file, test.line) {
                description.push_str(&format!("\nat {file}:{line}"));
            }
            status.set_description(clean(&description));
            status
        }
    };
    let mut case = TestCase::new(clean(&test.name), status);
    case.set_classname(suite.to_owned());
    if let Some(ms) = test.duration_ms {
        case.set_time(Duration::from_millis(ms));
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{CommandRecord, RunStatus, TaskResult};

    #[test]
    fn secrets_are_masked_as_in_the_report() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs/T")).unwrap();
        let ghp = format!("ghp_{}", "a1".repeat(18));
        std::fs::write(
            dir.path().join("logs/T/out.log"),
            format!("token s3cr3t-value and {ghp}\n"),
        )
        .unwrap();
        let result = TaskResult {
            task: "T".into(),
            queue: "Q".into(),
            agent: "shell".into(),
            status: TaskStatus::Error,
            title: format!("title {ghp}"),
            layer: String::new(),
            reason: Some("failed with s3cr3t-value".into()),
            attempts: 1,
            duration_ms: 1,
            commands: vec![CommandRecord {
                log: Some("logs/T/out.log".into()),
                ..CommandRecord::for_test(&["x"], Some(1))
            }],
            line: None,
            carried_from: None,
            started: None,
            wait_ms: 0,
            cargo: None,
            sandbox: None,
            cached: None,
        };
        let run = RunRecord {
            results: vec![result],
            ..RunRecord::empty("r".into(), RunStatus::Error, String::new())
        };
        let xml = render(
            &run,
            dir.path(),
            &Secrets::new(["s3cr3t-value".to_string()]),
        )
        .unwrap();
        assert!(!xml.contains("s3cr3t") && !xml.contains("ghp_"), "{xml}");
        assert!(xml.contains("token *** and ***"), "{xml}");
    }
}
