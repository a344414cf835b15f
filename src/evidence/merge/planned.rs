//! With the plan the shards ran (`report --merge … --plan plan.json`), the tasks of a
//! missing shard go into the merged run as results of their own, skipped because their
//! shard never reported: the report then names every task that went unchecked, not only
//! the shard.

use crate::evidence::{RunRecord, RunStatus, TaskResult, TaskStatus};

/// A task as the plan has it: what its result needs.
#[derive(Debug, Clone)]
pub(crate) struct PlannedTask {
    pub(crate) id: String,
    pub(crate) queue: String,
    pub(crate) title: String,
    pub(crate) layer: String,
    pub(crate) line: Option<usize>,
}

/// One shard of the plan: its number and its tasks.
pub(crate) type PlannedShard = (u32, Vec<PlannedTask>);

/// Adds a skipped result for each task of each missing shard of the legs that ran the
/// plan `plan_hash`, at the end of its leg's results. Returns how many were added, or
/// why the plan does not fit the merged runs.
pub(crate) fn add_missing_tasks(
    record: &mut RunRecord,
    plan_hash: &str,
    shards: &[PlannedShard],
) -> Result<usize, String> {
    let Some(stamp) = record.merge.as_mut() else {
        return Ok(0);
    };
    if !stamp
        .legs
        .iter()
        .any(|l| l.plan_hash.as_deref() == Some(plan_hash))
    {
        return Err(format!(
            "the plan file is not the plan the merged shards ran (its hash {plan_hash} is none of theirs); pass the plan.json their jobs used"
        ));
    }
    let mut added = 0;
    // From the last leg back, so that inserting shifts only the legs already done.
    for leg_index in (0..stamp.legs.len()).rev() {
        let leg = &stamp.legs[leg_index];
        if leg.plan_hash.as_deref() != Some(plan_hash) {
            continue;
        }
        let total = leg.shards.unwrap_or(0);
        let at = leg.first + leg.count;
        // Every planned task is accounted for: those of a missing shard, and those a
        // shard that ran does not report (narrowed by id, results deleted).
        let present: std::collections::HashSet<String> = record.results[leg.first..at]
            .iter()
            .map(|r| r.task.clone())
            .collect();
        let mut dropped = 0;
        let mut results: Vec<TaskResult> = Vec::new();
        for (index, tasks) in shards {
            let missing = leg.missing.contains(index);
            for t in tasks {
                if missing || !present.contains(t.id.as_str()) {
                    dropped += usize::from(!missing);
                    results.push(not_run(t, *index, total, missing));
                }
            }
        }
        let n = results.len();
        if n == 0 {
            continue;
        }
        if dropped > 0 {
            // A shard that ran and dropped a task does not pass.
            stamp.legs[leg_index].status = RunStatus::Error;
            record.status = RunStatus::Error;
        }
        record.results.splice(at..at, results);
        stamp.legs[leg_index].count += n;
        stamp.legs[leg_index].missing_tasks += n;
        for later in &mut stamp.legs[leg_index + 1..] {
            later.first += n;
        }
        added += n;
    }
    Ok(added)
}

fn not_run(task: &PlannedTask, shard: u32, total: u32, missing: bool) -> TaskResult {
    let reason = if missing {
        format!("not run: shard {shard}/{total} has no run among the merged ones")
    } else {
        format!("not run: shard {shard}/{total} was given this task but its run does not report it")
    };
    TaskResult {
        title: task.title.clone(),
        layer: task.layer.clone(),
        line: task.line,
        ..TaskResult::never_started(
            task.id.clone(),
            task.queue.clone(),
            TaskStatus::Skipped,
            reason,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::merge::{MergeStamp, MergedLeg};
    use crate::evidence::RunStatus;

    fn task(id: &str) -> PlannedTask {
        PlannedTask {
            id: id.into(),
            queue: "Q".into(),
            title: format!("title of {id}"),
            layer: String::new(),
            line: Some(3),
        }
    }

    fn leg(name: &str, first: usize, count: usize, missing: Vec<u32>) -> MergedLeg {
        MergedLeg {
            name: name.into(),
            plan_hash: Some("sha256:p".into()),
            shards: Some(3),
            missing,
            missing_tasks: 0,
            status: RunStatus::Error,
            first,
            count,
            runs: Vec::new(),
        }
    }

    #[test]
    fn a_missing_shards_tasks_join_their_leg_as_not_run() {
        let mut record = RunRecord::empty("m".into(), RunStatus::Error, "t".into());
        record.results = ["A", "B", "C", "D", "A", "B", "C", "D"]
            .iter()
            .map(|id| TaskResult::for_test(id, TaskStatus::Ok, 1))
            .collect();
        // Two legs (say, two toolchains) of the same plan; each lost shard 2.
        record.merge = Some(MergeStamp {
            legs: vec![leg("stable", 0, 4, vec![2]), leg("beta", 4, 4, vec![2])],
            duplicates: 0,
        });
        let shards = vec![
            (1, vec![task("A"), task("B")]),
            (2, vec![task("E")]),
            (3, vec![task("C"), task("D")]),
        ];
        assert_eq!(add_missing_tasks(&mut record, "sha256:p", &shards), Ok(2));
        let ids: Vec<&str> = record.results.iter().map(|r| r.task.as_str()).collect();
        assert_eq!(ids, ["A", "B", "C", "D", "E", "A", "B", "C", "D", "E"]);
        let legs = &record.merge.as_ref().unwrap().legs;
        assert_eq!(
            (legs[0].first, legs[0].count, legs[0].missing_tasks),
            (0, 5, 1)
        );
        assert_eq!((legs[1].first, legs[1].count), (5, 5));
        let e = &record.results[4];
        assert_eq!(e.status, TaskStatus::Skipped);
        assert_eq!(
            e.reason.as_deref(),
            Some("not run: shard 2/3 has no run among the merged ones")
        );
        assert_eq!((e.title.as_str(), e.line), ("title of E", Some(3)));

        let err = add_missing_tasks(&mut record, "sha256:other", &shards).unwrap_err();
        assert!(err.contains("not the plan the merged shards ran"), "{err}");
    }

    #[test]
    fn a_task_a_shard_that_ran_does_not_report_is_not_run_and_fails_the_merge() {
        let mut record = RunRecord::empty("m".into(), RunStatus::Ok, "t".into());
        record.results = ["A", "B", "C"]
            .iter()
            .map(|id| TaskResult::for_test(id, TaskStatus::Ok, 1))
            .collect();
        let mut ok = leg("", 0, 3, vec![]);
        ok.status = RunStatus::Ok;
        record.merge = Some(MergeStamp {
            legs: vec![ok],
            duplicates: 0,
        });
        let shards = vec![
            (1, vec![task("A"), task("B")]),
            (2, vec![task("C"), task("D")]),
        ];
        assert_eq!(add_missing_tasks(&mut record, "sha256:p", &shards), Ok(1));
        assert_eq!(record.status, RunStatus::Error);
        assert_eq!(
            record.merge.as_ref().unwrap().legs[0].status,
            RunStatus::Error
        );
        let d = &record.results[3];
        assert_eq!((d.task.as_str(), d.status), ("D", TaskStatus::Skipped));
        assert_eq!(
            d.reason.as_deref(),
            Some("not run: shard 2/3 was given this task but its run does not report it")
        );
    }
}
