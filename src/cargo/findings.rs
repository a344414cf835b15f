//! Compiler diagnostics as [`Finding`]s, with their files made relative to the
//! workspace root whatever directory cargo (and so rustc) ran in.

use std::path::{Path, PathBuf};

use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel};

use crate::evidence::cargo::Finding;

/// Chars kept of a diagnostic's rendering.
const RENDERED_CHARS: usize = 8 * 1024;

/// Where printed paths are resolved: rustc prints them relative to the cargo workspace
/// it ran in, which is the command's directory or one of its parents.
#[derive(Debug, Clone)]
pub(crate) struct Places {
    /// cargo-tek's workspace root: findings are relative to it.
    pub(crate) root: PathBuf,
    /// The command's directory (absolute).
    pub(crate) cwd: PathBuf,
}

impl Places {
    /// `printed` relative to the root, when it names a file inside it: an absolute path,
    /// or a relative one found from the command's directory or a parent inside the root.
    pub(crate) fn relative(&self, printed: &str) -> Option<String> {
        let printed = Path::new(printed);
        let found = if printed.is_absolute() {
            Some(printed.to_path_buf())
        } else {
            self.cwd
                .ancestors()
                .take_while(|dir| dir.starts_with(&self.root))
                .map(|dir| dir.join(printed))
                .find(|path| path.is_file())
        }?;
        let rel = found.strip_prefix(&self.root).ok()?;
        let text = rel.to_str()?;
        (!text.is_empty() && !rel.components().any(|c| c.as_os_str() == ".."))
            .then(|| text.to_owned())
    }
}

/// The level's name as rustc prints it.
fn level(level: &DiagnosticLevel) -> &'static str {
    match level {
        DiagnosticLevel::Ice => "error: internal compiler error",
        DiagnosticLevel::Error => "error",
        DiagnosticLevel::Warning => "warning",
        DiagnosticLevel::FailureNote => "failure-note",
        DiagnosticLevel::Note => "note",
        DiagnosticLevel::Help => "help",
        _ => "note",
    }
}

/// A diagnostic worth recording: an error, or a warning when `warnings` is set. rustc's
/// closing counts ("aborting due to 2 previous errors", "3 warnings emitted") repeat
/// the others and are left out.
pub(crate) fn finding(d: &Diagnostic, warnings: bool, places: &Places) -> Option<Finding> {
    let wanted = match d.level {
        DiagnosticLevel::Error | DiagnosticLevel::Ice => true,
        DiagnosticLevel::Warning => warnings,
        _ => false,
    };
    let summary = d.spans.is_empty()
        && (d.message.starts_with("aborting due to")
            || d.message.ends_with("warnings emitted")
            || d.message.ends_with("warning emitted"));
    if !wanted || summary {
        return None;
    }
    // The primary span; in a macro, where the macro was called from the user's code.
    let span = d.spans.iter().find(|s| s.is_primary).or(d.spans.first());
    let span = span.map(|s| {
        let mut at = s;
        while let Some(outer) = at.expansion.as_ref().map(|e| &e.span) {
            if places.relative(&at.file_name).is_some() {
                break;
            }
            at = outer;
        }
        at
    });
    let rendered = d.rendered.as_deref().map(|r| {
        let plain = console::strip_ansi_codes(r);
        let plain = plain.trim_end();
        match plain.char_indices().nth(RENDERED_CHARS) {
            Some((at, _)) => format!("{}…", &plain[..at]),
            None => plain.to_owned(),
        }
    });
    Some(Finding {
        level: level(&d.level).to_owned(),
        code: d.code.as_ref().map(|c| c.code.clone()),
        message: d.message.clone(),
        file: span.and_then(|s| places.relative(&s.file_name)),
        line: span.map(|s| s.line_start as u32),
        column: span.map(|s| s.column_start as u32),
        rendered,
        new: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_found_from_the_command_directory_up_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("crates/a/src")).unwrap();
        std::fs::write(root.join("crates/a/src/lib.rs"), "").unwrap();
        let places = Places {
            root: root.clone(),
            cwd: root.join("crates/a"),
        };
        assert_eq!(
            places.relative("crates/a/src/lib.rs").as_deref(),
            Some("crates/a/src/lib.rs")
        );
        assert_eq!(
            places.relative("src/lib.rs").as_deref(),
            Some("crates/a/src/lib.rs")
        );
        let abs = root.join("crates/a/src/lib.rs");
        assert_eq!(
            places.relative(abs.to_str().unwrap()).as_deref(),
            Some("crates/a/src/lib.rs")
        );
        assert_eq!(places.relative("/usr/lib/rustlib/src/x.rs"), None);
        assert_eq!(places.relative("src/missing.rs"), None);
        assert_eq!(places.relative("../outside.rs"), None);
    }

    #[test]
    fn errors_always_warnings_on_request_counts_never() {
        let places = Places {
            root: "/nonexistent".into(),
            cwd: "/nonexistent".into(),
        };
        let parse = |json: &str| serde_json::from_str::<Diagnostic>(json).unwrap();
        let warning = parse(
            r#"{"message":"unused variable: `x`","code":{"code":"unused_variables","explanation":null},"level":"warning","spans":[{"file_name":"src/lib.rs","byte_start":0,"byte_end":1,"line_start":3,"line_end":3,"column_start":9,"column_end":10,"is_primary":true,"text":[],"label":null,"suggested_replacement":null,"suggestion_applicability":null,"expansion":null}],"children":[],"rendered":"\u001b[33mwarning\u001b[0m: unused variable: `x`\n"}"#,
        );
        assert_eq!(finding(&warning, false, &places), None);
        let f = finding(&warning, true, &places).unwrap();
        assert_eq!(f.level, "warning");
        assert_eq!(f.code.as_deref(), Some("unused_variables"));
        assert_eq!((f.line, f.column, f.file), (Some(3), Some(9), None));
        assert_eq!(f.rendered.as_deref(), Some("warning: unused variable: `x`"));
        let count = parse(
            r#"{"message":"aborting due to 1 previous error","code":null,"level":"error","spans":[],"children":[],"rendered":"error: aborting"}"#,
        );
        assert_eq!(finding(&count, true, &places), None);
    }
}
