//! The template context: a run turned into escaped, size-controlled values. Untrusted
//! text (titles from sot.md, task output, reasons) is escaped or fenced here, in Rust,
//! and secrets are masked, so no template can forget to.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::escape::{code_block, html_text, inline};
use super::tail::quiet_tail;
use crate::evidence::cause;
use crate::evidence::logs::{self, Layout};
use crate::evidence::{LoadedRun, RunRecord, TaskResult, TaskStatus};
use crate::redact::Secrets;

/// How much detail to include; higher levels are smaller.
pub(crate) const MAX_DETAIL: u8 = 3;

/// The values a report template sees. Documented in the README.
#[derive(Debug, Serialize)]
pub(crate) struct ReportContext {
    pub(crate) marker: Option<String>,
    pub(crate) run: RunInfo,
    pub(crate) queues: Vec<QueueInfo>,
    pub(crate) failures: Vec<Failure>,
    pub(crate) others: Vec<TaskInfo>,
    pub(crate) flaky: Vec<TaskInfo>,
    /// `--affected`: the tasks the change did not reach, shown in one collapsed line.
    pub(crate) unaffected: Option<UnaffectedInfo>,
    pub(crate) ci_url: Option<String>,
    /// Commit, job and matrix values, and when the run ended (escaped).
    pub(crate) provenance: Option<String>,
    /// What newly fails and what was fixed since the previous comment of the same key.
    pub(crate) diff: Option<super::provenance::DiffInfo>,
    /// Where the full logs are: the uploaded artifact, else the CI run.
    pub(crate) log_link: Option<super::provenance::LogLink>,
    /// 0 = everything; each level drops detail to fit size limits.
    pub(crate) detail: u8,
    /// Shown at the end when detail was dropped.
    pub(crate) note: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RunInfo {
    pub(crate) status: String,
    pub(crate) emoji: &'static str,
    pub(crate) headline: String,
    pub(crate) run_id: String,
    pub(crate) started: String,
    pub(crate) duration: String,
    pub(crate) dry_run: bool,
    pub(crate) incomplete: bool,
    /// How the run was read, when a reader must know (escaped): a damaged run.json
    /// passed over for the journal, a journal that was altered or is unauthenticated.
    pub(crate) notes: Vec<String>,
    pub(crate) signal: Option<String>,
    pub(crate) counts: crate::evidence::Counts,
    /// The non-zero counts, e.g. "✅ 3 ok · ❌ 1 failed" (no markup from the run).
    pub(crate) counts_line: String,
    /// Set for a `--rerun-failed` run.
    pub(crate) rerun: Option<RerunInfo>,
    /// Set for a run merged by `report --merge`.
    pub(crate) merge: Option<MergeInfo>,
}

/// Where a merged run's results came from (escaped).
#[derive(Debug, Serialize)]
pub(crate) struct MergeInfo {
    /// "Merged from 4 shards of plan `…`", "3 matrix legs".
    pub(crate) line: String,
    /// Planned shards with no run ("shard 2/4"), when reported with `--allow-missing`.
    pub(crate) missing: Option<String>,
    /// Their tasks are listed as not run (the merge had the plan file).
    pub(crate) missing_listed: bool,
    /// "shard 1/2 took 3m 5s (estimated 1m 19s), …": the plan's estimate beside the
    /// time each shard took, when the plan was split by recorded durations.
    pub(crate) timing: Option<String>,
}

/// The tasks an `--affected` run left out.
#[derive(Debug, Serialize)]
pub(crate) struct UnaffectedInfo {
    pub(crate) count: usize,
    /// The base compared with (escaped).
    pub(crate) base: String,
    /// The first [`UNAFFECTED_IDS_SHOWN`] ids (escaped).
    pub(crate) ids: Vec<String>,
    /// How many more there are.
    pub(crate) more: usize,
}

/// How many unaffected ids the report names.
const UNAFFECTED_IDS_SHOWN: usize = 30;

/// What a `--rerun-failed` run ran, and what it carried forward.
#[derive(Debug, Serialize)]
pub(crate) struct RerunInfo {
    /// Tasks run again this time.
    pub(crate) reran: usize,
    /// Tasks shown with their last real result from an earlier run.
    pub(crate) carried: usize,
    /// The ids run again (escaped), the first [`RERUN_IDS_SHOWN`] of them.
    pub(crate) ids: Vec<String>,
}

/// How many rerun ids the report names before "and N more".
pub(crate) const RERUN_IDS_SHOWN: usize = 20;

#[derive(Debug, Serialize)]
pub(crate) struct QueueInfo {
    pub(crate) name: String,
    pub(crate) emoji: &'static str,
    pub(crate) summary: String,
    pub(crate) duration: String,
    pub(crate) tasks: Vec<TaskInfo>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TaskInfo {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) status: &'static str,
    pub(crate) emoji: &'static str,
    pub(crate) duration: String,
    /// Time waited for a shared resource (a cargo target dir) once ready; empty when none.
    pub(crate) waited: String,
    pub(crate) reason: String,
    pub(crate) attempts: u32,
    /// The run the result was carried forward from (escaped), when not run this time.
    pub(crate) carried_from: Option<String>,
    /// The run whose stored pass the result cache replayed (escaped), when not run.
    pub(crate) cached_from: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Failure {
    pub(crate) id: String,
    pub(crate) title_html: String,
    pub(crate) reason_html: String,
    pub(crate) emoji: &'static str,
    /// What went wrong, on one line (HTML-escaped), when the output tells: the first
    /// compiler error, the panic message, the failing tests, the command that hung.
    pub(crate) cause_html: Option<String>,
    /// The lines that go with the cause (a diagnostic's snippet, `left:`/`right:`), fenced.
    pub(crate) cause_block: Option<String>,
    /// What else the cargo agent recorded, HTML-escaped, one line each: the other
    /// compiler errors, then every failing test with its panic message, then new
    /// warnings; at most [`MORE_SHOWN`], the rest counted on a last line.
    pub(crate) more_html: Vec<String>,
    /// The first [`FAILURES_OPEN`] failures show their logs without a click.
    pub(crate) open: bool,
    pub(crate) logs: Vec<LogTail>,
    /// The ids (escaped) of the later failures with the same title, reason and output,
    /// which the built-in template names under this one instead of repeating them (see
    /// [`super::alike`]).
    pub(crate) alike: Vec<String>,
    /// The id (escaped) of the earlier failure this one repeats. Such failures stay in
    /// the list, so a custom template that knows nothing of `alike` still shows them all.
    pub(crate) same_as: Option<String>,
}

/// Lines of [`Failure::more_html`] shown per failure.
pub(crate) const MORE_SHOWN: usize = 10;

/// The findings and failing tests of a cargo task beyond its cause, one plain line each.
fn more_of(t: &crate::evidence::TaskResult, cause: Option<&cause::Cause>) -> Vec<String> {
    use crate::evidence::cargo_cause::headline;
    let Some(cargo) = t.cargo.as_ref().filter(|_| t.status == TaskStatus::Error) else {
        return Vec::new();
    };
    let at = |file: &Option<String>, line: Option<u32>| match (file, line) {
        (Some(file), Some(line)) => format!(" (at {file}:{line})"),
        _ => String::new(),
    };
    // The cause is the first error, else the first failing test, else the first new
    // warning (see `cargo_cause`): it is on the failure line already.
    let errors: Vec<_> = cargo
        .findings
        .iter()
        .filter(|f| f.level.starts_with("error"))
        .collect();
    let failed: Vec<_> = cargo
        .tests
        .iter()
        .filter(|t| t.status == "failed")
        .collect();
    let new: Vec<_> = cargo.findings.iter().filter(|f| f.new).collect();
    let skip = usize::from(cause.is_some());
    let (skip_errors, skip_tests, skip_new) = match (errors.is_empty(), failed.is_empty()) {
        (false, _) => (skip, 0, 0),
        (true, false) => (0, skip, 0),
        (true, true) => (0, 0, skip),
    };
    let mut lines: Vec<String> = errors
        .iter()
        .skip(skip_errors)
        .map(|f| format!("{}{}", headline(f), at(&f.file, f.line)))
        .chain(failed.iter().skip(skip_tests).map(|t| {
            let message = t.message.as_deref().unwrap_or("failed");
            let binary = if t.package.is_empty() {
                String::new()
            } else {
                format!(" (in {}/{})", t.package, t.binary)
            };
            format!(
                "`{}`{binary} panicked: {}{}",
                t.name,
                message.lines().next().unwrap_or(""),
                at(&t.file, t.line)
            )
        }))
        .chain(
            new.iter()
                .skip(skip_new)
                .map(|f| format!("{}{}", headline(f), at(&f.file, f.line))),
        )
        .collect();
    let more = lines.len().saturating_sub(MORE_SHOWN);
    lines.truncate(MORE_SHOWN);
    if more > 0 {
        lines.push(format!("… and {more} more in run.json"));
    }
    lines
}

/// How many failures render expanded; the rest are collapsed.
pub(crate) const FAILURES_OPEN: usize = 3;
/// How many failures get their cause extracted; later ones show their reason only (a
/// comment has no room for more anyway).
pub(crate) const CAUSES_READ: usize = 50;

#[derive(Debug, Serialize)]
pub(crate) struct LogTail {
    pub(crate) label: String,
    /// Which stream of which command (`stderr of command 3`), without the path.
    pub(crate) of: String,
    /// A fenced code block, fence longer than any backtick run inside.
    pub(crate) block: String,
}

/// Emoji per status.
pub(crate) fn emoji(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Ok => "✅",
        TaskStatus::Noop => "⚪",
        TaskStatus::Flaky => "🟡",
        TaskStatus::Error => "❌",
        TaskStatus::Timeout => "⏱️",
        TaskStatus::Skipped => "⏭️",
        TaskStatus::Cancelled => "🚫",
    }
}

fn duration(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    if d.as_secs() >= 60 {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Bytes of log tail per stream at each detail level.
fn tail_bytes(detail: u8) -> usize {
    match detail {
        0 => 8 * 1024,
        1 => 1024,
        _ => 0,
    }
}

/// Builds the context at a detail level. `secrets` are masked wherever run text is used.
pub(crate) fn build(
    run: &LoadedRun,
    marker: Option<String>,
    ci_url: Option<String>,
    about: &super::provenance::Provenance,
    secrets: &Secrets,
    detail: u8,
) -> ReportContext {
    let r = &run.record;
    let clean = |s: &str| secrets.mask(s);
    let log_link = super::provenance::log_link(
        about.artifact_url.as_deref(),
        about.run_url.as_deref().or(ci_url.as_deref()),
    );
    let failures = failures(run, secrets, detail, log_link.as_ref());
    let listed = |keep: &dyn Fn(&TaskResult) -> bool| -> Vec<TaskInfo> {
        r.results
            .iter()
            .filter(|t| keep(t))
            .map(|t| task_info(t, &clean))
            .collect()
    };
    let others = listed(&|t| {
        matches!(t.status, TaskStatus::Skipped | TaskStatus::Cancelled)
            && !crate::evidence::is_unaffected(t)
    });
    let flaky = listed(&|t| t.status == TaskStatus::Flaky);
    let signal = r.signal.as_deref().map(|s| inline(&clean(s)));
    let (counts, unaffected) = unaffected_info(r, &clean);
    let merge = r.merge.as_ref().map(|m| merge_info(m, &clean));
    let (emoji_run, headline) = headline(r, &counts, signal.as_deref(), unaffected.is_some());
    // A missing shard fails the run even when every task that ran passed.
    let headline = match merge.as_ref().and_then(|m| m.missing.as_ref()) {
        Some(missing) if r.counts.error + r.counts.timeout + r.counts.cancelled == 0 => {
            format!("{missing} missing")
        }
        Some(missing) => format!("{headline}; {missing} missing"),
        None => headline,
    };
    ReportContext {
        marker,
        run: RunInfo {
            status: format!("{:?}", r.status).to_lowercase(),
            emoji: emoji_run,
            headline,
            run_id: inline(&clean(&r.run_id)),
            started: inline(&clean(&r.started)),
            duration: duration(r.duration_ms.unwrap_or(0)),
            dry_run: r.dry_run,
            incomplete: run.incomplete,
            notes: run.notes.iter().map(|n| inline(&clean(n))).collect(),
            signal,
            counts_line: counts_line(&counts),
            counts: r.counts.clone(),
            rerun: rerun_info(r, &clean),
            merge,
        },
        queues: queues(r, &clean, detail),
        failures,
        others,
        flaky,
        unaffected,
        provenance: super::provenance::line(r, about.commit.as_deref(), &clean),
        diff: about
            .previous_failed
            .as_deref()
            .and_then(|previous| super::provenance::diff(r, previous, &clean)),
        log_link,
        ci_url,
        detail,
        note: None,
    }
}

/// One task's row, its text masked and escaped.
fn task_info(t: &TaskResult, clean: &dyn Fn(&str) -> String) -> TaskInfo {
    TaskInfo {
        id: inline(&clean(&t.task)),
        title: inline(&clean(&t.title)),
        status: t.status.as_str(),
        emoji: match t.cached {
            Some(_) if t.status == TaskStatus::Ok => "💾",
            _ => emoji(t.status),
        },
        duration: duration(t.duration_ms),
        waited: match t.wait_ms {
            0 => String::new(),
            ms => duration(ms),
        },
        reason: inline(&clean(t.reason.as_deref().unwrap_or(""))),
        attempts: t.attempts,
        carried_from: t.carried_from.as_deref().map(|r| inline(&clean(r))),
        cached_from: t.cached.as_ref().map(|c| inline(&clean(&c.run))),
    }
}

/// The queues in the order their first task ran, each with its mark and summary; the
/// task rows only below the largest detail level.
fn queues(r: &RunRecord, clean: &dyn Fn(&str) -> String, detail: u8) -> Vec<QueueInfo> {
    let mut queues: Vec<QueueInfo> = Vec::new();
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    for t in &r.results {
        let i = *order.entry(t.queue.clone()).or_insert_with(|| {
            queues.push(QueueInfo {
                name: inline(&clean(&t.queue)),
                emoji: "✅",
                summary: String::new(),
                duration: String::new(),
                tasks: Vec::new(),
            });
            queues.len() - 1
        });
        if detail < MAX_DETAIL {
            queues[i].tasks.push(task_info(t, clean));
        }
    }
    for (name, &i) in &order {
        let tasks: Vec<&TaskResult> = r.results.iter().filter(|t| &t.queue == name).collect();
        let q = &mut queues[i];
        (q.emoji, q.summary) = queue_mark(&tasks);
        q.duration = duration(crate::evidence::span_ms(tasks.iter().copied()));
    }
    queues
}

/// A queue's mark and "3/4 passed, 1 not run" summary.
fn queue_mark(tasks: &[&TaskResult]) -> (&'static str, String) {
    let worst = tasks
        .iter()
        .filter(|t| !crate::evidence::is_unaffected(t))
        .map(|t| t.status)
        .filter(|s| !s.is_success())
        .min_by_key(|s| match s {
            TaskStatus::Error | TaskStatus::Timeout => 0,
            TaskStatus::Cancelled => 1,
            _ => 2,
        });
    // A noop ran nothing: "not run", never "passed".
    let not_run = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Noop)
        .count();
    let mark = match worst {
        Some(s) => emoji(s),
        None if tasks.iter().any(|t| t.status == TaskStatus::Flaky) => "🟡",
        None if not_run == tasks.len() => emoji(TaskStatus::Noop),
        // Some of it did not run: not the mark of a queue that passed.
        None if not_run > 0 => "⚠️",
        None => "✅",
    };
    let passed = tasks
        .iter()
        .filter(|t| t.status.is_success() && t.status != TaskStatus::Noop)
        .count();
    let mut summary = format!("{passed}/{} passed", tasks.len());
    if not_run > 0 {
        summary.push_str(&format!(", {not_run} not run"));
    }
    let unaffected = tasks
        .iter()
        .filter(|t| crate::evidence::is_unaffected(t))
        .count();
    if unaffected > 0 {
        summary.push_str(&format!(", {unaffected} unaffected"));
    }
    (mark, summary)
}

/// The failed and timed-out tasks, each with its cause and log tails.
fn failures(
    run: &LoadedRun,
    secrets: &Secrets,
    detail: u8,
    log_link: Option<&super::provenance::LogLink>,
) -> Vec<Failure> {
    let r = &run.record;
    let clean = |s: &str| secrets.mask(s);
    let failures = r
        .results
        .iter()
        .filter(|t| matches!(t.status, TaskStatus::Error | TaskStatus::Timeout))
        .enumerate()
        .map(|(i, t)| {
            // Each cause reads up to a few hundred KiB of logs, at every detail level.
            let cause = (i < CAUSES_READ)
                .then(|| cause::read(&run.dir, Layout::of_schema(r.schema_version), t))
                .flatten();
            Failure {
                id: html_text(&clean(&t.task)),
                title_html: html_text(&clean(&t.title)),
                reason_html: html_text(&clean(t.reason.as_deref().unwrap_or(t.status.as_str()))),
                emoji: emoji(t.status),
                cause_html: cause.as_ref().map(|c| html_text(&clean(&c.one_line()))),
                // The snippet goes with the log tails when detail must shrink.
                cause_block: cause
                    .as_ref()
                    .filter(|c| !c.detail.is_empty() && detail < 2)
                    .map(|c| code_block(&clean(&c.detail.join("\n")), "text")),
                more_html: more_of(t, cause.as_ref())
                    .into_iter()
                    .map(|l| html_text(&clean(&l)))
                    .collect(),
                open: i < FAILURES_OPEN,
                logs: logs_of(run, t, tail_bytes(detail), secrets, log_link),
                alike: Vec::new(),
                same_as: None,
            }
        })
        .collect();
    super::alike::mark(failures)
}

/// The counts without the unaffected tasks, and the line that lists those. Unaffected
/// tasks are told apart from skips that matter (a failed dependency).
fn unaffected_info(
    r: &RunRecord,
    clean: &dyn Fn(&str) -> String,
) -> (crate::evidence::Counts, Option<UnaffectedInfo>) {
    let unaffected_ids: Vec<&TaskResult> = r
        .results
        .iter()
        .filter(|t| crate::evidence::is_unaffected(t))
        .collect();
    let mut counts = r.counts.clone();
    counts.skipped = counts.skipped.saturating_sub(unaffected_ids.len());
    counts.total = counts.total.saturating_sub(unaffected_ids.len());
    let unaffected = (!unaffected_ids.is_empty()).then(|| UnaffectedInfo {
        count: unaffected_ids.len(),
        base: inline(&clean(
            r.affected.as_ref().map_or("the base", |a| a.base.as_str()),
        )),
        ids: unaffected_ids
            .iter()
            .take(UNAFFECTED_IDS_SHOWN)
            .map(|t| inline(&clean(&t.task)))
            .collect(),
        more: unaffected_ids.len().saturating_sub(UNAFFECTED_IDS_SHOWN),
    });
    (counts, unaffected)
}

/// The run's mark and headline, from its status and the counts of what was affected.
fn headline(
    r: &RunRecord,
    counts: &crate::evidence::Counts,
    signal: Option<&str>,
    some_unaffected: bool,
) -> (&'static str, String) {
    use crate::evidence::RunStatus;
    match r.status {
        // A dry run executed nothing, so it neither passed nor failed anything.
        RunStatus::Ok if r.dry_run => (
            "⚪",
            format!(
                "plan only, nothing ran ({} planned)",
                crate::text::count(r.counts.total, "task", "tasks")
            ),
        ),
        RunStatus::Ok if counts.total == 0 && some_unaffected => {
            ("✅", "no task is affected by the change".to_owned())
        }
        RunStatus::Ok => match counts.noop {
            0 if some_unaffected => ("✅", "all affected tasks passed".to_owned()),
            0 => ("✅", "all tasks passed".to_owned()),
            n if n == counts.total => ("⚪", format!("nothing ran: {n} not run (noop)")),
            // Not all of it ran: never the green mark of a run that did.
            n => (
                "⚠️",
                format!("{} passed, {n} not run (noop)", counts.total - n),
            ),
        },
        // The words of the counts line, so the two never disagree.
        RunStatus::Error => ("❌", failed_headline(counts)),
        RunStatus::Interrupted => (
            "🚫",
            format!(
                "interrupted{}",
                signal.map(|s| format!(" by {s}")).unwrap_or_default()
            ),
        ),
        RunStatus::Running => ("⏳", "still running".to_owned()),
    }
}

/// What a `--rerun-failed` run reran and carried over.
fn rerun_info(r: &RunRecord, clean: &dyn Fn(&str) -> String) -> Option<RerunInfo> {
    r.rerun_failed.then(|| {
        let carried = r
            .results
            .iter()
            .filter(|t| t.carried_from.is_some())
            .count();
        RerunInfo {
            reran: r.results.len() - carried,
            carried,
            ids: r
                .results
                .iter()
                .filter(|t| t.carried_from.is_none())
                .take(RERUN_IDS_SHOWN)
                .map(|t| inline(&clean(&t.task)))
                .collect(),
        }
    })
}

/// "1 task failed, 1 timed out, 2 skipped": the counts that did not pass, in the words
/// of the counts line; "2 tasks did not pass" when none failed outright (only skipped or
/// cancelled), never "0 failed".
fn merge_info(m: &crate::evidence::merge::MergeStamp, clean: &dyn Fn(&str) -> String) -> MergeInfo {
    let runs: usize = m.legs.iter().map(|l| l.runs.len()).sum();
    let line = match m.legs.as_slice() {
        [leg] => match (leg.shards, &leg.plan_hash) {
            (Some(total), Some(hash)) => format!(
                "🧩 Merged from {} of {total} shards of plan {}",
                leg.runs.len(),
                inline(&clean(hash.get(..19).unwrap_or(hash)))
            ),
            _ => format!("🧩 Merged from {}", crate::text::count(runs, "run", "runs")),
        },
        legs => format!(
            "🧩 Merged from {} in {} matrix legs",
            crate::text::count(runs, "run", "runs"),
            legs.len()
        ),
    };
    let missing: Vec<String> = m
        .legs
        .iter()
        .filter(|l| !l.missing.is_empty())
        .map(|l| {
            let list = crate::evidence::merge::missing_list(&l.missing, l.shards.unwrap_or(0));
            match (m.legs.len(), l.name.as_str()) {
                (1, _) | (_, "") => list,
                _ => format!("{list} of {}", inline(&clean(&l.name))),
            }
        })
        .collect();
    let line = match m.duplicates {
        0 => line,
        n => format!("{line} ({n} duplicate results kept once)"),
    };
    let timing: Vec<String> = m
        .legs
        .iter()
        .flat_map(|l| l.runs.iter().map(move |r| (l, r)))
        .filter_map(|(l, r)| {
            let (index, took, estimate) = (r.shard?, r.duration_ms?, r.estimate_ms?);
            let name = match (m.legs.len(), l.name.as_str()) {
                (1, _) | (_, "") => String::new(),
                _ => format!(" of {}", inline(&clean(&l.name))),
            };
            Some(format!(
                "shard {index}/{}{name} took {} (estimated {})",
                l.shards.unwrap_or(0),
                duration(took),
                duration(estimate)
            ))
        })
        .collect();
    MergeInfo {
        line,
        timing: (!timing.is_empty()).then(|| timing.join(", ")),
        missing: (!missing.is_empty()).then(|| missing.join(", ")),
        missing_listed: m
            .legs
            .iter()
            .filter(|l| !l.missing.is_empty())
            .all(|l| l.missing_tasks > 0),
    }
}

fn failed_headline(c: &crate::evidence::Counts) -> String {
    let parts: Vec<(usize, &str)> = [
        (c.error, "failed"),
        (c.timeout, "timed out"),
        (c.cancelled, "cancelled"),
        (c.skipped, "skipped"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .collect();
    if c.error + c.timeout == 0 {
        let not_passed = c.total.saturating_sub(c.ok + c.flaky + c.noop);
        return format!(
            "{} did not pass",
            crate::text::count(not_passed, "task", "tasks")
        );
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, (n, what))| match i {
            0 => format!("{} {what}", crate::text::count(*n, "task", "tasks")),
            _ => format!("{n} {what}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The counts that are not zero, in a fixed order.
fn counts_line(c: &crate::evidence::Counts) -> String {
    [
        (c.ok.saturating_sub(c.cached), "✅", "ok"),
        (c.cached, "💾", "cached"),
        (c.noop, "⚪", "not run"),
        (c.flaky, "🟡", "flaky"),
        (c.error, "❌", "failed"),
        (c.timeout, "⏱️", "timed out"),
        (c.skipped, "⏭️", "skipped"),
        (c.cancelled, "🚫", "cancelled"),
    ]
    .iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, e, what)| format!("{e} {n} {what}"))
    .collect::<Vec<_>>()
    .join(" · ")
}

fn logs_of(
    run: &LoadedRun,
    t: &TaskResult,
    max: usize,
    secrets: &Secrets,
    link: Option<&super::provenance::LogLink>,
) -> Vec<LogTail> {
    if max == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let layout = Layout::of_schema(run.record.schema_version);
    let culprit = t.culprit();
    // The failing command's output, not its predecessors'.
    for (i, c) in t
        .commands
        .iter()
        .enumerate()
        .filter(|(i, _)| culprit.is_none_or(|c| c == *i))
    {
        for (stream, log) in [("stdout", &c.log), ("stderr", &c.stderr_log)] {
            let Some(log) = log else { continue };
            // Only regular files inside the run directory are read, whatever run.json
            // says: never through a symlink, never beyond `max` bytes.
            let Some((dir, rel)) = logs::locate(&run.dir, t.carried_from.as_deref(), log) else {
                continue;
            };
            // Passing tests and build progress go first, so the cut keeps the cause.
            let raw = quiet_tail(dir, &rel, max, layout)
                .unwrap_or_else(|e| format!("(log not shown: {e})"));
            // Colour codes are noise in Markdown.
            let text = console::strip_ansi_codes(&raw).into_owned();
            if text.trim().is_empty() {
                continue;
            }
            // A reviewer cannot open a path on the runner: the full log is a link to
            // where it was uploaded, or to the CI run; a local report names the file in
            // its run directory.
            let full = match link {
                Some(l) => format!("[in {}]({})", l.what, l.url),
                None => format!("{} in the run directory", inline(&secrets.mask(log))),
            };
            let of = format!("{stream} of command {}", i + 1);
            out.push(LogTail {
                label: format!("{of} (last {max} bytes at most; full log: {full})"),
                of,
                block: code_block(&secrets.mask(&text), "text"),
            });
        }
    }
    out
}

/// The CI run link from `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`,
/// only when all three look like what GitHub sets.
pub(crate) fn ci_url(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    // Set by the Action's publish mode: the job of the CI run that made the artifacts.
    if let Some(url) = env("CARGO_TEK_CI_URL").filter(|u| super::provenance::url_ok(u)) {
        return Some(url);
    }
    let server = env("GITHUB_SERVER_URL")?;
    let repo = env("GITHUB_REPOSITORY")?;
    let run = env("GITHUB_RUN_ID")?;
    let server_ok = (server.starts_with("https://") || server.starts_with("http://"))
        && server
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.-_".contains(c));
    let repo_ok = repo.split('/').count() == 2
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.-_".contains(c));
    let run_ok = !run.is_empty() && run.chars().all(|c| c.is_ascii_digit());
    (server_ok && repo_ok && run_ok)
        .then(|| format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/')))
}
