//! A command's time limit, as users read hooks.json: a hook's `timeout` limits the whole
//! task (all its commands together, counted afresh for each attempt); a command's own
//! `timeout` limits that command; `--timeout` applies to each command when neither is
//! set. When both apply, the sooner wins.

use std::time::{Duration, Instant};

/// Who set the limit that applies to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The command's own `timeout`.
    Command,
    /// The hook's `timeout`, shared by the task's commands.
    Hook,
    /// `--timeout`.
    Default,
}

/// The limit of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    /// How long this command may run.
    pub(crate) duration: Duration,
    pub(crate) source: Source,
}

/// The clock of one attempt of a task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskClock {
    /// The hook's limit and when the attempt started.
    budget: Option<(Duration, Instant)>,
}

impl TaskClock {
    /// Starts an attempt under the hook's `timeout`, if it has one.
    pub(crate) fn start(hook: Option<Duration>) -> Self {
        Self {
            budget: hook.map(|d| (d, Instant::now())),
        }
    }

    /// The limit of a command starting now, with its own `timeout` and `--timeout`.
    pub(crate) fn limit(
        &self,
        command: Option<Duration>,
        default: Option<Duration>,
    ) -> Option<Limit> {
        let remaining = self.budget.map(|(total, started)| Limit {
            duration: total.saturating_sub(started.elapsed()),
            source: Source::Hook,
        });
        let own = command.map(|duration| Limit {
            duration,
            source: Source::Command,
        });
        match (own, remaining) {
            (Some(own), Some(rest)) if rest.duration < own.duration => Some(rest),
            (Some(own), _) => Some(own),
            (None, Some(rest)) => Some(rest),
            (None, None) => default.map(|duration| Limit {
                duration,
                source: Source::Default,
            }),
        }
    }

    /// Why a command that hit `limit` was stopped, for the task's reason.
    pub(crate) fn explain(&self, limit: Limit) -> String {
        let human = |d: Duration| humantime::format_duration(round(d)).to_string();
        match limit.source {
            Source::Command => format!("its own timeout of {}", human(limit.duration)),
            Source::Hook => {
                let total = self.budget.map_or(limit.duration, |(total, _)| total);
                format!(
                    "the task's timeout of {} (hook `timeout`, for all its commands) ran out",
                    human(total)
                )
            }
            Source::Default => format!("--timeout {}", human(limit.duration)),
        }
    }
}

/// Milliseconds are enough for a message.
fn round(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_limits_the_task_and_the_command_itself() {
        let s = Duration::from_secs;
        let none = TaskClock::start(None);
        assert_eq!(none.limit(None, None), None);
        assert_eq!(
            none.limit(None, Some(s(9))).unwrap().source,
            Source::Default
        );
        assert_eq!(
            none.limit(Some(s(2)), Some(s(9))).unwrap().source,
            Source::Command
        );

        let clock = TaskClock::start(Some(s(3)));
        let l = clock.limit(None, Some(s(9))).unwrap();
        assert_eq!(l.source, Source::Hook);
        assert!(l.duration <= s(3) && l.duration > s(2));
        assert_eq!(
            clock.limit(Some(s(1)), None).unwrap().source,
            Source::Command
        );
        assert_eq!(clock.limit(Some(s(5)), None).unwrap().source, Source::Hook);
        assert!(clock.explain(l).contains("the task's timeout of 3s"));

        let spent = TaskClock {
            budget: Some((s(1), Instant::now() - s(2))),
        };
        assert_eq!(spent.limit(None, None).unwrap().duration, Duration::ZERO);
    }
}
