//! The native grammar: every heading names a queue, and a list item (optionally a
//! checkbox) whose first inline content is a code span holding a task id is a task in the
//! nearest heading's queue. The rest of the item's first paragraph is its title, up to an
//! optional `— after `ID`, `ID`` clause listing its dependencies. Anything else is prose.

use std::sync::LazyLock;

use regex::Regex;

use super::blocks::{Block, Segment, SegmentKind};
use super::document::{Queue, Task};
use super::{suggest, IdPattern};
use crate::source::{SourceDiagnostic, SourceFile};

/// The dependency clause opener at the end of a text segment: an em or en dash (or `--`)
/// then `after`, optionally with a colon.
static AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s*(?:—|–|--)\s*after:?\s*$").expect("valid regex"));
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:\s|,|and)*$").expect("valid regex"));

/// The queues of a native document.
pub(crate) fn queues(
    src: &SourceFile,
    blocks: &[Block],
    ids: &IdPattern,
) -> Result<Vec<Queue>, SourceDiagnostic> {
    let mut queues: Vec<Queue> = Vec::new();
    let mut heading: Option<(String, std::ops::Range<usize>)> = None;
    // Built on the first item that might be a mistyped id: most documents never need it.
    let mut prefixes: Option<Vec<String>> = None;
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
                if first.kind != SegmentKind::Code {
                    continue;
                }
                if !ids.is_match(first.text.trim()) {
                    if heading.is_some() {
                        let known = prefixes.get_or_insert_with(|| known_prefixes(blocks, ids));
                        if let Some(miss) = suggest::near_miss(&first.text, ids, known) {
                            return Err(near_miss_error(src, ids, first, &miss));
                        }
                    }
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

/// The prefixes of the document's own ids, then the pattern's literal one.
fn known_prefixes(blocks: &[Block], ids: &IdPattern) -> Vec<String> {
    let mut prefixes: Vec<String> = Vec::new();
    for block in blocks {
        if let Block::Item { segments, .. } = block {
            if let Some(first) = segments.first() {
                let id = first.text.trim();
                if first.kind == SegmentKind::Code && ids.is_match(id) {
                    if let Some(p) = suggest::prefix(id) {
                        if !prefixes.iter().any(|known| known == p) {
                            prefixes.push(p.to_owned());
                        }
                    }
                }
            }
        }
    }
    if let Some(p) = suggest::pattern_prefix(ids.as_str()) {
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }
    prefixes
}

fn near_miss_error(
    src: &SourceFile,
    ids: &IdPattern,
    first: &Segment,
    miss: &suggest::NearMiss,
) -> SourceDiagnostic {
    let typed = first.text.trim();
    let label = match &miss.suggestion {
        Some(fixed) => format!("did you mean `{fixed}`?"),
        None => "not a task id".to_owned(),
    };
    src.diagnostic(
        format!(
            "`{typed}` looks like a task id but {} (ids match `{}`)",
            miss.why,
            ids.as_str()
        ),
        vec![(first.range.clone(), label)],
        Some(
            "fix the id, or set `id_pattern` in manifest.json; an item that is not a task must not start with an id-like code span"
                .into(),
        ),
    )
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
                    let prefixes: Vec<String> = suggest::prefix(id.text.trim())
                        .map(str::to_owned)
                        .into_iter()
                        .collect();
                    let label = match suggest::near_miss(&segment.text, ids, &prefixes)
                        .and_then(|m| m.suggestion)
                    {
                        Some(fixed) => format!("did you mean `{fixed}`?"),
                        None => "expected a task id".into(),
                    };
                    return Err(src.diagnostic(
                        format!("`{}` in the `after` clause is not a task id", segment.text),
                        vec![(segment.range.clone(), label)],
                        Some(format!("task ids match `{}`", ids.as_str())),
                    ));
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
        let src = SourceFile::from_bytes("sot.md".into(), md.as_bytes().to_vec()).unwrap();
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
    fn near_miss_ids_under_a_heading_are_errors_with_a_suggestion() {
        for (md, fixed) in [
            ("## Q\n- `TASK-1` a\n- `TSK-052` b\n", "TASK-052"),
            ("## Q\n- `TASK-1` a\n- `task-010` b\n", "TASK-010"),
            ("## Q\n- `TASK-1` a\n- [ ] `TASK-20a` b\n", "TASK-20"),
        ] {
            let err = parse(md).unwrap_err();
            assert!(err.location.starts_with("sot.md:3:"), "{}", err.location);
            assert!(err.message.contains("looks like a task id"), "{err}");
            let rendered = crate::output::render_diagnostic(&err, false);
            assert!(
                rendered.contains(&format!("did you mean `{fixed}`?")),
                "{rendered}"
            );
        }
        // Prose code spans and items before any heading stay prose.
        let qs = parse("- `task-1` intro\n## Q\n- `TASK-1` a\n- `cargo` is needed\n").unwrap();
        assert_eq!(qs[0].tasks.len(), 1);
    }

    #[test]
    fn a_task_before_any_heading_is_an_error() {
        let err = parse("- `TASK-1` a\n").unwrap_err();
        assert!(err.message.contains("not under a queue heading"), "{err}");
        assert_eq!(err.location, "sot.md:1:3");
    }
}
