//! Reading a run directory back: run.json when the run finished, otherwise the journal,
//! so that a run whose cargo-tek was killed still reports every planned task. Every file
//! is opened below the run directory without following symlinks, and bounded.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::beneath;
use super::journal::{self, Entry, Planned};
use super::record::{Counts, RunRecord, RunStatus, TaskResult, TaskStatus};
use super::seal::JournalKey;

/// run.json's name in a run directory.
pub(crate) const RUN_JSON: &str = "run.json";

/// run.json files larger than this are not read: 50,000 tasks write about 30 MB.
const MAX_RUN_JSON: u64 = 1 << 30;

/// The reason given to a planned task that never started in a run that was killed.
pub(crate) const NOT_RUN: &str = "not run: cargo-tek stopped before this task started";

/// A run read from disk.
#[derive(Debug, Clone)]
pub(crate) struct LoadedRun {
    pub(crate) dir: PathBuf,
    pub(crate) record: RunRecord,
    /// True when cargo-tek stopped before writing the final run.json.
    pub(crate) incomplete: bool,
    /// Tasks of an incomplete run that never started: their results are made up here,
    /// not real ones.
    pub(crate) not_run: HashSet<String>,
    /// What a reader must know about how the run was read (a damaged run.json passed
    /// over for the journal, say), one sentence each: shown with the report.
    pub(crate) notes: Vec<String>,
}

/// Loads `dir`. Errors name the file and what is wrong.
pub(crate) fn load_run(dir: &Path) -> Result<LoadedRun, String> {
    load(dir, None)
}

/// Loads `dir` trusting only what its journal, sealed with `key`, vouches for: run.json
/// when the journal's authenticated end names its digest, else the run rebuilt from the
/// journal's authenticated lines; anything else is reported and never passes as ok.
pub(crate) fn load_sealed(dir: &Path, key: &JournalKey) -> Result<LoadedRun, String> {
    load(dir, Some(key))
}

fn load(dir: &Path, key: Option<&JournalKey>) -> Result<LoadedRun, String> {
    let run_json = RunJson::read(dir);
    let read = journal::read(dir, key);
    let mut notes = Vec::new();
    if let Some(record) = run_json.finished() {
        match as_written(dir, key, record, &run_json.bytes, &read) {
            AsWritten::Loaded(run) => return Ok(*run),
            AsWritten::Rebuild(note) => notes.push(note),
        }
    }
    let read = read.map_err(|e| match &run_json.damaged {
        // Nothing to fall back on: the run.json's own problem comes first.
        Some(why) if e.is_not_found() => why.clone(),
        Some(why) => format!("{why}; and its journal can't be read: {e}"),
        None => format!(
            "`{}` has no finished run.json and its journal can't be read: {e}",
            dir.display()
        ),
    })?;
    // A run.json the journal did not vouch for gives nothing to the rebuilt run.
    let base = if notes.is_empty() {
        run_json.record
    } else {
        None
    };
    let mut run = rebuild(dir, base, read.entries);
    run.notes = notes;
    if let Some(why) = run_json.damaged {
        run.notes
            .push(format!("{why}: the run is rebuilt from its journal"));
    }
    distrust_rebuilt(&mut run, key, read.broken);
    Ok(run)
}

/// run.json as found in a run directory.
struct RunJson {
    record: Option<RunRecord>,
    /// Its bytes as read, for the sealed journal's digest.
    bytes: Vec<u8>,
    /// Why a run.json that is there could not be used.
    damaged: Option<String>,
}

impl RunJson {
    /// A run.json that can't be read or is cut (a full disk, a crash of an older
    /// cargo-tek mid-write) is passed over for the journal, which tells the same run.
    fn read(dir: &Path) -> Self {
        let (record, bytes, damaged) = match beneath::read(dir, RUN_JSON, MAX_RUN_JSON) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(record) => (Some(record), bytes, None),
                Err(e) => (
                    None,
                    bytes,
                    Some(format!(
                        "`{}` is not a valid run: {e}",
                        dir.join(RUN_JSON).display()
                    )),
                ),
            },
            Err(e) if e.is_not_found() => (None, Vec::new(), None),
            Err(e) => (
                None,
                Vec::new(),
                Some(format!("failed to read run `{}`: {e}", dir.display())),
            ),
        };
        Self {
            record,
            bytes,
            damaged,
        }
    }

    fn finished(&self) -> Option<&RunRecord> {
        self.record
            .as_ref()
            .filter(|r| r.status != RunStatus::Running)
    }
}

/// What becomes of a finished run.json.
enum AsWritten {
    /// It is the run (boxed: a run is large, the other case a sentence).
    Loaded(Box<LoadedRun>),
    /// The journal rebuilds the run instead, for this reason.
    Rebuild(String),
}

/// A finished run.json is the run when no key is asked for or the sealed journal vouches
/// for it; with a journal that can't be read it is still the run, but never ok.
fn as_written(
    dir: &Path,
    key: Option<&JournalKey>,
    record: &RunRecord,
    bytes: &[u8],
    read: &Result<journal::Contents, beneath::ReadError>,
) -> AsWritten {
    let shown = dir.join(RUN_JSON).display().to_string();
    let vouched = match (key, read) {
        (None, _) => Ok(()),
        (Some(_), Ok(read)) => vouches(read, bytes),
        (Some(_), Err(e)) => Err(format!("its journal can't be read: {e}")),
    };
    let mut record = record.clone();
    // Counts are derived; the predecessor's run.json has none.
    record.counts = Counts::of(&record.results);
    let notes = match vouched {
        Ok(()) => Vec::new(),
        Err(why) if read.is_err() => {
            // Nothing to rebuild from: the run as it says, but never ok.
            record.status = RunStatus::Error;
            vec![format!(
                "`{shown}` could not be authenticated ({why}): the run is reported as an error"
            )]
        }
        Err(why) => {
            return AsWritten::Rebuild(format!(
            "`{shown}` is not the run.json cargo-tek wrote ({why}): the run is rebuilt from its \
                 sealed journal"
        ))
        }
    };
    AsWritten::Loaded(Box::new(LoadedRun {
        dir: dir.to_path_buf(),
        record,
        incomplete: false,
        not_run: HashSet::new(),
        notes,
    }))
}

/// A rebuilt run is ok only when its journal is sealed and the seal held throughout.
fn distrust_rebuilt(run: &mut LoadedRun, key: Option<&JournalKey>, broken: Option<String>) {
    match (key, broken) {
        (Some(_), Some(broken)) => {
            run.record.status = RunStatus::Error;
            run.notes.push(format!(
                "the journal failed authentication at {broken} (a key other than the \
                 run's, or something other than cargo-tek wrote it): nothing from that line \
                 on is trusted and the run is reported as an error"
            ));
        }
        (Some(_), None) => {}
        (None, _) if run.record.status == RunStatus::Ok => {
            run.record.status = RunStatus::Error;
            run.notes.push(format!(
                "the run is rebuilt from a journal read without its key ({}): any process \
                 of the run could have written it, so it is not reported as ok",
                super::seal::KEY_VAR
            ));
        }
        (None, _) => {}
    }
}

/// Whether the sealed journal's end names exactly `run_json`'s bytes.
fn vouches(read: &journal::Contents, run_json: &[u8]) -> Result<(), String> {
    let digest = read.entries.iter().rev().find_map(|e| match e {
        Entry::RunFinished {
            run_json_sha256, ..
        } => Some(run_json_sha256.clone()),
        _ => None,
    });
    match digest {
        Some(Some(digest)) if digest == hex::encode(Sha256::digest(run_json)) => Ok(()),
        Some(Some(_)) => Err("its digest is not the one the sealed journal names".into()),
        Some(None) => Err("the sealed journal says it could not be written".into()),
        None => Err(match &read.broken {
            Some(broken) => format!("the journal failed authentication at {broken}"),
            None => "the sealed journal never finished".into(),
        }),
    }
}

/// The run as far as its journal tells: finished tasks as recorded, started ones as
/// cancelled, planned ones that never started as not run; the duration up to the last
/// entry.
fn rebuild(dir: &Path, record: Option<RunRecord>, entries: Vec<Entry>) -> LoadedRun {
    let mut replay = Replay::new(record);
    for entry in entries {
        replay.entry(entry);
    }
    let Replay {
        mut record,
        planned,
        tasks,
        last,
    } = replay;
    let (results, not_run) = tasks.results(&planned);
    let started_at = humantime::parse_rfc3339_weak(&record.started).ok();
    if let (Some(start), Some(end)) = (started_at, last) {
        if let Ok(d) = end.duration_since(start) {
            record.duration_ms = Some(d.as_millis() as u64);
        }
    }
    record.counts = Counts::of(&results);
    record.results = results;
    if record.status == RunStatus::Running {
        record.status = RunStatus::Interrupted;
    }
    LoadedRun {
        dir: dir.to_path_buf(),
        record,
        incomplete: true,
        not_run,
        notes: Vec::new(),
    }
}

/// The journal read entry by entry.
struct Replay {
    record: RunRecord,
    planned: Vec<Planned>,
    tasks: JournalTasks,
    /// The latest time any entry names.
    last: Option<SystemTime>,
}

/// What the journal says of each task it names.
#[derive(Default)]
struct JournalTasks {
    finished: HashMap<String, TaskResult>,
    /// Started and not (yet) finished: the task's queue.
    started: HashMap<String, String>,
    /// In the order the journal first names them.
    order: Vec<String>,
    seen: HashSet<String>,
}

impl Replay {
    fn new(record: Option<RunRecord>) -> Self {
        Self {
            record: record.unwrap_or_else(|| {
                RunRecord::empty(String::new(), RunStatus::Running, String::new())
            }),
            planned: Vec::new(),
            tasks: JournalTasks::default(),
            last: None,
        }
    }

    fn stamp(&mut self, at: &str) {
        if let Ok(t) = humantime::parse_rfc3339_weak(at) {
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }

    fn entry(&mut self, entry: Entry) {
        match entry {
            Entry::RunStarted {
                run_id,
                started,
                source,
                dry_run,
                plan_id,
                planned: tasks,
                ..
            } => {
                self.stamp(&started);
                let record = &mut self.record;
                record.run_id = run_id;
                record.started = started;
                record.source = source;
                record.dry_run = dry_run;
                record.plan_id = record.plan_id.take().or(plan_id);
                self.planned = tasks;
            }
            Entry::TaskStarted {
                task, queue, at, ..
            } => {
                self.stamp(&at);
                self.tasks.name(&task);
                self.tasks.started.insert(task, queue);
            }
            Entry::TaskFinished { result, at } => {
                if let Some(at) = at {
                    self.stamp(&at);
                }
                self.tasks.name(&result.task);
                self.tasks.finished.insert(result.task.clone(), result);
            }
            Entry::RunFinished {
                status,
                ended,
                signal,
                ..
            } => {
                self.stamp(&ended);
                self.record.status = status;
                self.record.ended = Some(ended);
                self.record.signal = signal;
            }
        }
    }
}

impl JournalTasks {
    fn name(&mut self, task: &str) {
        if self.seen.insert(task.to_owned()) {
            self.order.push(task.to_owned());
        }
    }

    /// A result for every task: plan order when the journal has it; tasks it does not
    /// list (older journals) after. Also the tasks that never started.
    fn results(mut self, planned: &[Planned]) -> (Vec<TaskResult>, HashSet<String>) {
        let mut results = Vec::new();
        let mut not_run = HashSet::new();
        let index: HashMap<&str, &Planned> = planned.iter().map(|p| (p.task.as_str(), p)).collect();
        let mut ids: Vec<String> = planned.iter().map(|p| p.task.clone()).collect();
        ids.extend(
            self.order
                .into_iter()
                .filter(|t| !index.contains_key(t.as_str())),
        );
        for task in ids {
            let plan = index.get(task.as_str()).copied();
            if let Some(result) = self.finished.remove(&task) {
                results.push(result);
            } else if let Some(queue) = self.started.remove(&task) {
                results.push(unfinished(
                    task,
                    queue,
                    TaskStatus::Cancelled,
                    "cargo-tek stopped before this task finished",
                    plan.and_then(|p| p.line),
                ));
            } else if let Some(p) = plan {
                let mut result = unfinished(
                    task.clone(),
                    p.queue.clone(),
                    TaskStatus::Skipped,
                    NOT_RUN,
                    p.line,
                );
                result.title = p.title.clone();
                results.push(result);
                not_run.insert(task);
            }
        }
        (results, not_run)
    }
}

fn unfinished(
    task: String,
    queue: String,
    status: TaskStatus,
    reason: &str,
    line: Option<usize>,
) -> TaskResult {
    TaskResult {
        line,
        ..TaskResult::never_started(task, queue, status, reason.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::journal::Journal;

    fn planned(id: &str) -> Planned {
        Planned {
            task: id.into(),
            queue: "Q".into(),
            title: format!("title {id}"),
            line: Some(3),
        }
    }

    /// A run directory whose journal says run `r` started with `tasks` planned.
    fn started(plan_id: Option<&str>, tasks: &[&str]) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(&dir.path().join(journal::FILE), None).unwrap();
        j.append(&Entry::RunStarted {
            run_id: "r".into(),
            started: "2026-01-01T00:00:00.000Z".into(),
            source: None,
            dry_run: false,
            tasks: tasks.len(),
            plan_id: plan_id.map(str::to_owned),
            planned: tasks.iter().map(|t| planned(t)).collect(),
        })
        .unwrap();
        (dir, j)
    }

    #[test]
    fn a_killed_run_counts_every_planned_task_and_its_real_duration() {
        let (dir, mut j) = started(Some("p"), &["A", "B", "C"]);
        j.append(&Entry::TaskStarted {
            task: "A".into(),
            queue: "Q".into(),
            attempt: 1,
            at: "2026-01-01T00:00:01.000Z".into(),
        })
        .unwrap();
        j.append(&Entry::TaskStarted {
            task: "B".into(),
            queue: "Q".into(),
            attempt: 1,
            at: "2026-01-01T00:00:02.000Z".into(),
        })
        .unwrap();
        let mut a = unfinished("A".into(), "Q".into(), TaskStatus::Ok, "x", None);
        a.reason = None;
        j.append(&Entry::TaskFinished {
            result: a,
            at: Some("2026-01-01T00:00:07.500Z".into()),
        })
        .unwrap();
        let run = load_run(dir.path()).unwrap();
        assert!(run.incomplete);
        let statuses: Vec<_> = run
            .record
            .results
            .iter()
            .map(|r| (r.task.as_str(), r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("A", TaskStatus::Ok),
                ("B", TaskStatus::Cancelled),
                ("C", TaskStatus::Skipped)
            ]
        );
        assert_eq!(run.record.counts.total, 3);
        assert_eq!(run.record.duration_ms, Some(7500));
        assert_eq!(run.record.plan_id.as_deref(), Some("p"));
        assert_eq!(run.not_run, HashSet::from(["C".to_owned()]));
        assert_eq!(run.record.results[2].title, "title C");
    }

    #[test]
    fn a_cut_run_json_is_passed_over_for_the_journal() {
        let (dir, mut j) = started(None, &["A"]);
        let mut a = TaskResult::for_test("A", TaskStatus::Error, 5);
        a.queue = "Q".into();
        j.append(&Entry::TaskFinished {
            result: a,
            at: None,
        })
        .unwrap();
        // As a full disk leaves it: the first 4 KiB of a finished run.json.
        let mut whole = RunRecord::empty("r".into(), RunStatus::Ok, "then".into());
        whole.results = vec![TaskResult::for_test(&"A".repeat(8000), TaskStatus::Ok, 1)];
        let bytes = serde_json::to_vec_pretty(&whole).unwrap();
        std::fs::write(dir.path().join(RUN_JSON), &bytes[..4096]).unwrap();
        let run = load_run(dir.path()).unwrap();
        assert!(run.incomplete);
        assert_eq!(run.record.results.len(), 1);
        assert_eq!(run.record.results[0].status, TaskStatus::Error);
        assert_ne!(run.record.status, RunStatus::Ok);
        assert!(
            run.notes[0].contains("is not a valid run")
                && run.notes[0].contains("rebuilt from its journal"),
            "{:?}",
            run.notes
        );
        // Without a journal there is nothing to fall back on: the run.json's own error.
        std::fs::remove_file(dir.path().join(journal::FILE)).unwrap();
        let err = load_run(dir.path()).unwrap_err();
        assert!(err.contains("is not a valid run"), "{err}");
    }

    #[test]
    fn a_symlinked_run_json_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join(RUN_JSON)).unwrap();
        let err = load_run(dir.path()).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }

    fn key() -> JournalKey {
        JournalKey::parse(&"5a".repeat(32)).unwrap()
    }

    /// A sealed run of tasks A (error) and B (ok), finished by its recorder.
    fn sealed_run() -> (tempfile::TempDir, std::path::PathBuf) {
        use crate::evidence::recorder::Recorder;
        let root = tempfile::tempdir().unwrap();
        let (id, dir) = crate::evidence::run_dir::create(root.path()).unwrap();
        let mut record = RunRecord::empty(id, RunStatus::Running, "2026-01-01T00:00:00Z".into());
        let mut recorder = Recorder::start(
            &dir,
            &record,
            vec![planned("A"), planned("B")],
            Default::default(),
            Some(key()),
        )
        .unwrap();
        let mut a = TaskResult::for_test("A", TaskStatus::Error, 5);
        a.queue = "Q".into();
        let mut b = TaskResult::for_test("B", TaskStatus::Ok, 5);
        b.queue = "Q".into();
        recorder.task_finished(&mut a, "2026-01-01T00:00:01Z".into());
        recorder.task_finished(&mut b, "2026-01-01T00:00:02Z".into());
        record.results = vec![a, b];
        record.status = RunStatus::Error;
        record.ended = Some("2026-01-01T00:00:03Z".into());
        recorder.finish(&record).unwrap();
        (root, dir)
    }

    fn append(dir: &Path, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(journal::FILE))
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }

    #[test]
    fn a_sealed_run_loads_as_written() {
        let (_root, dir) = sealed_run();
        let run = load_sealed(&dir, &key()).unwrap();
        assert_eq!(run.record.status, RunStatus::Error);
        assert!(run.notes.is_empty(), "{:?}", run.notes);
        let other = JournalKey::parse(&"77".repeat(32)).unwrap();
        let run = load_sealed(&dir, &other).unwrap();
        assert_eq!(run.record.status, RunStatus::Error, "{:?}", run.notes);
    }

    #[test]
    fn a_forged_run_json_is_replaced_by_the_sealed_journal() {
        let (_root, dir) = sealed_run();
        let text = std::fs::read_to_string(dir.join(RUN_JSON)).unwrap();
        let forged = text.replace("\"status\": \"error\"", "\"status\": \"ok\"");
        assert_ne!(forged, text);
        std::fs::write(dir.join(RUN_JSON), forged).unwrap();
        // Unkeyed readers take it as it is: that is why the report step has the key.
        assert_eq!(load_run(&dir).unwrap().record.status, RunStatus::Ok);
        let run = load_sealed(&dir, &key()).unwrap();
        assert_eq!(run.record.status, RunStatus::Error, "{:?}", run.notes);
        assert_eq!(run.record.results[0].status, TaskStatus::Error);
        assert!(run.notes[0].contains("not the run.json cargo-tek wrote"));
    }

    #[test]
    fn forged_journal_lines_are_not_trusted() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        let mut j = Journal::create(&dir.join(journal::FILE), Some((key(), "r"))).unwrap();
        j.append(&Entry::RunStarted {
            run_id: "r".into(),
            started: "2026-01-01T00:00:00.000Z".into(),
            source: None,
            dry_run: false,
            tasks: 2,
            plan_id: None,
            planned: vec![planned("A"), planned("B")],
        })
        .unwrap();
        drop(j);
        // What a task would append: A passed, and the run with it.
        let mut a = TaskResult::for_test("A", TaskStatus::Ok, 5);
        a.queue = "Q".into();
        let finished = serde_json::to_string(&Entry::TaskFinished {
            result: a,
            at: None,
        })
        .unwrap();
        append(dir, &finished);
        append(
            dir,
            r#"{"event":"run_finished","status":"ok","ended":"2026-01-01T00:00:09Z"}"#,
        );
        let run = load_sealed(dir, &key()).unwrap();
        assert_eq!(run.record.status, RunStatus::Error);
        assert!(run
            .record
            .results
            .iter()
            .all(|r| r.status != TaskStatus::Ok));
        assert!(
            run.notes
                .iter()
                .any(|n| n.contains("line 2") && n.contains("MAC")),
            "{:?}",
            run.notes
        );
        // Read without the key the same journal never passes as ok either.
        let run = load_run(dir).unwrap();
        assert_eq!(run.record.status, RunStatus::Error);
        assert!(
            run.notes.iter().any(|n| n.contains("without its key")),
            "{:?}",
            run.notes
        );
    }

    #[test]
    fn a_torn_last_sealed_line_is_a_kill_not_a_forgery() {
        let (_root, dir) = sealed_run();
        std::fs::remove_file(dir.join(RUN_JSON)).unwrap();
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(journal::FILE))
            .unwrap();
        f.write_all(b"{\"event\":\"task_fini").unwrap();
        let run = load_sealed(&dir, &key()).unwrap();
        assert_eq!(run.record.status, RunStatus::Error);
        assert!(run.notes.is_empty(), "{:?}", run.notes);
    }
}
