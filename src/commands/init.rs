//! `cargo tek init`: reads the workspace, has [`crate::init`] propose the files, writes
//! them (or prints them with `--dry-run`) and says what to run next.

use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::error::{Error, ExitCode};
use crate::init::{ActionRef, PlannedFile, Shape, Workflow};

use super::Context;

/// Where the workflow goes, relative to the repository root.
const WORKFLOW: &str = ".github/workflows/cargo-tek.yml";

pub(crate) fn run(ctx: &Context, args: InitArgs) -> Result<ExitCode, Error> {
    // Outside a workspace this is the usual "could not find a Cargo workspace" error:
    // init has no `--sot`-only fallback, it needs the members.
    let metadata = crate::workspace::metadata(&ctx.cwd, ctx.global.manifest_path.as_deref())?;
    let workspace = ctx.fresh_workspace(None)?;
    let shape = Shape::from_metadata(&metadata);
    let contents = crate::init::plan_files(&shape, &workspace.display(&workspace.config_dir));
    let contents_tasks = contents.tasks;
    let root = &workspace.root;
    let planned = |path: PathBuf, contents: String| PlannedFile {
        base: root.clone(),
        shown: workspace.display(&path),
        path,
        contents,
    };
    let mut files = vec![
        planned(workspace.sot.clone(), contents.sot),
        planned(workspace.hooks_path(), contents.hooks),
        planned(workspace.manifest_path(), contents.manifest),
    ];
    if args.workflow {
        files.push(workflow_file(ctx, &args, root)?);
    }

    if args.dry_run {
        for file in &files {
            ctx.output
                .stdout(&format!("==> {} <==\n{}\n", file.shown, file.contents));
        }
        ctx.output.status(
            "Finished",
            format!("dry run: {} files shown, nothing written", files.len()),
        );
        return Ok(ExitCode::Success);
    }
    for written in crate::init::write_all(&files, args.force)? {
        let verb = if written.replaced {
            "Replaced"
        } else {
            "Created"
        };
        ctx.output.status(verb, &written.shown);
    }
    let members = crate::output::count(shape.members.len(), "member", "members");
    let tasks = crate::output::count(contents_tasks, "task", "tasks");
    ctx.output.status(
        "Initialized",
        format!("{tasks} for {members} in {}", files[0].shown),
    );
    ctx.output
        .info("next: `cargo tek check` validates them, `cargo tek run` runs them");
    Ok(ExitCode::Success)
}

/// The workflow, at the root of the repository around the workspace (a `.git` found
/// upwards; the workspace root when there is none), with `working-directory` when the
/// workspace is below it.
fn workflow_file(ctx: &Context, args: &InitArgs, root: &Path) -> Result<PlannedFile, Error> {
    if ctx.global.sot.is_some() || ctx.global.config.is_some() {
        return Err(Error::Usage(
            "--workflow with --sot or --config: the Action finds sot.md and config/ as [workspace.metadata.tek] says; set `sot` or `config` there instead".into(),
        ));
    }
    let action_ref = match &args.action_ref {
        Some(text) => ActionRef::parse(text).map_err(Error::Usage)?,
        None => ActionRef::major(),
    };
    let repository = root
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(root);
    let below = root
        .strip_prefix(repository)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let working_directory = match below.as_str() {
        "" => None,
        rel => Some(Workflow::working_directory(rel).map_err(Error::Usage)?),
    };
    let workflow = Workflow {
        action_ref,
        comment: !args.no_comment,
        working_directory,
    };
    let path = repository.join(WORKFLOW);
    Ok(PlannedFile {
        base: repository.to_path_buf(),
        // Named from the workspace root, as the other files are (`../.github/…`).
        shown: Path::new(below.as_str())
            .components()
            .map(|_| "..")
            .chain([WORKFLOW])
            .collect::<Vec<_>>()
            .join("/"),
        path,
        contents: workflow.render(),
    })
}
