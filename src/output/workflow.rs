//! GitHub Actions workflow commands for one finished task: a collapsible group holding
//! its commands and output, fenced by `::stop-commands::<random token>` so that nothing
//! a task prints can issue a workflow command, and an `::error` annotation for a failure,
//! placed on the cause's source line or else on the task's line in sot.md. When the
//! cargo agent recorded what failed, each compiler error, failing test and new warning
//! gets its own annotation on its source line (within GitHub's caps).

use std::path::Path;

use super::annotate::{escape_data, escape_property, in_repository};
use super::{sanitize, Output};
use crate::evidence::{cause, logs, TaskResult, TaskStatus};

/// Output forwarded per stream per command on GitHub Actions; the full logs stay in the
/// run directory.
const CI_LOG_LIMIT: usize = 1024 * 1024;

pub(super) fn task_group(
    output: &Output,
    run_dir: &Path,
    (sot, root): (Option<&str>, Option<&Path>),
    result: &TaskResult,
    verb: &str,
) {
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(std::path::PathBuf::from);
    let in_repo = |rel: &str| in_repository(rel, root, workspace.as_deref());
    let mut out = String::new();
    out.push_str(&format!(
        "::group::{verb} {} {}\n",
        escape_data(&sanitize(&result.task)),
        escape_data(&sanitize(&result.title))
    ));
    let token = random_token();
    out.push_str(&format!("::stop-commands::{token}\n"));
    output.stdout(&out);
    out.clear();
    for command in &result.commands {
        let argv = crate::text::shell_words(&command.cmd);
        output.stdout(&format!("$ {argv}\n"));
        for log in command.log.iter().chain(command.stderr_log.iter()) {
            let text = logs::tail(run_dir, log, CI_LOG_LIMIT, logs::Layout::Raw)
                .unwrap_or_else(|e| format!("({e})"));
            output.stdout(&text);
            if !text.is_empty() && !text.ends_with('\n') {
                output.stdout("\n");
            }
        }
    }
    if let Some(reason) = &result.reason {
        out.push_str(&format!("{reason}\n"));
    }
    out.push_str(&format!("::{token}::\n::endgroup::\n"));
    let failed = matches!(
        result.status,
        TaskStatus::Error | TaskStatus::Timeout | TaskStatus::Cancelled
    );
    let cargo = match &result.cargo {
        Some(evidence) if result.status == TaskStatus::Error => {
            cargo_annotations(output, result, evidence, &in_repo)
        }
        _ => Vec::new(),
    };
    if !cargo.is_empty() {
        cargo.iter().for_each(|line| out.push_str(line));
    } else if failed {
        // The cause's source line when the output names one inside the workspace,
        // else the task's line, so GitHub shows the failure on sot.md itself.
        let cause = cause::read(run_dir, logs::Layout::Raw, result);
        let at_source = cause.as_ref().and_then(|c| {
            let loc = c.location.as_ref()?;
            let col = loc.col.map(|c| format!("col={c},")).unwrap_or_default();
            Some(format!(
                "file={},line={},{col}",
                escape_property(&in_repo(c.source.as_ref()?)),
                loc.line
            ))
        });
        let location = match (at_source, sot, result.line) {
            (Some(at), _, _) => at,
            (None, Some(file), Some(line)) => {
                format!("file={},line={line},", escape_property(file))
            }
            _ => String::new(),
        };
        let properties = format!(
            "{location}title={}",
            escape_property(&format!("cargo-tek {}", result.task))
        );
        // The cause first, with its snippet; the record's reason last.
        let reason = result.reason.as_deref().unwrap_or(result.status.as_str());
        let message = match &cause {
            Some(c) => [c.one_line()]
                .into_iter()
                .chain(c.detail.iter().cloned())
                .chain([reason.to_owned()])
                .collect::<Vec<_>>()
                .join("\n"),
            None => reason.to_owned(),
        };
        let message = format!("{} {message}", result.task);
        let kind = super::AnnotationKind::Error;
        if let Some(line) = output.annotation(kind, &properties, &message) {
            out.push_str(&line);
        }
    }
    output.stdout(&out);
}

/// One annotation per compiler error, failing test and new warning the cargo agent
/// recorded, on its source line; what GitHub's caps leave out is counted by `output`.
fn cargo_annotations(
    output: &Output,
    result: &TaskResult,
    evidence: &crate::evidence::cargo::CargoEvidence,
    in_repo: &dyn Fn(&str) -> String,
) -> Vec<String> {
    use crate::evidence::cargo_cause::headline;
    let title = escape_property(&format!("cargo-tek {}", result.task));
    let at = |file: Option<&String>, line: Option<u32>, col: Option<u32>| match (file, line) {
        (Some(file), Some(line)) if !file.starts_with('/') => {
            let col = col.map(|c| format!("col={c},")).unwrap_or_default();
            format!("file={},line={line},{col}", escape_property(&in_repo(file)))
        }
        _ => String::new(),
    };
    let mut lines = Vec::new();
    let errors = evidence
        .findings
        .iter()
        .filter(|f| f.level.starts_with("error") || f.new);
    for f in errors {
        let kind = if f.new {
            super::AnnotationKind::Warning
        } else {
            super::AnnotationKind::Error
        };
        let properties = format!("{}title={title}", at(f.file.as_ref(), f.line, f.column));
        let message = match &f.rendered {
            Some(rendered) => format!("{} {rendered}", result.task),
            None => format!("{} {}", result.task, headline(f)),
        };
        lines.extend(output.annotation(kind, &properties, &message));
    }
    for t in evidence.tests.iter().filter(|t| t.status == "failed") {
        let properties = format!("{}title={title}", at(t.file.as_ref(), t.line, t.column));
        let message = format!(
            "{} `{}`{} panicked: {}",
            result.task,
            t.name,
            binary_of(t),
            t.message.as_deref().unwrap_or("see the log")
        );
        lines.extend(output.annotation(super::AnnotationKind::Error, &properties, &message));
    }
    lines
}

/// ` (in alpha/lib)`, when cargo said which binary ran the test.
fn binary_of(t: &crate::evidence::cargo::TestOutcome) -> String {
    if t.package.is_empty() {
        String::new()
    } else {
        format!(" (in {}/{})", t.package, t.binary)
    }
}

/// An unguessable token for `::stop-commands::`.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
