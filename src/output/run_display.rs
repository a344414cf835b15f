//! Turning runner events into terminal output: a live progress bar on a TTY, one plain
//! line per event elsewhere, and on GitHub Actions a collapsible group per task (written
//! by [`super::workflow`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};

use super::{count, sanitize, Output};
use crate::evidence::{cause, logs, RunRecord, TaskResult, TaskStatus};
use crate::runner::Event;

/// Failed tasks whose cause the summary names.
const CAUSES_SHOWN: usize = 10;
/// Lines of the first failure's log shown at the end.
const FAILURE_TAIL: usize = 4 * 1024;

/// How run progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Tty,
    Plain,
    GitHub,
}

/// Consumes runner events and prints them.
pub(crate) struct RunDisplay {
    output: Output,
    mode: Mode,
    bar: Option<ProgressBar>,
    running: BTreeSet<String>,
    run_dir: PathBuf,
    /// The planned file, for annotations that point at a task's line.
    source: Option<String>,
    /// The workspace root, for annotations on source files (see [`Self::at_root`]).
    root: Option<PathBuf>,
    total: usize,
    done: usize,
    failed: usize,
    /// Counted apart from failures: a skipped task did not fail, something before it did.
    skipped: usize,
    /// `run --explain-cache`: every cache miss is shown with why.
    explain_cache: bool,
}

impl RunDisplay {
    /// Picks the mode from the environment.
    pub(crate) fn new(output: Output) -> Self {
        let mode = if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Mode::GitHub
        } else if console::Term::stderr().is_term() && !output.is_quiet() {
            Mode::Tty
        } else {
            Mode::Plain
        };
        Self {
            output,
            mode,
            bar: None,
            running: BTreeSet::new(),
            run_dir: PathBuf::new(),
            source: None,
            root: None,
            total: 0,
            done: 0,
            failed: 0,
            skipped: 0,
            explain_cache: false,
        }
    }

    /// Shows why each task missed the result cache (`run --explain-cache`).
    pub(crate) fn explaining_cache(mut self, on: bool) -> Self {
        self.explain_cache = on;
        self
    }

    /// Where the workspace is: annotations name source files relative to the
    /// repository, which may hold the workspace in a subdirectory.
    pub(crate) fn at_root(mut self, root: &std::path::Path) -> Self {
        self.root = Some(root.to_path_buf());
        self
    }

    /// Handles one event.
    pub(crate) fn event(&mut self, event: Event) {
        match event {
            Event::RunStarted {
                run_id,
                run_dir,
                source,
                tasks,
                workers,
            } => self.run_started(run_id, run_dir, source, tasks, workers),
            Event::TaskStarted {
                task,
                title,
                attempt,
            } => self.task_started(&task, &title, attempt),
            Event::TaskWaiting { task, on } => {
                if self.output.verbosity() > 0 {
                    let what = format!("{} for {}", sanitize(&task), sanitize(&on));
                    self.line("Waiting", &what, Style::new().dim());
                }
            }
            Event::SharedStepFinished {
                what,
                ok,
                duration_ms,
            } => {
                let secs = Duration::from_millis(duration_ms).as_secs_f64();
                let (verb, style) = match ok {
                    true => ("Finished", Style::new().green().bold()),
                    false => ("Failed", Style::new().red().bold()),
                };
                self.line(verb, &format!("{what} [{secs:.2}s]"), style);
            }
            Event::TaskRetrying {
                task,
                attempt,
                reason,
            } => {
                self.line(
                    "Retrying",
                    &format!(
                        "{} after attempt {attempt}: {}",
                        sanitize(&task),
                        sanitize(&reason)
                    ),
                    Style::new().yellow().bold(),
                );
            }
            Event::CacheMissed { task, why } => {
                if self.output.verbosity() > 0 || self.explain_cache {
                    let what = format!("{} — {}", sanitize(&task), sanitize(&why));
                    self.line("Cache miss", &what, Style::new().dim());
                }
            }
            Event::CacheWarning { task, why } => {
                self.output
                    .warn(format!("{}: {}", sanitize(&task), sanitize(&why)));
            }
            Event::TaskFinished { result } => self.task_finished(&result),
            Event::Interrupted { signal, immediate } => {
                let name = crate::supervise::process::signal_name(signal);
                let what = if immediate {
                    format!("{name} again: killing all tasks now")
                } else {
                    format!(
                        "{name} received: cancelling running tasks (send it again to kill at once)"
                    )
                };
                self.line("Interrupted", &what, Style::new().red().bold());
            }
        }
    }

    fn run_started(
        &mut self,
        run_id: String,
        run_dir: PathBuf,
        source: Option<String>,
        tasks: usize,
        workers: usize,
    ) {
        self.total = tasks;
        self.run_dir = run_dir;
        self.source = source;
        self.output.status(
            "Running",
            format!(
                "{} on {} (run {run_id})",
                count(tasks, "task", "tasks"),
                count(workers, "worker", "workers")
            ),
        );
        if self.mode == Mode::Tty {
            let bar = ProgressBar::new(tasks as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
    }

    fn task_started(&mut self, task: &str, title: &str, attempt: u32) {
        let (task, title) = (sanitize(task), sanitize(title));
        self.running.insert(task.to_string());
        match self.mode {
            Mode::Tty => self.refresh(),
            _ if self.output.verbosity() > 0 || attempt > 1 => {
                let what = if attempt > 1 {
                    format!("{task} {title} (attempt {attempt})")
                } else {
                    format!("{task} {title}")
                };
                self.line("Started", &what, Style::new().cyan().bold());
            }
            _ => {}
        }
    }

    fn task_finished(&mut self, result: &TaskResult) {
        self.running.remove(sanitize(&result.task).as_ref());
        self.done += 1;
        if result.status == TaskStatus::Skipped {
            self.skipped += 1;
        } else if !result.status.is_success() {
            self.failed += 1;
        }
        self.finished(result);
        if let Some(bar) = &self.bar {
            bar.set_position(self.done as u64);
        }
        self.refresh();
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(progress_message(self.failed, self.skipped, &self.running));
        }
    }

    fn line(&self, verb: &str, what: &str, style: Style) {
        // -q hides what went well; anything that did not is still printed.
        if self.output.is_quiet()
            && matches!(verb, "Passed" | "Cached" | "Noop" | "Flaky" | "Started")
        {
            return;
        }
        let text = format!(
            "{} {}",
            style.apply_to(format!("{verb:>12}")),
            self.output.mask(what)
        );
        match &self.bar {
            Some(bar) => bar.println(text),
            // One write per line: stderr is unbuffered, and `writeln!` would write the
            // text and the newline separately.
            None => {
                let _ = std::io::stderr().write_all(format!("{text}\n").as_bytes());
            }
        }
    }

    fn finished(&self, result: &TaskResult) {
        let secs = Duration::from_millis(result.duration_ms).as_secs_f64();
        // A dry run's task is a noop that recorded what it would have run.
        let would_run = result.status == TaskStatus::Noop && !result.commands.is_empty();
        let (verb, style) = match result.status {
            TaskStatus::Ok if result.cached.is_some() => ("Cached", Style::new().green()),
            TaskStatus::Ok => ("Passed", Style::new().green().bold()),
            TaskStatus::Noop if would_run => ("Would run", Style::new().cyan()),
            TaskStatus::Noop => ("Noop", Style::new().dim()),
            TaskStatus::Flaky => ("Flaky", Style::new().yellow().bold()),
            TaskStatus::Skipped => ("Skipped", Style::new().yellow()),
            TaskStatus::Cancelled => ("Cancelled", Style::new().red()),
            TaskStatus::Timeout => ("Timeout", Style::new().red().bold()),
            TaskStatus::Error => ("Failed", Style::new().red().bold()),
        };
        // Time spent waiting for a resource is not part of the task's duration.
        let waited = match result.wait_ms {
            0 => String::new(),
            ms => format!(", waited {:.2}s", Duration::from_millis(ms).as_secs_f64()),
        };
        let mut what = format!(
            "{} {} [{secs:.2}s{waited}]",
            sanitize(&result.task),
            sanitize(&result.title)
        );
        if let Some(from) = &result.cached {
            let took = Duration::from_millis(from.duration_ms).as_secs_f64();
            what.push_str(&format!(
                " — from run {} ({took:.2}s there)",
                sanitize(&from.run)
            ));
        }
        if let Some(reason) = &result.reason {
            // "Cancelled TASK-1 — cancelled" says nothing twice.
            let repeats = reason.trim().eq_ignore_ascii_case(result.status.as_str())
                || reason.trim().eq_ignore_ascii_case(verb);
            if !repeats && (!result.status.is_success() || self.output.verbosity() > 0) {
                what.push_str(&format!(" — {}", sanitize(reason)));
            }
        }
        if self.mode == Mode::GitHub {
            super::workflow::task_group(
                &self.output,
                &self.run_dir,
                (self.source.as_deref(), self.root.as_deref()),
                result,
                verb,
            );
        } else {
            self.line(verb, &what, style);
            if would_run {
                for command in &result.commands {
                    let mut shown = format!("$ {}", crate::text::shell_words(&command.cmd));
                    if command.cwd != "." {
                        shown.push_str(&format!("  (in {})", command.cwd));
                    }
                    self.line("", &sanitize(&shown), Style::new().dim());
                }
            }
        }
    }

    /// Ends the display: the summary, and the first failure's log tail.
    pub(crate) fn finish(self, record: &RunRecord) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let summary = summary_line(record);
        if record.counts.error
            + record.counts.timeout
            + record.counts.cancelled
            + (record.counts.skipped - unaffected(record))
            > 0
            || record.signal.is_some()
        {
            self.output.status_error("Summary", &summary);
        } else {
            self.output.status("Summary", &summary);
        }
        self.causes(record);
        self.queue_table(record);
        if self.mode != Mode::GitHub {
            if let Some(first) = record
                .results
                .iter()
                .find(|r| matches!(r.status, TaskStatus::Error | TaskStatus::Timeout))
            {
                // The failing command's output, not its predecessors'.
                let commands = match first.culprit() {
                    Some(i) => &first.commands[i..=i],
                    None => &first.commands[..],
                };
                for command in commands {
                    for log in command.stderr_log.iter().chain(command.log.iter()) {
                        let text = logs::tail(&self.run_dir, log, FAILURE_TAIL, logs::Layout::Raw)
                            .unwrap_or_else(|e| format!("({e})"));
                        if !text.trim().is_empty() {
                            // Shown with -q too: it is the failure's own evidence.
                            // The full path: the run directory is absolute, so the
                            // path works from wherever the reader is.
                            self.output.always(format!(
                                "--- {} ({}) ---\n{}",
                                first.task,
                                self.run_dir.join(log).display(),
                                text.trim_end()
                            ));
                        }
                    }
                }
            }
        }
        self.output.status("Evidence", self.run_dir.display());
    }
}

impl RunDisplay {
    /// One line per failed task (the first [`CAUSES_SHOWN`]) with what its output says
    /// went wrong; shown with -q too.
    fn causes(&self, record: &RunRecord) {
        let failed = record
            .results
            .iter()
            .filter(|r| matches!(r.status, TaskStatus::Error | TaskStatus::Timeout));
        for result in failed.take(CAUSES_SHOWN) {
            if let Some(c) = cause::read(&self.run_dir, logs::Layout::Raw, result) {
                self.output.status_error(
                    "Cause",
                    format!("{} {}", sanitize(&result.task), sanitize(&c.one_line())),
                );
            }
        }
    }

    /// One line per queue: passed/total, failures, and its span (first start to last end).
    fn queue_table(&self, record: &RunRecord) {
        if self.output.is_quiet() || record.results.is_empty() {
            return;
        }
        let mut queues: Vec<(&str, Vec<&TaskResult>)> = Vec::new();
        for r in &record.results {
            match queues.iter_mut().find(|(q, _)| *q == r.queue) {
                Some((_, tasks)) => tasks.push(r),
                None => queues.push((&r.queue, vec![r])),
            }
        }
        let width = queues
            .iter()
            .map(|(q, _)| console::measure_text_width(&sanitize(q)))
            .max()
            .unwrap_or(0);
        for (queue, tasks) in &queues {
            // A noop ran nothing: "not run", never "passed".
            let not_run = tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Noop)
                .count();
            let passed = tasks.iter().filter(|t| t.status.is_success()).count() - not_run;
            let left_out = tasks
                .iter()
                .filter(|t| crate::evidence::is_unaffected(t))
                .count();
            let failed: Vec<std::borrow::Cow<'_, str>> = tasks
                .iter()
                .filter(|t| !t.status.is_success() && !crate::evidence::is_unaffected(t))
                .map(|t| sanitize(&t.task))
                .collect();
            let longest = crate::evidence::span_ms(tasks.iter().copied());
            // ✔ only for a queue all of whose tasks ran and passed (or were proved
            // unaffected): a noop in it is work nobody did.
            let mark = if !failed.is_empty() {
                Style::new().red().apply_to("✘")
            } else if not_run > 0 {
                Style::new().yellow().apply_to("○")
            } else {
                Style::new().green().apply_to("✔")
            };
            let mut line = format!(
                "  {mark} {}  {passed:>4}/{:<4} passed  {:>8.2}s",
                console::pad_str(&sanitize(queue), width, console::Alignment::Left, None),
                tasks.len(),
                Duration::from_millis(longest).as_secs_f64()
            );
            if not_run > 0 {
                line.push_str(&format!(", {not_run} not run"));
            }
            if left_out > 0 {
                line.push_str(&format!(", {left_out} unaffected"));
            }
            if !failed.is_empty() {
                let shown: Vec<&str> = failed.iter().map(|f| f.as_ref()).take(5).collect();
                let more = failed.len().saturating_sub(shown.len());
                line.push_str(&format!(
                    "  not passed: {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" +{more}")
                    } else {
                        String::new()
                    }
                ));
            }
            self.output.info(line);
        }
    }
}

/// The closing line: how many tasks, how long, and only the counts that are not zero,
/// in words that agree with the numbers ("1 task … 1 failed").
/// How many tasks `--affected` left out (skipped, `unaffected`).
fn unaffected(record: &RunRecord) -> usize {
    record
        .results
        .iter()
        .filter(|r| crate::evidence::is_unaffected(r))
        .count()
}

fn summary_line(record: &RunRecord) -> String {
    let c = &record.counts;
    let left_out = unaffected(record);
    let secs = Duration::from_millis(record.duration_ms.unwrap_or(0)).as_secs_f64();
    // In a dry run a noop that recorded commands is one that would have run them.
    let would_run = record
        .results
        .iter()
        .filter(|r| r.status == TaskStatus::Noop && !r.commands.is_empty())
        .count();
    let parts: Vec<String> = [
        (c.ok.saturating_sub(c.cached), "passed"),
        (c.cached, "cached"),
        (c.flaky, "flaky"),
        (would_run, "would run"),
        (c.noop - would_run, "noop"),
        (c.error, "failed"),
        (c.timeout, "timed out"),
        (c.cancelled, "cancelled"),
        (c.skipped - left_out, "skipped"),
        (left_out, "unaffected"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let mut head = format!("{} in {secs:.2}s", count(c.total, "task", "tasks"));
    if record.dry_run {
        head = format!("dry run (nothing was started), {head}");
    }
    let waited = crate::evidence::waiting_ms(record.results.iter());
    if waited > 0 {
        head.push_str(&format!(
            " ({:.2}s of it with tasks waiting for shared resources)",
            Duration::from_millis(waited).as_secs_f64()
        ));
    }
    if parts.is_empty() {
        head
    } else {
        format!("{head}: {}", parts.join(", "))
    }
}

/// The live line beside the progress bar: failures, skips (when any), and up to six
/// running tasks.
fn progress_message(failed: usize, skipped: usize, running: &BTreeSet<String>) -> String {
    let names: Vec<&str> = running.iter().map(String::as_str).take(6).collect();
    let more = running.len().saturating_sub(names.len());
    let extra = if more > 0 {
        format!(" +{more}")
    } else {
        String::new()
    };
    let skipped = if skipped > 0 {
        format!(" · skipped {skipped}")
    } else {
        String::new()
    };
    if names.is_empty() {
        return format!("failed {failed}{skipped}");
    }
    format!(
        "failed {failed}{skipped} · running {}{extra}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_counts_skips_apart_from_failures() {
        let running: BTreeSet<String> = (1..=8).map(|i| format!("TASK-{i}")).collect();
        assert_eq!(
            progress_message(1, 0, &running),
            "failed 1 · running TASK-1, TASK-2, TASK-3, TASK-4, TASK-5, TASK-6 +2"
        );
        assert_eq!(
            progress_message(1, 2, &BTreeSet::new()),
            "failed 1 · skipped 2"
        );
    }
}
