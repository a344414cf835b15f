//! sot.md in the native form: a title, a paragraph of prose, one heading per queue and
//! one checkbox item per task.

use std::fmt::Write;

use super::Queue;

/// sot.md for the workspace `name`, with its hooks in `config_dir` (as shown in prose).
pub(crate) fn render(name: &str, config_dir: &str, queues: &[Queue]) -> String {
    let mut out = format!(
        "# {name} — source of truth\n\n\
         Written by `cargo tek init` from `cargo metadata`. Each task is a gate; its\n\
         commands are in `{config_dir}/hooks.json`. Queues are headings, a task is a list\n\
         item that starts with a backticked id, a checked box marks a task done, and\n\
         everything else, like this paragraph, is prose. `cargo tek check` validates\n\
         this file with its config; `cargo tek run` runs the gates.\n"
    );
    for queue in queues.iter().filter(|q| !q.tasks.is_empty()) {
        let _ = write!(out, "\n## {}\n", queue.name);
        for task in &queue.tasks {
            let _ = writeln!(out, "- [ ] `{}` {}", task.id, task.title);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::init::shape::Member;
    use crate::init::{gates, Shape};

    #[test]
    fn the_document_plans_every_gate_in_its_queue() {
        let shape = Shape {
            name: "demo".into(),
            members: vec![
                Member {
                    name: "a".into(),
                    doctests: true,
                },
                Member {
                    name: "b-cli".into(),
                    doctests: false,
                },
            ],
        };
        let queues = gates(&shape);
        let text = super::render("demo", "config", &queues);
        assert!(text.starts_with("# demo — source of truth\n"), "{text}");
        assert!(text.contains("\n## Queue B — Tests\n- [ ] `TASK-003` Tests of a\n- [ ] `TASK-004` Tests of b-cli\n- [ ] `TASK-005` Doctests\n"), "{text}");
        // The real parser reads it back: the same queues, ids and titles, nothing else.
        let src = crate::source::SourceFile::from_bytes("sot.md".into(), text.clone().into_bytes())
            .unwrap();
        let doc = crate::sot::parse(&src, &crate::sot::IdPattern::default()).unwrap();
        assert_eq!(doc.format, crate::sot::Format::Native);
        let read: Vec<(String, Vec<(String, String)>)> = doc
            .queues
            .iter()
            .map(|q| {
                (
                    q.name.clone(),
                    q.tasks
                        .iter()
                        .map(|t| (t.id.clone(), t.title.clone()))
                        .collect(),
                )
            })
            .collect();
        let want: Vec<(String, Vec<(String, String)>)> = queues
            .iter()
            .map(|q| {
                (
                    q.name.clone(),
                    q.tasks
                        .iter()
                        .map(|t| (t.id.clone(), t.title.clone()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(read, want);
    }
}
