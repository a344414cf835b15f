//! What a finished run amounts to. The runner decides the verdict; only `commands/` turns
//! it into an exit code, so the runner needs nothing of the CLI's error type.

/// The outcome of a whole run, most serious first when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every selected task passed (or was carried forward as passed).
    Passed,
    /// At least one task failed, timed out, was skipped or cancelled.
    TasksFailed,
    /// Evidence could not be written in full: the run's record cannot be trusted whole,
    /// which outranks the tasks' own results.
    EvidenceLost,
    /// Stopped by this signal number.
    Interrupted(i32),
}

impl Verdict {
    /// The verdict once the recorder has said whether evidence was lost.
    pub(crate) fn with_evidence_lost(self, lost: bool) -> Self {
        match self {
            Verdict::Passed | Verdict::TasksFailed if lost => Verdict::EvidenceLost,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict::*;

    #[test]
    fn lost_evidence_outranks_task_results_but_not_a_signal() {
        assert_eq!(Passed.with_evidence_lost(true), EvidenceLost);
        assert_eq!(TasksFailed.with_evidence_lost(true), EvidenceLost);
        assert_eq!(Interrupted(15).with_evidence_lost(true), Interrupted(15));
        assert_eq!(TasksFailed.with_evidence_lost(false), TasksFailed);
    }
}
