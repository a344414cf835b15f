//! A fresh run directory per run, named by a sortable id, never reused and never reached
//! through a symlink. It becomes visible only once readable: it is created under a
//! hidden staging name (`.<id>.partial`), and the recorder renames it to `<id>` after
//! writing run.json and the journal's first entry. Readers skip hidden names.

use std::path::{Path, PathBuf};

use super::load::{load_run, LoadedRun};

/// What a reader of the runs directory passed over: a directory with no readable run.
#[derive(Debug, Clone)]
pub(crate) struct Unreadable {
    pub(crate) dir: PathBuf,
    pub(crate) why: String,
}

/// Creates the staging directory of a new run under `runs_dir` (with `logs/`) and
/// returns the run id and the run's final path, which does not exist until the
/// recorder publishes it (see [`publish`]). The id sorts by time
/// (`20261125T142301.123Z-1a2b3c`). A runs directory created here gets a `.gitignore`
/// of `*`, so that evidence is never committed by accident.
pub(crate) fn create(runs_dir: &Path) -> std::io::Result<(String, PathBuf)> {
    let existed = runs_dir.exists();
    std::fs::create_dir_all(runs_dir)?;
    let meta = std::fs::symlink_metadata(runs_dir)?;
    if meta.file_type().is_symlink() {
        // create_dir_all followed it; refuse to write evidence through a planted link.
        return Err(std::io::Error::other(format!(
            "runs directory `{}` is a symlink",
            runs_dir.display()
        )));
    }
    if !existed {
        let _ = std::fs::write(runs_dir.join(".gitignore"), "*\n");
    }
    let stamp = humantime::format_rfc3339_millis(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    for _ in 0..16 {
        let mut random = [0u8; 3];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("{stamp}-{suffix}");
        let dir = runs_dir.join(&id);
        let staging = staging_of(&dir);
        if dir.exists() {
            continue;
        }
        // create_dir (not _all) fails on an existing entry, symlink or not.
        match std::fs::create_dir(&staging) {
            Ok(()) => {
                std::fs::create_dir(staging.join("logs"))?;
                return Ok((id, dir));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "could not create a unique run directory",
    ))
}

/// The hidden name a run directory has until it is readable.
pub(crate) fn staging_of(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.partial"))
}

/// Makes the staging directory of `dir` visible under its final name (a no-op when
/// there is no staging directory, as for a directory made by hand).
pub(crate) fn publish(dir: &Path) -> std::io::Result<()> {
    let staging = staging_of(dir);
    if !staging.is_dir() {
        return Ok(());
    }
    std::fs::rename(&staging, dir)?;
    if let Some(parent) = dir.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Run directories under `runs_dir`, newest first (hidden and staging names skipped).
pub(crate) fn newest_first(runs_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names.into_iter().map(|n| runs_dir.join(n)).collect()
}

/// The newest run under `runs_dir` that can be read, and the newer directories passed
/// over because they hold no readable run.
pub(crate) fn newest_readable(runs_dir: &Path) -> (Option<LoadedRun>, Vec<Unreadable>) {
    let mut skipped = Vec::new();
    for dir in newest_first(runs_dir) {
        match load_run(&dir) {
            Ok(run) => return (Some(run), skipped),
            Err(why) => skipped.push(Unreadable { dir, why }),
        }
    }
    (None, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_sortable_and_hidden_until_published() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = &tmp.path().join("runs");
        let (a, path_a) = create(dir).unwrap();
        assert!(!path_a.exists(), "not visible before it is readable");
        assert!(staging_of(&path_a).join("logs").is_dir());
        assert!(newest_first(dir).is_empty());
        publish(&path_a).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (b, path_b) = create(dir).unwrap();
        publish(&path_b).unwrap();
        assert!(a < b, "{a} {b}");
        assert_eq!(newest_first(dir), [path_b.clone(), path_a]);
        assert!(path_b.join("logs").is_dir());
        assert_eq!(
            std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
            "*\n"
        );
    }

    #[test]
    fn unreadable_runs_are_skipped_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("20260101T000000.000Z-aaaaaa");
        std::fs::create_dir(&good).unwrap();
        std::fs::write(
            good.join("run.json"),
            r#"{"status":"ok","started":"x","results":[]}"#,
        )
        .unwrap();
        let empty = dir.path().join("20260102T000000.000Z-bbbbbb");
        std::fs::create_dir(&empty).unwrap();
        let (run, skipped) = newest_readable(dir.path());
        assert_eq!(run.unwrap().dir, good);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].dir, empty);
    }

    #[test]
    fn a_symlinked_runs_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("runs")).unwrap();
        assert!(create(&dir.path().join("runs")).is_err());
    }
}
