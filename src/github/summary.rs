//! The job summary: appending Markdown to the `GITHUB_STEP_SUMMARY` file.

use std::io::Write;
use std::path::Path;

/// Appends `body` to the job summary file (creating it), ending with a newline.
pub(crate) fn append_job_summary(path: &Path, body: &str) -> std::io::Result<()> {
    let mut text = body.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append_once(path, &text)
}

/// Appends `text` to `path` (creating it) in one write call, so that steps appending to
/// the same GitHub file (the job summary, step outputs) never interleave mid-text.
pub(super) fn append_once(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_job_summary_appends() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.md");
        append_job_summary(&file, "# One").unwrap();
        append_job_summary(&file, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "# One\ntwo\n");
    }
}
