//! Reading a run directory back: run.json when the run finished, otherwise the journal,
//! so that a run whose cargo-tek was killed still reports every finished task.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::journal::{self, Entry};
use super::record::{Counts, RunRecord, RunStatus, TaskResult, TaskStatus};

/// A run read from disk.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub dir: PathBuf,
    pub record: RunRecord,
    /// True when cargo-tek stopped before writing the final run.json.
    pub incomplete: bool,
}

/// Loads `dir`. Errors name the file and what is wrong.
pub fn load_run(dir: &Path) -> Result<LoadedRun, String> {
    let run_json = dir.join("run.json");
    let record: Option<RunRecord> = match std::fs::read(&run_json) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| format!("`{}` is not a valid run: {e}", run_json.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("failed to read `{}`: {e}", run_json.display())),
    };
    if let Some(record) = &record {
        if record.status != RunStatus::Running {
            let mut record = record.clone();
            // Counts are derived; the predecessor's run.json has none.
            record.counts = Counts::of(&record.results);
            return Ok(LoadedRun {
                dir: dir.to_path_buf(),
                record,
                incomplete: false,
            });
        }
    }
    let journal_path = dir.join("events.jsonl");
    let entries = journal::read(&journal_path).map_err(|e| {
        format!(
            "`{}` has no finished run.json and its journal can't be read: {e}",
            dir.display()
        )
    })?;
    let mut record = record.unwrap_or(RunRecord {
        schema_version: super::RUN_SCHEMA_VERSION,
        status: RunStatus::Running,
        started: String::new(),
        ended: None,
        duration_ms: None,
        run_id: String::new(),
        tool: None,
        source: None,
        dry_run: false,
        max_workers: None,
        signal: None,
        counts: Counts::default(),
        results: Vec::new(),
    });
    let mut finished: BTreeMap<String, TaskResult> = BTreeMap::new();
    let mut started: Vec<(String, String)> = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for entry in entries {
        match entry {
            Entry::RunStarted {
                run_id,
                started,
                source,
                dry_run,
                ..
            } => {
                record.run_id = run_id;
                record.started = started;
                record.source = source;
                record.dry_run = dry_run;
            }
            Entry::TaskStarted { task, queue, .. } => {
                if !order.contains(&task) {
                    order.push(task.clone());
                }
                started.push((task, queue));
            }
            Entry::TaskFinished { result } => {
                if !order.contains(&result.task) {
                    order.push(result.task.clone());
                }
                finished.insert(result.task.clone(), result);
            }
            Entry::RunFinished {
                status,
                ended,
                signal,
            } => {
                record.status = status;
                record.ended = Some(ended);
                record.signal = signal;
            }
        }
    }
    let mut results = Vec::new();
    for task in order {
        if let Some(result) = finished.remove(&task) {
            results.push(result);
        } else if let Some((_, queue)) = started.iter().find(|(t, _)| *t == task) {
            results.push(TaskResult {
                task,
                queue: queue.clone(),
                agent: String::new(),
                status: TaskStatus::Cancelled,
                title: String::new(),
                layer: String::new(),
                reason: Some("cargo-tek stopped before this task finished".into()),
                attempts: 0,
                duration_ms: 0,
                commands: Vec::new(),
                line: None,
            });
        }
    }
    record.counts = Counts::of(&results);
    record.results = results;
    if record.status == RunStatus::Running {
        record.status = RunStatus::Interrupted;
    }
    Ok(LoadedRun {
        dir: dir.to_path_buf(),
        record,
        incomplete: true,
    })
}
