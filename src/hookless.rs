//! Tasks that would run as a `noop` without anyone asking for it: no hook for the task
//! or its queue, and no manifest rule routing it to the `noop` agent. A CI gate whose
//! tasks silently run nothing is green by accident, so a run where no task has a hook is
//! refused, and a run where some have none names them.

use crate::config::{Hooks, Manifest};

/// How the tasks of a run are covered by hooks.
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    /// Tasks considered.
    pub(crate) tasks: usize,
    /// Tasks with a hook of their own or their queue's.
    pub(crate) with_hook: usize,
    /// Hookless tasks that manifest.json routes to `noop` on purpose.
    pub(crate) asked_noop: usize,
    /// Hookless tasks nobody routed anywhere, in plan order.
    pub(crate) unasked: Vec<String>,
}

impl Coverage {
    /// Looks at `tasks` (id and queue name of each task the run would start).
    pub(crate) fn of<'a>(
        tasks: impl IntoIterator<Item = (&'a str, &'a str)>,
        hooks: &Hooks,
        manifest: &Manifest,
    ) -> Self {
        let mut coverage = Self::default();
        for (id, queue) in tasks {
            coverage.tasks += 1;
            if crate::plan::hook_of(id, queue, hooks).0.is_some() {
                coverage.with_hook += 1;
                continue;
            }
            let configured = manifest
                .queue(queue)
                .and_then(|q| q.agent.as_deref())
                .or_else(|| manifest.layer(id).and_then(|l| l.agent.as_deref()));
            if configured == Some("noop") {
                coverage.asked_noop += 1;
            } else {
                coverage.unasked.push(id.to_owned());
            }
        }
        coverage
    }

    /// Whether nothing would run at all although nobody asked for that.
    pub(crate) fn nothing_would_run(&self) -> bool {
        self.with_hook == 0 && !self.unasked.is_empty()
    }

    /// The unasked tasks for a message: the first few by id, then how many more.
    pub(crate) fn names(&self) -> String {
        const SHOWN: usize = 10;
        let mut text = self
            .unasked
            .iter()
            .take(SHOWN)
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.unasked.len() > SHOWN {
            text.push_str(&format!(" and {} more", self.unasked.len() - SHOWN));
        }
        text
    }

    /// The warning for a run where some tasks have no hook.
    pub(crate) fn warning(&self) -> String {
        let n = self.unasked.len();
        let (tasks, have) = if n == 1 {
            ("task has", "it runs")
        } else {
            ("tasks have", "they run")
        };
        format!(
            "{n} {tasks} no hook, so {have} as a noop (not run): {}",
            self.names()
        )
    }

    /// The error for a run where no task has a hook. `hooks_file` is hooks.json as shown
    /// to the user; `hooks` tells an absent file from an empty or unrelated one.
    pub(crate) fn error(&self, hooks: &Hooks, hooks_file: &str) -> NothingWouldRun {
        let n = self.tasks;
        let why = if hooks.source.is_none() {
            format!("`{hooks_file}` does not exist")
        } else if hooks.is_empty() {
            format!("`{hooks_file}` has no hooks")
        } else {
            format!(
                "none of the {} in `{hooks_file}` names one of these tasks or their queues",
                plural(hooks.len(), "hook", "hooks")
            )
        };
        NothingWouldRun {
            message: format!(
                "{why}: {} to run, none with a hook, so nothing would be checked ({})",
                plural(n, "task", "tasks"),
                self.names()
            ),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What to do when nothing would run.
pub(crate) const HELP: &str = "add hooks for the tasks or their queues in hooks.json; if running nothing is intended, route them to the noop agent in manifest.json (\"agent\": \"noop\" on a layer or queue) or pass --allow-noop";

/// A run that would run nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(help("{}", HELP))]
pub(crate) struct NothingWouldRun {
    pub(crate) message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn hooks(text: &str) -> Hooks {
        Hooks::load(SourceFile::from_bytes("hooks.json".into(), text.into()).unwrap()).unwrap()
    }

    #[test]
    fn tells_hooked_asked_and_unasked_tasks_apart() {
        let h = hooks(r#"{"T-1": {"commands": [{"cmd": ["true"]}]}, "Q2": {"commands": []}}"#);
        let manifest: Manifest =
            serde_json::from_str(r#"{"layers": [{"name": "x", "ids": ["T-3"], "agent": "noop"}]}"#)
                .unwrap();
        let c = Coverage::of(
            [("T-1", "Q1"), ("T-2", "Q2"), ("T-3", "Q1"), ("T-4", "Q1")],
            &h,
            &manifest,
        );
        assert_eq!((c.tasks, c.with_hook, c.asked_noop), (4, 2, 1));
        assert_eq!(c.unasked, ["T-4"]);
        assert!(!c.nothing_would_run());
        assert_eq!(
            c.warning(),
            "1 task has no hook, so it runs as a noop (not run): `T-4`"
        );

        let none = Coverage::of([("T-4", "Q1")], &Hooks::default(), &manifest);
        assert!(none.nothing_would_run());
        assert!(none
            .error(&Hooks::default(), "config/hooks.json")
            .message
            .starts_with("`config/hooks.json` does not exist"));
        let asked = Coverage::of([("T-3", "Q1")], &Hooks::default(), &manifest);
        assert!(!asked.nothing_would_run());
    }

    #[test]
    fn long_lists_are_cut() {
        let ids: Vec<String> = (0..25).map(|i| format!("T-{i}")).collect();
        let c = Coverage::of(
            ids.iter().map(|i| (i.as_str(), "Q")),
            &Hooks::default(),
            &Manifest::default(),
        );
        assert!(c.names().ends_with("`T-9` and 15 more"), "{}", c.names());
    }
}
