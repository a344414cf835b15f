//! The append-only journal (`events.jsonl`): one JSON object per line, written with a
//! single `write` at every task boundary, so that a `kill -9` of cargo-tek at any moment
//! leaves every finished task on disk (the kernel keeps written data; only a power loss
//! could lose the tail, which is why the end of the run also fsyncs). With a key, every
//! line is sealed ([`super::seal`]) and a reader trusts the journal only up to its first
//! line that fails the seal.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::beneath::{self, ReadError};
use super::record::{RunStatus, TaskResult};
use super::seal::{Chain, JournalKey};

/// The journal's name in a run directory.
pub(crate) const FILE: &str = "events.jsonl";

/// Journals larger than this are not read (a crafted artifact must not exhaust memory):
/// 50,000 tasks write about 40 MB.
pub(crate) const MAX_BYTES: u64 = 1 << 30;

/// A task the run planned to execute, so that a run rebuilt from the journal knows the
/// tasks that never started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Planned {
    pub(crate) task: String,
    pub(crate) queue: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) line: Option<usize>,
}

/// A journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Entry {
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
        /// SHA-256 (hex) of the final run.json as cargo-tek wrote it, so that a sealed
        /// journal vouches for exactly that file (absent when it could not be written).
        #[serde(default)]
        run_json_sha256: Option<String>,
    },
}

/// The open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    file: std::fs::File,
    /// Set when the run has a key: every line is sealed.
    chain: Option<Chain>,
}

impl Journal {
    /// Creates `path` (refusing to follow or reuse an existing file); `sealed` is the key
    /// and the run id its chain starts from.
    pub(crate) fn create(path: &Path, sealed: Option<(JournalKey, &str)>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        let chain = sealed.map(|(key, run_id)| Chain::new(key, run_id));
        Ok(Self { file, chain })
    }

    /// Appends one entry as one line in one write.
    pub(crate) fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let body = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        let mut line = match &mut self.chain {
            Some(chain) => chain.seal(&body),
            None => body,
        };
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Flushes to stable storage (end of run).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// A journal as read.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    /// The entries a reader may trust: all of them without a key; with one, those
    /// before the first line that fails its seal.
    pub(crate) entries: Vec<Entry>,
    /// With a key: the first line that failed its seal and why (`line 7: its MAC does
    /// not match …`); the entries after it are left out.
    pub(crate) broken: Option<String>,
}

/// Reads the journal of the run in `dir` (never through a symlink, at most
/// [`MAX_BYTES`]), skipping a torn last line (cargo-tek killed mid-write). With `key`,
/// every line must carry its seal.
pub(crate) fn read(dir: &Path, key: Option<&JournalKey>) -> Result<Contents, ReadError> {
    let file = beneath::open(dir, FILE)?;
    let mut read = Contents::default();
    let mut reader = std::io::BufReader::new(file.take(MAX_BYTES + 1));
    let mut total = 0u64;
    let mut chain: Option<Chain> = None;
    let mut lines = reader.by_ref().split(b'\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
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
        let last = lines.peek().is_none();
        let entry = serde_json::from_slice::<Entry>(&line);
        let Some(key) = key else {
            read.entries.extend(entry.ok());
            continue;
        };
        let checked = match (&entry, &mut chain) {
            // A torn last line is the write a kill interrupted, not a forgery.
            (Err(_), _) if last => break,
            (Err(_), _) => Err("it is not a journal entry"),
            (Ok(Entry::RunStarted { run_id, .. }), None) => {
                chain.insert(Chain::new(key.clone(), run_id)).open(&line)
            }
            (Ok(_), None) => Err("the journal does not start with its run"),
            (Ok(_), Some(chain)) => chain.open(&line),
        };
        match checked {
            Ok(()) => read.entries.extend(entry.ok()),
            Err(why) => {
                read.broken = Some(format!("line {}: {why}", index + 1));
                break;
            }
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut j = Journal::create(&path, None).unwrap();
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
        let read = read(dir.path(), None).unwrap();
        assert_eq!(read.entries.len(), 1);
        assert!(
            Journal::create(&path, None).is_err(),
            "an existing journal is never reused"
        );
    }
}
