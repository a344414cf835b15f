//! `cargo tek check`.

use crate::check::{check, Severity};
use crate::cli::CheckArgs;
use crate::error::{Error, ExitCode};

use super::Context;

pub fn run(ctx: &Context, args: CheckArgs) -> Result<ExitCode, Error> {
    let project = ctx.fresh_project()?;
    let path = std::env::var_os("PATH");
    let findings = check(&project, path.as_deref());
    let mut errors = ctx.legacy_gaps(&project, args.strict_legacy);
    let mut notes = 0;
    for finding in &findings {
        match finding.severity {
            Severity::Error => {
                errors += 1;
                ctx.output.diagnostic("error", &finding.diagnostic);
            }
            Severity::Warning => ctx.output.diagnostic("warning", &finding.diagnostic),
            Severity::Note => {
                notes += 1;
                if ctx.output.verbosity() > 0 {
                    ctx.output.diagnostic("note", &finding.diagnostic);
                }
            }
        }
    }
    let tasks = project.plan.tasks().count();
    if notes > 0 && ctx.output.verbosity() == 0 {
        ctx.output.info(format!(
            "note: {notes} task(s) have no hook and will run as noop (-v to list them)"
        ));
    }
    if errors > 0 {
        ctx.output.status_error(
            "Failed",
            format!("{errors} error(s) in {} and config", project.sot.name),
        );
        return Err(Error::CheckFailed(errors));
    }
    ctx.output.status(
        "Checked",
        format!(
            "{} queues, {tasks} tasks, {} hooks: ok",
            project.plan.queues.len(),
            project.hooks.len()
        ),
    );
    Ok(ExitCode::Success)
}
