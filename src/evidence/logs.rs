//! Per-task log files: one per stream per command, holding exactly the bytes the child
//! wrote and nothing else. The command, its cwd and its timing live in run.json and the
//! journal. The child writes straight into the file, so cargo-tek never holds output in
//! memory however much a task prints.
//!
//! Runs written before run.json schema 2 started each log with a `# cargo-tek: ` header
//! line (padded to 4 KiB); readers skip it for those runs only, see [`Layout`].

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::beneath::{self, ReadError};
use crate::redact::Secrets;

/// The header's first bytes in logs of older runs.
const HEADER_PREFIX: &[u8] = b"# cargo-tek: ";

/// Bytes kept verbatim in a log folder name; everything else is percent-encoded.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

/// The log folder name of a task id. Injective, so two ids never share a folder: every
/// byte outside `[A-Za-z0-9._-]` (`%` included) is percent-encoded, and so is a leading
/// dot, which keeps `.`, `..` and hidden names out. `TASK-001` stays `TASK-001`; `X/1`
/// becomes `X%2F1`, while `X_1` stays `X_1`.
pub(crate) fn folder_name(id: &str) -> String {
    if id.is_empty() {
        // `%` alone is never the encoding of anything else.
        return "%".into();
    }
    match id.strip_prefix('.') {
        Some(rest) => format!("%2E{}", utf8_percent_encode(rest, KEEP)),
        None => utf8_percent_encode(id, KEEP).to_string(),
    }
}

/// Relative paths of the stdout and stderr logs of command `n` (1-based) of `attempt`.
pub(crate) fn paths(task: &str, attempt: u32, n: usize) -> (String, String) {
    let base = format!("logs/{}/attempt{attempt}-cmd{n}", folder_name(task));
    (format!("{base}.stdout.log"), format!("{base}.stderr.log"))
}

/// Masks `secrets` in every log of the folder `logs/<folder>` of the run in `run_dir`,
/// in place: masking never makes text longer (a mask is shorter than any value it
/// replaces), so the rewrite stays behind the read. Only regular files are touched,
/// none through a symlink; a file without a secret is read once and left alone.
pub(crate) fn mask_folder(run_dir: &Path, folder: &str, secrets: &Secrets) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;

    /// Reads a file from its start with `pread`, so that reader and writer keep their
    /// own offsets on one descriptor.
    struct At<'a>(&'a std::fs::File, u64);
    impl Read for At<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read_at(buf, self.1)?;
            self.1 += n as u64;
            Ok(n)
        }
    }
    impl std::io::Write for At<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.0.write_at(buf, self.1)?;
            self.1 += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    if secrets.len() == 0 {
        return Ok(());
    }
    let dir = run_dir.join("logs").join(folder);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut first_error = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let rel = format!("logs/{folder}/{name}");
        let file = match beneath::open_rw(run_dir, &rel) {
            Ok(file) => file,
            // A folder, a link or a FIFO a task planted: nothing cargo-tek wrote.
            Err(ReadError::NotRegular { .. } | ReadError::Outside { .. }) => continue,
            Err(e) => {
                first_error.get_or_insert(std::io::Error::other(e.to_string()));
                continue;
            }
        };
        let result = secrets
            .mask_stream(At(&file, 0), std::io::sink())
            .and_then(|found| {
                if !found {
                    return Ok(());
                }
                let mut writer = At(&file, 0);
                secrets.mask_stream(At(&file, 0), &mut writer)?;
                file.set_len(writer.1)
            });
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The folders under `logs/` of the run in `run_dir` (task ids encoded, see
/// [`folder_name`]).
pub(crate) fn folders(run_dir: &Path) -> Vec<String> {
    std::fs::read_dir(run_dir.join("logs"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Creates the empty stdout and stderr logs of one command (see [`paths`]) for the
/// child to write into. An existing file is never reused, and no symlink (a task may
/// plant one in its log folder) is followed.
pub(crate) fn create_pair(
    run_dir: &Path,
    (out, err): (&str, &str),
) -> std::io::Result<(std::fs::File, std::fs::File)> {
    let mut files = beneath::create_many(run_dir, &[out, err])?.into_iter();
    match (files.next(), files.next()) {
        (Some(out), Some(err)) => Ok((out, err)),
        _ => Err(std::io::Error::other("the logs were not created")),
    }
}

/// How the logs of a run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The child's bytes only (run.json schema 2 and later).
    Raw,
    /// A `# cargo-tek: ` header line first, when present (older runs).
    Header,
}

impl Layout {
    /// The layout of a run's logs, from its run.json `schema_version`.
    pub(crate) fn of_schema(version: u32) -> Self {
        if version >= 2 {
            Layout::Raw
        } else {
            Layout::Header
        }
    }
}

/// Where the stream starts: after the header line of an older log, else at 0.
fn body_start(file: &mut std::fs::File, layout: Layout) -> u64 {
    if layout == Layout::Raw {
        return 0;
    }
    // Old headers are one line padded to at most a few pages; a longer "line" is output.
    let mut head = Vec::new();
    if file
        .by_ref()
        .take(64 * 1024)
        .read_to_end(&mut head)
        .is_err()
        || !head.starts_with(HEADER_PREFIX)
    {
        return 0;
    }
    head.iter()
        .position(|&b| b == b'\n')
        .map_or(0, |nl| nl as u64 + 1)
}

/// The last `max` bytes of the log `rel` of the run in `run_dir`, as lossy UTF-8 cut at a
/// line start when possible. Empty when the file does not exist; an error when it is not
/// a regular file inside the run directory (a symlink is never followed).
pub(crate) fn tail(
    run_dir: &Path,
    rel: &str,
    max: usize,
    layout: Layout,
) -> Result<String, ReadError> {
    let mut file = match beneath::open(run_dir, rel) {
        Ok(file) => file,
        Err(e) if e.is_not_found() => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    let io = |source| ReadError::Io {
        rel: rel.to_owned(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    let body = body_start(&mut file, layout);
    let start = len.saturating_sub(max as u64).max(body);
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max as u64).read_to_end(&mut bytes).map_err(io)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if start > body {
        if let Some(nl) = text.find('\n') {
            text.drain(..=nl);
        }
    }
    Ok(text)
}

/// Where the logs of a result are: the run's own directory, or for a result carried
/// forward from an earlier run, that run's directory beside it. Returns the directory to
/// open below (never through a symlink) and the log's path relative to it; `None` when
/// the result names something that is not a log of a run.
///
/// The carried run id comes from run.json, so it is used only when it has the shape
/// cargo-tek gives run ids and the path is under `logs/`: a crafted run.json cannot
/// point a report at other files beside the run directory.
pub(crate) fn locate<'a>(
    run_dir: &'a Path,
    carried_from: Option<&str>,
    rel: &str,
) -> Option<(&'a Path, String)> {
    let Some(id) = carried_from else {
        return Some((run_dir, rel.to_owned()));
    };
    let runs = run_dir.parent()?;
    (is_run_id(id) && rel.starts_with("logs/")).then(|| (runs, format!("{id}/{rel}")))
}

/// `20261125T142301.123Z-1a2b3c`: what [`super::run_dir::create`] names a run.
fn is_run_id(id: &str) -> bool {
    static SHAPE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[0-9]{8}T[0-9]{6}(\.[0-9]+)?Z-[0-9a-f]{6}$")
            .expect("the run id pattern is a valid constant regex")
    });
    SHAPE.is_match(id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::io::Write;

    use super::*;

    #[test]
    fn logs_hold_exactly_the_childs_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = paths("TASK-1", 1, 1);
        assert_eq!(out, "logs/TASK-1/attempt1-cmd1.stdout.log");
        let (mut f, _) = create_pair(dir.path(), (&out, &err)).unwrap();
        f.write_all(b"line1\nline2\nline3\n").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join(&out)).unwrap(),
            b"line1\nline2\nline3\n"
        );
        assert_eq!(std::fs::read(dir.path().join(&err)).unwrap(), b"");
        let tail = |max| tail(dir.path(), &out, max, Layout::Raw).unwrap();
        assert_eq!(tail(1000), "line1\nline2\nline3\n");
        assert_eq!(tail(8), "line3\n");
        assert!(
            create_pair(dir.path(), (&out, &err)).is_err(),
            "never reused"
        );
    }

    #[test]
    fn a_raw_log_that_looks_like_a_header_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/a.log"), "# cargo-tek: hi\nbody\n").unwrap();
        assert_eq!(
            tail(dir.path(), "logs/a.log", 100, Layout::Raw).unwrap(),
            "# cargo-tek: hi\nbody\n"
        );
    }

    #[test]
    fn older_logs_with_a_padded_header_still_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        let mut old = b"# cargo-tek: $ echo hi (cwd: .) [stdout]".to_vec();
        old.resize(4095, b' ');
        old.extend_from_slice(b"\nline1\nline2\n");
        std::fs::write(dir.path().join("logs/old.log"), &old).unwrap();
        let read = |max| tail(dir.path(), "logs/old.log", max, Layout::of_schema(1)).unwrap();
        assert_eq!(read(100_000), "line1\nline2\n");
        assert_eq!(read(8), "line2\n");
        assert_eq!(
            tail(dir.path(), "logs/missing.log", 10, Layout::Raw).unwrap(),
            ""
        );
    }

    #[test]
    fn a_symlinked_log_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("logs/x.log")).unwrap();
        let err = tail(dir.path(), "logs/x.log", 100, Layout::Raw).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn a_carried_results_log_is_read_from_its_own_run() {
        let runs = tempfile::tempdir().unwrap();
        let r1 = "20261125T142301.123Z-1a2b3c";
        std::fs::create_dir_all(runs.path().join(r1).join("logs/T")).unwrap();
        std::fs::create_dir_all(runs.path().join("r2")).unwrap();
        std::fs::write(runs.path().join(r1).join("logs/T/out.log"), "from r1\n").unwrap();
        let r2 = runs.path().join("r2");
        let (dir, rel) = locate(&r2, Some(r1), "logs/T/out.log").unwrap();
        assert_eq!(tail(dir, &rel, 100, Layout::Raw).unwrap(), "from r1\n");
        // Only run-id-shaped siblings, only their logs.
        assert!(locate(&r2, Some(".."), "logs/x").is_none());
        assert!(locate(&r2, Some(".ssh"), "logs/id_rsa").is_none());
        assert!(locate(&r2, Some(r1), "run.json").is_none());
        assert_eq!(locate(&r2, None, "x").unwrap().1, "x");
    }

    #[test]
    fn folder_names_are_injective_and_stay_inside() {
        let ids = [
            "X/1", "X_1", "X%2F1", "..", ".", ".x", "%2Ex", "a b", "ü", "TASK-001", "", "X\\1",
        ];
        let names: HashSet<String> = ids.iter().map(|id| folder_name(id)).collect();
        assert_eq!(names.len(), ids.len(), "{names:?}");
        assert_eq!(folder_name("TASK-001"), "TASK-001");
        assert_eq!(folder_name("X/1"), "X%2F1");
        assert_eq!(folder_name(".."), "%2E.");
        for name in &names {
            assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        }
    }
}
