//! The native grammar: every heading names a queue, and a list item (optionally a
//! checkbox) whose first inline content is a code span holding a task id is a task in the
//! nearest heading's queue. The rest of the item's first paragraph is its title, up to an
//! optional `— after `ID`, `ID`` clause listing its dependencies. Anything else is prose.

use std::sync::LazyLock;

use regex::Regex;

use super::blocks::{Block, Segment, SegmentKind};
use super::document::{Queue, Task};
use super::IdPattern;
use crate::source::{SourceDiagnostic, SourceFile};

/// The dependency clause opener at the end of a text segment: an em or en dash (or `--`)
/// then `after`, optionally with a colon.
static AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s*(?:—|–|--)\s*after:?\s*$").expect("valid regex"));
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:\s|,|and)*$").expect("valid regex"));

/// The queues of a native document.
pub fn queues(
    src: &SourceFile,
    blocks: &[Block],
    ids: &IdPattern,
) -> Result<Vec<Queue>, SourceDiagnostic> {
    let mut queues: Vec<Queue> = Vec::new();
    let mut heading: Option<(String, std::ops::Range<usize>)> = None;
    for block in blocks {
        match block {
            Block::Heading { range, .. } => {
                heading = Some((block.text().trim().to_owned(), range.clone()));
            }
            Block::Item {
                checked, segments, ..
            } => {
                let Some(first) = segments.first() else {
                    continue;
                };
                if first.kind != SegmentKind::Code || !ids.is_match(first.text.trim()) {
                    continue;
                }
                let Some((name, range)) = &heading else {
                    return Err(src.diagnostic(
                        format!("task `{}` is not under a queue heading", first.text.trim()),
                        vec![(first.range.clone(), "this task has no queue".into())],
                        Some("add a heading such as `## Queue A — Build` above it".into()),
                    ));
                };
                if queues.last().is_none_or(|q| q.range != *range) {
                    queues.push(Queue {
                        name: name.clone(),
                        range: range.clone(),
                        tasks: Vec::new(),
                    });
                }
                let task = task(src, ids, first, &segments[1..], checked.unwrap_or(false))?;
                if let Some(queue) = queues.last_mut() {
                    queue.tasks.push(task);
                }
            }
        }
    }
    Ok(queues)
}

fn task(
    src: &SourceFile,
    ids: &IdPattern,
    id: &Segment,
    rest: &[Segment],
    done: bool,
) -> Result<Task, SourceDiagnostic> {
    let mut title = String::new();
    let mut after = Vec::new();
    let mut in_clause = false;
    for (i, segment) in rest.iter().enumerate() {
        if in_clause {
            match segment.kind {
                SegmentKind::Code if ids.is_match(segment.text.trim()) => {
                    after.push((segment.text.trim().to_owned(), segment.range.clone()));
                }
                SegmentKind::Code => {
                    return Err(src.diagnostic(
                        format!("`{}` in the `after` clause is not a task id", segment.text),
                        vec![(segment.range.clone(), "expected a task id".into())],
                        Some(format!("task ids match `{}`", ids.as_str())),
                    ))
                }
                SegmentKind::Text if SEPARATOR.is_match(&segment.text) => {}
                SegmentKind::Text => {
                    return Err(src.diagnostic(
                        "unexpected text in the `after` clause",
                        vec![(
                            segment.range.clone(),
                            "only `ID`s separated by commas may follow `— after`".into(),
                        )],
                        Some("write dependencies as: — after `TASK-001`, `TASK-002`".into()),
                    ))
                }
            }
            continue;
        }
        let next_is_code = rest.get(i + 1).is_some_and(|s| s.kind == SegmentKind::Code);
        if segment.kind == SegmentKind::Text && next_is_code {
            if let Some(m) = AFTER.find(&segment.text) {
                title.push_str(&segment.text[..m.start()]);
                in_clause = true;
                continue;
            }
        }
        title.push_str(&segment.text);
    }
    Ok(Task {
        id: id.text.trim().to_owned(),
        title: title.split_whitespace().collect::<Vec<_>>().join(" "),
        done,
        after,
        range: id.range.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sot::blocks::blocks;
    use std::path::Path;

    const EXAMPLE: &str = "# Release train — source of truth
Prose is ignored, and so is `TASK-999` mentioned in a sentence.

## Queue A — Workspace bootstrapping
- [x] `TASK-001` Pin the toolchain
- [ ] `TASK-002` Build the workspace
- [ ] `TASK-003` Lint with clippy — after `TASK-002`

## Queue B — Quality gates
- [ ] `TASK-010` Unit tests — after `TASK-002`
- [ ] `TASK-011` Docs build — after `TASK-002`, `TASK-010`
";

    fn parse(md: &str) -> Result<Vec<Queue>, SourceDiagnostic> {
        let src =
            SourceFile::from_bytes(Path::new("sot.md"), "sot.md".into(), md.as_bytes().to_vec())
                .unwrap();
        queues(&src, &blocks(md), &IdPattern::default())
    }

    #[test]
    fn the_issue_example_plans_as_specified() {
        let qs = parse(EXAMPLE).unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].name, "Queue A — Workspace bootstrapping");
        assert_eq!(qs[1].name, "Queue B — Quality gates");
        let a = &qs[0].tasks;
        assert_eq!(
            a.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["TASK-001", "TASK-002", "TASK-003"]
        );
        assert!(a[0].done && !a[1].done);
        assert_eq!(a[0].title, "Pin the toolchain");
        assert_eq!(a[2].title, "Lint with clippy");
        assert_eq!(
            a[2].after.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ["TASK-002"]
        );
        let b = &qs[1].tasks;
        assert_eq!(
            b[1].after.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ["TASK-002", "TASK-010"]
        );
        assert_eq!(b[1].title, "Docs build");
    }

    #[test]
    fn a_dash_without_after_stays_in_the_title() {
        let qs = parse("## Q\n- `TASK-1` Build — then `cargo` test\n").unwrap();
        assert_eq!(qs[0].tasks[0].title, "Build — then cargo test");
        assert!(qs[0].tasks[0].after.is_empty());
    }

    #[test]
    fn a_non_id_in_the_after_clause_is_an_error_with_location() {
        let err = parse("## Q\n- `TASK-1` a\n- `TASK-2` b — after `nope`\n").unwrap_err();
        assert_eq!(err.location, "sot.md:3:22");
    }

    #[test]
    fn a_task_before_any_heading_is_an_error() {
        let err = parse("- `TASK-1` a\n").unwrap_err();
        assert!(err.message.contains("not under a queue heading"), "{err}");
        assert_eq!(err.location, "sot.md:1:3");
    }
}
