//! The append-only journal (`events.jsonl`): one JSON object per line, written with a
//! single `write` at every task boundary, so that a `kill -9` of cargo-tek at any moment
//! leaves every finished task on disk (the kernel keeps written data; only a power loss
//! could lose the tail, which is why the end of the run also fsyncs).

use std::io::{BufRead, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::beneath::{self, ReadError};
use super::record::{RunStatus, TaskResult};

/// The journal's name in a run directory.
pub const FILE: &str = "events.jsonl";

/// Journals larger than this are not read (a crafted artifact must not exhaust memory):
/// 50,000 tasks write about 40 MB.
pub const MAX_BYTES: u64 = 1 << 30;

/// A task the run planned to execute, so that a run rebuilt from the journal knows the
/// tasks that never started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub task: String,
    pub queue: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub line: Option<usize>,
}

/// A journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    RunStarted {
        run_id: String,
        started: String,
        source: Option<String>,
        dry_run: bool,
        tasks: usize,
        #[serde(default)]
        plan_id: Option<String>,
        #[serde(default)]
        planned: Vec<Planned>,
    },
    TaskStarted {
        task: String,
        queue: String,
        attempt: u32,
        at: String,
    },
    TaskFinished {
        result: TaskResult,
        /// When it finished (absent in older journals).
        #[serde(default)]
        at: Option<String>,
    },
    RunFinished {
        status: RunStatus,
        ended: String,
        #[serde(default)]
        signal: Option<String>,
    },
}

/// The open journal.
#[derive(Debug)]
pub struct Journal {
    file: std::fs::File,
}

impl Journal {
    /// Creates `path` (refusing to follow or reuse an existing file).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        Ok(Self { file })
    }

    /// Appends one entry as one line in one write.
    pub fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Flushes to stable storage (end of run).
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Reads the journal of the run in `dir` (never through a symlink, at most
/// [`MAX_BYTES`]), skipping a torn last line (cargo-tek killed mid-write).
pub fn read(dir: &Path) -> Result<Vec<Entry>, ReadError> {
    let file = beneath::open(dir, FILE)?;
    let mut entries = Vec::new();
    let mut reader = std::io::BufReader::new(file.take(MAX_BYTES + 1));
    let mut total = 0u64;
    for line in reader.by_ref().split(b'\n') {
        let line = line.map_err(|source| ReadError::Io {
            rel: FILE.into(),
            source,
        })?;
        total += line.len() as u64 + 1;
        if total > MAX_BYTES {
            return Err(ReadError::TooBig {
                rel: FILE.into(),
                max: MAX_BYTES,
            });
        }
        if let Ok(entry) = serde_json::from_slice::<Entry>(&line) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut j = Journal::create(&path).unwrap();
        j.append(&Entry::TaskStarted {
            task: "T".into(),
            queue: "Q".into(),
            attempt: 1,
            at: "now".into(),
        })
        .unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"event\":\"task_fini").unwrap();
        let entries = read(dir.path()).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(
            Journal::create(&path).is_err(),
            "an existing journal is never reused"
        );
    }
}
