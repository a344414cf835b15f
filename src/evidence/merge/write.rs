//! Writing a merged run as a run directory of its own: run.json, junit.xml, each
//! result's logs copied beside it, and the journals of runs cut short, so that every
//! reader of a run directory (report, JUnit, `--durations`) works on it unchanged.
//!
//! The runs come from artifacts, which are untrusted: every file is read below its run
//! directory without following a symlink (a linked log is reported as lost, never
//! copied), copies are bounded, and a copy's name is made here, never taken from
//! run.json.

use crate::redact::Secrets;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::combine::Combined;
use crate::evidence::beneath;
use crate::evidence::journal;
use crate::evidence::logs::{self, Layout};
use crate::evidence::{junit, run_dir, write_atomic, LoadedRun, RUN_JSON};

/// The end of a log that is copied: the cause of a failure is at the end, and a report
/// reads at most the last 256 KiB.
const MAX_LOG: usize = 8 << 20;

/// A journal larger than this is not copied.
const MAX_JOURNAL: u64 = 256 << 20;

/// The merged run directory, and what could not be copied into it.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) dir: PathBuf,
    /// One line per log not copied: whose, and why.
    pub(crate) lost: Vec<String>,
}

/// Writes `combined` as a new run directory under `runs_dir`; `secrets` are masked in
/// everything written (copied logs and journals, run.json, junit.xml): the shards' runs
/// were masked with their own tables, this report step may hold more.
pub(crate) fn write(
    runs_dir: &Path,
    runs: &[LoadedRun],
    combined: Combined,
    secrets: &Secrets,
) -> std::io::Result<Written> {
    let Combined {
        mut record,
        origins,
    } = combined;
    let (id, dir) = run_dir::create(runs_dir)?;
    let staging = run_dir::staging_of(&dir);
    record.run_id = id;
    let legs = record
        .merge
        .as_ref()
        .map(|m| m.legs.clone())
        .unwrap_or_default();
    let mut lost = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for (k, result) in record.results.iter_mut().enumerate() {
        // A result carried from an earlier run keeps pointing at that run's logs.
        if result.carried_from.is_some() {
            continue;
        }
        let Some(src) = origins.get(k).and_then(|&i| runs.get(i)) else {
            continue;
        };
        // Legs may share task ids: each gets its own folder.
        let prefix = match legs
            .iter()
            .position(|l| (l.first..l.first + l.count).contains(&k))
        {
            Some(n) if legs.len() > 1 => format!("legs/{}/", n + 1),
            _ => String::new(),
        };
        let folder = logs::folder_name(&result.task);
        let layout = Layout::of_schema(src.record.schema_version);
        for (m, command) in result.commands.iter_mut().enumerate() {
            for (stream, slot) in [
                ("stdout", &mut command.log),
                ("stderr", &mut command.stderr_log),
            ] {
                let Some(rel) = slot.take() else {
                    continue;
                };
                let file = file_name(&rel).unwrap_or_else(|| format!("cmd{}.{stream}.log", m + 1));
                let mut dest = format!("{prefix}logs/{folder}/{file}");
                let mut n = 1;
                while !taken.insert(dest.clone()) {
                    n += 1;
                    dest = format!("{prefix}logs/{folder}/{n}-{file}");
                }
                match logs::tail(&src.dir, &rel, MAX_LOG, layout) {
                    Ok(text) => {
                        beneath::create(&staging, &dest)?
                            .write_all(secrets.mask(&text).as_bytes())?;
                        *slot = Some(dest);
                    }
                    Err(e) => lost.push(format!(
                        "{} of `{}` in `{}`: {e}",
                        stream,
                        result.task,
                        src.dir.display()
                    )),
                }
            }
        }
    }
    // The journals of runs cut short: the only record of what they were doing.
    for src in runs.iter().filter(|r| r.incomplete) {
        if !record
            .merge
            .iter()
            .flat_map(|m| &m.legs)
            .flat_map(|l| &l.runs)
            .any(|s| s.run_id == src.record.run_id)
        {
            continue;
        }
        match beneath::read(&src.dir, journal::FILE, MAX_JOURNAL) {
            Ok(bytes) => {
                let name = logs::folder_name(&src.record.run_id);
                let mut file =
                    beneath::create(&staging, &format!("sources/{name}/{}", journal::FILE))?;
                secrets.mask_stream(&bytes[..], &mut file)?;
            }
            Err(e) => lost.push(format!("journal of `{}`: {e}", src.dir.display())),
        }
    }
    let mut value = serde_json::to_value(&record).map_err(std::io::Error::other)?;
    secrets.mask_json(&mut value);
    let json = serde_json::to_vec_pretty(&value).map_err(std::io::Error::other)?;
    write_atomic(&staging.join(RUN_JSON), &json)?;
    let xml = junit::render(&record, &staging, secrets).map_err(std::io::Error::other)?;
    write_atomic(&staging.join("junit.xml"), xml.as_bytes())?;
    run_dir::publish(&dir)?;
    Ok(Written { dir, lost })
}

/// The last component of a log path when it is a plain name cargo-tek would write
/// (`attempt1-cmd2.stdout.log`); anything else gets a name made here.
fn file_name(rel: &str) -> Option<String> {
    let name = rel.rsplit('/').next()?;
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| name.to_owned())
}
