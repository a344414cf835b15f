//! Step outputs: appending `name=value` lines to the `GITHUB_OUTPUT` file.

use std::path::Path;

/// Appends each `(name, value)` pair to the step-output file as `name=value`. A name or
/// value holding a line break is refused, whole: it could forge a second output.
pub(crate) fn append_step_outputs(path: &Path, pairs: &[(&str, &str)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in pairs {
        let broken = |s: &str| s.contains(['\n', '\r']);
        if broken(name) || broken(value) || name.contains('=') || name.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("refusing to write step output {name:?}: line break or `=` in it"),
            ));
        }
        text.push_str(&format!("{name}={value}\n"));
    }
    super::summary::append_once(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_appended_and_line_breaks_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out");
        append_step_outputs(&file, &[("a", "1"), ("b", "x=y")]).unwrap();
        append_step_outputs(&file, &[("c", "2")]).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a=1\nb=x=y\nc=2\n");
        assert!(append_step_outputs(&file, &[("ok", "1"), ("d", "x\nforged=1")]).is_err());
        assert!(append_step_outputs(&file, &[("e=f", "1")]).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a=1\nb=x=y\nc=2\n");
    }
}
