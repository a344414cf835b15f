//! Combining loaded runs into one record: shards of one plan into one leg (refusing
//! other plans, naming missing shards, keeping each shard's newest run and each task
//! once), and matrix legs side by side, each with its own range of results.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::SystemTime;

use super::error::MergeError;
use super::stamp::{MergeStamp, MergedLeg, MergedSource};
use crate::evidence::{
    Counts, LoadedRun, RunRecord, RunStatus, TaskResult, TaskStatus, ToolInfo, RUN_SCHEMA_VERSION,
};

/// The merged record, before it has a directory, and for each result the index of the
/// run it came from (its logs are there).
#[derive(Debug)]
pub(crate) struct Combined {
    pub(crate) record: RunRecord,
    pub(crate) origins: Vec<usize>,
}

/// What to do with a planned shard that has no run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Refuse,
    Allow,
}

/// Merges `runs` (read from their directories). The record's `run_id` is left empty.
pub(crate) fn combine(runs: &[LoadedRun], missing: Missing) -> Result<Combined, MergeError> {
    let mut duplicates = 0;
    // The same run downloaded twice is one run.
    let mut seen_ids = HashSet::new();
    let mut legs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        let r = &run.record;
        if !r.run_id.is_empty() && !seen_ids.insert(r.run_id.clone()) {
            duplicates += r.results.len();
            continue;
        }
        let sharded = r.shard.is_some();
        let mut name = r.leg.as_ref().map(|l| l.label(sharded)).unwrap_or_default();
        // Unnamed runs that are not shards of one plan are legs of their own.
        if name.is_empty() && !sharded {
            name = format!("run {}", r.run_id);
        }
        legs.entry(name).or_default().push(i);
    }

    let mut record = RunRecord::empty(String::new(), RunStatus::Ok, String::new());
    let mut origins = Vec::new();
    let mut stamp = MergeStamp::default();
    for (name, members) in legs {
        let leg = merge_leg(runs, &name, &members, missing)?;
        duplicates += leg.duplicates;
        let first = record.results.len();
        let status = leg_status(&leg, runs);
        stamp.legs.push(MergedLeg {
            name,
            plan_hash: leg.plan_hash,
            shards: leg.total,
            missing: leg.missing,
            missing_tasks: 0,
            status,
            first,
            count: leg.results.len(),
            runs: leg
                .kept
                .iter()
                .map(|&i| {
                    let run = &runs[i];
                    MergedSource {
                        run_id: run.record.run_id.clone(),
                        shard: run.record.shard.as_ref().map(|s| s.index),
                        status: run.record.status,
                        incomplete: run.incomplete,
                        tasks: run.record.results.len(),
                        duration_ms: run.record.duration_ms,
                        estimate_ms: run.record.shard.as_ref().and_then(|s| s.estimate_ms),
                    }
                })
                .collect(),
        });
        for (origin, result) in leg.results {
            origins.push(origin);
            record.results.push(result);
        }
    }
    stamp.duplicates = duplicates;

    describe(&mut record, runs, &stamp);
    record.counts = Counts::of(&record.results);
    record.merge = Some(stamp);
    Ok(Combined { record, origins })
}

/// The merged record's own fields, from the runs used: their time span, the worst
/// leg's status, and what they share (plan, source, the `--affected` decision).
fn describe(record: &mut RunRecord, runs: &[LoadedRun], stamp: &MergeStamp) {
    let used: Vec<&RunRecord> = stamp
        .legs
        .iter()
        .flat_map(|l| &l.runs)
        .filter_map(|s| runs.iter().find(|r| r.record.run_id == s.run_id))
        .map(|r| &r.record)
        .collect();
    let (started, ended) = bounds(&used);
    record.started = started.map(rfc3339).unwrap_or_default();
    record.ended = ended.map(rfc3339);
    record.duration_ms = match (started, ended) {
        (Some(s), Some(e)) => e.duration_since(s).ok().map(|d| d.as_millis() as u64),
        _ => used.iter().filter_map(|r| r.duration_ms).max(),
    };
    record.status = stamp
        .legs
        .iter()
        .map(|l| l.status)
        .max_by_key(|s| severity(*s))
        .unwrap_or(RunStatus::Ok);
    record.tool = Some(ToolInfo {
        name: "cargo-tek".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    });
    record.schema_version = RUN_SCHEMA_VERSION;
    record.dry_run = !used.is_empty() && used.iter().all(|r| r.dry_run);
    record.rerun_failed = used.iter().any(|r| r.rerun_failed);
    record.plan_id = common(used.iter().map(|r| r.plan_id.clone()));
    record.source = common(used.iter().map(|r| r.source.clone()));
    record.signal = used.iter().find_map(|r| r.signal.clone());
    // Each shard compiled on its own machine: the slowest is what one shard takes.
    record.compile_ms = used.iter().filter_map(|r| r.compile_ms).max();
    // Shards of one `--affected` plan share the decision; its unaffected tasks are each
    // recorded by the one shard that holds them.
    record.affected = used
        .first()
        .and_then(|r| r.affected.clone())
        .filter(|a| used.iter().all(|r| r.affected.as_ref() == Some(a)));
}

/// One leg's runs merged.
struct Leg {
    plan_hash: Option<String>,
    total: Option<u32>,
    missing: Vec<u32>,
    /// The runs used, in shard order.
    kept: Vec<usize>,
    results: Vec<(usize, TaskResult)>,
    duplicates: usize,
    /// Tasks given to a shard that its run does not report.
    unaccounted: usize,
}

fn merge_leg(
    runs: &[LoadedRun],
    name: &str,
    members: &[usize],
    missing: Missing,
) -> Result<Leg, MergeError> {
    let label = if name.is_empty() {
        String::new()
    } else {
        format!("leg `{name}`: ")
    };
    let (sharded, plain): (Vec<usize>, Vec<usize>) = members
        .iter()
        .partition(|&&i| runs[i].record.shard.is_some());
    if let (Some(&s), Some(&p)) = (sharded.first(), plain.first()) {
        return Err(MergeError::Mixed {
            leg: label,
            sharded: runs[s].dir.clone(),
            plain: runs[p].dir.clone(),
        });
    }
    let picked = match sharded.first().and_then(|&i| runs[i].record.shard.clone()) {
        None => {
            // Runs of one leg without shards: the newest (a re-run of the job) stands.
            let newest = newest(runs, &plain);
            Picked {
                plan_hash: None,
                total: None,
                missing: Vec::new(),
                kept: vec![newest],
                duplicates: superseded(runs, &plain, newest),
            }
        }
        Some(first) => pick_shards(runs, name, &label, &sharded, first, missing)?,
    };
    let (mut results, at, once) = each_task_once(runs, &picked.kept);
    let unaccounted = unaccounted(runs, &picked.kept, at, &mut results);
    Ok(Leg {
        unaccounted,
        plan_hash: picked.plan_hash,
        total: picked.total,
        missing: picked.missing,
        kept: picked.kept,
        results,
        duplicates: picked.duplicates + once,
    })
}

/// The runs a leg keeps: one per shard (or the one run of a leg without shards).
struct Picked {
    plan_hash: Option<String>,
    total: Option<u32>,
    missing: Vec<u32>,
    kept: Vec<usize>,
    /// Results of the runs not kept.
    duplicates: usize,
}

/// Results of the runs in `same` other than `newest`: superseded by its re-run.
fn superseded(runs: &[LoadedRun], same: &[usize], newest: usize) -> usize {
    same.iter()
        .filter(|&&i| i != newest)
        .map(|&i| runs[i].record.results.len())
        .sum()
}

/// The shards of one plan: all of the same plan and count, each index in range, the
/// newest run of each, and the indexes no run reports (refused unless allowed).
fn pick_shards(
    runs: &[LoadedRun],
    name: &str,
    label: &str,
    sharded: &[usize],
    first: crate::evidence::shard::ShardStamp,
    missing: Missing,
) -> Result<Picked, MergeError> {
    let mut by_index: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in sharded {
        let Some(s) = &runs[i].record.shard else {
            continue;
        };
        if s.plan_hash != first.plan_hash || s.total != first.total {
            return Err(MergeError::PlanMismatch {
                leg: if name.is_empty() {
                    String::new()
                } else {
                    format!(" (leg `{name}`)")
                },
                first: runs[sharded[0]].dir.clone(),
                first_hash: format!("{} ({} shards)", first.plan_hash, first.total),
                second: runs[i].dir.clone(),
                second_hash: format!("{} ({} shards)", s.plan_hash, s.total),
            });
        }
        if s.index == 0 || s.index > s.total {
            return Err(MergeError::BadShard {
                dir: runs[i].dir.clone(),
                index: s.index,
                total: s.total,
            });
        }
        by_index.entry(s.index).or_default().push(i);
    }
    let absent: Vec<u32> = (1..=first.total)
        .filter(|k| !by_index.contains_key(k))
        .collect();
    if !absent.is_empty() && missing == Missing::Refuse {
        return Err(MergeError::Missing {
            leg: label.to_owned(),
            missing: absent,
            total: first.total,
        });
    }
    let mut kept = Vec::new();
    let mut duplicates = 0;
    for same in by_index.values() {
        // Two runs of one shard: a re-run attempt; the newest is the truth.
        let newest = newest(runs, same);
        duplicates += superseded(runs, same, newest);
        kept.push(newest);
    }
    Ok(Picked {
        plan_hash: Some(first.plan_hash),
        total: Some(first.total),
        missing: absent,
        kept,
        duplicates,
    })
}

/// Each task once, with the run it came from: a real result wins over one made up
/// from a journal. Also where each task is, and how many results were dropped.
fn each_task_once(
    runs: &[LoadedRun],
    kept: &[usize],
) -> (Vec<(usize, TaskResult)>, HashMap<String, usize>, usize) {
    let mut results: Vec<(usize, TaskResult)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    for &i in kept {
        let run = &runs[i];
        for result in &run.record.results {
            let made_up = run.not_run.contains(&result.task);
            match at.get(&result.task) {
                None => {
                    at.insert(result.task.clone(), results.len());
                    results.push((i, result.clone()));
                }
                Some(&j) => {
                    duplicates += 1;
                    let (other, existing) = &results[j];
                    let existing_made_up = runs[*other].not_run.contains(&existing.task);
                    if existing_made_up && !made_up {
                        results[j] = (i, result.clone());
                    }
                }
            }
        }
    }
    (results, at, duplicates)
}

/// A task the plan gave a shard that its run does not report was dropped (the run
/// narrowed by id, results deleted): listed as not run, and the leg fails. Returns
/// how many.
fn unaccounted(
    runs: &[LoadedRun],
    kept: &[usize],
    mut at: HashMap<String, usize>,
    results: &mut Vec<(usize, TaskResult)>,
) -> usize {
    let mut unaccounted = 0;
    for &i in kept {
        let Some(stamp) = &runs[i].record.shard else {
            continue;
        };
        for id in &stamp.assigned {
            if at.contains_key(id) {
                continue;
            }
            at.insert(id.clone(), results.len());
            unaccounted += 1;
            results.push((
                i,
                TaskResult::never_started(
                    id.clone(),
                    String::new(),
                    TaskStatus::Skipped,
                    format!(
                        "not run: shard {}/{} was given this task but its run does not report it",
                        stamp.index, stamp.total
                    ),
                ),
            ));
        }
    }
    unaccounted
}

/// The leg's status as one run's: the worst of its runs', and an error when a planned
/// shard is missing or a task failed.
fn leg_status(leg: &Leg, runs: &[LoadedRun]) -> RunStatus {
    let worst = leg
        .kept
        .iter()
        .map(|&i| runs[i].record.status)
        .max_by_key(|s| severity(*s))
        .unwrap_or(RunStatus::Ok);
    let failed = leg.results.iter().any(|(_, r)| {
        matches!(
            r.status,
            TaskStatus::Error | TaskStatus::Timeout | TaskStatus::Cancelled
        )
    });
    if (failed || !leg.missing.is_empty() || leg.unaccounted > 0)
        && severity(worst) < severity(RunStatus::Error)
    {
        RunStatus::Error
    } else {
        worst
    }
}

fn severity(status: RunStatus) -> u8 {
    match status {
        RunStatus::Ok => 0,
        RunStatus::Error => 1,
        RunStatus::Running | RunStatus::Interrupted => 2,
    }
}

/// The newest of `members` by start time, then run id (both sort as text in cargo-tek's
/// formats).
fn newest(runs: &[LoadedRun], members: &[usize]) -> usize {
    members
        .iter()
        .copied()
        .max_by(|&a, &b| {
            let key = |i: usize| (&runs[i].record.started, &runs[i].record.run_id);
            key(a).cmp(&key(b))
        })
        .unwrap_or(members[0])
}

/// The earliest start and the latest end of `runs` (an end from the start plus the
/// duration when a run has none).
fn bounds(runs: &[&RunRecord]) -> (Option<SystemTime>, Option<SystemTime>) {
    let parse = |s: &str| humantime::parse_rfc3339_weak(s).ok();
    let mut first: Option<SystemTime> = None;
    let mut last: Option<SystemTime> = None;
    for r in runs {
        let Some(start) = parse(&r.started) else {
            continue;
        };
        first = Some(first.map_or(start, |f| f.min(start)));
        let end = r.ended.as_deref().and_then(parse).or_else(|| {
            r.duration_ms
                .and_then(|ms| start.checked_add(std::time::Duration::from_millis(ms)))
        });
        if let Some(end) = end {
            last = Some(last.map_or(end, |l| l.max(end)));
        }
    }
    (first, last)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The value all share, else none.
fn common(mut values: impl Iterator<Item = Option<String>>) -> Option<String> {
    let first = values.next()??;
    values
        .all(|v| v.as_deref() == Some(&first))
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use super::*;
    use crate::evidence::leg::LegStamp;
    use crate::evidence::shard::ShardStamp;

    fn result(task: &str, status: TaskStatus) -> TaskResult {
        TaskResult::for_test(task, status, 100)
    }

    fn run(id: &str, shard: Option<(u32, u32, &str)>, results: Vec<TaskResult>) -> LoadedRun {
        let status = if results.iter().all(|r| r.status.is_success()) {
            RunStatus::Ok
        } else {
            RunStatus::Error
        };
        let mut record = RunRecord::empty(
            id.into(),
            status,
            format!("2026-01-01T00:00:0{}Z", id.len() % 10),
        );
        record.ended = Some("2026-01-01T00:01:00Z".into());
        record.shard = shard.map(|(index, total, hash)| ShardStamp {
            index,
            total,
            plan_hash: hash.into(),
            assigned: Vec::new(),
            estimate_ms: None,
        });
        record.results = results;
        LoadedRun {
            dir: PathBuf::from(id),
            record,
            incomplete: false,
            not_run: HashSet::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn shards_merge_once_each_and_a_missing_one_is_named() {
        let one = run("a", Some((1, 3, "h")), vec![result("T1", TaskStatus::Ok)]);
        let three = run(
            "c",
            Some((3, 3, "h")),
            vec![result("T3", TaskStatus::Error)],
        );
        let err = combine(&[one.clone(), three.clone()], Missing::Refuse).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shard 2/3 missing: no run of it among the merged runs (a job that failed before uploading, or an artifact that was not downloaded); pass --allow-missing to report without it"
        );
        let merged = combine(&[one.clone(), one, three], Missing::Allow).unwrap();
        let stamp = merged.record.merge.as_ref().unwrap();
        assert_eq!(stamp.legs[0].missing, [2]);
        assert_eq!(stamp.duplicates, 1, "the same run twice");
        assert_eq!(merged.record.counts.total, 2);
        assert_eq!(merged.record.status, RunStatus::Error);
        assert_eq!(merged.origins, [0, 2]);
    }

    #[test]
    fn different_plans_are_refused_and_a_rerun_of_a_shard_wins() {
        let a = run("a", Some((1, 2, "h1")), vec![result("T1", TaskStatus::Ok)]);
        let b = run("b", Some((2, 2, "h2")), vec![result("T2", TaskStatus::Ok)]);
        let err = combine(&[a.clone(), b], Missing::Refuse).unwrap_err();
        assert!(matches!(err, MergeError::PlanMismatch { .. }), "{err}");
        // Shard 2 ran twice (a re-run attempt): the newer run stands.
        let old = run(
            "b1",
            Some((2, 2, "h1")),
            vec![result("T2", TaskStatus::Error)],
        );
        let new = run(
            "b22",
            Some((2, 2, "h1")),
            vec![result("T2", TaskStatus::Ok)],
        );
        let merged = combine(&[a, old, new], Missing::Refuse).unwrap();
        assert_eq!(merged.record.status, RunStatus::Ok);
        assert_eq!(merged.record.results[1].status, TaskStatus::Ok);
        assert_eq!(merged.record.merge.unwrap().duplicates, 1);
    }

    #[test]
    fn legs_keep_their_own_results_and_plans() {
        let leg = |os: &str| LegStamp {
            name: None,
            job: Some("test".into()),
            matrix: [("os".to_owned(), os.to_owned())].into(),
            os: None,
        };
        let mut linux = run("l", None, vec![result("T1", TaskStatus::Ok)]);
        linux.record.leg = Some(leg("linux"));
        let mut mac = run(
            "m",
            None,
            vec![
                result("T1", TaskStatus::Error),
                result("T9", TaskStatus::Ok),
            ],
        );
        mac.record.leg = Some(leg("mac"));
        let merged = combine(&[mac, linux], Missing::Refuse).unwrap();
        let legs = &merged.record.merge.as_ref().unwrap().legs;
        let names: Vec<_> = legs
            .iter()
            .map(|l| (l.name.as_str(), l.first, l.count, l.status))
            .collect();
        assert_eq!(
            names,
            [
                ("test (linux)", 0, 1, RunStatus::Ok),
                ("test (mac)", 1, 2, RunStatus::Error)
            ]
        );
        assert_eq!(merged.record.counts.total, 3, "T1 once per leg");
        assert_eq!(
            merged.record.plan_id, None,
            "different plans are fine across legs"
        );
    }

    #[test]
    fn a_leg_mixing_shards_and_whole_runs_is_refused() {
        let a = run("a", Some((1, 1, "h")), vec![result("T1", TaskStatus::Ok)]);
        let mut b = run("b", None, vec![result("T1", TaskStatus::Ok)]);
        b.record.leg = None;
        // Unnamed whole runs are legs of their own; a named one next to shards is mixed.
        assert!(combine(&[a.clone(), b.clone()], Missing::Refuse).is_ok());
        let named = |mut r: LoadedRun| {
            r.record.leg = Some(LegStamp {
                name: Some("x".into()),
                ..Default::default()
            });
            r
        };
        let err = combine(&[named(a), named(b)], Missing::Refuse).unwrap_err();
        assert!(matches!(err, MergeError::Mixed { .. }), "{err}");
    }
}
