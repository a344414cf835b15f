//! junit.xml for the tools that read JUnit: one suite per queue, one case per task.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::logs::tail;
use super::record::{RunRecord, TaskStatus};

/// Output kept per test case: JUnit readers choke on huge system-out blocks.
const OUTPUT_TAIL: usize = 16 * 1024;

/// Renders the run as JUnit XML.
pub fn render(run: &RunRecord, run_dir: &Path) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("cargo-tek");
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in &run.results {
        let index = match suites.iter().position(|s| s.name.as_str() == result.queue) {
            Some(i) => i,
            None => {
                suites.push(TestSuite::new(result.queue.clone()));
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
            status.set_message(message);
        }
        let mut case = TestCase::new(
            format!("{} {}", result.task, result.title)
                .trim()
                .to_owned(),
            status,
        );
        case.set_classname(result.queue.clone());
        case.set_time(Duration::from_millis(result.duration_ms));
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
            if let Some(log) = &command.log {
                out.push_str(&tail(&run_dir.join(log), OUTPUT_TAIL));
            }
            if let Some(log) = &command.stderr_log {
                err.push_str(&tail(&run_dir.join(log), OUTPUT_TAIL));
            }
        }
        if !out.is_empty() {
            case.set_system_out(out);
        }
        if !err.is_empty() {
            case.set_system_err(err);
        }
        suites[index].add_test_case(case);
    }
    report.add_test_suites(suites);
    report.to_string()
}
