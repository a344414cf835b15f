//! Failures that look the same are shown once: the combinations of a matrix that all
//! stopped at one step (ten cross builds whose download failed) would otherwise fill the
//! report, and the comment's size budget, with ten copies of one log.

use super::context::{Failure, FAILURES_OPEN};

/// Marks each failure that has the same title, reason, cause and log tails as an earlier
/// one: the earlier one lists its id in `alike`, it names the earlier one in `same_as`.
/// Nothing is removed, so a template that ignores both still shows every failure. Only
/// failures with some output are matched: two silent exits say too little to be called
/// the same. The first [`FAILURES_OPEN`] of the failures shown are open.
pub(super) fn mark(mut failures: Vec<Failure>) -> Vec<Failure> {
    for later in 1..failures.len() {
        if failures[later].logs.is_empty() {
            continue;
        }
        let (before, rest) = failures.split_at_mut(later);
        let failure = &mut rest[0];
        if let Some(first) = before
            .iter_mut()
            .find(|f| f.same_as.is_none() && same(f, failure))
        {
            first.alike.push(failure.id.clone());
            failure.same_as = Some(first.id.clone());
        }
    }
    let mut shown = 0;
    for failure in &mut failures {
        failure.open = failure.same_as.is_none() && shown < FAILURES_OPEN;
        shown += usize::from(failure.same_as.is_none());
    }
    failures
}

fn same(a: &Failure, b: &Failure) -> bool {
    a.title_html == b.title_html
        && a.reason_html == b.reason_html
        && a.emoji == b.emoji
        && a.cause_html == b.cause_html
        && a.cause_block == b.cause_block
        && a.more_html == b.more_html
        && a.logs.len() == b.logs.len()
        && a.logs
            .iter()
            .zip(&b.logs)
            .all(|(x, y)| x.of == y.of && x.block == y.block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::context::LogTail;

    fn failure(id: &str, reason: &str, output: Option<&str>) -> Failure {
        Failure {
            id: id.to_owned(),
            title_html: "Build".to_owned(),
            reason_html: reason.to_owned(),
            emoji: "❌",
            cause_html: None,
            cause_block: None,
            more_html: Vec::new(),
            open: false,
            logs: output
                .map(|text| LogTail {
                    label: format!("stderr of command 3 (full log: logs/{id}/cmd3)"),
                    of: "stderr of command 3".to_owned(),
                    block: format!("```text\n{text}\n```\n"),
                })
                .into_iter()
                .collect(),
            alike: Vec::new(),
            same_as: None,
        }
    }

    #[test]
    fn the_same_output_is_marked_on_the_first_and_its_repeats_stay_in_the_list() {
        let marked = mark(vec![
            failure("a", "exit 6", Some("no host")),
            failure("b", "exit 1", Some("test x failed")),
            failure("c", "exit 6", Some("no host")),
            failure("d", "exit 6", Some("no host")),
            failure("e", "exit 6", Some("other host")),
            failure("f", "exit 1", None),
            failure("g", "exit 1", None),
        ]);
        let seen: Vec<(&str, Vec<&str>, Option<&str>, bool)> = marked
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.alike.iter().map(String::as_str).collect(),
                    f.same_as.as_deref(),
                    f.open,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", vec!["c", "d"], None, true),
                ("b", vec![], None, true),
                ("c", vec![], Some("a"), false),
                ("d", vec![], Some("a"), false),
                ("e", vec![], None, true),
                ("f", vec![], None, false),
                ("g", vec![], None, false)
            ]
        );
    }
}
