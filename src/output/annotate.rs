//! GitHub annotations (`::error`, `::warning`, `::notice` workflow commands), kept within
//! what GitHub shows: 10 of each kind per step and 50 per job. Past the cap GitHub drops
//! annotations silently, so a reviewer would not know more problems exist; here the excess
//! is counted instead and named once at the end, in one "+N more" notice.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Annotations of one kind GitHub shows per step.
pub(crate) const PER_STEP: usize = 10;

/// The kind of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Warning,
}

impl Kind {
    fn command(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
        }
    }
}

/// How many annotations of each kind this process emitted and dropped.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: [AtomicUsize; 2],
    dropped: [AtomicUsize; 2],
    noted: AtomicUsize,
}

impl Budget {
    /// The workflow command for one annotation, or `None` when its kind is used up (the
    /// drop is counted). `properties` are already escaped (`file=…,line=…`), or empty.
    pub(crate) fn line(&self, kind: Kind, properties: &str, message: &str) -> Option<String> {
        let i = kind as usize;
        if self.used[i].fetch_add(1, Ordering::Relaxed) >= PER_STEP {
            self.used[i].fetch_sub(1, Ordering::Relaxed);
            self.dropped[i].fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let sep = if properties.is_empty() { "" } else { " " };
        Some(format!(
            "::{}{sep}{properties}::{}\n",
            kind.command(),
            escape_data(message)
        ))
    }

    /// The one "+N more" notice for everything dropped since the last call, if anything.
    pub(crate) fn overflow_note(&self) -> Option<String> {
        let errors = self.dropped[Kind::Error as usize].load(Ordering::Relaxed);
        let warnings = self.dropped[Kind::Warning as usize].load(Ordering::Relaxed);
        let total = errors + warnings;
        let before = self.noted.swap(total, Ordering::Relaxed);
        if total <= before {
            return None;
        }
        let mut parts = Vec::new();
        for (n, one, many) in [
            (errors, "error", "errors"),
            (warnings, "warning", "warnings"),
        ] {
            if n > 0 {
                parts.push(crate::text::count(n, one, many));
            }
        }
        Some(format!(
            "::notice title=cargo-tek::+{total} more not annotated ({}): GitHub shows at most {PER_STEP} of each kind per step; the log above and the report have them all\n",
            parts.join(", ")
        ))
    }
}

/// The annotation properties and message for a diagnostic whose text starts with
/// `file:line:col: message`: the file as GitHub wants it, relative to the repository
/// (`GITHUB_WORKSPACE`) when it is found there from `cwd`, so the annotation lands on
/// the right file even when cargo-tek runs in a subdirectory. Other text gets no
/// location.
pub(crate) fn located(
    text: &str,
    cwd: &std::path::Path,
    workspace: Option<&std::path::Path>,
) -> (String, String) {
    let first = text.lines().next().unwrap_or("");
    let mut parts = first.splitn(4, ':');
    let (file, line, col, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
    let number = |s: Option<&str>| s.and_then(|s| s.trim().parse::<u32>().ok());
    match (file, number(line), number(col), rest) {
        (Some(file), Some(line), Some(col), Some(rest)) if !file.trim().is_empty() => {
            let path = cwd.join(file);
            let shown = workspace
                .and_then(|ws| path.strip_prefix(ws).ok())
                .filter(|_| path.exists())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| file.to_string());
            (
                format!(
                    "file={},line={line},col={col},title=cargo-tek",
                    escape_property(&shown)
                ),
                rest.trim().to_string(),
            )
        }
        _ => ("title=cargo-tek".to_string(), first.to_string()),
    }
}

/// A file named relative to the workspace `root` as GitHub wants it: relative to the
/// repository checkout (`workspace`, i.e. `GITHUB_WORKSPACE`) when the root is inside
/// it, so an annotation lands on the file even when cargo-tek runs in a subdirectory.
pub(crate) fn in_repository(rel: &str, root: Option<&Path>, workspace: Option<&Path>) -> String {
    let (Some(root), Some(workspace)) = (root, workspace) else {
        return rel.to_owned();
    };
    let real = workspace.canonicalize().ok();
    let path = root.join(rel);
    let found = [Some(workspace), real.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|ws| path.strip_prefix(ws).ok().map(|p| p.display().to_string()));
    found.unwrap_or_else(|| rel.to_owned())
}

/// Escapes a workflow command property (data escapes plus `:` and `,`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Escapes a workflow command's message, so it stays one command.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_capped_and_the_rest_noted_once() {
        let budget = Budget::default();
        for i in 0..13 {
            let line = budget.line(Kind::Error, "file=a.md,line=3", &format!("e{i}\n::x::"));
            assert_eq!(line.is_some(), i < PER_STEP, "{i}");
        }
        assert_eq!(
            budget.line(Kind::Warning, "", "w\r%"),
            Some("::warning::w%0D%25\n".into())
        );
        assert_eq!(
            Budget::default().line(Kind::Error, "file=a.md", "x\n::stop"),
            Some("::error file=a.md::x%0A::stop\n".into())
        );
        let note = budget.overflow_note().unwrap();
        assert!(
            note.starts_with("::notice title=cargo-tek::+3 more not annotated (3 errors)"),
            "{note}"
        );
        assert_eq!(budget.overflow_note(), None, "noted once");
    }

    #[test]
    fn a_diagnostic_points_at_its_file_from_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("crates/app");
        std::fs::create_dir_all(sub.join("config")).unwrap();
        std::fs::write(sub.join("config/hooks.json"), "{}").unwrap();
        let text = "config/hooks.json:1:22: unknown field `x`, expected one of a, b\n  ╭─[…]";
        let (props, message) = located(text, &sub, Some(dir.path()));
        assert_eq!(
            props,
            "file=crates/app/config/hooks.json,line=1,col=22,title=cargo-tek"
        );
        assert_eq!(message, "unknown field `x`, expected one of a, b");
        let (props, _) = located(text, &sub, None);
        assert!(props.starts_with("file=config/hooks.json,"), "{props}");
        assert_eq!(
            in_repository("src/lib.rs", Some(&sub), Some(dir.path())),
            "crates/app/src/lib.rs"
        );
        assert_eq!(in_repository("src/lib.rs", Some(&sub), None), "src/lib.rs");
        assert_eq!(
            in_repository(
                "src/lib.rs",
                Some(Path::new("/elsewhere")),
                Some(dir.path())
            ),
            "src/lib.rs"
        );
        let (props, message) = located("no workspace found", &sub, None);
        assert_eq!(
            (props.as_str(), message.as_str()),
            ("title=cargo-tek", "no workspace found")
        );
    }
}
