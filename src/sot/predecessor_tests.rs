//! The predecessor's rules, one document of `tests/fixtures/legacy-rules/` per rule, and
//! `bench/predecessor_plan.py` reading the same documents the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::sot::legacy::default_layer;

/// Each queue's name and task ids.
type Plan = Vec<(String, Vec<String>)>;

/// What the predecessor plans from `md`.
fn plan(md: &str) -> Plan {
    let r = read(md);
    let mut queues: Plan = r
        .queues
        .iter()
        .map(|(n, _)| (n.clone(), Vec::new()))
        .collect();
    for t in &r.tasks {
        assert_eq!(&md[t.range.clone()], format!("`{}`", &md[t.id.clone()]));
        queues[t.queue].1.push(md[t.id.clone()].to_owned());
    }
    queues
}

fn q(name: &str, ids: &[&str]) -> (String, Vec<String>) {
    (name.to_owned(), ids.iter().map(|&i| i.to_owned()).collect())
}

const A: &str = "Queue A — Workspace Bootstrapping";

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-rules")
}

/// Every document of the corpus with what the predecessor plans from it.
fn corpus() -> Vec<(&'static str, Plan)> {
    let layers = [
        "TASK-000",
        "TASK-001",
        "TASK-021",
        "TASK-022",
        "TASK-029",
        "TASK-030",
        "TASK-041",
        "TASK-042",
        "TASK-053",
        "TASK-054",
        "TASK-061",
        "TASK-062",
        "TASK-1000",
    ];
    vec![
        // Leading spaces before `### G.`; a `## G.` line is not the section.
        ("section-start.md", vec![q(A, &["TASK-001", "TASK-002"])]),
        ("ends-at-h2.md", vec![q(A, &["TASK-001"])]),
        ("ends-at-h3.md", vec![q(A, &["TASK-001"])]),
        (
            "second-g-heading.md",
            vec![q(A, &["TASK-001"]), q("Queue B — Services", &["TASK-042"])],
        ),
        (
            "appendix-h1.md",
            vec![q(A, &["TASK-001"]), q("Queue B — Services", &["TASK-042"])],
        ),
        // A fence is lines like any other: its `- Tasks:` counts, its `## ` ends.
        ("fenced-tasks.md", vec![q(A, &["TASK-001", "TASK-008"])]),
        (
            "html-comment.md",
            vec![q(A, &["TASK-001"]), q("Queue B — Parked", &["TASK-007"])],
        ),
        // A hyphen or an en dash opens no queue; `N.` needs no space, spaces may be wide.
        (
            "queue-dash.md",
            vec![
                q(A, &["TASK-001", "TASK-002", "TASK-003"]),
                q("Queue  D  —  Loose spacing", &["TASK-004"]),
            ],
        ),
        // Text after the closing `**`, `N)`, a lower-case letter: no queue. Spaces: fine.
        (
            "queue-trailing.md",
            vec![
                q(A, &["TASK-001", "TASK-002", "TASK-003", "TASK-004"]),
                q("Queue E — Trailing spaces", &["TASK-005"]),
            ],
        ),
        // `*`, `+` and `-  ` bullets do not count, an unindented `- ` does; before the
        // first queue a `- Tasks:` line adds nothing.
        ("bullets.md", vec![q(A, &["TASK-004", "TASK-005"])]),
        (
            "ids.md",
            vec![q(A, &["TASK-003", "TASK-0004", "TASK-006", "TASK-007"])],
        ),
        ("layers.md", vec![q("Queue A — Layers", &layers)]),
    ]
}

#[test]
fn the_corpus_reads_by_the_predecessors_rules() {
    let mut seen: Vec<String> = std::fs::read_dir(rules_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    seen.sort();
    let mut listed: Vec<String> = corpus().iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(seen, listed, "every document of the corpus is checked");
    for (name, expected) in corpus() {
        let md = std::fs::read_to_string(rules_dir().join(name)).unwrap();
        assert_eq!(plan(&md), expected, "{name}");
    }
}

#[test]
fn layers_change_at_each_boundary() {
    let layers: Vec<_> = [0, 1, 21, 22, 29, 30, 41, 42, 53, 54, 61, 62, 1000]
        .iter()
        .map(|n| default_layer(&format!("TASK-{n:03}")))
        .collect();
    assert_eq!(
        layers,
        [
            "execution",
            "foundation",
            "foundation",
            "orchestration",
            "orchestration",
            "platform",
            "platform",
            "services",
            "services",
            "monitoring",
            "monitoring",
            "execution",
            "execution",
        ]
    );
}

#[test]
fn positions_point_at_the_written_id() {
    let md = "# Plan\r\n  ### G. Execution Queue & Task Hooks\r\n\
1. **Queue A — Build**\r\n- Tasks: `TASK-001`, `TASK-002`\r\n";
    let r = read(md);
    assert_eq!(r.section, Some(8));
    assert_eq!(r.queues, [("Queue A — Build".to_owned(), 47)]);
    let ids: Vec<_> = r.tasks.iter().map(|t| &md[t.id.clone()]).collect();
    assert_eq!(ids, ["TASK-001", "TASK-002"]);
    assert_eq!(&md[r.tasks[1].range.clone()], "`TASK-002`");
}

#[test]
fn nothing_without_the_section() {
    for md in [
        "## G. Execution Queue & Task Hooks\n1. **Queue A — x**\n   - Tasks: `TASK-001`\n",
        "#### G. Execution Queue & Task Hooks\n1. **Queue A — x**\n   - Tasks: `TASK-001`\n",
        "###  G. Execution Queue & Task Hooks\n1. **Queue A — x**\n   - Tasks: `TASK-001`\n",
    ] {
        assert!(read(md).tasks.is_empty(), "{md}");
    }
}

/// `bench/predecessor_plan.py` plans each document of the corpus as this module does,
/// titles and layers included.
#[test]
fn the_python_stand_in_agrees() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/predecessor_plan.py");
    for (name, _) in corpus() {
        let path = rules_dir().join(name);
        let out = Command::new("python3")
            .arg(&script)
            .arg(&path)
            .output()
            .expect("python3 runs (CI has it)");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let md = std::fs::read_to_string(&path).unwrap();
        let expected: Vec<serde_json::Value> = plan(&md)
            .into_iter()
            .map(|(name, ids)| {
                let tasks: Vec<_> = ids
                    .iter()
                    .map(
                        |id| serde_json::json!({"id": id, "title": id, "layer": default_layer(id)}),
                    )
                    .collect();
                serde_json::json!({"name": name, "tasks": tasks})
            })
            .collect();
        assert_eq!(json["queues"], serde_json::Value::Array(expected), "{name}");
    }
}
