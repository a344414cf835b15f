//! The only place that writes to the terminal: colour decisions, cargo-style status
//! lines, warnings, and rendered diagnostics.

mod affected;
mod annotate;
mod cache;
mod run_display;

mod workflow;

use std::io::Write;
use std::sync::Arc;

use console::Style;

/// When to colour output: `--color`, else `CARGO_TERM_COLOR`, else auto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}
use crate::redact::Secrets;

pub(crate) use affected::{reason_text as affected_reason, render_affected};
pub(crate) use annotate::Kind as AnnotationKind;
pub(crate) use cache::render_cache_explanation;
pub(crate) use run_display::RunDisplay;
// Plain-text helpers live at the bottom of the crate (plan and report use them too).
pub(crate) use crate::text::{count, sanitize};

/// Terminal output settings and printing.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    colors: bool,
    quiet: bool,
    verbose: u8,
    /// On GitHub Actions warnings become annotations, within GitHub's caps.
    github: bool,
    annotations: Arc<annotate::Budget>,
    /// Masked in every line written (the run's table; see [`Output::masking`]).
    secrets: Secrets,
}

impl Output {
    /// Resolves the colour choice: the flag, else `CARGO_TERM_COLOR`, else auto (colour on
    /// a terminal unless `NO_COLOR` is set).
    pub(crate) fn new(flag: Option<Color>, quiet: bool, verbose: u8) -> Self {
        let choice = flag.or_else(|| match std::env::var("CARGO_TERM_COLOR").ok().as_deref() {
            Some("always") => Some(Color::Always),
            Some("never") => Some(Color::Never),
            _ => None,
        });
        let colors = match choice.unwrap_or(Color::Auto) {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && console::Term::stderr().is_term()
            }
        };
        console::set_colors_enabled(colors);
        console::set_colors_enabled_stderr(colors);
        Self {
            colors,
            quiet,
            verbose,
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            annotations: Arc::default(),
            secrets: Secrets::default(),
        }
    }

    /// The same output, masking `secrets` in everything it writes: task output, causes,
    /// reasons, annotations. Without a table it still masks GitHub-token shapes.
    pub(crate) fn masking(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// `text` masked, for the few writers that print through a progress bar.
    pub(crate) fn mask(&self, text: &str) -> String {
        self.secrets.mask(text)
    }

    /// Whether `-q` was given.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The `-v` count.
    pub(crate) fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// A cargo-style status line on stderr: right-aligned green verb, then the subject.
    pub(crate) fn status(&self, verb: &str, subject: impl std::fmt::Display) {
        if self.quiet {
            return;
        }
        let verb = Style::new().green().bold().apply_to(format!("{verb:>12}"));
        let subject = self.mask(&subject.to_string());
        let _ = writeln!(std::io::stderr(), "{verb} {subject}");
    }

    /// A status line in red, for failures.
    pub(crate) fn status_error(&self, verb: &str, subject: impl std::fmt::Display) {
        let verb = Style::new().red().bold().apply_to(format!("{verb:>12}"));
        let subject = self.mask(&subject.to_string());
        let _ = writeln!(std::io::stderr(), "{verb} {subject}");
    }

    /// A plain line on stderr (not shown with -q).
    pub(crate) fn info(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", self.mask(&text.to_string()));
        }
    }

    /// A plain line on stderr, shown even with -q (a failure's evidence).
    pub(crate) fn always(&self, text: impl std::fmt::Display) {
        let _ = writeln!(std::io::stderr(), "{}", self.mask(&text.to_string()));
    }

    /// A warning on stderr; on GitHub Actions a `::warning::` annotation while the step
    /// has room for one.
    pub(crate) fn warn(&self, text: impl std::fmt::Display) {
        let text = self.mask(&text.to_string());
        if self.github {
            if let Some(line) = self.annotation(AnnotationKind::Warning, "", &text) {
                let _ = std::io::stderr().write_all(line.as_bytes());
                return;
            }
            let label = Style::new().yellow().bold().apply_to("warning");
            let _ = writeln!(std::io::stderr(), "{label}: {text}");
            return;
        }
        let label = Style::new().yellow().bold().apply_to("warning");
        let _ = writeln!(std::io::stderr(), "{label}: {text}");
    }

    /// The workflow command for an annotation (`properties` escaped, e.g.
    /// `file=…,line=…`), or `None` once GitHub's cap for its kind is reached.
    pub(crate) fn annotation(
        &self,
        kind: AnnotationKind,
        properties: &str,
        message: &str,
    ) -> Option<String> {
        self.annotations
            .line(kind, &self.mask(properties), &self.mask(message))
    }

    /// Names the annotations dropped at the cap, once, as a "+N more" notice.
    pub(crate) fn finish_annotations(&self) {
        if let Some(note) = self.annotations.overflow_note() {
            let _ = std::io::stderr().write_all(note.as_bytes());
        }
    }

    /// Data for the user (plans, reports) on stdout.
    pub(crate) fn stdout(&self, text: &str) {
        let text = self.mask(text);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// Data written straight to stdout by `write` (large JSON, streamed). A closed pipe
    /// (`| head`) is not an error of the command.
    pub(crate) fn stdout_with(&self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        let mut stdout = std::io::stdout().lock();
        let _ = write(&mut stdout);
        let _ = stdout.flush();
    }

    /// An error, a warning or a note with its source snippet.
    pub(crate) fn diagnostic(&self, severity: &str, diagnostic: &dyn miette::Diagnostic) {
        let style = match severity {
            "error" => Style::new().red().bold(),
            "warning" => Style::new().yellow().bold(),
            _ => Style::new().cyan().bold(),
        };
        let rendered = self.render(diagnostic);
        let _ = write!(
            std::io::stderr(),
            "{}: {}",
            style.apply_to(severity),
            rendered
        );
        // On GitHub the problem also shows on the file itself, within the caps.
        let kind = match severity {
            "error" => AnnotationKind::Error,
            "warning" => AnnotationKind::Warning,
            _ => return,
        };
        if self.github {
            let cwd = std::env::current_dir().unwrap_or_default();
            let workspace = std::env::var_os("GITHUB_WORKSPACE").map(std::path::PathBuf::from);
            let (properties, message) =
                annotate::located(&diagnostic.to_string(), &cwd, workspace.as_deref());
            if let Some(line) = self.annotation(kind, &properties, &message) {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    /// Renders a diagnostic to text (colour per the settings).
    pub(crate) fn render(&self, diagnostic: &dyn miette::Diagnostic) -> String {
        render_diagnostic(diagnostic, self.colors)
    }
}

/// Renders a diagnostic: message, `file:line:col`, the line with the span underlined,
/// labels and help.
pub(crate) fn render_diagnostic(diagnostic: &dyn miette::Diagnostic, colors: bool) -> String {
    let theme = if colors {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(10_000)
        .without_cause_chain();
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = format!("{diagnostic}\n");
    }
    // miette prefixes the first line with an "×" marker; our caller prints the severity.
    let trimmed = out.trim_start();
    let trimmed = trimmed.strip_prefix('×').unwrap_or(trimmed).trim_start();
    if colors {
        // The escapes are miette's own colours; they cannot be told apart from the file's.
        return trimmed.to_owned();
    }
    // Without colour nothing here should drive the terminal: a control character in an
    // id or a snippet of sot.md is shown escaped.
    trimmed
        .split('\n')
        .map(|line| sanitize(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncoloured_diagnostics_escape_control_characters() {
        let src = crate::source::SourceFile::from_bytes(
            "sot.md".into(),
            b"## Q\n- `TASK-1` a \x1b[2J b\n".to_vec(),
        )
        .unwrap();
        let d = src.diagnostic("bad \u{1b}[31m id", vec![(5..15, "here".into())], None);
        let text = render_diagnostic(&d, false);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains("bad \\u{1b}[31m id"), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "{text}");
    }
}
