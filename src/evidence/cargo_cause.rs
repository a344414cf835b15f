//! The cause of a failed task from what the cargo agent recorded, more exact than
//! reading its log: the first compiler error with its rendered snippet, else the first
//! failing test with its panic message and location, else the first new warning that
//! failed the warnings gate. Every file is already relative to the workspace root.

use super::cargo::{CargoEvidence, Finding, TestOutcome};
use super::cause::{Cause, Kind, Location, DETAIL_LINES, LINE_LIMIT, TESTS_SHOWN};

/// The cause in the evidence, if it names one.
pub(crate) fn cause(evidence: &CargoEvidence) -> Option<Cause> {
    let failed: Vec<&TestOutcome> = evidence
        .tests
        .iter()
        .filter(|t| t.status == "failed")
        .collect();
    let mut cause = evidence
        .findings
        .iter()
        .find(|f| f.level.starts_with("error"))
        .map(diagnostic)
        .or_else(|| failed.first().map(|t| panic(t)))
        .or_else(|| evidence.findings.iter().find(|f| f.new).map(diagnostic))?;
    cause.tests = failed
        .iter()
        .take(TESTS_SHOWN)
        .map(|t| t.name.clone())
        .collect();
    cause.more_tests = failed.len().saturating_sub(TESTS_SHOWN);
    Some(cause)
}

/// One line of a finding: `error[E0308]: mismatched types`.
pub(crate) fn headline(f: &Finding) -> String {
    let code = match &f.code {
        // rustc's own codes go in brackets; lint names follow in the rendering.
        Some(code) if code.starts_with('E') && code[1..].chars().all(|c| c.is_ascii_digit()) => {
            format!("[{code}]")
        }
        _ => String::new(),
    };
    let new = if f.new { "new " } else { "" };
    cut(&format!("{new}{}{code}: {}", f.level, f.message))
}

fn diagnostic(f: &Finding) -> Cause {
    // The rendering's first line repeats the headline; its snippet follows.
    let detail = f
        .rendered
        .as_deref()
        .map(|r| r.lines().skip(1).take(DETAIL_LINES).map(cut).collect())
        .unwrap_or_default();
    Cause {
        kind: Kind::Diagnostic,
        summary: headline(f),
        detail,
        location: located(f.file.as_deref(), f.line, f.column),
        source: f.file.clone().filter(|file| relative(file)),
        tests: Vec::new(),
        more_tests: 0,
        command: None,
    }
}

fn panic(t: &TestOutcome) -> Cause {
    let mut lines = t.message.as_deref().unwrap_or("failed").lines().map(cut);
    let first = lines.next().unwrap_or_default();
    Cause {
        kind: Kind::Panic,
        summary: cut(&format!("`{}` panicked: {first}", t.name)),
        detail: lines.take(DETAIL_LINES).collect(),
        location: located(t.file.as_deref(), t.line, t.column),
        source: t.file.clone().filter(|file| relative(file)),
        tests: Vec::new(),
        more_tests: 0,
        command: None,
    }
}

fn located(file: Option<&str>, line: Option<u32>, col: Option<u32>) -> Option<Location> {
    Some(Location {
        file: file?.to_owned(),
        line: line?,
        col,
    })
}

/// A path that can name a file in the workspace: relative, without `..`.
fn relative(file: &str) -> bool {
    !file.starts_with('/') && !file.split('/').any(|p| p == "..") && !file.contains(':')
}

fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_LIMIT) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_before_failing_tests_and_new_warnings() {
        let error = Finding {
            level: "error".into(),
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            file: Some("crates/b/src/lib.rs".into()),
            line: Some(2),
            column: Some(5),
            rendered: Some(
                "error[E0308]: mismatched types\n --> crates/b/src/lib.rs:2:5\n  |".into(),
            ),
            new: false,
        };
        let test = TestOutcome {
            name: "tests::compares".into(),
            package: "alpha".into(),
            binary: "lib".into(),
            status: "failed".into(),
            message: Some("assertion failed\n left: 1".into()),
            file: Some("/abs/src/lib.rs".into()),
            line: Some(14),
            ..TestOutcome::default()
        };
        let mut evidence = CargoEvidence {
            findings: vec![error],
            tests: vec![test],
            ..CargoEvidence::default()
        };
        let c = cause(&evidence).unwrap();
        assert_eq!(c.one_line(), "error[E0308]: mismatched types (at crates/b/src/lib.rs:2:5); 1 failing test: tests::compares");
        assert_eq!(c.detail, [" --> crates/b/src/lib.rs:2:5", "  |"]);
        evidence.findings.clear();
        let c = cause(&evidence).unwrap();
        assert_eq!(c.summary, "`tests::compares` panicked: assertion failed");
        assert_eq!(c.detail, [" left: 1"]);
        assert_eq!(c.source, None, "an absolute path is no annotation's file");
        evidence.tests.clear();
        assert_eq!(cause(&evidence), None);
    }
}
