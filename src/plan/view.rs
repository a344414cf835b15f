//! The readable view of a plan, for `cargo tek plan` on a terminal.

use std::fmt::Write;

use super::{HookSource, Plan};

/// Renders the plan as indented text: queues, tasks with done marks, dependencies, and
/// what each task would run and why.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let tasks: usize = plan.queues.iter().map(|q| q.tasks.len()).sum();
    let done = plan.tasks().filter(|(_, t)| t.done).count();
    let _ = writeln!(
        out,
        "plan of {} ({} queues, {tasks} tasks, {done} done)",
        plan.source,
        plan.queues.len()
    );
    for queue in &plan.queues {
        let _ = write!(out, "\n{}", queue.name);
        if !queue.after.is_empty() {
            let _ = write!(out, "  (after {})", queue.after.join(", "));
        }
        if queue.serial {
            let _ = write!(out, "  (one at a time)");
        }
        out.push('\n');
        for task in &queue.tasks {
            let mark = if task.done { "[x]" } else { "[ ]" };
            let _ = write!(out, "  {mark} {}  {}", task.id, task.title);
            let _ = write!(out, "  <{}>", task.layer);
            out.push('\n');
            if !task.after.is_empty() {
                let _ = writeln!(out, "        after {}", task.after.join(", "));
            }
            if let Some(runs) = &task.runs {
                let why = match runs.hook {
                    HookSource::Task => "task hook",
                    HookSource::Queue => "queue hook",
                    HookSource::None => "no hook",
                };
                if runs.commands.is_empty() {
                    let _ = writeln!(out, "        runs on {} ({why})", runs.agent);
                } else {
                    let _ = writeln!(out, "        runs on {} ({why}):", runs.agent);
                    for argv in &runs.commands {
                        let _ = writeln!(out, "          $ {}", shell_words(argv));
                    }
                }
            }
        }
    }
    out
}

/// Quotes argv for display only (never executed).
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
