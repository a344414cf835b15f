//! The parsed source of truth, and the entry point that picks the grammar.

use std::ops::Range;

use super::{blocks::blocks, IdPattern};
use crate::source::{SourceDiagnostic, SourceFile};

/// Which grammar a document was written in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The predecessor's `G. Execution Queue & Task Hooks` section.
    Legacy,
    /// Queues as headings, tasks as list items starting with a backticked id.
    Native,
}

/// A parsed sot.md.
#[derive(Debug, Clone)]
pub struct Document {
    pub format: Format,
    pub queues: Vec<Queue>,
}

/// A queue of tasks, in document order.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    /// Where the queue's heading or list item is.
    pub range: Range<usize>,
    pub tasks: Vec<Task>,
}

/// One task.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub title: String,
    /// A checked box: skipped by runs unless `--include-done`.
    pub done: bool,
    /// Ids this task waits for, each with where it was written.
    pub after: Vec<(String, Range<usize>)>,
    /// Where the id is written.
    pub range: Range<usize>,
}

impl Document {
    /// Every task with its queue.
    pub fn tasks(&self) -> impl Iterator<Item = (&Queue, &Task)> {
        self.queues
            .iter()
            .flat_map(|q| q.tasks.iter().map(move |t| (q, t)))
    }
}

/// Parses sot.md. A document with a legacy section is read with the legacy grammar only
/// (ids elsewhere are prose, as the predecessor did); any other uses the native grammar.
pub fn parse(src: &SourceFile, ids: &IdPattern) -> Result<Document, SourceDiagnostic> {
    let blocks = blocks(&src.text);
    let document = match super::legacy::section(&blocks) {
        Some(section) => Document {
            format: Format::Legacy,
            queues: super::legacy::queues(section),
        },
        None => Document {
            format: Format::Native,
            queues: super::native::queues(src, &blocks, ids)?,
        },
    };
    check_duplicates(src, &document)?;
    Ok(document)
}

fn check_duplicates(src: &SourceFile, doc: &Document) -> Result<(), SourceDiagnostic> {
    let mut seen = std::collections::HashMap::new();
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
