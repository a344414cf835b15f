//! What earlier runs of the same plan say about each task: the state `--rerun-failed`
//! selects from and carries forward.
//!
//! A task's state is its last *real* result: from the newest run of the same plan that
//! ran it, or that carried it forward. Dry runs, runs of another plan, and the made-up
//! results of tasks that never started in a killed run do not count. Because every
//! `--rerun-failed` run records the state of the tasks it did not run (each with
//! `carried_from`), the newest run usually settles every task and older ones are not read.
//!
//! The plan's identity is its task set: a hash of the sorted task ids. Editing titles,
//! hooks or commands keeps it (so a fix can be rerun); adding, removing or renaming a task
//! makes a new plan.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::load::load_run;
use super::record::{RunRecord, TaskResult, TaskStatus};
use super::run_dir::{newest_first, Unreadable};

/// How many run directories a history walk reads at most.
pub(crate) const MAX_RUNS_READ: usize = 64;

/// The identity of a plan with these task ids: `sha256:` and 16 hex digits.
pub(crate) fn plan_id<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether `run` is a run of the plan `plan_id` with tasks `ids`. Runs written before
/// plans had an id (and the predecessor's) count when every task they name is planned.
fn same_plan(run: &RunRecord, plan_id: &str, ids: &HashSet<&str>) -> bool {
    match &run.plan_id {
        Some(id) => id == plan_id,
        None => run.results.iter().all(|r| ids.contains(r.task.as_str())),
    }
}

/// The carried-forward state of a plan's tasks.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Each task's last real result, with `carried_from` naming the run it came from.
    pub(crate) state: HashMap<String, TaskResult>,
    /// The newest run the state was read from.
    pub(crate) newest: Option<String>,
    /// Real runs of this plan found.
    pub(crate) runs: usize,
    /// Directories passed over because they hold no readable run.
    pub(crate) unreadable: Vec<Unreadable>,
    /// Newer runs that did not count: dry runs and runs of another plan.
    pub(crate) ignored: Vec<(String, &'static str)>,
}

impl History {
    /// Reads the runs under `runs_dir`, newest first, until every task of the plan has a
    /// state (or [`MAX_RUNS_READ`] directories were read).
    pub(crate) fn read(runs_dir: &Path, plan_id: &str, ids: &[&str]) -> Self {
        let wanted: HashSet<&str> = ids.iter().copied().collect();
        let mut history = History::default();
        for dir in newest_first(runs_dir).into_iter().take(MAX_RUNS_READ) {
            if history.state.len() == wanted.len() {
                break;
            }
            let run = match load_run(&dir) {
                Ok(run) => run,
                Err(why) => {
                    history.unreadable.push(Unreadable { dir, why });
                    continue;
                }
            };
            let record = &run.record;
            if record.dry_run {
                history.ignored.push((record.run_id.clone(), "a dry run"));
                continue;
            }
            if !same_plan(record, plan_id, &wanted) {
                history
                    .ignored
                    .push((record.run_id.clone(), "a run of another plan"));
                continue;
            }
            history.runs += 1;
            history.newest.get_or_insert_with(|| record.run_id.clone());
            for result in &record.results {
                let task = result.task.as_str();
                if !wanted.contains(task)
                    || history.state.contains_key(task)
                    || run.not_run.contains(task)
                {
                    continue;
                }
                let mut result = result.clone();
                if result.carried_from.is_none() {
                    result.carried_from = Some(record.run_id.clone());
                }
                history.state.insert(result.task.clone(), result);
            }
        }
        history
    }

    /// The tasks `--rerun-failed` runs: those whose last real result was not a pass,
    /// and those that never had one. A `noop` did not pass: nothing ran (a hook may
    /// have been added since).
    pub(crate) fn not_passed(&self, ids: &[&str]) -> HashSet<String> {
        // A task `--affected` left out passed as far as that run's verdict goes: the
        // change could not reach it. Rerunning it would turn a rerun of one failure
        // after a pull request's affected run into a run of everything.
        let passed = |r: &TaskResult| {
            (r.status.is_success() && r.status != TaskStatus::Noop) || super::is_unaffected(r)
        };
        ids.iter()
            .filter(|id| self.state.get(**id).is_none_or(|r| !passed(r)))
            .map(|id| (*id).to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::RunStatus;

    fn result(task: &str, status: TaskStatus) -> TaskResult {
        TaskResult::for_test(task, status, 5)
    }

    fn write(runs: &Path, id: &str, plan: &str, dry_run: bool, results: Vec<TaskResult>) {
        let record = RunRecord {
            ended: Some("2026-01-01T00:00:01Z".into()),
            duration_ms: Some(1000),
            dry_run,
            plan_id: Some(plan.into()),
            results,
            ..RunRecord::empty(id.into(), RunStatus::Error, "2026-01-01T00:00:00Z".into())
        };
        let dir = runs.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("run.json"), serde_json::to_vec(&record).unwrap()).unwrap();
    }

    #[test]
    fn the_plan_id_is_the_task_set() {
        assert_eq!(plan_id(["A", "B"]), plan_id(["B", "A"]));
        assert_ne!(plan_id(["A", "B"]), plan_id(["A", "B", "C"]));
        assert_ne!(plan_id(["AB"]), plan_id(["A", "B"]));
        assert!(plan_id(["A"]).starts_with("sha256:"));
    }

    #[test]
    fn state_is_the_last_real_result_of_each_task() {
        let runs = tempfile::tempdir().unwrap();
        let ids = ["A", "B", "C", "D"];
        let plan = plan_id(ids);
        use TaskStatus::*;
        write(
            runs.path(),
            "1",
            &plan,
            false,
            vec![
                result("A", Ok),
                result("B", Error),
                result("C", Error),
                result("D", Skipped),
            ],
        );
        // A partial run (--only C): C passes.
        write(runs.path(), "2", &plan, false, vec![result("C", Ok)]);
        // Newer runs that do not count.
        write(runs.path(), "3", &plan, true, vec![result("B", Ok)]);
        write(
            runs.path(),
            "4",
            "sha256:other",
            false,
            vec![result("B", Ok)],
        );
        std::fs::create_dir(runs.path().join("5")).unwrap();
        let history = History::read(runs.path(), &plan, &ids);
        assert_eq!(history.newest.as_deref(), Some("2"));
        assert_eq!(history.runs, 2);
        assert_eq!(history.ignored.len(), 2);
        assert_eq!(history.unreadable.len(), 1);
        let again = history.not_passed(&ids);
        assert_eq!(
            again,
            HashSet::from(["B".to_owned(), "D".to_owned()]),
            "C passed in run 2, A in run 1"
        );
        assert_eq!(history.state["C"].carried_from.as_deref(), Some("2"));
        assert_eq!(history.state["A"].carried_from.as_deref(), Some("1"));
    }

    #[test]
    fn an_unaffected_task_needs_no_rerun() {
        let runs = tempfile::tempdir().unwrap();
        let ids = ["A", "B", "C"];
        let plan = plan_id(ids);
        let mut unaffected = result("A", TaskStatus::Skipped);
        unaffected.reason = Some(crate::evidence::UNAFFECTED.into());
        // A skip for another reason (a failed dependency) still needs a rerun.
        let mut blocked = result("C", TaskStatus::Skipped);
        blocked.reason = Some("dependency failed".into());
        write(
            runs.path(),
            "1",
            &plan,
            false,
            vec![unaffected, result("B", TaskStatus::Error), blocked],
        );
        let history = History::read(runs.path(), &plan, &ids);
        assert_eq!(
            history.not_passed(&ids),
            HashSet::from(["B".to_owned(), "C".to_owned()])
        );
    }

    #[test]
    fn a_noop_has_not_passed() {
        let runs = tempfile::tempdir().unwrap();
        let ids = ["A", "B"];
        let plan = plan_id(ids);
        write(
            runs.path(),
            "1",
            &plan,
            false,
            vec![result("A", TaskStatus::Noop), result("B", TaskStatus::Ok)],
        );
        let history = History::read(runs.path(), &plan, &ids);
        assert_eq!(history.not_passed(&ids), HashSet::from(["A".to_owned()]));
    }

    #[test]
    fn carried_results_keep_their_origin() {
        let runs = tempfile::tempdir().unwrap();
        let ids = ["A", "B"];
        let plan = plan_id(ids);
        let mut carried = result("A", TaskStatus::Ok);
        carried.carried_from = Some("1".into());
        write(
            runs.path(),
            "2",
            &plan,
            false,
            vec![carried, result("B", TaskStatus::Ok)],
        );
        let history = History::read(runs.path(), &plan, &ids);
        assert!(history.not_passed(&ids).is_empty());
        assert_eq!(history.state["A"].carried_from.as_deref(), Some("1"));
        assert_eq!(history.state["B"].carried_from.as_deref(), Some("2"));
    }
}
