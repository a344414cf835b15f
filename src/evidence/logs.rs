//! Per-task log files: one per stream per command, the command line as a one-line
//! header, then the stream's bytes exactly as produced. The child writes straight into
//! the file, so cargo-tek never holds output in memory however much a task prints.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The header's first bytes; readers that want the raw stream skip the first line.
pub const HEADER_PREFIX: &str = "# cargo-tek: ";

/// A log file name component safe for any task id.
pub fn safe_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Relative paths of the stdout and stderr logs of command `n` (1-based) of `attempt`.
pub fn paths(task: &str, attempt: u32, n: usize) -> (String, String) {
    let base = format!("logs/{}/attempt{attempt}-cmd{n}", safe_name(task));
    (format!("{base}.stdout.log"), format!("{base}.stderr.log"))
}

/// Creates the stdout and stderr logs of one command (see [`paths`]), each with its
/// header line, positioned for the child.
pub fn create_pair(
    run_dir: &Path,
    (out, err): (&str, &str),
    header: &str,
) -> std::io::Result<(std::fs::File, std::fs::File)> {
    if let Some(parent) = run_dir.join(out).parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok((
        create_file(run_dir, out, &format!("{header} [stdout]"))?,
        create_file(run_dir, err, &format!("{header} [stderr]"))?,
    ))
}

/// Creates one log file (and its directory) with its header line.
pub fn create(run_dir: &Path, rel: &str, header: &str) -> std::io::Result<std::fs::File> {
    if let Some(parent) = run_dir.join(rel).parent() {
        std::fs::create_dir_all(parent)?;
    }
    create_file(run_dir, rel, header)
}

fn create_file(run_dir: &Path, rel: &str, header: &str) -> std::io::Result<std::fs::File> {
    let path: PathBuf = run_dir.join(rel);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)?;
    let mut line = String::with_capacity(HEADER_PREFIX.len() + header.len() + 1);
    line.push_str(HEADER_PREFIX);
    line.extend(
        header
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
    line.push('\n');
    file.write_all(line.as_bytes())?;
    Ok(file)
}

/// The last `max` bytes of a log's stream (header removed), as lossy UTF-8 cut at a line
/// start when possible. Empty when the file is missing.
pub fn tail(path: &Path, max: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut header = [0u8; 4096];
    let n = file.read(&mut header).unwrap_or(0);
    let body_start = header[..n]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(0, |p| p as u64 + 1);
    let start = len.saturating_sub(max as u64).max(body_start);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(max as u64).read_to_end(&mut bytes);
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if start > body_start {
        if let Some(nl) = text.find('\n') {
            text.drain(..=nl);
        }
    }
    text
}

/// The raw stream bytes of a log (header removed).
pub fn read_stream(path: &Path) -> std::io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    let start = bytes.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    Ok(bytes[start..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_exact_bytes_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = paths("TASK/1", 1, 1);
        assert_eq!(out, "logs/TASK_1/attempt1-cmd1.stdout.log");
        let (mut f, _) = create_pair(dir.path(), (&out, &err), "$ echo\nhi").unwrap();
        f.write_all(b"line1\nline2\nline3\n").unwrap();
        let path = dir.path().join(&out);
        assert_eq!(read_stream(&path).unwrap(), b"line1\nline2\nline3\n");
        assert_eq!(tail(&path, 1000), "line1\nline2\nline3\n");
        assert_eq!(tail(&path, 8), "line3\n");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("# cargo-tek: $ echo hi [stdout]\n"));
        assert!(std::fs::read_to_string(dir.path().join(&err))
            .unwrap()
            .starts_with("# cargo-tek: $ echo hi [stderr]\n"));
    }
}
