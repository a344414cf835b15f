//! GitHub annotations (`::error`, `::warning`, `::notice` workflow commands), kept within
//! what GitHub shows: 10 of each kind per step and 50 per job. Past the cap GitHub drops
//! annotations silently, so a reviewer would not know more problems exist; here the excess
//! is counted instead and named once at the end, in one "+N more" notice.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Annotations of one kind GitHub shows per step.
pub const PER_STEP: usize = 10;

/// The kind of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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
pub struct Budget {
    used: [AtomicUsize; 2],
    dropped: [AtomicUsize; 2],
    noted: AtomicUsize,
}

impl Budget {
    /// The workflow command for one annotation, or `None` when its kind is used up (the
    /// drop is counted). `properties` are already escaped (`file=…,line=…`), or empty.
    pub fn line(&self, kind: Kind, properties: &str, message: &str) -> Option<String> {
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
    pub fn overflow_note(&self) -> Option<String> {
        let errors = self.dropped[Kind::Error as usize].load(Ordering::Relaxed);
        let warnings = self.dropped[Kind::Warning as usize].load(Ordering::Relaxed);
        let total = errors + warnings;
        let before = self.noted.swap(total, Ordering::Relaxed);
        if total <= before {
            return None;
        }
        let mut parts = Vec::new();
        for (n, what) in [(errors, "error"), (warnings, "warning")] {
            if n > 0 {
                parts.push(format!("{n} {what}{}", if n == 1 { "" } else { "s" }));
            }
        }
        Some(format!(
            "::notice title=cargo-tek::+{total} more not annotated ({}): GitHub shows at most {PER_STEP} of each kind per step; the log above and the report have them all\n",
            parts.join(", ")
        ))
    }
}

/// Escapes a workflow command's message, so it stays one command.
pub fn escape_data(text: &str) -> String {
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
}
