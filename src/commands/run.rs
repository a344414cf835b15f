//! `cargo tek run`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::agent::Registry;
use crate::cli::{ReportKind, RunArgs};
use crate::config::load_json;
use crate::error::{Error, ExitCode};
use crate::evidence::history::{self, History};
use crate::evidence::run_dir;
use crate::output::RunDisplay;
use crate::plan::{Graph, GraphError, Plan, PlanError};
use crate::project::{Config, Project};
use crate::run_env::RunEnv;
use crate::runner::{self, RunOptions};
use crate::source::SourceFile;

use super::Context;

/// Default time between SIGTERM and SIGKILL.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// What a run starts from: the workspace, the plan (from `--plan` or sot.md), its graph,
/// the config, and the name of the file the plan came from.
struct Loaded {
    workspace: crate::workspace::Workspace,
    plan: Plan,
    graph: Graph,
    config: Config,
    source: String,
    /// The `os` leg this run is (`--leg`), when a matrix has an `os` axis.
    leg: Option<String>,
    /// The tasks of sot.md that are on other legs (ids and base ids), whose hooks are
    /// not mistakes.
    off_leg: Vec<String>,
}

/// The tasks to run, and what the previous runs say about them.
struct Chosen {
    selection: runner::Selection,
    affected: Option<crate::evidence::AffectedStamp>,
    durations: HashMap<String, u64>,
    carried: HashMap<String, crate::evidence::TaskResult>,
    shard: Option<crate::evidence::shard::ShardStamp>,
    leg: Option<String>,
}

pub(crate) async fn run(ctx: &Context, args: RunArgs) -> Result<ExitCode, Error> {
    let loaded = load(ctx, &args)?;
    if let Some(why) = idle_shard(&args, &loaded) {
        ctx.output.status("Shard", why);
        return Ok(ExitCode::Success);
    }
    let chosen = choose(ctx, &args, &loaded)?;
    let cwd_bounds = crate::project::cwd_bounds(
        &loaded.workspace.root,
        &loaded.config.manifest,
        loaded.config.manifest_source.as_ref(),
    )?;
    refuse_broken_config(ctx, &args, &loaded, &chosen.selection, &cwd_bounds)?;
    refuse_accidental_noops(ctx, &args, &loaded, &chosen.selection)?;
    // Read before this run's directory exists, which would otherwise be the newest.
    let baseline = args
        .baseline
        .as_deref()
        .map(crate::cargo::baseline::Baselines::given)
        .transpose()
        .map_err(Error::Usage)?;
    let journal_key = journal_key()?;
    let (run_id, dir) =
        run_dir::create(&loaded.workspace.runs_dir).map_err(|source| Error::EvidenceIo {
            context: format!(
                "failed to create a run directory under `{}`",
                loaded.workspace.runs_dir.display()
            ),
            source,
        })?;
    let baselines = baseline.unwrap_or_else(|| {
        crate::cargo::baseline::Baselines::earlier(&loaded.workspace.runs_dir, &dir)
    });
    let env = Arc::new(run_env(
        ctx,
        &args,
        &loaded.config,
        cwd_bounds,
        baselines,
        &dir,
    ));
    let mut options = run_options(&args, chosen, loaded.source.clone());
    // One table for the whole run: evidence and the terminal mask the same values.
    let manifest = &loaded.config.manifest;
    if crate::supervise::secrets::vars_os()
        .iter()
        .any(|(k, _)| k.to_str().is_some_and(|k| manifest.names_secret(k)))
    {
        // Named only in manifest.json, they are still in this process's exec-time
        // environment: keep tasks from reading it there.
        crate::supervise::secrets::guard();
    }
    options.secrets = crate::supervise::secrets::table(|name| manifest.names_secret(name));
    options.journal_key = journal_key;
    // Cargo commands claim the target dir they build in; the workspace's is the default.
    options.claims = runner::claims::Context::of(&loaded.workspace);
    // A dry run runs nothing, so it neither replays nor stores anything.
    if (args.cache || args.cache_url.is_some() || manifest.cache) && !args.dry_run {
        let parts = super::explain_cache::Parts {
            workspace: &loaded.workspace,
            plan: &loaded.plan,
            hooks: &loaded.config.hooks,
            manifest,
        };
        let remote = remote_cache(&args)?;
        options.cache = Some(Arc::new(super::explain_cache::open(
            &parts,
            &env.base_env,
            remote,
        )));
    }
    if let crate::supervise::secrets::Isolation::Failed(why) = crate::supervise::secrets::outcome()
    {
        ctx.output.warn(format!(
            "scrubbed variables stay readable in this process's /proc environment: {why}"
        ));
    }
    let signals =
        crate::supervise::signals::listen().map_err(Error::io("failed to listen for signals"))?;
    // Signals stay handled after the tasks: the report step listens from now on too.
    let report_signals = if args.report.is_empty() {
        None
    } else {
        Some(
            crate::supervise::signals::listen()
                .map_err(Error::io("failed to listen for signals"))?,
        )
    };
    let explain = args.explain_cache;
    let summary = execute(ctx, loaded, options, env, (run_id, &dir, explain), signals).await?;
    match report_signals {
        Some(signals) => {
            report_after_run(ctx, &args, &dir, exit_code(summary.verdict), signals).await
        }
        // A dry run fails like a real one when a task could not start.
        None => Ok(exit_code(summary.verdict)),
    }
}

/// The plan: from `--plan` (queues, tasks and dependencies; commands still come from
/// hooks.json), else planned from sot.md on the fly.
fn load(ctx: &Context, args: &RunArgs) -> Result<Loaded, Error> {
    let Some(path) = &args.plan else {
        let Project {
            workspace,
            plan,
            graph,
            hooks,
            manifest,
            manifest_source,
            sot,
            ..
        } = ctx.project(args.runs_dir.clone())?;
        let (mut plan, mut graph) = (plan, graph);
        // The leg first: each leg's jobs split its own combinations.
        let (leg, off_leg) =
            super::leg::narrow_to_leg(args.leg.as_deref(), &mut plan, &mut graph)?.unzip();
        if let Some(spec) = args.shard {
            // Every job of the matrix splits the same inputs the same way.
            let parts = super::shard::Parts {
                workspace: &workspace,
                graph: &graph,
                hooks: &hooks,
                manifest: &manifest,
            };
            super::shard::split_project(
                ctx,
                &parts,
                &mut plan,
                super::shard::Split {
                    shards: spec.total,
                    durations: &args.durations,
                    workers: args.max_workers,
                    affected: None,
                },
                args.affected
                    .as_deref()
                    .map(|base| (base, args.affected_deps)),
            )?;
        }
        return Ok(Loaded {
            workspace,
            plan,
            graph,
            config: Config {
                hooks,
                manifest,
                manifest_source,
            },
            source: sot.name,
            leg,
            off_leg: off_leg.unwrap_or_default(),
        });
    };
    let workspace = ctx.workspace(args.runs_dir.clone())?;
    let path = ctx.cwd.join(path);
    let src = SourceFile::read(&path, workspace.display(&path))
        .map_err(crate::project::LoadError::from)?;
    let plan: Plan = load_json(
        &src,
        "a plan file comes from `cargo tek plan --out plan.json`",
    )
    .map_err(crate::project::LoadError::from)?;
    let mut plan = plan;
    let mut graph = Graph::new(&plan).map_err(|source| plan_file_error(&src, source))?;
    let config = Config::load(&workspace)?;
    let (leg, off_leg) =
        super::leg::narrow_to_leg(args.leg.as_deref(), &mut plan, &mut graph)?.unzip();
    Ok(Loaded {
        workspace,
        plan,
        graph,
        config,
        source: src.name,
        leg,
        off_leg: off_leg.unwrap_or_default(),
    })
}

/// A plan file's graph error, pointed at where it can be: a long id at the first place
/// it is written as a string, as sot.md's ids are.
fn plan_file_error(src: &SourceFile, source: GraphError) -> crate::project::LoadError {
    if let GraphError::TooLong { id, .. } = &source {
        if let Some(at) = src.text.find(&format!("\"{id}\"")) {
            return PlanError::from(src.diagnostic(
                source.to_string(),
                vec![(at + 1..at + 1 + id.len(), "this id is too long".into())],
                Some(
                    "an id names the task's log folder; shorten it in sot.md and plan again".into(),
                ),
            ))
            .into();
        }
    }
    PlanError::Graph {
        file: src.name.clone(),
        source,
    }
    .into()
}

/// `--shard K/N`: the shard's tasks (from the plan's split, checked against the plan
/// file's when one is given), told to the user with its estimate; ids asked for outside
/// it are a warning.
fn shard_of(
    ctx: &Context,
    args: &RunArgs,
    loaded: &Loaded,
    spec: crate::plan::sharding::ShardSpec,
    asked: &[String],
    selection: &mut runner::selection::Selection,
) -> Result<crate::evidence::shard::ShardStamp, Error> {
    let Loaded {
        workspace,
        plan,
        source,
        ..
    } = loaded;
    let shards = match &args.plan {
        Some(_) => super::shard::verify(workspace, plan, source)?,
        None => plan
            .shards
            .as_ref()
            .ok_or_else(|| Error::Internal("the plan was not split".into()))?,
    };
    let (ids, stamp) = super::shard::select(shards, spec)?;
    ctx.output.status(
        "Shard",
        format!(
            "{spec} of plan {}: {} (estimate {})",
            stamp.plan_hash,
            crate::output::count(ids.len(), "task", "tasks"),
            shards
                .layout
                .shards
                .get(spec.index as usize - 1)
                .map_or_else(String::new, |s| shards.layout.estimate(s))
        ),
    );
    let outside: Vec<&str> = asked
        .iter()
        .filter(|id| !ids.contains(*id))
        .map(String::as_str)
        .collect();
    if !outside.is_empty() {
        ctx.output.warn(format!(
            "not in shard {spec}, so not run here: {}",
            outside.join(", ")
        ));
    }
    selection.shard = Some(ids);
    Ok(stamp)
}

/// The selection (ids, queues, `--with-deps`, done tasks, `--rerun-failed`), with the
/// durations of the newest run for scheduling and the results carried forward.
fn choose(ctx: &Context, args: &RunArgs, loaded: &Loaded) -> Result<Chosen, Error> {
    let Loaded {
        workspace,
        plan,
        graph,
        source,
        ..
    } = loaded;
    let request = runner::selection::Request {
        ids: args.ids.iter().chain(&args.only).cloned().collect(),
        queues: args.queue.clone(),
        with_deps: args.with_deps,
        include_done: args.include_done,
    };
    let mut selection = runner::selection::resolve(plan, graph, &request)
        .map_err(|e| Error::Usage(format!("{e} (in {source})")))?;
    let shard = match args.shard {
        Some(spec) => Some(shard_of(
            ctx,
            args,
            loaded,
            spec,
            &request.ids,
            &mut selection,
        )?),
        None => None,
    };

    // The newest run gives durations (for scheduling); with --rerun-failed, the state
    // carried forward across runs of this plan gives the tasks to run again.
    let (newest, unreadable) = run_dir::newest_readable(&workspace.runs_dir);
    let durations: HashMap<String, u64> = newest
        .iter()
        .flat_map(|p| p.record.results.iter())
        .filter(|r| r.duration_ms > 0)
        .map(|r| (r.task.clone(), r.duration_ms))
        .collect();
    let (rerun, mut carried) = if args.rerun_failed {
        let (again, carried) = rerun_selection(ctx, plan, &workspace.runs_dir, args.include_done);
        (Some(again), carried)
    } else {
        warn_unreadable(ctx, &unreadable);
        (None, HashMap::new())
    };
    // A shard's run.json holds its own tasks only: the merge adds up the shards.
    if let Some(ids) = &selection.shard {
        carried.retain(|id, _| ids.contains(id));
    }

    selection.rerun = rerun;
    let affected = affected(ctx, args, loaded)?.map(|(ids, stamp)| {
        selection.affected = Some(ids);
        stamp
    });
    let done = plan
        .tasks()
        .filter(|(q, t)| t.done && !selection.include_done && selection.wanted(q, t))
        .count();
    if done > 0 {
        ctx.output.status(
            "Skipping",
            format!(
                "{} (checked in {source}); --include-done runs {}",
                crate::output::count(done, "done task", "done tasks"),
                if done == 1 { "it" } else { "them" }
            ),
        );
    }
    Ok(Chosen {
        selection,
        affected,
        durations,
        carried,
        shard,
        leg: loaded.leg.clone(),
    })
}

/// A job of a fixed matrix (`--shard K/N --affected`, no `--plan`) whose shard the
/// change left with nothing: fewer groups are affected than there are jobs. It writes no
/// run, so the merge expects only the shards that exist.
fn idle_shard(args: &RunArgs, loaded: &Loaded) -> Option<String> {
    let spec = args.shard.filter(|_| args.plan.is_none())?;
    let layout = &loaded.plan.shards.as_ref()?.layout;
    let set = layout.affected.as_ref()?;
    (spec.total == layout.requested && spec.index > layout.total).then(|| {
        format!(
            "{spec} has nothing to run: the change since {} affects {} ({}), so shards 1 to {} run them and merge without this one",
            set.base,
            crate::output::count(set.tasks.len(), "task", "tasks"),
            crate::output::count(layout.total as usize, "independent group", "independent groups"),
            layout.total
        )
    })
}

/// The tasks the change affects, and the stamp for run.json: the set the shards were
/// split for (in place, or recorded in `--plan`'s file), else `--affected [BASE]` decided
/// now.
fn affected(
    ctx: &Context,
    args: &RunArgs,
    loaded: &Loaded,
) -> Result<Option<(HashSet<String>, crate::evidence::AffectedStamp)>, Error> {
    let recorded = loaded
        .plan
        .shards
        .as_ref()
        .and_then(|s| s.layout.affected.as_ref());
    if let Some(set) = recorded {
        if args.plan.is_some() {
            // Every shard applies the one decision the plan job made.
            if let Some(base) = args
                .affected
                .as_deref()
                .filter(|b| !b.is_empty() && *b != set.base)
            {
                return Err(Error::Usage(format!(
                    "--affected {base}: `{}` was planned with --affected {} and every shard runs that decision; drop --affected, or plan again with `cargo tek plan --shards N --affected {base}`",
                    loaded.source, set.base
                )));
            }
            ctx.output.status(
                "Affected",
                format!(
                    "{} by the change since {}, as planned in {}",
                    crate::output::count(set.tasks.len(), "task", "tasks"),
                    set.base,
                    loaded.source
                ),
            );
        }
        return Ok(Some(super::affected::applied(set)));
    }
    let Some(base) = &args.affected else {
        return Ok(None);
    };
    if args.shard.is_some() {
        ctx.output.warn(format!(
            "--affected: the shards of `{}` were balanced over every task, so this shard may run far fewer than the others; plan with `cargo tek plan --shards N --affected` to balance the affected tasks",
            loaded.source
        ));
    }
    let set = super::affected::set(
        ctx,
        &super::affected::Subject {
            workspace: &loaded.workspace,
            plan: &loaded.plan,
            graph: &loaded.graph,
            hooks: &loaded.config.hooks,
            manifest: &loaded.config.manifest,
        },
        base,
        args.affected_deps,
    )?;
    Ok(Some(super::affected::applied(&set)))
}

/// Nothing may pass by running nothing: a run where no task has a hook is refused, and
/// hookless tasks are named (not only with -v).
/// Refuses to start (exit 1, each error at its file:line:column, as `check` shows it)
/// when the config is wrong in a way known before any task runs: a hook key or manifest
/// queue that names nothing (a typo'd id would otherwise make its task a green noop), an
/// unknown agent, and, for the tasks this run starts, a command that could not start.
fn refuse_broken_config(
    ctx: &Context,
    args: &RunArgs,
    loaded: &Loaded,
    selection: &runner::Selection,
    bounds: &crate::cwd::Bounds,
) -> Result<(), Error> {
    let mut started: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for queue in &loaded.plan.queues {
        for task in queue.tasks.iter().filter(|t| selection.includes(queue, t)) {
            started.insert(&task.id);
            started.extend(task.base.as_deref());
            started.insert(&queue.name);
        }
    }
    // A dry run starts nothing, so it needs no tools installed.
    let dry_run = args.dry_run;
    let preflight = |key: &str| !dry_run && started.contains(key);
    let subject = crate::check::Subject {
        plan: &loaded.plan,
        hooks: &loaded.config.hooks,
        manifest: &loaded.config.manifest,
        manifest_source: loaded.config.manifest_source.as_ref(),
        root: &loaded.workspace.root,
        planned_from: &loaded.source,
        off_leg: &loaded.off_leg,
    };
    let settings = crate::check::Settings {
        bounds,
        path: std::env::var_os("PATH"),
        allow_noop: args.allow_noop,
        split_cost: None,
    };
    let findings = crate::check::config(&subject, &settings, &preflight);
    let errors = findings.count(crate::check::Severity::Error);
    if errors == 0 {
        return Ok(());
    }
    for finding in &findings.shown {
        if finding.severity == crate::check::Severity::Error {
            ctx.output.diagnostic("error", &finding.diagnostic);
        }
    }
    let hidden = findings.hidden[crate::check::Severity::Error as usize];
    if hidden > 0 {
        ctx.output.info(format!(
            "... and {} not shown",
            crate::text::count(hidden, "more error", "more errors")
        ));
    }
    ctx.output.status_error(
        "Refused",
        format!(
            "{} in the config: no task was started (`cargo tek check` shows the same)",
            crate::text::count(errors, "error", "errors")
        ),
    );
    Err(Error::CheckFailed(errors))
}

fn refuse_accidental_noops(
    ctx: &Context,
    args: &RunArgs,
    loaded: &Loaded,
    selection: &runner::Selection,
) -> Result<(), Error> {
    let Loaded {
        workspace,
        plan,
        config,
        ..
    } = loaded;
    let coverage = crate::hookless::Coverage::of(
        plan.queues.iter().flat_map(|q| {
            q.tasks
                .iter()
                .filter(|t| selection.includes(q, t))
                .map(|t| (t.id.as_str(), q.name.as_str()))
        }),
        &config.hooks,
        &config.manifest,
    );
    if coverage.nothing_would_run() && !args.allow_noop {
        let hooks_file = workspace.display(&workspace.hooks_path());
        return Err(coverage.error(&config.hooks, &hooks_file).into());
    }
    if !coverage.unasked.is_empty() {
        ctx.output.warn(coverage.warning());
    }
    Ok(())
}

/// What every job of the run shares: this binary, the run directory, the scrubbed
/// environment, the default timeout and grace period, the cwd bounds, the colour and
/// the warnings baseline.
fn run_env(
    ctx: &Context,
    args: &RunArgs,
    config: &Config,
    cwd_bounds: crate::cwd::Bounds,
    baselines: crate::cargo::baseline::Baselines,
    dir: &std::path::Path,
) -> RunEnv {
    let grace = args
        .grace_period
        .map(|d| d.0)
        .or(config.manifest.grace_period.map(|d| d.0))
        .unwrap_or(DEFAULT_GRACE);
    RunEnv {
        tek_exe: std::env::current_exe()
            .map(Into::into)
            .unwrap_or_else(|_| "cargo-tek".into()),
        run_dir: dir.to_path_buf(),
        base_env: crate::supervise::env::BaseEnv::scrubbing(
            crate::supervise::secrets::vars_os(),
            |name| config.manifest.names_secret(name),
        ),
        default_timeout: args.timeout.map(|d| d.0),
        grace,
        dry_run: args.dry_run,
        cwd_bounds,
        color: ctx.global.color.map(|c| match c {
            crate::cli::Color::Auto => "auto",
            crate::cli::Color::Always => "always",
            crate::cli::Color::Never => "never",
        }),
        baselines,
    }
}

/// `--cache-url`: the remote store, its token and signing key read from the held
/// (scrubbed) variables, so no task ever sees them.
fn remote_cache(args: &RunArgs) -> Result<Option<crate::cache::Remote>, Error> {
    let Some(url) = &args.cache_url else {
        return Ok(None);
    };
    let var = crate::supervise::secrets::var;
    let settings = crate::cache::RemoteSettings {
        url: url.clone(),
        token: var(crate::cache::TOKEN_VAR),
        team: args
            .cache_team
            .clone()
            .or_else(|| var("CARGO_TEK_CACHE_TEAM"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "cargo-tek".into()),
        key: var(crate::cache::KEY_VAR),
        write: !args.cache_read_only,
    };
    crate::cache::Remote::new(settings)
        .map(Some)
        .map_err(Error::Usage)
}

/// `CARGO_TEK_JOURNAL_KEY`, which seals this run's journal: held out of the process
/// environment like every scrubbed variable.
pub(crate) fn journal_key() -> Result<Option<crate::evidence::seal::JournalKey>, Error> {
    crate::supervise::secrets::var(crate::evidence::seal::KEY_VAR)
        .filter(|v| !v.is_empty())
        .map(|v| crate::evidence::seal::JournalKey::parse(&v))
        .transpose()
        .map_err(Error::Usage)
}

/// The scheduler's options: workers, failure policy, retries, the selection and history.
fn run_options(args: &RunArgs, chosen: Chosen, source: String) -> RunOptions {
    RunOptions {
        max_workers: args
            .max_workers
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        fail_fast: args.fail_fast && !args.keep_going,
        retries: args.retries,
        selection: chosen.selection,
        affected: chosen.affected,
        durations: chosen.durations,
        source: Some(source),
        carried: chosen.carried,
        shard: chosen.shard,
        // Built once `config` is known (manifest.json may name more secrets).
        secrets: Default::default(),
        claims: Default::default(),
        journal_key: None,
        cache: None,
        leg: crate::evidence::leg::LegStamp::of_run(
            crate::evidence::leg::LegStamp::from_env(|k| std::env::var(k).ok()),
            chosen.leg,
        ),
    }
}

/// Runs the scheduler under containment, with the display fed by its events, and prints
/// the summary.
async fn execute(
    ctx: &Context,
    loaded: Loaded,
    options: RunOptions,
    env: Arc<RunEnv>,
    (run_id, dir, explain_cache): (String, &std::path::Path, bool),
    signals: tokio::sync::mpsc::UnboundedReceiver<i32>,
) -> Result<runner::RunSummary, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let output = ctx.output.clone().masking(options.secrets.clone());
    let mut display = RunDisplay::new(output)
        .at_root(env.cwd_bounds.root())
        .explaining_cache(explain_cache);
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            display.event(event);
        }
        display
    });
    // The scheduler runs on a runtime worker, beside the tasks it starts, rather than on
    // the thread blocked in `block_on`: otherwise every finished task wakes this thread
    // and every start wakes a worker (about 5% of spawn1000).
    let Loaded {
        plan,
        graph,
        config,
        ..
    } = loaded;
    let shared = Arc::new((plan, graph, config, Registry::builtin()));
    let mut containment = crate::supervise::Containment::start();
    // The scheduler hears cargo-tek's signals, and the watchdog's death as if it were a
    // SIGKILL sent twice: running tasks are killed at once, none starts, and the run
    // ends as interrupted (exit 137), after the watchdog's job is done (see `watchdog`).
    let (stop_tx, stop_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut signals = signals;
    let forward = stop_tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            if forward.send(signal).is_err() {
                break;
            }
        }
    });
    let output = ctx.output.clone();
    let watch = tokio::spawn(async move {
        let why = crate::supervise::watchdog::lost().await;
        output.warn(why);
        let kill = nix::sys::signal::Signal::SIGKILL as i32;
        let _ = stop_tx.send(kill);
        let _ = stop_tx.send(kill);
    });
    let signals = stop_rx;
    let scheduler = tokio::spawn({
        let shared = shared.clone();
        async move {
            let (plan, graph, config, registry) = &*shared;
            let inputs =
                runner::scheduler_inputs(plan, graph, &config.hooks, &config.manifest, registry);
            runner::run(inputs, &options, env, run_id, tx, Some(signals)).await
        }
    });
    let result = scheduler.await;
    watch.abort();
    forwarder.abort();
    // Nothing a task started outlives the run, whatever its commands' ends missed.
    containment.finish();
    let result = result.map_err(|e| Error::Internal(format!("the scheduler failed: {e}")))?;
    let display = printer
        .await
        .map_err(|e| Error::Internal(format!("the progress display failed: {e}")))?;
    let summary = result.map_err(|source| Error::EvidenceIo {
        context: format!("failed to write evidence in `{}`", dir.display()),
        source,
    })?;
    display.finish(&summary.record);
    Ok(summary)
}

/// `run --report`: publishes like `report` would, while SIGINT/SIGTERM/SIGHUP end it at
/// once (a hanging GitHub API, a job-summary file that blocks). The exit code: a signal
/// wins (128 + its number); else a failed run keeps its own code and a report error is
/// shown; else the report error's code, as `report` would exit.
async fn report_after_run(
    ctx: &Context,
    args: &RunArgs,
    dir: &std::path::Path,
    exit: ExitCode,
    mut signals: tokio::sync::mpsc::UnboundedReceiver<i32>,
) -> Result<ExitCode, Error> {
    // Signals that came during the run were the scheduler's to handle.
    while signals.try_recv().is_ok() {}
    let report_args = crate::cli::ReportArgs {
        run: Some(dir.to_path_buf()),
        job_summary: args.report.contains(&ReportKind::JobSummary),
        pr_comment: args.report.contains(&ReportKind::PrComment),
        ..crate::cli::ReportArgs::defaults()
    };
    let published = tokio::select! {
        published = super::report::publish(ctx, &report_args, true) => published.map(drop),
        Some(signal) = signals.recv() => Err(Error::Interrupted(signal)),
    };
    match published {
        Ok(()) => Ok(exit),
        Err(err @ Error::Interrupted(_)) => {
            ctx.output
                .warn(format!("the report was not finished: {err}"));
            Ok(err.exit_code())
        }
        Err(err) if exit == ExitCode::Success => Err(err),
        Err(err) => {
            ctx.output.diagnostic("error", &err);
            Ok(exit)
        }
    }
}

/// The one place a run's verdict becomes the process's exit code.
fn exit_code(verdict: runner::Verdict) -> ExitCode {
    match verdict {
        runner::Verdict::Passed => ExitCode::Success,
        runner::Verdict::TasksFailed => ExitCode::TasksFailed,
        runner::Verdict::EvidenceLost => ExitCode::EvidenceIo,
        runner::Verdict::Interrupted(signal) => ExitCode::Interrupted(signal),
    }
}

/// `--rerun-failed`: the tasks whose last real result in a run of this plan was not a
/// pass (or that have none), and the state of every task, to carry forward.
fn rerun_selection(
    ctx: &Context,
    plan: &Plan,
    runs_dir: &std::path::Path,
    include_done: bool,
) -> (
    HashSet<String>,
    HashMap<String, crate::evidence::TaskResult>,
) {
    let plan_id = history::plan_id(plan.tasks().map(|(_, t)| t.id.as_str()));
    // Done tasks do not run (without --include-done), so they need no state.
    let ids: Vec<&str> = plan
        .tasks()
        .filter(|(_, t)| include_done || !t.done)
        .map(|(_, t)| t.id.as_str())
        .collect();
    let history = History::read(runs_dir, &plan_id, &ids);
    warn_unreadable(ctx, &history.unreadable);
    let again = history.not_passed(&ids);
    let tasks = |n: usize| crate::text::count(n, "task", "tasks");
    match &history.newest {
        Some(newest) => ctx.output.status(
            "Rerunning",
            format!(
                "{} of {} that have not passed yet (state as of run {newest}; the other {} carried forward)",
                tasks(again.len()),
                ids.len(),
                ids.len() - again.len()
            ),
        ),
        None => {
            let ignored = if history.ignored.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} ignored: dry runs and runs of another plan do not count)",
                    tasks(history.ignored.len()).replace("task", "run")
                )
            };
            ctx.output.warn(format!(
                "--rerun-failed: no earlier run of this plan under `{}`{ignored}; running every task",
                runs_dir.display()
            ));
        }
    }
    (again, history.state)
}

fn warn_unreadable(ctx: &Context, unreadable: &[run_dir::Unreadable]) {
    for u in unreadable {
        ctx.output.warn(format!(
            "skipping `{}`: no readable run ({})",
            u.dir.display(),
            u.why
        ));
    }
}
