//! Expected task durations for sharding, from earlier evidence: run.json files, run
//! directories, or merged runs. Each task gets the median of its recorded durations; a
//! task never seen gets the median of the seen ones; with nothing recorded at all every
//! task weighs the same (a count-based split).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::{load_run, RunRecord, TaskStatus, RUN_JSON};

/// The weight of a task when no duration was ever recorded: all tasks equal.
pub(crate) const COUNT_WEIGHT_MS: u64 = 1_000;

/// Larger files are refused rather than read into memory (50,000 tasks write ~30 MB).
const MAX_FILE: u64 = 1 << 30;

/// Recorded durations, by task.
#[derive(Debug, Clone, Default)]
pub(crate) struct Durations {
    samples: BTreeMap<String, Vec<u64>>,
    /// What compile once's shared compile took, per run that did one.
    compiles: Vec<u64>,
}

/// Where the weights came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Basis {
    /// Recorded durations (unseen tasks get the median of the seen ones).
    Durations,
    /// Nothing recorded: every task weighs the same.
    Count,
}

/// A durations file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--durations `{file}`: {why}")]
pub(crate) struct DurationsError {
    pub(crate) file: String,
    pub(crate) why: String,
}

impl Durations {
    /// Reads each file: a run.json, or a run directory holding one (a run cut short is
    /// read from its journal). Later files add samples; nothing is overwritten.
    pub(crate) fn read(files: &[PathBuf]) -> Result<Self, DurationsError> {
        let mut durations = Self::default();
        for file in files {
            let record = read_record(file)?;
            durations.add(&record);
        }
        Ok(durations)
    }

    /// Adds the real durations of `record`: tasks that ran (not skipped, cancelled, a
    /// noop, carried forward from an earlier run, or part of a dry run).
    pub(crate) fn add(&mut self, record: &RunRecord) {
        if record.dry_run {
            return;
        }
        self.compiles.extend(record.compile_ms);
        for result in &record.results {
            let ran = matches!(
                result.status,
                TaskStatus::Ok | TaskStatus::Flaky | TaskStatus::Error | TaskStatus::Timeout
            );
            if ran && result.carried_from.is_none() {
                self.samples
                    .entry(result.task.clone())
                    .or_default()
                    .push(result.duration_ms);
            }
        }
    }

    /// How many of `ids` have a recorded duration.
    pub(crate) fn recorded<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        ids.into_iter()
            .filter(|id| self.samples.contains_key(*id))
            .count()
    }

    /// What compile once's shared workspace test compile takes (the median of the runs
    /// that recorded one): a shard that runs such tasks does it first.
    pub(crate) fn compile_ms(&self) -> Option<u64> {
        (!self.compiles.is_empty()).then(|| median(self.compiles.clone()))
    }

    /// The weight of each id (in order), and how they were found.
    pub(crate) fn weights<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> (Vec<u64>, Basis) {
        let ids: Vec<&str> = ids.into_iter().collect();
        let medians: Vec<Option<u64>> = ids
            .iter()
            .map(|id| self.samples.get(*id).map(|s| median(s.clone())))
            .collect();
        let seen: Vec<u64> = medians.iter().flatten().copied().collect();
        if seen.is_empty() {
            return (vec![COUNT_WEIGHT_MS; ids.len()], Basis::Count);
        }
        let fallback = median(seen);
        (
            medians.iter().map(|m| m.unwrap_or(fallback)).collect(),
            Basis::Durations,
        )
    }
}

/// The middle value (the lower of the two middles for an even count: a real sample).
fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values
        .get((values.len().max(1) - 1) / 2)
        .copied()
        .unwrap_or(0)
}

fn read_record(file: &Path) -> Result<RunRecord, DurationsError> {
    let error = |why: String| DurationsError {
        file: file.display().to_string(),
        why,
    };
    let meta = std::fs::metadata(file).map_err(|e| error(format!("cannot be read: {e}")))?;
    if meta.is_dir() {
        if !file.join(RUN_JSON).exists() && !file.join(crate::evidence::journal::FILE).exists() {
            return Err(error(format!(
                "is a directory without {RUN_JSON}; give a run directory or its run.json"
            )));
        }
        return load_run(file).map(|run| run.record).map_err(error);
    }
    if !meta.is_file() {
        return Err(error(
            "is not a regular file; give a run.json or a run directory".into(),
        ));
    }
    if meta.len() > MAX_FILE {
        return Err(error(format!(
            "is {} bytes; a run.json is at most {MAX_FILE}",
            meta.len()
        )));
    }
    let text = std::fs::read(file).map_err(|e| error(format!("cannot be read: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| {
        error(format!(
            "line {}, column {}: not a run.json ({e}); give a run.json that `cargo tek run` or `report --merge` wrote",
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{RunStatus, TaskResult};

    fn result(task: &str, status: TaskStatus, ms: u64) -> TaskResult {
        serde_json::from_value(serde_json::json!({
            "task": task, "queue": "Q", "agent": "shell", "status": status,
            "duration_ms": ms
        }))
        .unwrap()
    }

    fn record(results: Vec<TaskResult>) -> RunRecord {
        let mut r = RunRecord::empty("r".into(), RunStatus::Ok, "t".into());
        r.results = results;
        r
    }

    #[test]
    fn medians_per_task_and_the_median_for_unseen_tasks() {
        let mut d = Durations::default();
        d.add(&record(vec![
            result("A", TaskStatus::Ok, 100),
            result("B", TaskStatus::Error, 900),
        ]));
        d.add(&record(vec![
            result("A", TaskStatus::Ok, 300),
            result("B", TaskStatus::Skipped, 0),
        ]));
        d.add(&record(vec![result("A", TaskStatus::Flaky, 200)]));
        let (w, basis) = d.weights(["A", "B", "C"]);
        assert_eq!(basis, Basis::Durations);
        // A: 100, 200, 300 → 200; B: 900 (the skip is no sample); C: median of 200, 900.
        assert_eq!(w, [200, 900, 200]);
    }

    #[test]
    fn nothing_recorded_means_equal_weights() {
        let mut d = Durations::default();
        let mut dry = record(vec![result("A", TaskStatus::Ok, 5)]);
        dry.dry_run = true;
        d.add(&dry);
        assert_eq!(
            d.weights(["A", "B"]),
            (vec![COUNT_WEIGHT_MS; 2], Basis::Count)
        );
    }

    #[test]
    fn a_broken_file_is_named_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.json");
        std::fs::write(&file, "{\n  \"status\": 7\n}").unwrap();
        let err = Durations::read(std::slice::from_ref(&file)).unwrap_err();
        assert!(err.to_string().contains("line 2, column"), "{err}");
        assert!(err.to_string().contains("run.json"), "{err}");
        let err = Durations::read(&[dir.path().to_path_buf()]);
        // The directory holds a run.json now, but it is broken: still an error.
        assert!(err.is_err());
        let err = Durations::read(&[PathBuf::from("/dev/zero")]).unwrap_err();
        assert!(err.why.contains("not a regular file"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let err = Durations::read(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.why.contains("without run.json"), "{err}");
    }
}
