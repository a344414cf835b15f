//! One report for the legs of a matrix: a headline over all legs, then one section per
//! leg, each the usual report of that leg's results with its headings one level down.
//! Used when a merged run (`report --merge`) holds more than one leg.

use super::escape::inline;
use super::render::{render_within, Renderer, Request};
use crate::evidence::merge::{MergeStamp, MergedLeg};
use crate::evidence::{span_ms, Counts, LoadedRun, RunStatus};

/// Room kept per leg for its heading and the headings made one level deeper.
const SECTION_OVERHEAD: usize = 512;

/// The legs of a merged run as runs of their own, when it has more than one.
pub(crate) fn split(run: &LoadedRun) -> Option<Vec<(MergedLeg, LoadedRun)>> {
    let stamp = run.record.merge.as_ref()?;
    if stamp.legs.len() < 2 {
        return None;
    }
    let results = &run.record.results;
    Some(
        stamp
            .legs
            .iter()
            .map(|leg| {
                // Bounded: run.json may have been edited.
                let start = leg.first.min(results.len());
                let end = leg.first.saturating_add(leg.count).min(results.len());
                let mut record = run.record.clone();
                record.results = results[start..end].to_vec();
                record.counts = Counts::of(&record.results);
                record.status = leg.status;
                record.duration_ms = Some(span_ms(record.results.iter()));
                // A sharded leg says where it came from; a leg of one run needs no note.
                record.merge = leg.shards.map(|_| {
                    let mut own = leg.clone();
                    own.first = 0;
                    MergeStamp {
                        legs: vec![own],
                        duplicates: 0,
                    }
                });
                let sub = LoadedRun {
                    dir: run.dir.clone(),
                    record,
                    incomplete: leg.runs.iter().any(|r| r.incomplete),
                    not_run: Default::default(),
                    notes: Vec::new(),
                };
                (leg.clone(), sub)
            })
            .collect(),
    )
}

/// Renders `legs` (from [`split`]) within `req.limit`: each leg gets an equal share.
pub(crate) fn render(
    renderer: &Renderer,
    req: &Request<'_>,
    legs: &[(MergedLeg, LoadedRun)],
) -> Result<String, super::ReportError> {
    let clean = |s: &str| req.secrets.mask(s);
    let failed = legs
        .iter()
        .filter(|(l, _)| l.status != RunStatus::Ok)
        .count();
    let counts = &req.run.record.counts;
    let (emoji, headline) = match failed {
        0 => ("✅", format!("all {} legs passed", legs.len())),
        n => (
            if req.run.record.status == RunStatus::Interrupted {
                "🚫"
            } else {
                "❌"
            },
            format!("{n} of {} legs failed", legs.len()),
        ),
    };
    let mut head = String::new();
    if let Some(marker) = &req.marker {
        head.push_str(marker);
        head.push('\n');
    }
    head.push_str(&format!("## {emoji} cargo-tek: {headline}\n"));
    head.push_str(&format!(
        "**{}** tasks in {} legs\n",
        counts.total,
        legs.len()
    ));
    if let Some(url) = &req.ci_url {
        head.push_str(&format!("[View the CI run]({url})\n"));
    }
    if let Some(line) = super::provenance::line_of_commit(req.about.commit.as_deref()) {
        head.push_str(&format!("🔖 {line}\n"));
    }
    if let Some(diff) = req
        .about
        .previous_failed
        .as_deref()
        .and_then(|previous| super::provenance::diff(&req.run.record, previous, &clean))
    {
        head.push_str(&diff.line);
        head.push('\n');
    }
    // Across legs: each `os` combination's result beside the others'.
    head.push_str(&super::matrix_table::render(
        &req.run.record.results,
        &clean,
    ));
    let share = req
        .limit
        .saturating_sub(req.unit.measure(&head))
        .checked_div(legs.len())
        .unwrap_or(0)
        .saturating_sub(SECTION_OVERHEAD);
    let mut body = head;
    for (leg, run) in legs {
        let name = if leg.name.is_empty() {
            "(unnamed leg)".to_owned()
        } else {
            inline(&clean(&leg.name))
        };
        let section = render_within(
            renderer,
            &Request {
                run,
                marker: None,
                ci_url: None,
                // The leg's own job and matrix values are its provenance; the commit
                // and the difference are said once, above the sections.
                about: super::provenance::Provenance {
                    commit: None,
                    artifact_url: req.about.artifact_url.clone(),
                    run_url: req.ci_url.clone(),
                    previous_failed: None,
                },
                secrets: req.secrets,
                limit: share,
                unit: req.unit,
            },
        )?;
        body.push('\n');
        body.push_str(&retitle(&section, &name));
    }
    Ok(body)
}

/// A leg's report as a section: its `## <emoji> cargo-tek: <headline>` line becomes
/// `### <emoji> <leg>: <headline>`, and every other heading outside a code fence goes one
/// level down.
fn retitle(section: &str, name: &str) -> String {
    let mut out = String::with_capacity(section.len() + 64);
    let mut fence: Option<(char, usize)> = None;
    let mut titled = false;
    for line in section.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let run_of = |c: char| trimmed.chars().take_while(|&x| x == c).count();
        match fence {
            Some((c, n)) => {
                if run_of(c) >= n && trimmed.trim_start_matches(c).trim().is_empty() {
                    fence = None;
                }
                out.push_str(line);
                continue;
            }
            None => {
                for c in ['`', '~'] {
                    if run_of(c) >= 3 {
                        fence = Some((c, run_of(c)));
                    }
                }
                if fence.is_some() {
                    out.push_str(line);
                    continue;
                }
            }
        }
        if !titled {
            if let Some(rest) = line.strip_prefix("## ") {
                titled = true;
                match rest.split_once(" cargo-tek: ") {
                    Some((emoji, headline)) => {
                        out.push_str(&format!("### {emoji} {name}: {headline}"))
                    }
                    None => out.push_str(&format!("### {name}: {rest}")),
                }
                continue;
            }
        }
        if line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
    }
    if !titled {
        out.insert_str(0, &format!("### {name}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_go_one_level_down_outside_fences() {
        let section = "## ❌ cargo-tek: 1 task failed\ntext\n### Failed\n````text\n## not a heading\n```\n### still code\n````\n### By queue\n";
        assert_eq!(
            retitle(section, "linux"),
            "### ❌ linux: 1 task failed\ntext\n#### Failed\n````text\n## not a heading\n```\n### still code\n````\n#### By queue\n"
        );
        assert_eq!(retitle("custom\n", "mac"), "### mac\ncustom\n");
    }
}
