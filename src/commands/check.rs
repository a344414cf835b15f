//! `cargo tek check`.

use crate::check::{check, Settings, Severity};
use crate::cli::CheckArgs;
use crate::error::{Error, ExitCode};

use super::Context;

pub(crate) fn run(ctx: &Context, args: CheckArgs) -> Result<ExitCode, Error> {
    let project = ctx.fresh_project(args.runs_dir.clone())?;
    let bounds = crate::project::cwd_bounds(
        &project.workspace.root,
        &project.manifest,
        project.manifest_source.as_ref(),
    )?;
    let findings = check(
        &project,
        &Settings {
            bounds: &bounds,
            path: std::env::var_os("PATH"),
            allow_noop: args.allow_noop,
            split_cost: (!project.manifest.compile_once)
                .then(|| crate::compile_once::split_cost(&project.workspace.runs_dir))
                .flatten(),
        },
    );
    let legacy_errors = ctx.legacy_gaps(&project, args.strict_legacy);
    for finding in &findings.shown {
        match finding.severity {
            Severity::Error => ctx.output.diagnostic("error", &finding.diagnostic),
            Severity::Warning => ctx.output.diagnostic("warning", &finding.diagnostic),
            Severity::Note if ctx.output.verbosity() > 0 => {
                ctx.output.diagnostic("note", &finding.diagnostic)
            }
            Severity::Note => {}
        }
    }
    for (severity, one, many) in [
        (Severity::Error, "more error", "more errors"),
        (Severity::Warning, "more warning", "more warnings"),
    ] {
        let hidden = findings.hidden[severity as usize];
        if hidden > 0 {
            ctx.output.info(format!(
                "... and {} not shown",
                crate::text::count(hidden, one, many)
            ));
        }
    }
    let sandboxes = crate::check::sandboxes(&project);
    if !sandboxes.groups.is_empty() || !sandboxes.refused.is_empty() {
        ctx.output.status(
            "Sandbox",
            format!(
                "this kernel has {} (write rules need ABI {}, net rules ABI {})",
                crate::supervise::sandbox::describe_abi(sandboxes.abi),
                crate::supervise::sandbox::WRITE_ABI,
                crate::supervise::sandbox::NET_ABI,
            ),
        );
    }
    for (rules, tasks) in &sandboxes.groups {
        const SHOWN: usize = 10;
        let mut names = tasks[..tasks.len().min(SHOWN)].join(", ");
        if tasks.len() > SHOWN {
            names.push_str(&format!(" and {} more", tasks.len() - SHOWN));
        }
        ctx.output.status("Sandbox", format!("{names}: {rules}"));
    }
    let errors = legacy_errors + findings.count(Severity::Error);
    let tasks = project.plan.tasks().count();
    if errors > 0 {
        ctx.output.status_error(
            "Failed",
            format!(
                "{} in {} and config",
                crate::text::count(errors, "error", "errors"),
                project.sot.name
            ),
        );
        return Err(Error::CheckFailed(errors));
    }
    ctx.output.status(
        "Checked",
        format!(
            "{}, {}, {}: ok",
            crate::text::count(project.plan.queues.len(), "queue", "queues"),
            crate::text::count(tasks, "task", "tasks"),
            crate::text::count(project.hooks.len(), "hook", "hooks")
        ),
    );
    Ok(ExitCode::Success)
}
