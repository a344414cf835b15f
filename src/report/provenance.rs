//! Where a report came from and what changed since the last one: the commit, the CI job
//! and matrix values, when the run ended, where the full logs are (a link, never a path
//! on the runner), and which tasks newly fail or were fixed since the previous comment
//! of the same key. Every string from run.json or from the previous comment is escaped
//! here, like the rest of the context.

use std::collections::BTreeSet;

use serde::Serialize;

use super::escape::inline;
use crate::evidence::{RunRecord, TaskStatus};

/// What the report knows beyond run.json, gathered by the caller.
#[derive(Debug, Clone, Default)]
pub(crate) struct Provenance {
    /// The commit the run was for (PR head SHA or `GITHUB_SHA`); only hex digits are kept.
    pub(crate) commit: Option<String>,
    /// The uploaded run directory (`CARGO_TEK_ARTIFACT_URL`), already validated.
    pub(crate) artifact_url: Option<String>,
    /// The CI run the logs are in when there is no artifact link and the report shows no
    /// CI link of its own (a leg's section of a merged report).
    pub(crate) run_url: Option<String>,
    /// The task ids that failed according to the previous comment of the same key; text
    /// read back from a comment, so untrusted.
    pub(crate) previous_failed: Option<Vec<String>>,
}

/// How many ids each side of the difference names before "and N more".
pub(crate) const DIFF_IDS_SHOWN: usize = 20;

/// The difference from the previous run of the same key (ids escaped).
#[derive(Debug, Serialize)]
pub(crate) struct DiffInfo {
    pub(crate) newly_failing: Vec<String>,
    pub(crate) more_newly_failing: usize,
    pub(crate) fixed: Vec<String>,
    pub(crate) more_fixed: usize,
    /// Both, as the report shows them: "🆕 newly failing …: a, b · 🩹 fixed: c".
    pub(crate) line: String,
}

/// Where the full log of a task is.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogLink {
    /// "the uploaded artifact" or "the CI run".
    pub(crate) what: &'static str,
    pub(crate) url: String,
}

/// True for an `http(s)` URL made only of characters that cannot break out of a Markdown
/// link destination (no spaces, parentheses, angle brackets or quotes).
pub(crate) fn url_ok(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.-_".contains(c))
}

/// `CARGO_TEK_ARTIFACT_URL` (the `artifact-url` output of `actions/upload-artifact@v4`),
/// when it is a plain URL.
pub(crate) fn artifact_url(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env("CARGO_TEK_ARTIFACT_URL")
        .map(|u| u.trim().to_owned())
        .filter(|u| url_ok(u))
}

/// The artifact when known, else the CI run; `None` for a local report.
pub(crate) fn log_link(artifact: Option<&str>, ci_url: Option<&str>) -> Option<LogLink> {
    match (artifact, ci_url) {
        (Some(url), _) => Some(LogLink {
            what: "the uploaded artifact",
            url: url.to_owned(),
        }),
        (None, Some(url)) => Some(LogLink {
            what: "the CI run",
            url: url.to_owned(),
        }),
        (None, None) => None,
    }
}

/// "commit `abc1234` · job test (ubuntu-latest, stable) · ended 2026-11-30 12:00:00 UTC",
/// with what is known; `None` when nothing is.
pub(crate) fn line(
    record: &RunRecord,
    commit: Option<&str>,
    clean: &dyn Fn(&str) -> String,
) -> Option<String> {
    let mut parts: Vec<String> = line_of_commit(commit).into_iter().collect();
    if let Some(leg) = &record.leg {
        let job = leg.job.as_deref().map(|j| inline(&clean(j)));
        let values: Vec<String> = leg.matrix.values().map(|v| inline(&clean(v))).collect();
        let named = leg.name.as_deref().map(|n| inline(&clean(n)));
        let mut text = match (named, job) {
            (Some(n), _) => format!("leg {n}"),
            (None, Some(j)) => format!("job {j}"),
            (None, None) => String::new(),
        };
        if !values.is_empty() {
            let values = values.join(", ");
            text = match text.is_empty() {
                true => format!("matrix {values}"),
                false => format!("{text} ({values})"),
            };
        }
        if !text.is_empty() {
            parts.push(text);
        }
    }
    if let Some(ended) = record.ended.as_deref() {
        parts.push(format!("ended {}", when(ended, clean)));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// "commit `abc1234`": the first seven hex digits of `commit`, if it has any.
pub(crate) fn line_of_commit(commit: Option<&str>) -> Option<String> {
    let short: String = commit
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(7)
        .collect();
    // Hex digits only, so the code span needs no escaping.
    (!short.is_empty()).then(|| format!("commit `{short}`"))
}

/// An RFC 3339 time as "2026-11-30 12:00:00 UTC"; anything else escaped as it is.
fn when(at: &str, clean: &dyn Fn(&str) -> String) -> String {
    match humantime::parse_rfc3339_weak(at) {
        Ok(t) => {
            let text = humantime::format_rfc3339_seconds(t).to_string();
            format!("{} UTC", text.trim_end_matches('Z').replace('T', " "))
        }
        Err(_) => inline(&clean(at)),
    }
}

/// The ids of the tasks that failed or timed out, in order, each once.
pub(crate) fn failed_ids(record: &RunRecord) -> Vec<String> {
    let mut seen = BTreeSet::new();
    record
        .results
        .iter()
        .filter(|t| matches!(t.status, TaskStatus::Error | TaskStatus::Timeout))
        .filter(|t| seen.insert(t.task.as_str()))
        .map(|t| t.task.clone())
        .collect()
}

/// What newly fails and what was fixed against `previous`; `None` when nothing changed.
pub(crate) fn diff(
    record: &RunRecord,
    previous: &[String],
    clean: &dyn Fn(&str) -> String,
) -> Option<DiffInfo> {
    let now = failed_ids(record);
    let before: BTreeSet<&str> = previous.iter().map(String::as_str).collect();
    let now_set: BTreeSet<&str> = now.iter().map(String::as_str).collect();
    let newly: Vec<&str> = now
        .iter()
        .map(String::as_str)
        .filter(|id| !before.contains(id))
        .collect();
    // A fixed task is one that ran this time and did not fail: a task that is gone
    // from the run (renamed, unaffected) is not "fixed".
    let ran: BTreeSet<&str> = record
        .results
        .iter()
        .filter(|t| t.carried_from.is_none() && !crate::evidence::is_unaffected(t))
        .map(|t| t.task.as_str())
        .collect();
    let mut seen = BTreeSet::new();
    let fixed: Vec<&str> = previous
        .iter()
        .map(String::as_str)
        .filter(|id| !now_set.contains(id) && ran.contains(id) && seen.insert(*id))
        .collect();
    if newly.is_empty() && fixed.is_empty() {
        return None;
    }
    let shown = |ids: &[&str]| -> Vec<String> {
        ids.iter()
            .take(DIFF_IDS_SHOWN)
            .map(|id| inline(&clean(id)))
            .collect()
    };
    let mut info = DiffInfo {
        newly_failing: shown(&newly),
        more_newly_failing: newly.len().saturating_sub(DIFF_IDS_SHOWN),
        fixed: shown(&fixed),
        more_fixed: fixed.len().saturating_sub(DIFF_IDS_SHOWN),
        line: String::new(),
    };
    info.line = diff_line(&info);
    Some(info)
}

/// The difference on one line.
pub(crate) fn diff_line(d: &DiffInfo) -> String {
    let list = |ids: &[String], more: usize| match more {
        0 => ids.join(", "),
        n => format!("{} and {n} more", ids.join(", ")),
    };
    let mut parts = Vec::new();
    if !d.newly_failing.is_empty() {
        parts.push(format!(
            "🆕 newly failing since the last report: {}",
            list(&d.newly_failing, d.more_newly_failing)
        ));
    }
    if !d.fixed.is_empty() {
        parts.push(format!("🩹 fixed: {}", list(&d.fixed, d.more_fixed)));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::leg::LegStamp;
    use crate::evidence::{Counts, RunStatus, TaskResult};

    fn task(id: &str, status: TaskStatus) -> TaskResult {
        TaskResult {
            queue: "q".into(),
            ..TaskResult::for_test(id, status, 1)
        }
    }

    fn record(results: Vec<TaskResult>) -> RunRecord {
        let mut r = RunRecord::empty("r1".into(), RunStatus::Error, "2026-11-30T12:00:00Z".into());
        r.counts = Counts::of(&results);
        r.results = results;
        r
    }

    #[test]
    fn the_line_names_commit_job_matrix_and_end_escaped() {
        let mut r = record(vec![]);
        r.ended = Some("2026-11-30T12:03:04.567Z".into());
        r.leg = Some(LegStamp {
            name: None,
            job: Some("test @org".into()),
            matrix: [("os".to_string(), "ubuntu*".to_string())].into(),
            os: None,
        });
        let line = line(&r, Some("0123456789abcdef --> <b>"), &|s| s.to_owned()).unwrap();
        assert!(
            line.starts_with("commit `0123456` · job test \\@\u{200B}org (ubuntu\\*)"),
            "{line}"
        );
        assert!(line.ends_with("ended 2026-11-30 12:03:04 UTC"), "{line}");
        r.ended = Some("yesterday <b>".into());
        let odd = super::line(&r, None, &|s| s.to_owned()).unwrap();
        assert!(odd.ends_with("ended yesterday &lt;b&gt;"), "{odd}");
        assert_eq!(
            super::line(&record(vec![]), Some("zz"), &|s| s.to_owned()),
            None
        );
    }

    #[test]
    fn the_diff_names_new_failures_and_fixes_that_ran() {
        let r = record(vec![
            task("A", TaskStatus::Error),
            task("B", TaskStatus::Ok),
            task("C", TaskStatus::Timeout),
        ]);
        let prev = ["B".to_string(), "C".into(), "GONE".into()];
        let d = diff(&r, &prev, &|s| s.to_owned()).unwrap();
        assert_eq!(d.newly_failing, ["A"]);
        assert_eq!(d.fixed, ["B"], "C still fails, GONE did not run");
        assert!(diff(&r, &["A".into(), "C".into()], &|s| s.to_owned()).is_none());
        let many: Vec<String> = (0..30).map(|i| format!("T{i}")).collect();
        let d = diff(&record(vec![]), &many, &|s| s.to_owned());
        assert!(d.is_none(), "tasks that did not run are not fixed");
    }

    #[test]
    fn only_plain_urls_are_links() {
        let env =
            |v: &'static str| move |k: &str| (k == "CARGO_TEK_ARTIFACT_URL").then(|| v.to_owned());
        assert_eq!(
            artifact_url(&env("https://github.com/o/r/actions/runs/1/artifacts/2")).as_deref(),
            Some("https://github.com/o/r/actions/runs/1/artifacts/2")
        );
        assert_eq!(artifact_url(&env("https://x/a) [y](https://e")), None);
        assert_eq!(artifact_url(&env("/home/runner/work/.tek/runs/1")), None);
        assert_eq!(artifact_url(&env("javascript:alert(1)")), None);
    }
}
