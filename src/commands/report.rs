//! `cargo tek report`, and the publishing step `run --report` reuses.

use std::path::PathBuf;

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::{Error, ExitCode};
use crate::evidence::{load_run, run_dir, write_atomic, LoadedRun};
use crate::github::{self, GitHubContext, RetryPolicy};
use crate::redact::Secrets;
use crate::report::broken::{render_broken, Broken};
use crate::report::limit::{Unit, JOB_SUMMARY_LIMIT, PR_COMMENT_LIMIT};
use crate::report::provenance::{self, Provenance};
use crate::report::{context::ci_url, render_within, Renderer, Request};

use super::Context;

pub(crate) async fn run(ctx: &Context, args: ReportArgs) -> Result<ExitCode, Error> {
    publish(ctx, &args, false).await
}

/// Renders the run and sends it where asked. `after_run` means the run command called
/// it, so nothing goes to stdout.
pub(crate) async fn publish(
    ctx: &Context,
    args: &ReportArgs,
    after_run: bool,
) -> Result<ExitCode, Error> {
    if let Some(file) = &args.config_error {
        return publish_broken(ctx, args, &ctx.cwd.join(file)).await;
    }
    // Never cargo here: this process may hold GITHUB_TOKEN, and cargo on a runner is the
    // rustup proxy, which runs whatever the checkout's rust-toolchain.toml names.
    let workspace = ctx.workspace_without_cargo(args.runs_dir.clone());
    let workspace = match workspace {
        Err(e) if args.merge.is_empty() && args.run.is_none() => return Err(e),
        workspace => workspace,
    };
    let secrets = secret_table(ctx, workspace.as_ref().ok());
    let run = the_run(ctx, args, &workspace, &secrets)?;
    let dir: PathBuf = run.dir.clone();
    // Under `run --report` the tokens are held in memory, not in the environment.
    let env = crate::supervise::secrets::var;

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
    let about = Provenance {
        commit: commit(&env, args.pr),
        artifact_url: provenance::artifact_url(&env),
        run_url: None,
        previous_failed: None,
    };
    let request = |marker: Option<String>, limit: usize, unit: Unit| Request {
        run: &run,
        marker,
        ci_url: ci.clone(),
        about: about.clone(),
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

    let failed = provenance::failed_ids(&run.record);
    let render = |marker: Option<String>, limit: usize, unit: Unit, previous: Previous<'_>| {
        let Some(previous) = previous else {
            return render_within(&renderer, &request(marker, limit, unit)).map_err(Error::from);
        };
        // The comment carries this run's failures on a hidden last line, for the next
        // run's difference; it comes off the limit.
        let mark = github::failed_mark::line(&failed);
        let mut req = request(marker, limit.saturating_sub(mark.chars().count() + 1), unit);
        req.about.previous_failed = previous.map(<[String]>::to_vec);
        let body = render_within(&renderer, &req).map_err(Error::from)?;
        Ok(format!("{}\n{mark}\n", body.trim_end_matches('\n')))
    };
    deliver(ctx, args, &render, dir.join("pr-comment.md")).await
}

/// The run to report: merged from `--merge`, the `--run` directory, else the newest
/// readable run; with the run's journal key, only what its sealed journal vouches for.
fn the_run(
    ctx: &Context,
    args: &ReportArgs,
    workspace: &Result<crate::workspace::Workspace, Error>,
    secrets: &Secrets,
) -> Result<LoadedRun, Error> {
    let run = match (&args.run, workspace) {
        _ if !args.merge.is_empty() => {
            super::report_merge::merged_run(ctx, args, workspace, secrets)?
        }
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
        // Returned before: `publish` hands the workspace's own error on.
        (None, Err(_)) => return Err(Error::Usage("no workspace".into())),
    };
    // With the run's key, only what its sealed journal vouches for (merged runs come
    // from other machines' keys: their own report steps checked them).
    let run = match super::run::journal_key()? {
        Some(key) if args.merge.is_empty() => {
            crate::evidence::load_sealed(&run.dir, &key).map_err(Error::Evidence)?
        }
        _ => run,
    };
    if run.incomplete {
        ctx.output.warn(format!(
            "run `{}` did not finish; reporting from its journal",
            run.dir.display()
        ));
    }
    for note in &run.notes {
        ctx.output.warn(note.clone());
    }
    Ok(run)
}

/// The report's table of secret values, resolved once and read by every writer (the
/// Markdown, the job summary, the comment, a merged run's evidence): the built-in secret
/// variables of this process's environment (the report step is the one holding
/// `GITHUB_TOKEN`) and those manifest.json `secrets` names. A manifest that cannot be
/// read is a warning, not a reason to publish nothing.
fn secret_table(ctx: &Context, workspace: Option<&crate::workspace::Workspace>) -> Secrets {
    let manifest = workspace.and_then(|ws| {
        let path = ws.manifest_path();
        let src = match crate::source::SourceFile::read(&path, ws.display(&path)) {
            Ok(src) => src,
            Err(crate::source::ReadError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return None
            }
            Err(e) => {
                ctx.output.warn(format!(
                    "manifest.json's `secrets` are not masked (only the built-in list is): {e}"
                ));
                return None;
            }
        };
        crate::config::Manifest::load(&src)
            .map_err(|e| {
                ctx.output.warn(format!(
                    "manifest.json's `secrets` are not masked (only the built-in list is): {e}"
                ))
            })
            .ok()
    });
    crate::supervise::secrets::table(|name| manifest.as_ref().is_some_and(|m| m.names_secret(name)))
}

/// The previous comment's failures, for a comment body (`Some`, possibly `Some(None)` when
/// there was no previous comment or it had no mark); `None` for any other rendering.
type Previous<'a> = Option<Option<&'a [String]>>;

/// The commit the report is for: the pull request's head (from the event), else
/// `GITHUB_SHA`.
fn commit(env: &dyn Fn(&str) -> Option<String>, pr: Option<u64>) -> Option<String> {
    GitHubContext::from_env(env, pr)
        .ok()
        .and_then(|g| g.stamp)
        .map(|s| s.sha)
        .filter(|s| !s.is_empty())
        .or_else(|| env("GITHUB_SHA"))
}

/// Renders the report of a command that stopped before any task ran (`--config-error`),
/// and sends it where a run's report would go.
async fn publish_broken(
    ctx: &Context,
    args: &ReportArgs,
    file: &std::path::Path,
) -> Result<ExitCode, Error> {
    let env = crate::supervise::secrets::var;
    let output = read_tail(file).map_err(Error::io(format!(
        "failed to read the error output `{}`",
        file.display()
    )))?;
    // The config is what broke, so manifest.json's `secrets` may not be readable: the
    // built-in names (GITHUB_TOKEN among them) are masked.
    let secrets = crate::supervise::secrets::table(|_| false);
    let broken = Broken {
        output: &output,
        exit_code: args.exit_code.unwrap_or(1),
    };
    let ci = ci_url(&env);
    let render = |marker: Option<String>, limit: usize, unit: Unit, _: Previous<'_>| {
        render_broken(&broken, marker, ci.clone(), &secrets, limit, unit).map_err(Error::from)
    };
    if args.out.is_some() || (!args.job_summary && !args.pr_comment && args.save_comment.is_none())
    {
        let body = render(None, usize::MAX, Unit::Bytes, None)?;
        emit(
            ctx,
            args.out.as_ref().map(|o| ctx.cwd.join(o)),
            &body,
            false,
        )?;
    }
    deliver(ctx, args, &render, file.with_file_name("pr-comment.md")).await
}

/// The last 64 KiB of `file`: the cause is at the end of the error output.
fn read_tail(file: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    const MAX: u64 = 64 * 1024;
    let mut f = std::fs::File::open(file)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
    let mut bytes = Vec::new();
    f.take(MAX).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

type Render<'a> =
    dyn Fn(Option<String>, usize, Unit, Previous<'_>) -> Result<String, Error> + Sync + 'a;

/// Sends a rendered report to the job summary and the sticky comment, as `args` ask.
/// `default_save` is where the comment body goes when it cannot be posted.
async fn deliver(
    ctx: &Context,
    args: &ReportArgs,
    render: &Render<'_>,
    default_save: PathBuf,
) -> Result<ExitCode, Error> {
    let env = crate::supervise::secrets::var;
    if args.job_summary {
        to_job_summary(ctx, args, render).await?;
    }

    let marker = github::marker(&args.key);
    let comment_body = |limit: usize, previous: Option<&[String]>| {
        render(Some(marker.clone()), limit, Unit::Chars, Some(previous))
            .unwrap_or_else(|e| format!("{marker}\ncargo-tek could not render the report: {e}\n"))
    };
    let save_path = args
        .save_comment
        .as_ref()
        .map(|p| ctx.cwd.join(p))
        .unwrap_or(default_save);
    let save = |why: &str| -> Result<(), Error> {
        write_atomic(&save_path, comment_body(PR_COMMENT_LIMIT, None).as_bytes()).map_err(
            Error::io(format!(
                "failed to save the comment body to `{}`",
                save_path.display()
            )),
        )?;
        ctx.output.status(
            "Saved",
            format!("comment body to {} ({why})", save_path.display()),
        );
        Ok(())
    };
    if args.pr_comment {
        let result = match GitHubContext::from_env(&env, args.pr) {
            Ok(gh) => {
                github::upsert_sticky_comment_since(
                    &gh,
                    &args.key,
                    &comment_body,
                    &RetryPolicy::default(),
                )
                .await
            }
            Err(e) => Err(e),
        };
        if let Ok(outcome) = &result {
            comment_outputs(outcome)?;
        }
        match result {
            Ok(github::CommentOutcome::Created { url, .. }) => ctx.output.status("Commented", url),
            Ok(github::CommentOutcome::Updated { url, .. }) => ctx.output.status("Updated", url),
            Ok(github::CommentOutcome::Superseded { url, by, .. }) => ctx.output.warn(format!(
                "left the PR comment {url} as it is: a newer workflow run ({} attempt {}) wrote it",
                by.run_id, by.attempt
            )),
            // Without --strict no failure to comment fails the command: an API outage
            // must not turn a green build red. The body is kept for a later post.
            Err(err) if !args.strict => {
                let later = if err.is_permission_or_context() {
                    "a later privileged workflow can post the saved body"
                } else {
                    "the build's result stands; the saved body can be posted later"
                };
                ctx.output
                    .warn(format!("could not post the PR comment: {err}; {later}"));
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

/// Appends the report to `$GITHUB_STEP_SUMMARY`, in the room earlier steps left.
async fn to_job_summary(
    ctx: &Context,
    args: &ReportArgs,
    render: &Render<'_>,
) -> Result<(), Error> {
    let env = crate::supervise::secrets::var;
    match env("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        Some(path) => {
            // GitHub drops a step summary over 1 MiB whole, so what earlier steps
            // already wrote counts against our share.
            let used = std::fs::metadata(&path)
                .map(|m| m.len() as usize)
                .unwrap_or(0);
            let room = JOB_SUMMARY_LIMIT.saturating_sub(used + 1);
            let summary = render(None, room, Unit::Bytes, None)?;
            // Off the runtime's threads: the file may block (a FIFO nobody reads), and
            // a signal must still end the command.
            let file = std::path::PathBuf::from(&path);
            tokio::task::spawn_blocking(move || github::append_job_summary(&file, &summary))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)))
                .map_err(Error::io(format!(
                    "failed to append to $GITHUB_STEP_SUMMARY (`{path}`)"
                )))?;
            ctx.output
                .status("Appended", "the report to the job summary");
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
    Ok(())
}

/// Writes `comment-id` and `comment-url` to `$GITHUB_OUTPUT` when it is set, so the step
/// that posted the comment can hand it on.
fn comment_outputs(outcome: &github::CommentOutcome) -> Result<(), Error> {
    let Some(path) = crate::supervise::secrets::var("GITHUB_OUTPUT").filter(|p| !p.is_empty())
    else {
        return Ok(());
    };
    let (github::CommentOutcome::Created { id, url }
    | github::CommentOutcome::Updated { id, url }
    | github::CommentOutcome::Superseded { id, url, .. }) = outcome;
    github::append_step_outputs(
        std::path::Path::new(&path),
        &[("comment-id", &id.to_string()), ("comment-url", url)],
    )
    .map_err(Error::io(format!(
        "failed to append to $GITHUB_OUTPUT (`{path}`)"
    )))
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
