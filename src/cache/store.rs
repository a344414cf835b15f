//! The local store, in the runs directory (`.cache/v1/`, hidden, so no reader of runs
//! takes it for one): one folder per key holding the passing result and its logs, and
//! per task the parts of the key it last stored, for `explain-cache`. Entries are
//! content-addressed by key and written whole or not at all: built in a temporary
//! folder, synced, then renamed into place; a second writer of the same key finds the
//! first one's and drops its own.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::key::Key;
use crate::evidence::{logs, TaskResult, TaskStatus};

/// The stored form's version: a store of another version is not read.
const VERSION: &str = "v1";

/// An entry as it is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) task: String,
    pub(crate) key: String,
    /// The run that passed.
    pub(crate) run: String,
    pub(crate) stored: String,
    pub(crate) result: TaskResult,
}

/// What the store remembers of a task's last stored pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Last {
    pub(crate) key: String,
    pub(crate) run: String,
    pub(crate) parts: BTreeMap<String, String>,
}

/// A local store.
#[derive(Debug, Clone)]
pub(crate) struct Local {
    dir: PathBuf,
}

impl Local {
    /// The store of the runs directory `runs_dir`.
    pub(crate) fn in_runs_dir(runs_dir: &Path) -> Self {
        Self {
            dir: runs_dir.join(".cache").join(VERSION),
        }
    }

    fn entry_dir(&self, key: &str) -> Option<PathBuf> {
        // A key names a folder: only what a SHA-256 in hex can be.
        (key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir.join("entries").join(key))
    }

    fn last_path(&self, task: &str) -> PathBuf {
        self.dir
            .join("tasks")
            .join(format!("{}.json", logs::folder_name(task)))
    }

    /// The entry stored under `key`, with the folder its logs are in, if it is whole
    /// and is a pass of `task`.
    pub(crate) fn get(&self, key: &str, task: &str) -> Option<(Entry, PathBuf)> {
        let dir = self.entry_dir(key)?;
        let bytes = std::fs::read(dir.join("entry.json")).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == key && entry.task == task && is_storable(&entry.result))
            .then_some((entry, dir))
    }

    /// The parts of the key `task` last stored a pass under.
    pub(crate) fn last(&self, task: &str) -> Option<Last> {
        let bytes = std::fs::read(self.last_path(task)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores `result` (a clean pass, as recorded in `run_dir`) under `key`, with the
    /// logs it names.
    pub(crate) fn put(
        &self,
        key: &Key,
        result: &TaskResult,
        run_dir: &Path,
        run: &str,
    ) -> std::io::Result<()> {
        let entry = Entry {
            task: result.task.clone(),
            key: key.digest.clone(),
            run: run.to_owned(),
            stored: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            result: result.clone(),
        };
        let files: Vec<(String, Source)> = log_paths(result)
            .map(|log| (log.to_owned(), Source::File(run_dir.to_path_buf())))
            .collect();
        self.install(&entry, files)?;
        self.remember(key, &result.task, run)
    }

    /// Writes `entry` and its files as the entry of its key, whole or not at all.
    fn install(&self, entry: &Entry, files: Vec<(String, Source)>) -> std::io::Result<()> {
        let Some(dir) = self.entry_dir(&entry.key) else {
            return Err(std::io::Error::other("not a cache key"));
        };
        if dir.join("entry.json").is_file() {
            return Ok(());
        }
        let entries = self.dir.join("entries");
        std::fs::create_dir_all(&entries)?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&entries)?;
        for (log, source) in files {
            let to = staging.path().join(&log);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match source {
                Source::File(from) => copy_beneath(&from, &log, &to)?,
                Source::Bytes(bytes) => std::fs::write(&to, bytes)?,
            }
            std::fs::File::open(&to)?.sync_all()?;
        }
        let json = serde_json::to_vec_pretty(entry).map_err(std::io::Error::other)?;
        crate::evidence::write_atomic(&staging.path().join("entry.json"), &json)?;
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            // Another run stored the same key first: the same inputs, so the same pass.
            if !dir.join("entry.json").is_file() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Notes `key` as the last one `task` stored a pass under.
    fn remember(&self, key: &Key, task: &str, run: &str) -> std::io::Result<()> {
        let last = Last {
            key: key.digest.clone(),
            run: run.to_owned(),
            parts: key.parts.clone(),
        };
        let path = self.last_path(task);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let json = serde_json::to_vec(&last).map_err(std::io::Error::other)?;
        crate::evidence::write_atomic(&path, &json)
    }

    /// The entry of `key` as one artifact for the remote store: a first line naming
    /// the format, the length of a JSON header (the entry, and each log's path and
    /// length), the header, then the logs' bytes.
    pub(crate) fn pack(&self, key: &str, task: &str) -> std::io::Result<Vec<u8>> {
        let (entry, dir) = self
            .get(key, task)
            .ok_or_else(|| std::io::Error::other("no such entry"))?;
        let mut files = Vec::new();
        let mut bytes = Vec::new();
        for log in log_paths(&entry.result) {
            // Never through a link: a planted entry must not ship another file away.
            let data = crate::evidence::beneath::read(&dir, log, MAX_LOG)
                .map_err(std::io::Error::other)?;
            files.push((log.to_owned(), data.len() as u64));
            bytes.extend(data);
        }
        let header = serde_json::to_vec(&Packed { entry, files }).map_err(std::io::Error::other)?;
        let mut out = Vec::with_capacity(ARTIFACT.len() + 8 + header.len() + bytes.len());
        out.extend_from_slice(ARTIFACT);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend(header);
        out.extend(bytes);
        Ok(out)
    }

    /// Installs an artifact of the remote store as the local entry of `key`, if it is
    /// whole and a storable pass of `task` under that very key.
    pub(crate) fn unpack(&self, key: &Key, task: &str, artifact: &[u8]) -> Result<(), String> {
        let rest = artifact
            .strip_prefix(ARTIFACT)
            .ok_or("not a cargo-tek cache artifact")?;
        let (len, rest) = rest.split_at_checked(8).ok_or("truncated")?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| "truncated")?) as usize;
        let (header, mut data) = rest.split_at_checked(len).ok_or("truncated header")?;
        let packed: Packed =
            serde_json::from_slice(header).map_err(|e| format!("unreadable header: {e}"))?;
        let entry = packed.entry;
        if entry.key != key.digest || entry.task != task || !is_storable(&entry.result) {
            return Err("it holds another task's or another key's result".into());
        }
        let named: Vec<&str> = log_paths(&entry.result).collect();
        let mut files = Vec::new();
        for (path, len) in packed.files {
            if !named.contains(&path.as_str()) {
                return Err(format!(
                    "it holds a file its result does not name: {path:?}"
                ));
            }
            let (bytes, more) = data
                .split_at_checked(len as usize)
                .ok_or("truncated logs")?;
            files.push((path, Source::Bytes(bytes.to_vec())));
            data = more;
        }
        if !data.is_empty() || files.len() != named.len() {
            return Err("its logs do not match its result".into());
        }
        self.install(&entry, files).map_err(|e| e.to_string())?;
        self.remember(key, task, &entry.run)
            .map_err(|e| e.to_string())
    }
}

/// The largest log packed into a remote artifact.
const MAX_LOG: u64 = 1 << 30;

/// The first bytes of a remote artifact.
const ARTIFACT: &[u8] = b"cargo-tek result cache v1\n";

/// A remote artifact's header.
#[derive(Serialize, Deserialize)]
struct Packed {
    entry: Entry,
    files: Vec<(String, u64)>,
}

/// Where a stored file's bytes come from.
enum Source {
    /// The file of the same relative path in this run directory.
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Copies `rel` below `from` to `to` without following a symlink at any component of
/// it: a task can swap its own log for a link (to `~/.ssh/id_rsa`, `/proc/self/environ`)
/// while it runs, and a stored entry may have been planted by one; neither may carry
/// another file into the store or into a run's evidence.
fn copy_beneath(from: &Path, rel: &str, to: &Path) -> std::io::Result<()> {
    let mut source = crate::evidence::beneath::open(from, rel).map_err(std::io::Error::other)?;
    let mut target = std::fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)?;
    Ok(())
}

/// Whether a result may be stored (and, read back, replayed): a pass on its first
/// attempt, run for real. Failures, timeouts, flaky passes, noops, skips, dry runs and
/// replays of the cache itself never are.
pub(crate) fn is_storable(result: &TaskResult) -> bool {
    result.status == TaskStatus::Ok
        && result.attempts == 1
        && result.carried_from.is_none()
        && result
            .commands
            .iter()
            .all(|c| c.rc == Some(0) && c.error.is_none())
        && !result.commands.is_empty()
        && all_logs(result).all(is_plain_log)
}

fn all_logs(result: &TaskResult) -> impl Iterator<Item = &str> {
    result
        .commands
        .iter()
        .flat_map(|c| c.log.iter().chain(c.stderr_log.iter()))
        .map(String::as_str)
}

fn is_plain_log(path: &str) -> bool {
    let path = Path::new(path);
    path.starts_with("logs") && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The logs a result names that are plain relative paths under `logs/`: a stored
/// entry is read back, so a path in it that climbs out is never followed.
fn log_paths(result: &TaskResult) -> impl Iterator<Item = &str> {
    all_logs(result).filter(|p| is_plain_log(p))
}

/// The result a hit records in this run: the stored pass, its logs copied into
/// `run_dir`, marked as cached with the key and the run it came from.
pub(crate) fn replay(
    (entry, from): (Entry, PathBuf),
    run_dir: &Path,
    store: &str,
    started: String,
) -> std::io::Result<TaskResult> {
    let mut result = entry.result;
    for log in log_paths(&result) {
        let to = run_dir.join(log);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_beneath(&from, log, &to)?;
    }
    result.cached = Some(Box::new(crate::evidence::CachedFrom {
        key: entry.key,
        run: entry.run,
        duration_ms: result.duration_ms,
        store: store.to_owned(),
    }));
    result.duration_ms = 0;
    result.wait_ms = 0;
    result.started = Some(started);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::CommandRecord;

    fn passed(run_dir: &Path) -> TaskResult {
        let (out, err) = logs::paths("T-1", 1, 1);
        for (log, text) in [(&out, "hello\n"), (&err, "")] {
            let p = run_dir.join(log);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        TaskResult {
            commands: vec![CommandRecord {
                log: Some(out),
                stderr_log: Some(err),
                duration_ms: 5,
                ..CommandRecord::for_test(&["true"], Some(0))
            }],
            ..TaskResult::for_test("T-1", TaskStatus::Ok, 5)
        }
    }

    #[test]
    fn a_stored_pass_replays_with_its_logs_into_another_run() {
        let runs = tempfile::tempdir().unwrap();
        let (first, second) = (runs.path().join("r1"), runs.path().join("r2"));
        let store = Local::in_runs_dir(runs.path());
        let key = Key {
            digest: "a".repeat(64),
            parts: [("task".to_string(), "T-1".to_string())].into(),
        };
        let result = passed(&first);
        store.put(&key, &result, &first, "r1").unwrap();
        // Stored twice: the first entry stays.
        store.put(&key, &result, &first, "r1-again").unwrap();
        assert!(
            store.get(&key.digest, "T-2").is_none(),
            "another task's key"
        );
        let hit = store.get(&key.digest, "T-1").unwrap();
        assert_eq!(hit.0.run, "r1");
        let replayed = replay(hit, &second, "local", "now".into()).unwrap();
        assert_eq!(replayed.cached.as_ref().unwrap().run, "r1");
        let log = replayed.commands[0].log.clone().unwrap();
        assert_eq!(
            std::fs::read_to_string(second.join(log)).unwrap(),
            "hello\n"
        );
        assert_eq!(store.last("T-1").unwrap().run, "r1-again");
    }

    #[test]
    fn only_clean_first_attempt_passes_are_storable() {
        let dir = tempfile::tempdir().unwrap();
        let ok = passed(dir.path());
        assert!(is_storable(&ok));
        for status in [
            TaskStatus::Flaky,
            TaskStatus::Error,
            TaskStatus::Timeout,
            TaskStatus::Noop,
        ] {
            assert!(
                !is_storable(&TaskResult {
                    status,
                    ..ok.clone()
                }),
                "{status:?}"
            );
        }
        assert!(!is_storable(&TaskResult {
            attempts: 2,
            ..ok.clone()
        }));
        let mut climbing = ok.clone();
        climbing.commands[0].log = Some("../../etc/passwd".into());
        assert!(!is_storable(&climbing));
    }

    #[test]
    fn a_log_swapped_for_a_symlink_is_neither_stored_nor_replayed() {
        let runs = tempfile::tempdir().unwrap();
        let secret = runs.path().join("id_rsa");
        std::fs::write(&secret, "PRIVATE KEY").unwrap();
        let (first, second) = (runs.path().join("r1"), runs.path().join("r2"));
        let store = Local::in_runs_dir(runs.path());
        let key = Key {
            digest: "b".repeat(64),
            parts: [("task".to_string(), "T-1".to_string())].into(),
        };
        // The task replaced its own log with a link while it ran: nothing is stored.
        let result = passed(&first);
        let log = first.join(result.commands[0].log.as_deref().unwrap());
        std::fs::remove_file(&log).unwrap();
        std::os::unix::fs::symlink(&secret, &log).unwrap();
        assert!(store.put(&key, &result, &first, "r1").is_err());
        assert!(store.get(&key.digest, "T-1").is_none());

        // An entry whose log became a link (planted in the store) replays nothing.
        std::fs::remove_file(&log).unwrap();
        std::fs::write(&log, "hello\n").unwrap();
        store.put(&key, &result, &first, "r1").unwrap();
        let (entry, dir) = store.get(&key.digest, "T-1").unwrap();
        let stored = dir.join(result.commands[0].log.as_deref().unwrap());
        std::fs::remove_file(&stored).unwrap();
        std::os::unix::fs::symlink(&secret, &stored).unwrap();
        assert!(replay((entry, dir), &second, "local", "now".into()).is_err());
        let copied = second.join(result.commands[0].log.as_deref().unwrap());
        assert!(
            std::fs::read_to_string(&copied).map_or(true, |t| !t.contains("PRIVATE")),
            "the secret reached the run"
        );
    }
}
