//! The cause of a failed task in a line or a few, found in what the failing command
//! printed, so the reviewer reads it on the report's failure line, in the `::error`
//! annotation and in the terminal summary instead of behind a click under a backtrace.
//!
//! Generic on purpose: it reads text, not cargo's JSON messages, so it works for any
//! command and is the fallback when the cargo agent recorded nothing richer (see
//! [`super::cargo_cause`]). In order of trust:
//! a timeout or a spawn failure (the record says so), a shared library the dynamic
//! loader could not find (a test binary run without cargo's library path exits 127
//! before `main`), the first rustc/clippy
//! diagnostic with a ` --> file:line:col` location, a panic (`thread '…' panicked at`),
//! cargo's own `error:` lines, and otherwise the last lines that look like an error.
//! Failing test names (libtest's `failures:` list, nextest's `FAIL [..]` lines) go
//! with whatever was found.
//!
//! Logs can be huge and come from untrusted runs: only the last [`READ_LIMIT`] bytes of
//! each stream are read, through [`logs::tail`] (regular files inside the run directory
//! only), and every line kept is cut to [`LINE_LIMIT`] chars.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::logs::{self, Layout};
use super::{CommandRecord, TaskResult, TaskStatus};

/// Bytes read from the end of each stream of the failing command.
pub(crate) const READ_LIMIT: usize = 256 * 1024;
/// Chars kept of any one line.
pub(crate) const LINE_LIMIT: usize = 300;
/// Lines kept after the first line of a cause (a diagnostic's snippet, `left:`/`right:`).
pub(crate) const DETAIL_LINES: usize = 12;
/// Failing test names kept; the rest are counted.
pub(crate) const TESTS_SHOWN: usize = 5;

/// What kind of failure the cause describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Timeout,
    Spawn,
    Diagnostic,
    Panic,
    Error,
}

/// A place in the source named by the output, as printed (relative to the command's
/// working directory, or absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) col: Option<u32>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(col) = self.col {
            write!(f, ":{col}")?;
        }
        Ok(())
    }
}

/// Why a task failed, as far as its output tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    pub(crate) kind: Kind,
    /// One line: the diagnostic, the panic message, the timeout.
    pub(crate) summary: String,
    /// A few lines that follow the summary (snippet, `left:`/`right:`), ANSI-free.
    pub(crate) detail: Vec<String>,
    pub(crate) location: Option<Location>,
    /// `location`'s file relative to the workspace root, when it is inside it (see
    /// [`Cause::workspace_file`]): what annotations point at and summaries name.
    pub(crate) source: Option<String>,
    /// The failing tests, at most [`TESTS_SHOWN`].
    pub(crate) tests: Vec<String>,
    /// Failing tests beyond those in `tests`.
    pub(crate) more_tests: usize,
    /// The 0-based index of the command the cause was found in.
    pub(crate) command: Option<usize>,
}

impl Cause {
    /// The cause on one line, plain text: summary, location, failing tests.
    pub(crate) fn one_line(&self) -> String {
        let mut out = self.summary.clone();
        if let Some(at) = &self.location {
            match &self.source {
                Some(file) => out.push_str(&format!(
                    " (at {})",
                    Location {
                        file: file.clone(),
                        ..at.clone()
                    }
                )),
                None => out.push_str(&format!(" (at {at})")),
            }
        }
        if let Some(tests) = self.tests_line() {
            out.push_str(&format!("; {tests}"));
        }
        out
    }

    /// The source file of the cause relative to the workspace root, for an annotation:
    /// only when the output names a relative path and, joined to the command's `cwd`
    /// (itself relative to the workspace root), it stays inside the workspace.
    pub(crate) fn workspace_file(&self, cwd: &str) -> Option<String> {
        let file = &self.location.as_ref()?.file;
        let mut parts: Vec<&str> = Vec::new();
        for part in cwd.split('/').chain(file.split('/')) {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p if p.contains(['\\', ':']) || p.chars().any(char::is_control) => return None,
                p => parts.push(p),
            }
        }
        let absolute = file.starts_with('/') || cwd.starts_with('/');
        (!absolute && !parts.is_empty()).then(|| parts.join("/"))
    }

    /// "failing tests: a, b +3", when any are known.
    pub(crate) fn tests_line(&self) -> Option<String> {
        if self.tests.is_empty() {
            return None;
        }
        let n = self.tests.len() + self.more_tests;
        let mut out = format!(
            "{}: {}",
            crate::text::count(n, "failing test", "failing tests"),
            self.tests.join(", ")
        );
        if self.more_tests > 0 {
            out.push_str(&format!(" +{}", self.more_tests));
        }
        Some(out)
    }
}

/// Reads the failing command's logs (bounded, see the module doc) and extracts the
/// cause of a failed task. `None` for a task that did not fail or printed nothing
/// that looks like a cause.
pub(crate) fn read(run_dir: &Path, layout: Layout, result: &TaskResult) -> Option<Cause> {
    if !matches!(result.status, TaskStatus::Error | TaskStatus::Timeout) {
        return None;
    }
    // What the cargo agent recorded is exact; the logs are the fallback.
    if result.status == TaskStatus::Error {
        if let Some(mut cause) = result.cargo.as_deref().and_then(super::cargo_cause::cause) {
            cause.command = result.culprit();
            return Some(cause);
        }
    }
    let index = result
        .culprit()
        .or_else(|| result.commands.len().checked_sub(1));
    let texts: Vec<String> = index
        .and_then(|i| result.commands.get(i))
        .map(|c| {
            // stderr first: diagnostics and nextest's output are there; libtest's
            // failures on stdout.
            [&c.stderr_log, &c.log]
                .into_iter()
                .flatten()
                // A carried result's logs are in the run it came from.
                .filter_map(|log| logs::locate(run_dir, result.carried_from.as_deref(), log))
                .filter_map(|(dir, rel)| logs::tail(dir, &rel, READ_LIMIT, layout).ok())
                .collect()
        })
        .unwrap_or_default();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    extract(result, &refs)
}

/// Extracts the cause of a failed task from its record and the text of the failing
/// command's output streams (most telling first). Pure: no I/O.
pub(crate) fn extract(result: &TaskResult, texts: &[&str]) -> Option<Cause> {
    let index = result
        .culprit()
        .or_else(|| result.commands.len().checked_sub(1));
    let command = index.and_then(|i| result.commands.get(i));
    let lines: Vec<Vec<String>> = texts
        .iter()
        .map(|t| {
            console::strip_ansi_codes(t)
                .lines()
                .map(|l| cut(l.trim_end()))
                .collect()
        })
        .collect();
    let all = || lines.iter().map(Vec::as_slice);
    let (tests, more_tests) = failing_tests(all());
    let mut cause = command
        .and_then(timeout)
        .or_else(|| command.and_then(spawn))
        .or_else(|| all().find_map(|lines| shared_library(command, lines)))
        .or_else(|| all().find_map(diagnostic))
        .or_else(|| all().find_map(panic))
        .or_else(|| all().find_map(cargo_error))
        .or_else(|| all().find_map(last_errors))?;
    if cause.kind == Kind::Timeout {
        // libtest names the tests that hang ("has been running for over 60 seconds").
        let hung: Vec<String> = all()
            .flatten()
            .filter_map(|l| HUNG.captures(l.trim_start()))
            .map(|c| c[1].to_owned())
            .collect();
        if !hung.is_empty() {
            cause
                .detail
                .push(format!("still running: {}", hung.join(", ")));
        }
    }
    if cause.tests.is_empty() {
        cause.tests = tests;
        cause.more_tests = more_tests;
    }
    cause.command = index;
    cause.source = command.and_then(|c| cause.workspace_file(&c.cwd));
    Some(cause)
}

/// Compiles one of the literal patterns below; an invalid one is a bug the tests catch.
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("the patterns of cause.rs are valid regexes")
}

static DIAGNOSTIC: LazyLock<Regex> = LazyLock::new(|| pattern(r"^error(\[E\d{4}\])?: \S"));
static ARROW: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*--> (.+?):(\d+):(\d+)$"));
static PANIC: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^thread '([^']*)'(?: \(\d+\))? panicked at (.*)$"));
static AT: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(.+?):(\d+):(\d+):?$"));
static OLD_PANIC: LazyLock<Regex> = LazyLock::new(|| pattern(r"^'(.*)', (.+?):(\d+):(\d+)$"));
static NEXTEST_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:TRY \d+ )?(?:FAIL|SIGSEGV|SIGABRT|SIGKILL|ABORT|TIMEOUT) \[[^\]]*\](?: \(\s*\d+/\d+\))? (.+)$",
    )
});
/// glibc's loader (`prog: error while loading shared libraries: libstd-1a2b.so: cannot
/// open shared object file: No such file or directory`) and macOS's dyld.
static MISSING_LIBRARY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"error while loading shared libraries: ([^:\s]+): (.+)$|^dyld(?:\[\d+\])?: Library not loaded: (\S+)",
    )
});
static HUNG: LazyLock<Regex> = LazyLock::new(|| pattern(r"^test (\S+) has been running for over"));
static ERRORISH: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)^(error|fatal|panic|failed|failure)\b|\berror:|\bERR!|\bFAILED\b|\bfatal:|^Traceback|Exception\b|\bE\d{3,4}\b",
    )
});

/// cargo's closing lines that repeat rather than explain a failure.
const ECHOES: &[&str] = &[
    "error: could not compile",
    "error: aborting due to",
    "error: test failed, to rerun",
    "error: test run failed",
    "error: Recipe",
];

fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_LIMIT) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

fn timeout(c: &CommandRecord) -> Option<Cause> {
    if !c.timed_out {
        return None;
    }
    let ms = c.timeout_ms.unwrap_or(c.duration_ms);
    let after = humantime::format_duration(Duration::from_secs(ms.div_ceil(1000)));
    Some(plain(
        Kind::Timeout,
        cut(&format!(
            "`{}` hung: killed after {after} (its time limit)",
            crate::text::shell_words(&c.cmd)
        )),
    ))
}

fn spawn(c: &CommandRecord) -> Option<Cause> {
    let error = c.error.as_deref()?;
    Some(plain(
        Kind::Spawn,
        cut(&format!(
            "`{}` could not start: {error}",
            crate::text::shell_words(&c.cmd)
        )),
    ))
}

/// The dynamic loader could not find a shared library the program needs.
fn shared_library(command: Option<&CommandRecord>, lines: &[String]) -> Option<Cause> {
    let (line, caps) = lines
        .iter()
        .find_map(|l| MISSING_LIBRARY.captures(l.trim()).map(|c| (l, c)))?;
    let library = caps.get(1).or_else(|| caps.get(3))?.as_str();
    let why = caps.get(2).map_or("not loaded", |m| m.as_str());
    let program = command.map_or_else(
        || "the program".to_owned(),
        |c| format!("`{}`", crate::text::shell_words(&c.cmd)),
    );
    let mut cause = plain(
        Kind::Error,
        cut(&format!(
            "{program} could not load the shared library `{library}` ({why}): it is not on the dynamic library path"
        )),
    );
    cause.detail = vec![line.trim().to_owned()];
    Some(cause)
}

/// A cause that is only a summary line.
fn plain(kind: Kind, summary: String) -> Cause {
    Cause {
        kind,
        summary,
        detail: Vec::new(),
        location: None,
        source: None,
        tests: Vec::new(),
        more_tests: 0,
        command: None,
    }
}

/// The first rustc/clippy diagnostic that has a ` --> ` location within its next lines.
fn diagnostic(lines: &[String]) -> Option<Cause> {
    lines.iter().enumerate().find_map(|(i, line)| {
        let head = line.trim_start();
        if !DIAGNOSTIC.is_match(head) || ECHOES.iter().any(|e| head.starts_with(e)) {
            return None;
        }
        let (at, arrow) = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .take(3)
            .find_map(|(j, l)| ARROW.captures(l).map(|c| (j, c)))?;
        let location = Location {
            file: arrow[1].to_owned(),
            line: arrow[2].parse().ok()?,
            col: arrow[3].parse().ok(),
        };
        // The snippet runs to the blank line that ends the diagnostic.
        let detail = lines[at + 1..]
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .take(DETAIL_LINES)
            .cloned()
            .collect();
        let mut cause = plain(Kind::Diagnostic, head.to_owned());
        cause.detail = detail;
        cause.location = Some(location);
        Some(cause)
    })
}

/// The first panic, with its message (the lines up to the backtrace or the note).
fn panic(lines: &[String]) -> Option<Cause> {
    lines.iter().enumerate().find_map(|(i, line)| {
        // nextest indents a test's output.
        let indent = line.len() - line.trim_start().len();
        let caps = PANIC.captures(line.trim_start())?;
        let thread = caps[1].to_owned();
        let rest = caps[2].to_owned();
        let (location, message) = if let Some(old) = OLD_PANIC.captures(&rest) {
            (
                location_of(&old[2], &old[3], &old[4]),
                vec![old[1].to_owned()],
            )
        } else {
            let at = AT.captures(&rest);
            let location = at.as_ref().and_then(|c| location_of(&c[1], &c[2], &c[3]));
            let message: Vec<String> = lines[i + 1..]
                .iter()
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_owned())
                .take_while(|l| {
                    !l.trim().is_empty()
                        && !l.starts_with("stack backtrace:")
                        && !l.starts_with("note: ")
                        && !l.starts_with("---- ")
                })
                .take(DETAIL_LINES + 1)
                .collect();
            (location, message)
        };
        let mut message = message.into_iter();
        let first = message.next().unwrap_or_else(|| "(no message)".into());
        let mut cause = plain(
            Kind::Panic,
            if thread == "main" || thread.is_empty() {
                format!("panicked: {first}")
            } else {
                format!("`{thread}` panicked: {first}")
            },
        );
        cause.detail = message.collect();
        cause.location = location;
        Some(cause)
    })
}

fn location_of(file: &str, line: &str, col: &str) -> Option<Location> {
    Some(Location {
        file: file.to_owned(),
        line: line.parse().ok()?,
        col: col.parse().ok(),
    })
}

/// The first `error:` line of cargo (or any tool in its style) that is not an echo.
fn cargo_error(lines: &[String]) -> Option<Cause> {
    lines.iter().enumerate().find_map(|(i, line)| {
        let head = line.trim_start();
        if !DIAGNOSTIC.is_match(head) || ECHOES.iter().any(|e| head.starts_with(e)) {
            return None;
        }
        let mut cause = plain(Kind::Error, head.to_owned());
        // cargo explains on indented or `Caused by:` lines below.
        cause.detail = lines[i + 1..]
            .iter()
            .take_while(|l| !l.trim().is_empty() && !DIAGNOSTIC.is_match(l.trim_start()))
            .take(DETAIL_LINES)
            .cloned()
            .collect();
        Some(cause)
    })
}

/// The last few lines that look like an error, in order; the last is the summary.
fn last_errors(lines: &[String]) -> Option<Cause> {
    let mut found: Vec<&String> = lines
        .iter()
        .rev()
        .filter(|l| {
            let t = l.trim_start();
            ERRORISH.is_match(t) && !ECHOES.iter().any(|e| t.starts_with(e))
        })
        .take(4)
        .collect();
    found.reverse();
    let summary = found.pop()?.trim().to_owned();
    let mut cause = plain(Kind::Error, summary);
    cause.detail = found.into_iter().map(|l| l.trim().to_owned()).collect();
    Some(cause)
}

/// libtest's closing `failures:` list (the one of bare names), else nextest's
/// `FAIL [..] binary test` lines; unique, in order.
fn failing_tests<'a>(streams: impl Iterator<Item = &'a [String]> + Clone) -> (Vec<String>, usize) {
    let mut names: Vec<String> = Vec::new();
    let push = |names: &mut Vec<String>, name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    for lines in streams.clone() {
        let mut in_list = false;
        for line in lines {
            let t = line.trim();
            if t == "failures:" {
                in_list = true;
                continue;
            }
            if in_list {
                let is_name = line.starts_with("    ") && !t.is_empty() && !t.contains(' ');
                if is_name {
                    push(&mut names, t);
                } else if !t.is_empty() {
                    in_list = false;
                }
            }
        }
    }
    if names.is_empty() {
        for lines in streams {
            for line in lines {
                if let Some(c) = NEXTEST_FAIL.captures(line.trim_start()) {
                    push(&mut names, c[1].trim());
                }
            }
        }
    }
    let more = names.len().saturating_sub(TESTS_SHOWN);
    names.truncate(TESTS_SHOWN);
    (names, more)
}

#[cfg(test)]
#[path = "cause_tests.rs"]
mod tests;
