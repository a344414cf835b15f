//! `cargo tek plan`.

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, ExitCode};
use crate::evidence::write_atomic;
use crate::plan::render_text;

use super::Context;

pub fn run(ctx: &Context, args: PlanArgs) -> Result<ExitCode, Error> {
    let project = ctx.project(None)?;
    let plan = &project.plan;
    let json =
        serde_json::to_string_pretty(plan).map_err(|e| Error::Evidence(e.to_string()))? + "\n";
    if let Some(out) = &args.out {
        let path = ctx.cwd.join(out);
        write_atomic(&path, json.as_bytes())
            .map_err(Error::io(format!("failed to write `{}`", path.display())))?;
        let tasks: usize = plan.queues.iter().map(|q| q.tasks.len()).sum();
        ctx.output.status(
            "Planned",
            format!(
                "{} queues, {tasks} tasks → {}",
                plan.queues.len(),
                out.display()
            ),
        );
    }
    match args.format {
        Some(PlanFormat::Json) => ctx.output.stdout(&json),
        Some(PlanFormat::Text) => ctx.output.stdout(&render_text(plan)),
        None if args.out.is_none() => ctx.output.stdout(&render_text(plan)),
        None => {}
    }
    Ok(ExitCode::Success)
}
