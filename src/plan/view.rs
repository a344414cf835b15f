//! The readable view of a plan, for `cargo tek plan` on a terminal.

use std::fmt::Write;

use super::{HookSource, Plan};
use crate::text::{count, sanitize, shell_words};

/// Renders the plan as indented text: queues, tasks with done marks, dependencies, the
/// layer and what each task would run and why. Text from sot.md is made safe for the
/// terminal.
pub(crate) fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let tasks: usize = plan.queues.iter().map(|q| q.tasks.len()).sum();
    let done = plan.tasks().filter(|(_, t)| t.done).count();
    let _ = write!(
        out,
        "plan of {}: {}, {}",
        sanitize(&plan.source),
        count(plan.queues.len(), "queue", "queues"),
        count(tasks, "task", "tasks"),
    );
    if done > 0 {
        let _ = write!(
            out,
            " ({done} done, skipped by `run` unless --include-done)"
        );
    }
    out.push('\n');
    for queue in &plan.queues {
        let _ = write!(out, "\n{}", sanitize(&queue.name));
        if !queue.after.is_empty() {
            let after: Vec<_> = queue.after.iter().map(|a| sanitize(a)).collect();
            let _ = write!(out, "  (after {})", after.join(", "));
        }
        if queue.serial {
            let _ = write!(out, "  (one at a time)");
        }
        out.push('\n');
        for task in &queue.tasks {
            let mark = if task.done { "[x]" } else { "[ ]" };
            let _ = writeln!(
                out,
                "  {mark} {}  {}",
                sanitize(&task.id),
                sanitize(&task.title)
            );
            if !task.after.is_empty() {
                let after: Vec<_> = task.after.iter().map(|a| sanitize(a)).collect();
                let _ = writeln!(out, "        after {}", after.join(", "));
            }
            let layer = format!("layer {}", sanitize(&task.layer));
            if let Some(runs) = &task.runs {
                let why = match runs.hook {
                    HookSource::Task => "task hook",
                    HookSource::Queue => "queue hook",
                    HookSource::None => "no hook",
                };
                let colon = if runs.commands.is_empty() { "" } else { ":" };
                let _ = writeln!(
                    out,
                    "        {layer}, runs on {} ({why}){colon}",
                    sanitize(&runs.agent)
                );
                match &runs.compile_once {
                    Some(package) => {
                        let _ = writeln!(
                            out,
                            "          compile once: the test binaries of `{}`, built by one \
                             `cargo test --workspace --no-run` for all such tasks (doctests not run)",
                            sanitize(package)
                        );
                    }
                    None => {
                        for (i, argv) in runs.commands.iter().enumerate() {
                            let mut shown = format!("$ {}", shell_words(argv));
                            if let Some(cwd) = runs.cwds.get(i).filter(|c| *c != ".") {
                                shown.push_str(&format!("  (in {cwd})"));
                            }
                            let _ = writeln!(out, "          {}", sanitize(&shown));
                        }
                    }
                }
            } else {
                let _ = writeln!(out, "        {layer}");
            }
        }
    }
    out
}
