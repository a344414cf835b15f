//! The evidence recorder: the scheduler tells it what happens, and it owns run.json, the
//! journal and junit.xml.
//!
//! A failure to write evidence (a full disk, say) never ends the run half-way: the task
//! whose evidence was lost becomes an `error` that says why, the run goes on, and at the
//! end run.json is finalised if at all possible. For that the recorder keeps a reserve
//! (a preallocated hidden file in the run directory) and gives it back right before the
//! final writes; when even an atomic write fails, run.json is overwritten in place, but
//! only when the whole new file fits: a run.json cut mid-string would destroy the valid
//! `running` one, which (with the journal) still tells the whole run. The first failure
//! is kept so that the run can end with its own exit code.
//!
//! Every secret of the run's table is masked in everything written here: a finished
//! task's logs (in place, before anyone reads them), its result (reason, cargo findings:
//! text that came from its output) before the journal or run.json get it, run.json,
//! junit.xml. The result handed back to the scheduler is the masked one, so the
//! display and run.json tell the same story.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::journal::{self, Entry, Journal, Planned};
use super::record::{RunRecord, TaskResult, TaskStatus};
use super::seal::JournalKey;
use super::{junit, logs, run_dir, write_atomic, RUN_JSON};
use crate::redact::Secrets;
use sha2::{Digest, Sha256};

/// The reserve's name in the run directory.
const RESERVE: &str = ".reserve";

/// How much the reserve holds: enough for the final run.json and junit.xml of most runs.
fn reserve_bytes(tasks: usize) -> i64 {
    let bytes = 64 * 1024 + 2 * 1024 * tasks as u64;
    bytes.min(16 << 20) as i64
}

/// Writes a run's evidence.
#[derive(Debug)]
pub(crate) struct Recorder {
    dir: PathBuf,
    journal: Journal,
    secrets: Secrets,
    /// Log folders already masked (a finished task's), so the final sweep skips them.
    masked: std::collections::BTreeSet<String>,
    failure: Option<String>,
}

impl Recorder {
    /// Writes run.json (status `running`) and the journal's first entry, then makes the
    /// run directory visible under its final name `dir`. `secrets` are masked in
    /// everything the recorder writes.
    pub(crate) fn start(
        dir: &Path,
        record: &RunRecord,
        planned: Vec<Planned>,
        secrets: Secrets,
        key: Option<JournalKey>,
    ) -> std::io::Result<Self> {
        let staging = run_dir::staging_of(dir);
        let write_in = if staging.is_dir() {
            staging
        } else {
            dir.to_path_buf()
        };
        write_atomic(&write_in.join(RUN_JSON), &to_json(record, &secrets)?)?;
        let sealed = key.map(|key| (key, record.run_id.as_str()));
        let mut journal = Journal::create(&write_in.join(journal::FILE), sealed)?;
        journal.append(&masked(
            &secrets,
            Entry::RunStarted {
                run_id: record.run_id.clone(),
                started: record.started.clone(),
                source: record.source.clone(),
                dry_run: record.dry_run,
                tasks: planned.len(),
                plan_id: record.plan_id.clone(),
                planned: planned.clone(),
            },
        ))?;
        reserve(&write_in.join(RESERVE), reserve_bytes(planned.len()));
        run_dir::publish(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            journal,
            secrets,
            masked: Default::default(),
            failure: None,
        })
    }

    /// Appends `entry` to the journal, masked.
    fn append(&mut self, entry: Entry) -> std::io::Result<()> {
        self.journal.append(&masked(&self.secrets, entry))
    }

    /// Masks the logs of `task` in place. A failure is the task's evidence lost.
    fn mask_logs(&mut self, task: &str) -> Option<String> {
        let folder = logs::folder_name(task);
        let done = logs::mask_folder(&self.dir, &folder, &self.secrets);
        self.masked.insert(folder);
        done.err().map(|e| {
            format!("evidence could not be written: failed to mask secrets in the logs: {e}")
        })
    }

    fn failed(&mut self, what: String) -> String {
        self.failure.get_or_insert_with(|| what.clone());
        what
    }

    /// Journals a task's start. A failure is remembered (the finish will say so).
    pub(crate) fn task_started(&mut self, task: &str, queue: &str, at: String) {
        let entry = Entry::TaskStarted {
            task: task.to_owned(),
            queue: queue.to_owned(),
            attempt: 1,
            at,
        };
        if let Err(e) = self.append(entry) {
            self.failed(format!("failed to write the journal: {e}"));
        }
    }

    /// Journals a finished task. When its evidence could not be written (the journal
    /// entry, or its output because the disk is full) the task becomes an `error` that
    /// says why.
    pub(crate) fn task_finished(&mut self, result: &mut TaskResult, at: String) {
        if let Some(lost) = self.mask_logs(&result.task) {
            let why = self.failed(lost);
            result.status = TaskStatus::Error;
            append_reason(result, &why);
        }
        if let Some(clean) = self.secrets.mask_serde(result) {
            *result = clean;
        }
        let full = (!result.status.is_success())
            .then(|| disk_full(&self.dir))
            .flatten();
        if let Some(full) = full {
            let why = self.failed(full);
            append_reason(result, &why);
        }
        let entry = Entry::TaskFinished {
            result: result.clone(),
            at: Some(at.clone()),
        };
        if let Err(e) = self.append(entry) {
            let why = self.failed(format!(
                "evidence could not be written: failed to write the journal: {e}"
            ));
            result.status = TaskStatus::Error;
            append_reason(result, &why);
            // Try once more, with the reason, so that a journal that has room again
            // tells the same story as run.json.
            let _ = self.append(Entry::TaskFinished {
                result: result.clone(),
                at: Some(at),
            });
        }
    }

    /// Journals a result carried forward from an earlier run (not run this time).
    pub(crate) fn task_carried(&mut self, result: &TaskResult) {
        let entry = Entry::TaskFinished {
            result: result.clone(),
            at: None,
        };
        if let Err(e) = self.append(entry) {
            self.failed(format!("failed to write the journal: {e}"));
        }
    }

    /// Writes the final run.json, junit.xml and the journal's last entry, giving back the
    /// reserve first. Returns the first failure of the whole run, if any; an error only
    /// when run.json itself could not be written.
    pub(crate) fn finish(mut self, record: &RunRecord) -> std::io::Result<Option<String>> {
        let _ = std::fs::remove_file(self.dir.join(RESERVE));
        // Logs no finished task owned: the shared compile's, a task that never finished.
        for folder in logs::folders(&self.dir) {
            if !self.masked.contains(&folder) {
                if let Err(e) = logs::mask_folder(&self.dir, &folder, &self.secrets) {
                    self.failed(format!("failed to mask secrets in the logs: {e}"));
                }
            }
        }
        let json = to_json(record, &self.secrets)?;
        let path = self.dir.join(RUN_JSON);
        let mut written = Some(hex::encode(Sha256::digest(&json)));
        if let Err(e) = write_atomic(&path, &json) {
            self.failed(format!("failed to write run.json atomically: {e}"));
            // Kept as it is otherwise: `running`, so readers rebuild the run from the
            // journal, whose last entry (below) has a better chance to fit.
            if fits(&self.dir, json.len() as u64) {
                overwrite(&path, &json)?;
            } else {
                written = None;
            }
        }
        match junit::render(record, &self.dir, &self.secrets) {
            Ok(xml) => {
                if let Err(e) = write_atomic(&self.dir.join("junit.xml"), xml.as_bytes()) {
                    self.failed(format!("failed to write junit.xml: {e}"));
                }
            }
            Err(e) => {
                self.failed(format!("failed to render junit.xml: {e}"));
            }
        }
        let end = Entry::RunFinished {
            status: record.status,
            ended: record.ended.clone().unwrap_or_default(),
            signal: record.signal.clone(),
            run_json_sha256: written,
        };
        if let Err(e) = self.append(end).and_then(|()| self.journal.sync()) {
            self.failed(format!("failed to write the journal: {e}"));
        }
        Ok(self.failure)
    }
}

/// run.json's bytes, every string in it masked.
fn to_json(record: &RunRecord, secrets: &Secrets) -> std::io::Result<Vec<u8>> {
    let mut value = serde_json::to_value(record).map_err(std::io::Error::other)?;
    secrets.mask_json(&mut value);
    serde_json::to_vec_pretty(&value).map_err(std::io::Error::other)
}

/// `entry` with every string in it masked (itself if that cannot be done).
fn masked(secrets: &Secrets, entry: Entry) -> Entry {
    secrets.mask_serde(&entry).unwrap_or(entry)
}

fn append_reason(result: &mut TaskResult, why: &str) {
    result.reason = Some(match result.reason.take() {
        Some(reason) if !reason.is_empty() => format!("{reason}; {why}"),
        _ => why.to_owned(),
    });
}

/// Last resort when no new file can be created: rewrite run.json in place (its own
/// blocks are freed by the truncation). A crash in between could tear it; a stale
/// `running` record is worse.
fn overwrite(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Whether `bytes` more can be written to one file in `dir`: the file system has the
/// room (with the old run.json's blocks, freed by the truncation, as slack) and the
/// process may write a file that large (`RLIMIT_FSIZE`). Unknown counts as no.
fn fits(dir: &Path, bytes: u64) -> bool {
    let Ok(stat) = nix::sys::statvfs::statvfs(dir) else {
        return false;
    };
    // The widths of these counts differ between platforms (u32 on some).
    #[allow(clippy::useless_conversion)]
    let free = u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size()));
    let limit = match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE) {
        Ok((soft, _)) => soft,
        Err(_) => return false,
    };
    bytes <= free && bytes <= limit
}

/// Preallocates the reserve, best effort: a file system that cannot is no error.
fn reserve(path: &Path, bytes: i64) {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if let Ok(file) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        if nix::fcntl::posix_fallocate(&file, 0, bytes).is_err() {
            let _ = std::fs::remove_file(path);
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let _ = (path, bytes);
}

/// When the file system of the run directory has no space left, why the task's output
/// may be cut.
fn disk_full(dir: &Path) -> Option<String> {
    let stat = nix::sys::statvfs::statvfs(dir).ok()?;
    (stat.blocks_available() == 0).then(|| {
        format!(
            "evidence could not be written: no space left on the file system of `{}` (the task's output may be cut)",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path) -> RunRecord {
        RunRecord::empty(
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            crate::evidence::RunStatus::Running,
            "2026-01-01T00:00:00Z".into(),
        )
    }

    #[test]
    fn the_run_directory_appears_only_once_readable() {
        let runs = tempfile::tempdir().unwrap();
        let (_, dir) = run_dir::create(runs.path()).unwrap();
        assert!(!dir.exists());
        let mut record = record(&dir);
        let recorder = Recorder::start(&dir, &record, vec![], Secrets::default(), None).unwrap();
        let loaded = crate::evidence::load_run(&dir).unwrap();
        assert!(loaded.incomplete, "readable while running");
        assert!(!run_dir::staging_of(&dir).exists());
        record.status = crate::evidence::RunStatus::Ok;
        assert_eq!(recorder.finish(&record).unwrap(), None);
        assert!(!dir.join(RESERVE).exists(), "the reserve is given back");
        assert!(!crate::evidence::load_run(&dir).unwrap().incomplete);
    }
}
