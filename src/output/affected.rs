//! `cargo tek affected` in words: for each task, run or skip, and with `--explain` the
//! chain that decided it (path → crate → dependent crate → task) or the rule.

use std::fmt::Write;

use crate::affected::{Crates, Decision, Reason};

use super::sanitize;

/// The decision as text. Task ids and queue names come from sot.md and paths from the
/// repository, so they are shown escaped.
pub(crate) fn render_affected(decision: &Decision, explain: bool) -> String {
    let mut out = String::new();
    let merge_base = decision
        .merge_base
        .as_deref()
        .map(|m| format!(" (merge base {})", &m[..m.len().min(12)]))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "base {}{merge_base}: {}",
        sanitize(&decision.base),
        super::count(
            decision.changed_paths.len(),
            "changed path",
            "changed paths"
        )
    );
    if explain {
        if let Some(rules) = &decision.rules {
            // Said outright: a reader of a pull request's run must know that the
            // change's own edits to the rules did not judge it.
            let edited = if rules.edited {
                "; the change edits them; they apply once it is merged"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "rules: [workspace.metadata.tek.affected] as of the base, not the change{edited}"
            );
        }
        for path in &decision.changed_paths {
            let _ = writeln!(out, "  changed {}", sanitize(path));
        }
        if !decision.crates.is_empty() {
            let names: Vec<&str> = decision.crates.keys().map(String::as_str).collect();
            let _ = writeln!(out, "affected crates: {}", sanitize(&names.join(", ")));
        }
    }
    if let Some(reason) = &decision.everything {
        let _ = writeln!(out, "every task runs: {}", reason_text(reason));
    }
    let run = decision.tasks.iter().filter(|t| t.run).count();
    for task in &decision.tasks {
        let verdict = if task.run { "run " } else { "skip" };
        let why = if task.run {
            task.reasons.first().map(reason_text).unwrap_or_default()
        } else {
            task.skip.clone().unwrap_or_default()
        };
        let why = if decision.everything.is_some() && task.run {
            String::new()
        } else {
            format!("  {}", sanitize(&why))
        };
        let _ = writeln!(out, "{verdict}  {}{why}", sanitize(&task.id));
        if explain {
            for reason in task.reasons.iter().skip(1) {
                let _ = writeln!(out, "        also: {}", sanitize(&reason_text(reason)));
            }
            let covers = match &task.cover.crates {
                Crates::Some(names) => {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    if names.is_empty() {
                        "no crate".to_owned()
                    } else {
                        names.join(", ")
                    }
                }
                Crates::All => "all crates".into(),
                Crates::Everything => "everything".into(),
            };
            let paths = if task.cover.paths.is_empty() {
                String::new()
            } else {
                format!(" and paths {}", task.cover.paths.join(", "))
            };
            let _ = writeln!(
                out,
                "        covers {}{} ({})",
                sanitize(&covers),
                sanitize(&paths),
                sanitize(&task.cover.source)
            );
        }
    }
    let _ = writeln!(
        out,
        "{run} of {} run",
        super::count(decision.tasks.len(), "task", "tasks")
    );
    out
}

/// One reason in words.
pub(crate) fn reason_text(reason: &Reason) -> String {
    match reason {
        Reason::Everything { path, rule } => format!("{path} changed: {rule}"),
        Reason::Fallback { why } => why.clone(),
        Reason::Definition { what } => what.clone(),
        Reason::Crate { chain } => chain.join(" → "),
        Reason::Path { path, glob } => format!("{path} matches `{glob}`"),
        Reason::AlwaysRuns { why } => why.clone(),
        Reason::DependencyOf { task } => format!("{task} waits for it"),
    }
}
