//! The gates init proposes, as queues of tasks with their commands: formatting and
//! clippy, each member's tests (compiled once for the workspace), the doctests, and the
//! docs. Ids are `TASK-001`, `TASK-002`, … in document order.

use std::collections::BTreeMap;

use super::Shape;

/// A queue of sot.md with its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queue {
    /// The full queue name (`Queue A — Format and lints`).
    pub(crate) name: String,
    pub(crate) tasks: Vec<Task>,
}

/// One task and the single command its hook runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub(crate) id: String,
    /// Plain text: no code spans, so nothing in it can look like an id.
    pub(crate) title: String,
    /// The argv, run at the workspace root.
    pub(crate) cmd: Vec<String>,
    /// The hook's extra environment.
    pub(crate) env: BTreeMap<String, String>,
}

/// The queues for `shape`.
///
/// - Tests are one `cargo test -p <member>` per member, exactly the form compile once
///   takes over (manifest.json sets it): one workspace test compile, then each crate's
///   binaries in parallel, each crate still its own task and verdict.
/// - Doctests are one `cargo test --workspace --doc`, present when some member has a
///   library with doctests: compile once does not build doctests, and one workspace
///   task unifies features as the shared compile does, where a `-p` task per crate would
///   resolve them again for each (README, "Compile once for the workspace").
/// - Clippy denies warnings (`-- -D warnings`) and rustdoc too (`RUSTDOCFLAGS`): a gate
///   that a warning passes is no gate.
pub(crate) fn gates(shape: &Shape) -> Vec<Queue> {
    let mut next = 0;
    let mut task = |title: String, cmd: &[&str], env: &[(&str, &str)]| {
        next += 1;
        Task {
            id: format!("TASK-{next:03}"),
            title,
            cmd: cmd.iter().map(|s| (*s).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    };
    let lints = vec![
        task(
            "Formatting is clean".into(),
            &["cargo", "fmt", "--all", "--check"],
            &[],
        ),
        task(
            "Clippy finds nothing, warnings denied".into(),
            &[
                "cargo",
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        ),
    ];
    let mut tests: Vec<Task> = shape
        .members
        .iter()
        .map(|m| {
            task(
                format!("Tests of {}", m.name),
                &["cargo", "test", "-p", &m.name],
                &[],
            )
        })
        .collect();
    if shape.members.iter().any(|m| m.doctests) {
        tests.push(task(
            "Doctests".into(),
            &["cargo", "test", "--workspace", "--doc"],
            &[],
        ));
    }
    let docs = vec![task(
        "Documentation builds without warnings".into(),
        &["cargo", "doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )];
    vec![
        Queue {
            name: "Queue A — Format and lints".into(),
            tasks: lints,
        },
        Queue {
            name: "Queue B — Tests".into(),
            tasks: tests,
        },
        Queue {
            name: "Queue C — Documentation".into(),
            tasks: docs,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::shape::Member;

    fn shape(members: &[(&str, bool)]) -> Shape {
        Shape {
            name: "ws".into(),
            members: members
                .iter()
                .map(|(name, doctests)| Member {
                    name: (*name).into(),
                    doctests: *doctests,
                })
                .collect(),
        }
    }

    fn commands(queues: &[Queue]) -> Vec<(String, String)> {
        queues
            .iter()
            .flat_map(|q| &q.tasks)
            .map(|t| (t.id.clone(), t.cmd.join(" ")))
            .collect()
    }

    #[test]
    fn each_member_gets_a_test_task_and_one_doctest_task_covers_the_libraries() {
        let queues = gates(&shape(&[("app", false), ("core", true)]));
        let expected = [
            ("TASK-001", "cargo fmt --all --check"),
            (
                "TASK-002",
                "cargo clippy --workspace --all-targets -- -D warnings",
            ),
            ("TASK-003", "cargo test -p app"),
            ("TASK-004", "cargo test -p core"),
            ("TASK-005", "cargo test --workspace --doc"),
            ("TASK-006", "cargo doc --workspace --no-deps"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        assert_eq!(commands(&queues), expected);
        let docs = &queues[2].tasks[0];
        assert_eq!(docs.env["RUSTDOCFLAGS"], "-D warnings");
    }

    #[test]
    fn without_a_library_there_is_no_doctest_task() {
        let queues = gates(&shape(&[("app", false)]));
        assert!(commands(&queues)
            .iter()
            .all(|(_, cmd)| !cmd.contains("--doc")));
        assert_eq!(queues[1].tasks.len(), 1);
        assert_eq!(queues[2].tasks[0].id, "TASK-004");
    }

    #[test]
    fn every_test_hook_is_one_compile_once_takes_over() {
        for task in &gates(&shape(&[("a", true), ("b", true)]))[1].tasks {
            let hook: crate::config::Hook = serde_json::from_value(serde_json::json!({
                "commands": [{"cmd": task.cmd}]
            }))
            .unwrap();
            let split = crate::compile_once::split(&hook);
            if task.title == "Doctests" {
                assert!(split.is_err(), "{task:?}");
            } else {
                assert_eq!(split.unwrap().package, task.cmd[3], "{task:?}");
            }
        }
    }
}
