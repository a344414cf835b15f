//! The predecessor's own reading of a legacy document, kept only to notice where
//! cargo-tek's Markdown reading plans fewer tasks than the predecessor did.
//!
//! The rules follow the predecessor's public planner (`planner.py`), stated here as
//! facts; `bench/predecessor_plan.py` follows the same rules.
//!
//! - The section starts at the first line whose text, stripped, starts with
//!   `### G. Execution Queue & Task Hooks`.
//! - It ends at the first later line that starts (unstripped) with `## `, or with `### `
//!   but not `### G.`. A `# ` heading does not end it, nor does a second `### G. …`.
//! - Every line is read on its own: no code fences, no HTML comments.
//! - A queue opens at a line matching
//!   `^\s*\d+\.\s*\*\*Queue\s+([A-Z])\s+—\s+(.+?)\*\*\s*$` (an em dash, U+2014, only).
//! - A line whose stripped text starts with `- Tasks:` adds every `` `TASK-NNN` `` (three
//!   or more digits, nothing else inside the backticks) to the current queue.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// The queue line; group 1 is the queue's name (its bold text), 2 its letter.
static QUEUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\d+\.\s*\*\*(Queue\s+([A-Z])\s+—\s+(.+?))\*\*\s*$").expect("valid regex")
});
/// A task id in its backticks.
static TASK_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`TASK-[0-9]{3,}`").expect("valid regex"));

/// What the section heading's text starts with (for either reading).
pub(crate) const SECTION_PREFIX: &str = "G. Execution Queue & Task Hooks";
/// What the predecessor's section line starts with, once stripped.
const SECTION_LINE: &str = "### G. Execution Queue & Task Hooks";
/// The tasks line, once stripped.
const TASKS_LINE: &str = "- Tasks:";

/// A task as the predecessor planned it. Positions only: a 50,000-task document is read
/// this way on every plan, so nothing is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PredecessorTask {
    /// Where the id is (inside its backticks).
    pub(crate) id: Range<usize>,
    /// Where the id is written (backticks included).
    pub(crate) range: Range<usize>,
    /// Index into [`PredecessorReading::queues`].
    pub(crate) queue: usize,
}

/// What the predecessor read: its section line, its queues and its tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct PredecessorReading {
    /// Byte offset of the line the section started at.
    pub(crate) section: Option<usize>,
    /// Each queue's name (its bold text) and the offset of its line.
    pub(crate) queues: Vec<(String, usize)>,
    pub(crate) tasks: Vec<PredecessorTask>,
}

/// Whether `line` (unstripped) ends the predecessor's section.
fn ends_section(line: &str) -> bool {
    line.starts_with("## ") || (line.starts_with("### ") && !line.starts_with("### G."))
}

/// Reads `text` with the predecessor's line rules.
pub(crate) fn read(text: &str) -> PredecessorReading {
    let mut reading = PredecessorReading::default();
    // Without the section line's words nothing can be planned: skip the scan.
    if !text.contains(SECTION_LINE) {
        return reading;
    }
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let stripped = line.trim_start();
        if reading.section.is_none() {
            if stripped.starts_with(SECTION_LINE) {
                reading.section = Some(start);
            }
            continue;
        }
        if ends_section(line) {
            break;
        }
        if stripped.starts_with(TASKS_LINE) {
            let Some(queue) = reading.queues.len().checked_sub(1) else {
                continue;
            };
            for span in TASK_ID.find_iter(line) {
                let at = start + span.start();
                reading.tasks.push(PredecessorTask {
                    id: at + 1..at + span.len() - 1,
                    range: at..at + span.len(),
                    queue,
                });
            }
        } else if stripped.starts_with(|c: char| c.is_numeric()) {
            if let Some(m) = QUEUE.captures(line) {
                reading.queues.push((m[1].to_owned(), start));
            }
        }
    }
    reading
}

#[cfg(test)]
#[path = "predecessor_tests.rs"]
mod tests;
