//! `cargo tek report`, and the publishing step `run --report` reuses.

use std::path::PathBuf;

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::{Error, ExitCode};
use crate::evidence::{load_run, run_dir, write_atomic};
use crate::github::{self, GitHubContext, RetryPolicy};
use crate::report::limit::{Unit, JOB_SUMMARY_LIMIT, PR_COMMENT_LIMIT};
use crate::report::{context::ci_url, render_within, Renderer, Request};

use super::Context;

pub async fn run(ctx: &Context, args: ReportArgs) -> Result<ExitCode, Error> {
    publish(ctx, &args, false).await
}

/// Renders the run and sends it where asked. `after_run` means the run command called
/// it, so nothing goes to stdout.
pub async fn publish(ctx: &Context, args: &ReportArgs, after_run: bool) -> Result<ExitCode, Error> {
    let workspace = ctx.workspace(args.runs_dir.clone());
    let run = match (&args.run, &workspace) {
        (Some(dir), _) => load_run(&ctx.cwd.join(dir)).map_err(Error::Evidence)?,
        (None, Ok(ws)) => {
            // A directory without a readable run (a crash before its first write, a
            // broken artifact) is named and passed over for the newest readable one.
            let (run, unreadable) = run_dir::newest_readable(&ws.runs_dir);
            for u in &unreadable {
                ctx.output.warn(format!(
                    "skipping `{}`: no readable run ({})",
                    u.dir.display(),
                    u.why
                ));
            }
            run.ok_or_else(|| {
                Error::Usage(format!(
                    "no readable run under `{}`; run `cargo tek run` first or pass --run DIR",
                    ws.runs_dir.display()
                ))
            })?
        }
        (None, Err(_)) => {
            return Err(workspace
                .err()
                .unwrap_or_else(|| Error::Usage("no workspace".into())))
        }
    };
    let dir: PathBuf = run.dir.clone();
    if run.incomplete {
        ctx.output.warn(format!(
            "run `{}` did not finish; reporting from its journal",
            dir.display()
        ));
    }
    // Under `run --report` the tokens are held in memory, not in the environment.
    let env = crate::supervise::secrets::var;
    let token = env("GITHUB_TOKEN").filter(|t| !t.is_empty());
    let secrets: Vec<&str> = token.iter().map(String::as_str).collect();

    if args.format == ReportFormat::Json {
        let json = serde_json::to_string_pretty(&run.record)
            .map_err(|e| Error::Evidence(e.to_string()))?
            + "\n";
        emit(
            ctx,
            args.out.as_ref().map(|o| ctx.cwd.join(o)),
            &json,
            after_run,
        )?;
        return Ok(ExitCode::Success);
    }

    let templates = workspace.as_ref().ok().map(|ws| ws.templates_dir.clone());
    let renderer = Renderer::new(
        templates.as_deref(),
        args.template.as_ref().map(|t| ctx.cwd.join(t)).as_deref(),
    )
    .map_err(crate::error::Error::from)?;
    let ci = ci_url(&env);
    let request = |marker: Option<String>, limit: usize, unit: Unit| Request {
        run: &run,
        marker,
        ci_url: ci.clone(),
        secrets: &secrets,
        limit,
        unit,
    };

    let body = render_within(&renderer, &request(None, usize::MAX, Unit::Bytes))?;
    if args.out.is_some()
        || (!args.job_summary && !args.pr_comment && !after_run && args.save_comment.is_none())
    {
        emit(
            ctx,
            args.out.as_ref().map(|o| ctx.cwd.join(o)),
            &body,
            after_run,
        )?;
    }

    if args.job_summary {
        match env("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            Some(path) => {
                // GitHub drops a step summary over 1 MiB whole, so what earlier steps
                // already wrote counts against our share.
                let used = std::fs::metadata(&path)
                    .map(|m| m.len() as usize)
                    .unwrap_or(0);
                let room = JOB_SUMMARY_LIMIT.saturating_sub(used + 1);
                let summary = render_within(&renderer, &request(None, room, Unit::Bytes))?;
                // Off the runtime's threads: the file may block (a FIFO nobody reads), and
                // a signal must still end the command.
                let file = std::path::PathBuf::from(&path);
                tokio::task::spawn_blocking(move || github::append_job_summary(&file, &summary))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
                    .map_err(Error::io(format!(
                        "failed to append to $GITHUB_STEP_SUMMARY (`{path}`)"
                    )))?;
                ctx.output.status("Summarized", "job summary written");
            }
            None if args.strict => {
                return Err(Error::Usage(
                    "--job-summary: GITHUB_STEP_SUMMARY is not set".into(),
                ))
            }
            None => ctx
                .output
                .warn("--job-summary: GITHUB_STEP_SUMMARY is not set; skipping the job summary"),
        }
    }

    let marker = github::marker(&args.key);
    let comment_body = |limit: usize| {
        render_within(
            &renderer,
            &request(Some(marker.clone()), limit, Unit::Chars),
        )
        .unwrap_or_else(|e| format!("{marker}\ncargo-tek could not render the report: {e}\n"))
    };
    let save_path = args
        .save_comment
        .as_ref()
        .map(|p| ctx.cwd.join(p))
        .unwrap_or_else(|| dir.join("pr-comment.md"));
    let save = |why: &str| -> Result<(), Error> {
        write_atomic(&save_path, comment_body(PR_COMMENT_LIMIT).as_bytes()).map_err(Error::io(
            format!(
                "failed to save the comment body to `{}`",
                save_path.display()
            ),
        ))?;
        ctx.output.status(
            "Saved",
            format!("comment body to {} ({why})", save_path.display()),
        );
        Ok(())
    };
    if args.pr_comment {
        let result = match GitHubContext::from_env(&env, args.pr) {
            Ok(gh) => {
                github::upsert_sticky_comment(
                    &gh,
                    &args.key,
                    &comment_body,
                    &RetryPolicy::default(),
                )
                .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(github::CommentOutcome::Created { url, .. }) => ctx.output.status("Commented", url),
            Ok(github::CommentOutcome::Updated { url, .. }) => ctx.output.status("Updated", url),
            Ok(github::CommentOutcome::Superseded { url, by, .. }) => ctx.output.warn(format!(
                "left the PR comment {url} as it is: a newer workflow run ({} attempt {}) wrote it",
                by.run_id, by.attempt
            )),
            Err(err)
                if !args.strict
                    && (err.is_permission_or_context()
                        || matches!(
                            err,
                            github::GitHubError::NoRepository | github::GitHubError::Event { .. }
                        )) =>
            {
                ctx.output.warn(format!("could not post the PR comment: {err}; a later privileged workflow can post the saved body"));
                save("not posted")?;
            }
            Err(err) => {
                save("not posted")?;
                return Err(Error::GitHub(err));
            }
        }
    } else if args.save_comment.is_some() {
        save("as asked")?;
    }
    Ok(ExitCode::Success)
}

fn emit(ctx: &Context, out: Option<PathBuf>, text: &str, after_run: bool) -> Result<(), Error> {
    // minijinja drops the template's final newline; files and terminals want one.
    let owned;
    let text = if text.ends_with('\n') || text.is_empty() {
        text
    } else {
        owned = format!("{text}\n");
        &owned
    };
    match out {
        Some(path) => {
            write_atomic(&path, text.as_bytes())
                .map_err(Error::io(format!("failed to write `{}`", path.display())))?;
            ctx.output.status("Reported", path.display());
        }
        None if !after_run => ctx.output.stdout(text),
        None => {}
    }
    Ok(())
}
