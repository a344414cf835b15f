//! `cargo tek plan`.

use std::mem::ManuallyDrop;

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, ExitCode};
use crate::evidence::write_atomic;
use crate::plan::render_text;

use super::Context;

pub fn run(ctx: &Context, args: PlanArgs) -> Result<ExitCode, Error> {
    // The process ends right after this command; freeing a 50,000-task project piece by
    // piece costs about a sixth of the planning time and gains nothing.
    let project = ManuallyDrop::new(ctx.project(None)?);
    let plan = &project.plan;
    let json = || -> Result<Vec<u8>, Error> {
        let mut bytes =
            serde_json::to_vec_pretty(plan).map_err(|e| Error::Evidence(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    };
    if let Some(out) = &args.out {
        let path = ctx.cwd.join(out);
        write_atomic(&path, &json()?)
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
        Some(PlanFormat::Json) => ctx.output.stdout_bytes(&json()?),
        Some(PlanFormat::Text) => ctx.output.stdout(&render_text(plan)),
        None if args.out.is_none() => ctx.output.stdout(&render_text(plan)),
        None => {}
    }
    Ok(ExitCode::Success)
}
