//! The predecessor's own reading of a legacy document, line by line with regexes (as
//! `bench/predecessor_plan.py` spells it out), kept only to notice where cargo-tek's
//! Markdown reading plans fewer tasks than the predecessor did.
//!
//! Its rules: toggle "fenced" at any line starting (after spaces) with ```` ``` ```` or
//! `~~~`; an ATX heading line starting `G. Execution Queue & Task Hooks` opens the section,
//! the next ATX heading line of the same or a higher level ends it; inside, a numbered
//! line `N. **Queue X — name**` opens a queue and an indented bullet line `- Tasks: …`
//! adds its `` `TASK-NNN` `` code spans to the current queue.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(#{1,6})\s+(.*?)\s*#*\s*$").expect("valid regex"));
static QUEUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\d+[.)]\s+\*\*(Queue [A-Z] — \S.*?)\*\*").expect("valid regex")
});
static TASKS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+[-*+]\s+Tasks:(.*)$").expect("valid regex"));
/// A code span holding a legacy id. No capture group: `find_iter` then runs on the fast
/// engines, and the id is the span without its backticks and spaces.
static TASK_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`\s*TASK-\d{3,}\s*`").expect("valid regex"));

/// What the section heading starts with.
pub const SECTION_PREFIX: &str = "G. Execution Queue & Task Hooks";

/// A task as the predecessor planned it. Positions only: a 50,000-task document is read
/// this way on every plan, so nothing is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredecessorTask {
    /// Where the id is (inside its code span).
    pub id: Range<usize>,
    /// Where the id is written (its code span, backticks included).
    pub range: Range<usize>,
    /// Index into [`PredecessorReading::queues`].
    pub queue: usize,
}

/// What the predecessor read: its section heading, its queues and its tasks.
#[derive(Debug, Clone, Default)]
pub struct PredecessorReading {
    /// Byte offset of the section heading it started at.
    pub section: Option<usize>,
    /// Each queue's name and the offset of its item.
    pub queues: Vec<(String, usize)>,
    pub tasks: Vec<PredecessorTask>,
}

/// Reads `text` with the predecessor's line rules.
pub fn read(text: &str) -> PredecessorReading {
    let mut reading = PredecessorReading::default();
    // Without the heading's words nothing can be planned: skip the scan.
    if !text.contains(SECTION_PREFIX) {
        return reading;
    }
    let mut level: Option<usize> = None;
    let mut fenced = false;

    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.starts_with('#') {
            if let Some(m) = HEADING.captures(line) {
                let this = m[1].len();
                if level.is_some_and(|l| this <= l) {
                    break;
                }
                if level.is_none() && m[2].starts_with(SECTION_PREFIX) {
                    level = Some(this);
                    reading.section = Some(start);
                }
                continue;
            }
        }
        if level.is_none() {
            continue;
        }
        if trimmed.starts_with(|c: char| c.is_numeric()) {
            if let Some(m) = QUEUE.captures(line) {
                reading.queues.push((m[1].trim().to_owned(), start));
                continue;
            }
        }
        let Some(queue) = reading.queues.len().checked_sub(1) else {
            continue;
        };
        if !line.contains("Tasks:") {
            continue;
        }
        if let Some(m) = TASKS.captures(line) {
            let list = m.get(1).map_or(0..0, |g| g.range());
            let base = start + list.start;
            for span in TASK_ID.find_iter(&line[list.clone()]) {
                let inner = span.as_str()[1..span.len() - 1].trim_start();
                let id_start = span.end() - 1 - inner.len();
                let id = inner.trim_end();
                reading.tasks.push(PredecessorTask {
                    id: base + id_start..base + id_start + id.len(),
                    range: base + span.start()..base + span.end(),
                    queue,
                });
            }
        }
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_predecessor() {
        let md = "# Plan\n### G. Execution Queue & Task Hooks\n\
1. **Queue A — Build**\n   - Tasks: `TASK-001`, `TASK-02`\n<!--\n   - Tasks: `TASK-003`\n-->\n\
```\n   - Tasks: `TASK-004`\n```\n- Tasks: `TASK-005`\n### H. Next\n   - Tasks: `TASK-006`\n";
        let r = read(md);
        let ids: Vec<_> = r.tasks.iter().map(|t| &md[t.id.clone()]).collect();
        assert_eq!(ids, ["TASK-001", "TASK-003"]);
        assert_eq!(&md[r.tasks[1].range.clone()], "`TASK-003`");
        assert_eq!(r.queues[r.tasks[0].queue].0, "Queue A — Build");
        assert_eq!(r.section, Some(7));
    }

    #[test]
    fn nothing_without_the_section() {
        assert!(read("## Q\n1. **Queue A — x**\n   - Tasks: `TASK-001`\n")
            .tasks
            .is_empty());
    }
}
