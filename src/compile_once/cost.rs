//! What per-crate `cargo test -p` tasks cost, measured in an earlier run: how many
//! packages they compiled that another of them had compiled too. Each `-p` resolves
//! features for its own package, so a dependency shared by ten crates can be built
//! several times over with different feature sets; the cargo agent records what each
//! task compiled (`cargo.compiled`), and `check` quotes the count.

use std::collections::BTreeMap;
use std::path::Path;

use crate::evidence::{load_run, run_dir, RunRecord};

/// Runs looked at, newest first, for one that ran split test tasks.
const RUNS_LOOKED_AT: usize = 20;
/// Packages named in the message.
const NAMED: usize = 4;

/// The cost of split `cargo test -p` tasks in one run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SplitCost {
    pub(crate) run_id: String,
    /// Split test tasks that compiled something.
    pub(crate) tasks: usize,
    /// Compilations of a package beyond its first among those tasks.
    pub(crate) again: usize,
    /// The packages compiled most often: name@version and how many tasks compiled it.
    pub(crate) most: Vec<(String, usize)>,
    /// The duration of those tasks, summed.
    pub(crate) task_ms: u64,
}

impl SplitCost {
    /// One clause for `check`'s warning.
    pub(crate) fn describe(&self) -> String {
        let most: Vec<String> = self
            .most
            .iter()
            .map(|(package, n)| format!("{package} ×{n}"))
            .collect();
        format!(
            "in run {}, {} such tasks compiled a package another of them had already compiled {} ({}), in {:.1} s of task time",
            self.run_id,
            self.tasks,
            crate::text::count(self.again, "time", "times"),
            most.join(", "),
            self.task_ms as f64 / 1000.0,
        )
    }
}

/// Whether an argv runs `cargo test -p …` for tests other than doctests.
pub(crate) fn is_split_test(argv: &[String]) -> bool {
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    let cargo_test = words
        .windows(2)
        .any(|w| w[0].ends_with("cargo") && matches!(w[1], "test" | "t"));
    let package = words
        .iter()
        .any(|w| w.starts_with("-p") || w.starts_with("--package"));
    cargo_test && package && !words.contains(&"--doc")
}

/// The cost in `run`, when at least two split test tasks compiled something again.
pub(crate) fn of_run(run: &RunRecord) -> Option<SplitCost> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut tasks = 0;
    let mut task_ms = 0;
    for result in &run.results {
        let Some(cargo) = &result.cargo else { continue };
        let split = result.commands.iter().any(|c| is_split_test(&c.cmd));
        if !split || cargo.compiled.is_empty() {
            continue;
        }
        tasks += 1;
        task_ms += result.duration_ms;
        for package in &cargo.compiled {
            *counts.entry(package).or_default() += 1;
        }
    }
    let again: usize = counts.values().map(|n| n - 1).sum();
    if tasks < 2 || again == 0 {
        return None;
    }
    let mut most: Vec<(String, usize)> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(p, n)| (p.to_owned(), n))
        .collect();
    most.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    most.truncate(NAMED);
    Some(SplitCost {
        run_id: run.run_id.clone(),
        tasks,
        again,
        most,
        task_ms,
    })
}

/// The cost in the newest of the last runs under `runs_dir` that shows one.
pub(crate) fn newest(runs_dir: &Path) -> Option<SplitCost> {
    run_dir::newest_first(runs_dir)
        .into_iter()
        .take(RUNS_LOOKED_AT)
        .filter_map(|dir| load_run(&dir).ok())
        .find_map(|run| of_run(&run.record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::cargo::CargoEvidence;
    use crate::evidence::{CommandRecord, RunStatus, TaskResult, TaskStatus};

    fn result(task: &str, cmd: &str, compiled: &[&str], ms: u64) -> TaskResult {
        let mut r = TaskResult::for_test(task, TaskStatus::Ok, ms);
        r.commands = vec![serde_json::from_value::<CommandRecord>(serde_json::json!({
            "cmd": cmd.split(' ').collect::<Vec<_>>(), "cwd": ".", "rc": 0, "log": null,
        }))
        .unwrap()];
        r.cargo = Some(Box::new(CargoEvidence {
            compiled: compiled.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }));
        r
    }

    #[test]
    fn packages_compiled_by_several_split_tasks_are_counted() {
        let mut run = RunRecord::empty("R1".into(), RunStatus::Ok, "t".into());
        run.results = vec![
            result(
                "A",
                "cargo test -p a",
                &["a@0.1.0", "serde@1.0.0", "memchr@2.0.0"],
                4000,
            ),
            result(
                "B",
                "cargo test -p b",
                &["b@0.1.0", "serde@1.0.0", "memchr@2.0.0"],
                3000,
            ),
            result(
                "C",
                "cargo test --package=c",
                &["c@0.1.0", "serde@1.0.0"],
                2500,
            ),
            // Not split test tasks: a workspace build and the doctests.
            result("D", "cargo build --workspace", &["serde@1.0.0"], 9000),
            result("E", "cargo test -p a --doc", &["serde@1.0.0"], 9000),
        ];
        let cost = of_run(&run).unwrap();
        assert_eq!((cost.tasks, cost.again, cost.task_ms), (3, 3, 9500));
        assert_eq!(
            cost.most,
            [("serde@1.0.0".into(), 3), ("memchr@2.0.0".into(), 2)]
        );
        let said = cost.describe();
        assert!(
            said.contains("in run R1, 3 such tasks")
                && said.contains("3 times (serde@1.0.0 ×3, memchr@2.0.0 ×2), in 9.5 s"),
            "{said}"
        );
        // Nothing compiled twice: nothing to say.
        run.results.truncate(1);
        run.results
            .push(result("B", "cargo test -p b", &["b@0.1.0"], 1));
        assert_eq!(of_run(&run), None);
    }
}
