//! The run stamp on a sticky comment: which workflow run and attempt wrote it, for which
//! commit. GitHub numbers runs in the order they start and re-runs by attempt, so the pair
//! orders writers in time; a run never replaces a comment that a newer run wrote (a slow
//! job of an old push finishing after the new push's job, say).

/// Who wrote a comment: `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT` and the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunStamp {
    pub(crate) run_id: u64,
    pub(crate) attempt: u64,
    /// The PR's head commit (or `GITHUB_SHA`), hex only; informational.
    pub(crate) sha: String,
}

const PREFIX: &str = "<!-- cargo-tek:run ";

impl RunStamp {
    /// Reads the stamp of this run; `None` outside a workflow run (a local report), whose
    /// comments are then treated as older than any stamped one.
    pub(crate) fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        head_sha: Option<&str>,
    ) -> Option<Self> {
        let number = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok());
        let run_id = number("GITHUB_RUN_ID")?;
        let attempt = number("GITHUB_RUN_ATTEMPT").unwrap_or(1);
        let sha = head_sha
            .map(str::to_string)
            .or_else(|| env("GITHUB_SHA"))
            .unwrap_or_default();
        Some(Self {
            run_id,
            attempt,
            sha: hex_only(&sha),
        })
    }

    /// The hidden line written right after the comment's marker.
    pub(crate) fn line(&self) -> String {
        format!(
            "{PREFIX}id={} attempt={} sha={} -->",
            self.run_id, self.attempt, self.sha
        )
    }

    /// The stamp in a comment body (one of its first lines), if it has one.
    pub(crate) fn parse(body: &str) -> Option<Self> {
        let line = body
            .lines()
            .take(3)
            .find_map(|l| l.trim().strip_prefix(PREFIX))?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Self {
            run_id: field("id")?.parse().ok()?,
            attempt: field("attempt")?.parse().ok()?,
            sha: hex_only(field("sha").unwrap_or("")),
        })
    }

    /// True when `self` was written by a later run (or a later attempt of the same run)
    /// than `other`.
    pub(crate) fn is_newer_than(&self, other: &Self) -> bool {
        (self.run_id, self.attempt) > (other.run_id, other.attempt)
    }
}

fn hex_only(sha: &str) -> String {
    sha.chars()
        .filter(char::is_ascii_hexdigit)
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_runs_then_attempts() {
        let vars = [
            ("GITHUB_RUN_ID", "1200"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_SHA", "abc123 --> <b>"),
        ];
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let stamp = RunStamp::from_env(&env, None).unwrap();
        assert_eq!(stamp.sha, "abc123b", "only hex digits survive");
        let body = format!("<!-- marker -->\n{}\nreport", stamp.line());
        assert_eq!(RunStamp::parse(&body), Some(stamp.clone()));
        let older_attempt = RunStamp {
            attempt: 1,
            ..stamp.clone()
        };
        let newer_run = RunStamp {
            run_id: 1300,
            attempt: 1,
            ..stamp.clone()
        };
        assert!(stamp.is_newer_than(&older_attempt));
        assert!(newer_run.is_newer_than(&stamp));
        assert!(!stamp.is_newer_than(&stamp));
        assert_eq!(RunStamp::from_env(&|_| None, Some("ff")), None);
        assert_eq!(RunStamp::parse("<!-- marker -->\nno stamp"), None);
    }
}
