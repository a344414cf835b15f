//! `cargo tek plan`.

use std::io::Write;
use std::mem::ManuallyDrop;
use std::path::Path;

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, ExitCode};
use crate::plan::{render_text, Plan};

use super::Context;

pub(crate) fn run(ctx: &Context, args: PlanArgs) -> Result<ExitCode, Error> {
    // The process ends right after this command; freeing a 50,000-task project piece by
    // piece costs about a sixth of the planning time and gains nothing.
    let mut project = ManuallyDrop::new(ctx.project(None)?);
    let legs = crate::plan::leg::os_values(&project.plan);
    if !legs.is_empty() {
        return os_legs(ctx, &project, &args, &legs);
    }
    if args.format == Some(PlanFormat::Matrix) && args.shards.is_none() {
        return Err(Error::Usage(
            "--format matrix needs --shards N: the matrix lists the shards".into(),
        ));
    }
    if let (Some(name), None) = (&args.github_output, args.shards) {
        return Err(Error::Usage(format!(
            "--github-output {name} needs --shards N (or a hook matrix with an `os` axis): the output is the matrix of jobs"
        )));
    }
    if let Some(shards) = args.shards {
        let project = &mut *project;
        let parts = super::shard::Parts {
            workspace: &project.workspace,
            graph: &project.graph,
            hooks: &project.hooks,
            manifest: &project.manifest,
        };
        super::shard::split_project(
            ctx,
            &parts,
            &mut project.plan,
            super::shard::Split {
                shards,
                durations: &args.durations,
                workers: args.max_workers,
                affected: None,
            },
            args.affected
                .as_deref()
                .map(|base| (base, args.affected_deps)),
        )?;
    }
    let plan = &project.plan;
    if let (Some(name), Some(shards)) = (&args.github_output, &plan.shards) {
        github_output(name, &shards.layout.matrix())?;
    }
    if let Some(out) = &args.out {
        let path = ctx.cwd.join(out);
        write_json_atomic(&path, plan)
            .map_err(Error::io(format!("failed to write `{}`", path.display())))?;
        let tasks: usize = plan.queues.iter().map(|q| q.tasks.len()).sum();
        ctx.output.status(
            "Planned",
            format!(
                "{}, {} → {}",
                crate::output::count(plan.queues.len(), "queue", "queues"),
                crate::output::count(tasks, "task", "tasks"),
                out.display()
            ),
        );
    }
    match args.format {
        Some(PlanFormat::Json) => ctx.output.stdout_with(|w| write_json(w, plan)),
        Some(PlanFormat::Text) => ctx.output.stdout(&render_text(plan)),
        Some(PlanFormat::Matrix) => {
            if let Some(shards) = &plan.shards {
                ctx.output.stdout(&format!("{}\n", shards.layout.matrix()));
            }
        }
        None if args.out.is_none() => ctx.output.stdout(&render_text(plan)),
        None => {}
    }
    Ok(ExitCode::Success)
}

/// A plan with `os` legs: the matrix lists the legs (and each leg's shards); the plan
/// file and the text are the whole plan, every leg's combinations.
fn os_legs(
    ctx: &Context,
    project: &crate::project::Project,
    args: &PlanArgs,
    legs: &[String],
) -> Result<ExitCode, Error> {
    let wants_matrix = args.format == Some(PlanFormat::Matrix) || args.github_output.is_some();
    if args.shards.is_some() && !wants_matrix {
        return Err(Error::Usage(format!(
            "--shards: a hook matrix has an `os` axis ({}), so each leg has its own shards; print them with --format matrix (or --github-output), and let each job run `cargo tek run --leg os=VALUE --shard K/N`",
            legs.join(", ")
        )));
    }
    if args.shards.is_some() && args.out.is_some() {
        return Err(Error::Usage(
            "--out with --shards: a hook matrix has an `os` axis, so each leg splits its own combinations in place (`run --leg os=VALUE --shard K/N`, no --plan)".into(),
        ));
    }
    let plan = &project.plan;
    if let Some(out) = &args.out {
        let path = ctx.cwd.join(out);
        write_json_atomic(&path, plan)
            .map_err(Error::io(format!("failed to write `{}`", path.display())))?;
    }
    if wants_matrix {
        let matrix = super::plan_legs::matrix(ctx, project, args, legs)?;
        if let Some(name) = &args.github_output {
            github_output(name, &matrix)?;
        }
        if args.format == Some(PlanFormat::Matrix) {
            ctx.output.stdout(&format!("{matrix}\n"));
        }
        return Ok(ExitCode::Success);
    }
    match args.format {
        Some(PlanFormat::Json) => ctx.output.stdout_with(|w| write_json(w, plan)),
        None if args.out.is_some() => {}
        _ => ctx.output.stdout(&render_text(plan)),
    }
    Ok(ExitCode::Success)
}

/// `--github-output NAME`: the matrix as a step output, for
/// `fromJSON(needs.<job>.outputs.NAME)`.
fn github_output(name: &str, matrix: &str) -> Result<(), Error> {
    let Some(path) = crate::supervise::secrets::var("GITHUB_OUTPUT").filter(|p| !p.is_empty())
    else {
        return Err(Error::Usage(format!(
            "--github-output {name}: $GITHUB_OUTPUT is not set (outside GitHub Actions, drop the flag and read the matrix from stdout with --format matrix)"
        )));
    };
    crate::github::append_step_outputs(Path::new(&path), &[(name, matrix)]).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            Error::Usage(format!("--github-output: {e}"))
        } else {
            Error::Io {
                context: format!("failed to append to $GITHUB_OUTPUT (`{path}`)"),
                source: e,
            }
        }
    })
}

/// The plan as pretty JSON, streamed: a 50,000-task plan is 17 MB of text that need
/// never be held in memory at once.
fn write_json(writer: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, writer);
    serde_json::to_writer_pretty(&mut buffered, plan)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// Writes the plan to `path` atomically (temp file in the same directory, fsync,
/// rename), streaming it like [`write_json`].
fn write_json_atomic(path: &Path, plan: &Plan) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    write_json(tmp.as_file_mut(), plan)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
