//! Telling a failure the sandbox caused from any other: a denial's words in the spawn
//! error or the end of the logs.

use std::path::PathBuf;

/// What a denied operation looks like in a program's message: Landlock and the filter
/// answer EACCES ("Permission denied"), a link or rename out of a `write` place EXDEV.
const DENIALS: &[&str] = &[
    "Permission denied",
    "Operation not permitted",
    "Invalid cross-device link",
];

/// How much of the end of each log is searched for a denial.
const DENIAL_TAIL: u64 = 64 * 1024;

/// Whether a failed command shows a denial: in its spawn error, or near the end of its
/// logs (only the tail is read, whatever the log's size).
pub(crate) fn denied(error: Option<&str>, logs: &[PathBuf]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let says = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        DENIALS.iter().any(|d| text.contains(d))
    };
    if error.is_some_and(|e| says(e.as_bytes())) {
        return true;
    }
    logs.iter().any(|log| {
        let Ok(mut file) = std::fs::File::open(log) else {
            return false;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(len.saturating_sub(DENIAL_TAIL)))
            .and_then(|_| file.take(DENIAL_TAIL).read_to_end(&mut tail))
            .is_ok()
            && says(&tail)
    })
}
