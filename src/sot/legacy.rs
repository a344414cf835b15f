//! The predecessor's grammar, kept exactly: inside the section headed
//! `G. Execution Queue & Task Hooks`, a numbered item whose bold text is
//! `Queue <LETTER> — <name>` opens a queue, and its sub-items starting `Tasks:` list the
//! queue's task ids as code spans (`TASK-` and at least three digits).

use std::sync::LazyLock;

use regex::Regex;

use super::blocks::{Block, SegmentKind};
use super::document::{Queue, Task};

use super::predecessor::SECTION_PREFIX;

static QUEUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Queue [A-Z] — \S.*$").expect("valid regex"));
static LEGACY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^TASK-[0-9]{3,}$").expect("valid regex"));

/// The blocks of the legacy section, if the document has one.
pub(crate) fn section(blocks: &[Block]) -> Option<&[Block]> {
    let (start, level) = blocks.iter().enumerate().find_map(|(i, b)| match b {
        Block::Heading { level, .. } if b.text().trim_start().starts_with(SECTION_PREFIX) => {
            Some((i, *level))
        }
        _ => None,
    })?;
    let end = blocks[start + 1..]
        .iter()
        .position(|b| matches!(b, Block::Heading { level: l, .. } if *l <= level))
        .map_or(blocks.len(), |p| start + 1 + p);
    Some(&blocks[start + 1..end])
}

/// The queues of a legacy section.
pub(crate) fn queues(section: &[Block]) -> Vec<Queue> {
    let mut queues: Vec<Queue> = Vec::new();
    for block in section {
        let Block::Item {
            ordered,
            segments,
            range,
            ..
        } = block
        else {
            continue;
        };
        if *ordered {
            let strong: String = segments
                .iter()
                .filter(|s| s.strong)
                .map(|s| s.text.as_str())
                .collect();
            let strong = strong.trim();
            if QUEUE.is_match(strong) {
                queues.push(Queue {
                    name: strong.to_owned(),
                    range: range.clone(),
                    tasks: Vec::new(),
                });
                continue;
            }
        }
        let Some(queue) = queues.last_mut() else {
            continue;
        };
        // Depth is not checked: under `10. **Queue J — …**` a `   - Tasks:` line indented
        // like items 1–9 is, to CommonMark, a new top-level list, while the predecessor
        // (line-based) read it as the queue's. Any `Tasks:` item after a queue belongs
        // to it.
        if !block.text().trim_start().starts_with("Tasks:") {
            continue;
        }
        for segment in segments {
            if segment.kind == SegmentKind::Code && LEGACY_ID.is_match(segment.text.trim()) {
                let id = segment.text.trim().to_owned();
                queue.tasks.push(Task {
                    title: id.clone(),
                    id,
                    done: false,
                    after: Vec::new(),
                    range: segment.range.clone(),
                });
            }
        }
    }
    // Grown by doubling; a 50,000-task plan keeps these for the whole command.
    for queue in &mut queues {
        queue.tasks.shrink_to_fit();
    }
    queues
}

/// The predecessor's layer for a legacy task id, by numeric range.
pub(crate) fn default_layer(id: &str) -> &'static str {
    match super::ids::number(id) {
        Some(1..=21) => "foundation",
        Some(22..=29) => "orchestration",
        Some(30..=41) => "platform",
        Some(42..=53) => "services",
        Some(54..=61) => "monitoring",
        _ => "execution",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sot::blocks::blocks;

    const LEGACY: &str = "# Plan\n\nSee `TASK-900`.\n\n### G. Execution Queue & Task Hooks\n\n\
1. **Queue A — Workspace Bootstrapping**\n   - Tasks: `TASK-001`, `TASK-002`\n   - Hooks: `TASK-777` is not a task here\n   - Tasks: `TASK-003`\n\
2. **Queue B — Services**\n   - Tasks: `TASK-042` `TASK-12`\n\n### H. Next\n\n1. **Queue C — Ignored**\n   - Tasks: `TASK-100`\n";

    #[test]
    fn reads_queues_and_tasks_in_order() {
        let b = blocks(LEGACY);
        let qs = queues(section(&b).unwrap());
        let names: Vec<_> = qs.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            names,
            ["Queue A — Workspace Bootstrapping", "Queue B — Services"]
        );
        let ids: Vec<_> = qs[0].tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["TASK-001", "TASK-002", "TASK-003"]);
        // Two digits is not a legacy id.
        let ids: Vec<_> = qs[1].tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["TASK-042"]);
        assert_eq!(qs[0].tasks[0].title, "TASK-001");
    }

    #[test]
    fn queues_numbered_ten_and_up_keep_their_tasks() {
        let mut md = String::from("### G. Execution Queue & Task Hooks\n\n");
        for (i, letter) in ('A'..='L').enumerate() {
            md.push_str(&format!(
                "{}. **Queue {letter} — Q{letter}**\n   - Tasks: `TASK-{:03}`\n",
                i + 1,
                i + 1
            ));
        }
        let b = blocks(&md);
        let qs = queues(section(&b).unwrap());
        assert_eq!(qs.len(), 12);
        for (i, q) in qs.iter().enumerate() {
            assert_eq!(
                q.tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
                [format!("TASK-{:03}", i + 1)],
                "{}",
                q.name
            );
        }
    }

    #[test]
    fn layers_follow_the_predecessor_ranges() {
        let cases = [
            ("TASK-001", "foundation"),
            ("TASK-021", "foundation"),
            ("TASK-022", "orchestration"),
            ("TASK-041", "platform"),
            ("TASK-042", "services"),
            ("TASK-061", "monitoring"),
            ("TASK-062", "execution"),
            ("TASK-000", "execution"),
        ];
        for (id, layer) in cases {
            assert_eq!(default_layer(id), layer, "{id}");
        }
    }
}
