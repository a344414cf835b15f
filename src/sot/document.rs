//! The parsed source of truth, and the entry point that picks the grammar.

use std::ops::Range;

use super::ids::{shortened, MAX_ID_BYTES};
use super::{blocks::blocks, legacy_gaps::LegacyGap, IdPattern};
use crate::source::{SourceDiagnostic, SourceFile};

/// Which grammar a document was written in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// The predecessor's `G. Execution Queue & Task Hooks` section.
    Legacy,
    /// Queues as headings, tasks as list items starting with a backticked id.
    Native,
}

/// A parsed sot.md.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) format: Format,
    pub(crate) queues: Vec<Queue>,
    /// Tasks the predecessor's line rules plan and this reading does not.
    pub(crate) legacy_gaps: Vec<LegacyGap>,
}

/// A queue of tasks, in document order.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(crate) name: String,
    /// Where the queue's heading or list item is.
    pub(crate) range: Range<usize>,
    pub(crate) tasks: Vec<Task>,
}

/// One task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) title: String,
    /// A checked box: skipped by runs unless `--include-done`.
    pub(crate) done: bool,
    /// Ids this task waits for, each with where it was written.
    pub(crate) after: Vec<(String, Range<usize>)>,
    /// Where the id is written.
    pub(crate) range: Range<usize>,
}

impl Document {
    /// Every task with its queue.
    pub(crate) fn tasks(&self) -> impl Iterator<Item = (&Queue, &Task)> {
        self.queues
            .iter()
            .flat_map(|q| q.tasks.iter().map(move |t| (q, t)))
    }
}

/// Parses sot.md. A document with a legacy section is read with the legacy grammar only
/// (ids elsewhere are prose, as the predecessor did); any other uses the native grammar.
pub(crate) fn parse(src: &SourceFile, ids: &IdPattern) -> Result<Document, SourceDiagnostic> {
    let blocks = blocks(&src.text);
    let document = match super::legacy::section(&blocks) {
        Some(section) => Document {
            format: Format::Legacy,
            queues: super::legacy::queues(section),
            legacy_gaps: Vec::new(),
        },
        None => Document {
            format: Format::Native,
            queues: super::native::queues(src, &blocks, ids)?,
            legacy_gaps: Vec::new(),
        },
    };
    let mut document = document;
    document.legacy_gaps = super::legacy_gaps::find(src, &document);
    if document.queues.iter().all(|q| q.tasks.is_empty()) {
        if let Some(gap) = document.legacy_gaps.first() {
            return Err(gap.diagnostic(src));
        }
        return Err(no_tasks(src, document.format, ids));
    }
    check_lengths(src, &document)?;
    check_duplicates(src, &document)?;
    Ok(document)
}

/// A document with no tasks would plan, run and report nothing, green: always a mistake
/// (a wrong file, a typo in every id, or the wrong grammar).
fn no_tasks(src: &SourceFile, format: Format, ids: &IdPattern) -> SourceDiagnostic {
    let help = match format {
        Format::Native => format!(
            "a task is a list item under a heading that starts with a backticked id matching `{}`, e.g.\n  ## Queue A — Build\n  - [ ] `TASK-001` Build the workspace",
            ids.as_str()
        ),
        Format::Legacy => "in the `G. Execution Queue & Task Hooks` section, a numbered item `**Queue A — Name**` lists its tasks in a sub-item, e.g.\n  1. **Queue A — Build**\n     - Tasks: `TASK-001`, `TASK-002`".to_owned(),
    };
    src.diagnostic("no tasks in this file", Vec::new(), Some(help))
}

/// Ids longer than [`MAX_ID_BYTES`] are refused here, where the message can point at
/// them, rather than when the run creates their log folder.
fn check_lengths(src: &SourceFile, doc: &Document) -> Result<(), SourceDiagnostic> {
    let Some((_, task)) = doc.tasks().find(|(_, t)| t.id.len() > MAX_ID_BYTES) else {
        return Ok(());
    };
    Err(src.diagnostic(
        format!(
            "task id `{}` is {} bytes long, more than the {MAX_ID_BYTES} an id may have",
            shortened(&task.id),
            task.id.len()
        ),
        vec![(task.range.clone(), "this id is too long".into())],
        Some(format!(
            "an id names the task's log folder; keep it at most {MAX_ID_BYTES} bytes"
        )),
    ))
}

fn check_duplicates(src: &SourceFile, doc: &Document) -> Result<(), SourceDiagnostic> {
    let count = doc.queues.iter().map(|q| q.tasks.len()).sum();
    let mut seen: rustc_hash::FxHashMap<&str, std::ops::Range<usize>> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(count, Default::default());
    for (_, task) in doc.tasks() {
        if let Some(first) = seen.insert(task.id.as_str(), task.range.clone()) {
            return Err(src.diagnostic(
                format!(
                    "duplicate task id `{}` (first defined at {})",
                    task.id,
                    src.location(first.start)
                ),
                vec![
                    (task.range.clone(), "defined again here".into()),
                    (first, "first defined here".into()),
                ],
                Some("give each task its own id".into()),
            ));
        }
    }
    Ok(())
}
