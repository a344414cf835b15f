//! Command-line types (clap only; no logic). `cargo tek <command>` arrives as
//! `cargo-tek tek <command>`; running `cargo-tek <command>` directly also works because
//! [`crate::run_cli`] inserts the `tek` when it is missing.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes of `run` (and of `cargo tek` as a whole), shown in its help.
pub(crate) const EXIT_CODES: &str = "Exit codes:
  0    success (noop tasks count as success)
  1    bad input or usage (the message names the file, line and column)
  2    one or more tasks failed or timed out
  3    evidence could not be written in full (a full disk, say)
  4    the PR comment could not be posted (run --report, with its errors)
  5    an internal error of cargo-tek (a bug: please report it)
  129  interrupted by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM";

/// Exit codes of the commands that run no task (`plan`, `check`, `affected`).
pub(crate) const EXIT_CODES_NO_TASKS: &str = "Exit codes:
  0    success
  1    bad input or usage (the message names the file, line and column)
  3    a file could not be written (the plan, $GITHUB_OUTPUT)
  5    an internal error of cargo-tek (a bug: please report it)";

/// Exit codes of `report`.
pub(crate) const EXIT_CODES_REPORT: &str = "Exit codes:
  0    success (also when the run it reports failed: the run's own exit code gates)
  1    bad input or usage (the message names the file, line and column)
  3    a file could not be read or written (the run directory, the job summary)
  4    GitHub's API failed for the PR comment after retries (--strict, or any error that
       is not a missing permission or PR context)
  5    an internal error of cargo-tek (a bug: please report it)
  129  interrupted by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM";

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
pub(crate) enum Cargo {
    /// Plan and run the tasks of a Markdown source of truth, with evidence for CI.
    Tek(TekArgs),
}

#[derive(Debug, Args)]
#[command(version, about, after_help = EXIT_CODES)]
pub(crate) struct TekArgs {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct GlobalArgs {
    /// Path to Cargo.toml of the workspace
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// Coloring: auto, always, never [default: $CARGO_TERM_COLOR, else auto]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub(crate) color: Option<Color>,
    /// Less output
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// More output
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// The source of truth to plan [default: sot.md at the workspace root]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) sot: Option<PathBuf>,
    /// Directory holding hooks.json and manifest.json [default: config/]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Turn sot.md into a plan: a readable view, or versioned JSON
    #[command(after_help = EXIT_CODES_NO_TASKS)]
    Plan(PlanArgs),
    /// Validate sot.md and the config together
    #[command(after_help = EXIT_CODES_NO_TASKS)]
    Check(CheckArgs),
    /// Run the plan on a worker pool and write evidence
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Render a run's evidence as Markdown, a job summary or a PR comment
    #[command(after_help = EXIT_CODES_REPORT)]
    Report(ReportArgs),
    /// Print the JSON Schema of a file cargo-tek writes
    Schema(SchemaArgs),
    /// Say which tasks the change since BASE affects, and why, without running them
    #[command(after_help = EXIT_CODES_NO_TASKS)]
    Affected(AffectedArgs),
    /// Write a first sot.md and config/ for this workspace, from `cargo metadata`
    #[command(after_help = EXIT_CODES_NO_TASKS)]
    Init(InitArgs),
    /// Show what a task's result-cache key is made of and, on a miss, what changed
    #[command(after_help = EXIT_CODES_NO_TASKS)]
    ExplainCache(ExplainCacheArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExplainCacheArgs {
    /// The task
    #[arg(value_name = "ID")]
    pub(crate) task: String,
    /// Where run directories (and the cache in them) are [default: .tek/runs at the workspace root]
    #[arg(long, value_name = "DIR")]
    pub(crate) runs_dir: Option<PathBuf>,
    /// List every file of the key, not only the changes
    #[arg(long)]
    pub(crate) all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Overwrite files that exist (never through a symlink)
    #[arg(long)]
    pub(crate) force: bool,
    /// Also write .github/workflows/cargo-tek.yml, which runs the gates with the cargo-tek Action
    #[arg(long)]
    pub(crate) workflow: bool,
    /// The ref of the Action the workflow uses: a tag, or (what zizmor asks for) a commit SHA [default: v1]
    #[arg(long, value_name = "REF", requires = "workflow")]
    pub(crate) action_ref: Option<String>,
    /// The workflow keeps no sticky PR comment, and so asks for no pull-requests: write
    #[arg(long, requires = "workflow")]
    pub(crate) no_comment: bool,
    /// Print the files instead of writing them
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AffectedArgs {
    /// Compare with BASE's merge base [default: origin/$GITHUB_BASE_REF, else origin/HEAD]
    #[arg(value_name = "BASE")]
    pub(crate) base: Option<String>,
    /// Show the chain behind each decision and what each task covers
    #[arg(long)]
    pub(crate) explain: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: AffectedFormat,
    /// Whether the tasks a running task waits for run too (run), or count as passed when unaffected (skip) [default: run]
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) affected_deps: Option<AffectedDeps>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AffectedFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AffectedDeps {
    Run,
    Skip,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Write the JSON plan to FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Output format on stdout [default: text, or json with --out]; matrix needs --shards or an `os` axis
    #[arg(long, value_enum)]
    pub(crate) format: Option<PlanFormat>,
    /// Split the plan over N CI jobs (1-256) that no dependency crosses
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=crate::plan::sharding::MAX_SHARDS as i64))]
    pub(crate) shards: Option<u32>,
    /// Weigh tasks by these earlier runs (run.json files or run directories; median per task)
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "shards")]
    pub(crate) durations: Vec<PathBuf>,
    /// Workers each shard's job will run with [default: number of CPUs]
    #[arg(long, short = 'j', value_name = "N", requires = "shards", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_workers: Option<u16>,
    /// Also write the matrix to $GITHUB_OUTPUT as NAME=<json>
    #[arg(long, value_name = "NAME")]
    pub(crate) github_output: Option<String>,
    /// Balance the shards over the tasks the change since BASE affects; `run --plan` then runs only those [default BASE: origin/$GITHUB_BASE_REF, else origin/HEAD]
    #[arg(long, value_name = "BASE", num_args = 0..=1, default_missing_value = "", requires = "shards")]
    pub(crate) affected: Option<String>,
    /// With --affected: the tasks a running task waits for run too (run), or count as passed when unaffected (skip) [default: run]
    #[arg(long, value_enum, value_name = "MODE", requires = "affected")]
    pub(crate) affected_deps: Option<AffectedDeps>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    Text,
    Json,
    // The shards as a GitHub Actions matrix (no doc comment: it would switch clap to
    // the long help layout).
    Matrix,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Accept a plan in which no task has a hook (everything would run as a noop)
    #[arg(long)]
    pub(crate) allow_noop: bool,
    /// Fail when the predecessor would plan a task cargo-tek does not (legacy sot.md)
    #[arg(long)]
    pub(crate) strict_legacy: bool,
    /// Where earlier runs are, for the measured cost of `cargo test -p` splits [default:
    /// .tek/runs at the workspace root]
    #[arg(long, value_name = "DIR")]
    pub(crate) runs_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Run this plan file instead of planning sot.md (commands still come from hooks.json)
    #[arg(long, value_name = "FILE", help_heading = "Task Selection")]
    pub(crate) plan: Option<PathBuf>,
    /// At most N tasks at once [default: number of CPUs]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Execution")]
    pub(crate) max_workers: Option<u16>,
    /// Spawn nothing: record what would run
    #[arg(long, help_heading = "Execution")]
    pub(crate) dry_run: bool,
    /// Where run directories are created [default: .tek/runs at the workspace root]
    #[arg(long, value_name = "DIR", help_heading = "Evidence")]
    pub(crate) runs_dir: Option<PathBuf>,
    /// Only these tasks (their dependencies count as done unless --with-deps)
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,
    /// Only these task ids (comma-separated), like the positional IDs
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ID,...",
        help_heading = "Task Selection"
    )]
    pub(crate) only: Vec<String>,
    /// Only the tasks of this queue: its letter (B), its name without "Queue B — ", or the full name; repeatable
    #[arg(long, value_name = "QUEUE", help_heading = "Task Selection")]
    pub(crate) queue: Vec<String>,
    /// Also run everything the selected tasks wait for
    #[arg(long, help_heading = "Task Selection")]
    pub(crate) with_deps: bool,
    /// Also run tasks checked as done in sot.md
    #[arg(long, help_heading = "Task Selection")]
    pub(crate) include_done: bool,
    /// Stop starting tasks after the first failure; running tasks are cancelled
    #[arg(long, overrides_with = "keep_going", help_heading = "Execution")]
    pub(crate) fail_fast: bool,
    /// Run everything that can run despite failures (default)
    #[arg(long, overrides_with = "fail_fast", help_heading = "Execution")]
    pub(crate) keep_going: bool,
    /// Time limit per command, e.g. 90s or 5m, when neither the command nor its hook sets one
    #[arg(long, value_name = "DURATION", help_heading = "Execution")]
    pub(crate) timeout: Option<crate::config::Duration>,
    /// Retry a failed task up to N times, at most 100 (a hook's own `retries` wins)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=crate::config::MAX_RETRIES as i64), help_heading = "Execution")]
    pub(crate) retries: Option<u32>,
    /// Run even if no task has a hook (everything runs as a noop)
    #[arg(long, help_heading = "Execution")]
    pub(crate) allow_noop: bool,
    /// Run only what failed, timed out or did not finish in the previous run
    #[arg(long, help_heading = "Task Selection")]
    pub(crate) rerun_failed: bool,
    /// Time between SIGTERM and SIGKILL when cancelling [default: 5s]
    #[arg(long, value_name = "DURATION", help_heading = "Execution")]
    pub(crate) grace_period: Option<crate::config::Duration>,
    /// Run only shard K of N: from --plan's shard layout, else split sot.md in place
    #[arg(long, value_name = "K/N", help_heading = "Task Selection")]
    pub(crate) shard: Option<crate::plan::sharding::ShardSpec>,
    /// The leg of a matrix with an `os` axis this run is [default: the job's matrix, else RUNNER_OS]
    #[arg(long, value_name = "os=VALUE", help_heading = "Task Selection")]
    pub(crate) leg: Option<String>,
    /// With --shard and no --plan: weigh tasks by this earlier run, as `plan --durations` (repeatable)
    #[arg(
        long,
        value_name = "FILE",
        requires = "shard",
        conflicts_with = "plan",
        help_heading = "Task Selection"
    )]
    pub(crate) durations: Vec<PathBuf>,
    /// Run only the tasks the change since BASE's merge base affects [default BASE: origin/$GITHUB_BASE_REF, else origin/HEAD]
    #[arg(long, value_name = "BASE", num_args = 0..=1, default_missing_value = "", help_heading = "Task Selection")]
    pub(crate) affected: Option<String>,
    /// With --affected: the tasks a running task waits for run too (run), or count as passed when unaffected (skip) [default: run]
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        requires = "affected",
        help_heading = "Task Selection"
    )]
    pub(crate) affected_deps: Option<AffectedDeps>,
    /// After the run, publish reports: pr-comment, job-summary
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        value_name = "KIND,...",
        help_heading = "Evidence"
    )]
    pub(crate) report: Vec<ReportKind>,
    /// Replay each task whose inputs did not change since it last passed, instead of running it
    /// (manifest.json `"cache": true` turns it on for every run)
    #[arg(long, help_heading = "Execution")]
    pub(crate) cache: bool,
    /// With the cache: say why each task that runs missed it
    #[arg(long, help_heading = "Execution")]
    pub(crate) explain_cache: bool,
    /// Also use this Turborepo-compatible remote cache (token: $CARGO_TEK_CACHE_TOKEN,
    /// signing key: $CARGO_TEK_CACHE_SIGNATURE_KEY); implies --cache
    #[arg(long, value_name = "URL", help_heading = "Execution")]
    pub(crate) cache_url: Option<String>,
    /// The remote cache's team id [default: $CARGO_TEK_CACHE_TEAM, else cargo-tek]
    #[arg(
        long,
        value_name = "TEAM",
        requires = "cache_url",
        help_heading = "Execution"
    )]
    pub(crate) cache_team: Option<String>,
    /// Read the remote cache, never write to it (what pull requests get)
    #[arg(long, requires = "cache_url", help_heading = "Execution")]
    pub(crate) cache_read_only: bool,
    /// The run (or runs directory, newest run) whose warnings `fail_on_new_warnings`
    /// hooks compare with [default: the newest earlier run that recorded them]
    #[arg(long, value_name = "DIR", help_heading = "Evidence")]
    pub(crate) baseline: Option<PathBuf>,
}

impl ReportArgs {
    /// `report` with no arguments, as clap's own declarations default it: what `run
    /// --report` starts from, so the defaults are written once.
    pub(crate) fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cargo::command()
            .try_get_matches_from(["cargo", "tek", "report"])
            .expect("`cargo tek report` alone parses");
        let tek = matches.subcommand_matches("tek").expect("tek");
        let report = tek.subcommand_matches("report").expect("report");
        Self::from_arg_matches(report).expect("report's own defaults")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportKind {
    PrComment,
    JobSummary,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct ReportArgs {
    /// The run directory [default: the latest under the runs directory]
    #[arg(long, value_name = "DIR", conflicts_with = "merge")]
    pub(crate) run: Option<PathBuf>,
    /// Where run directories are found, and a merged run is written [default: .tek/runs at the workspace root]
    #[arg(long, value_name = "DIR")]
    pub(crate) runs_dir: Option<PathBuf>,
    /// Merge these runs (shards of one plan, or matrix legs), or folders holding them, into one run and report it
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub(crate) merge: Vec<PathBuf>,
    /// With --merge: report even when a planned shard has no run (it is shown as missing)
    #[arg(long, requires = "merge")]
    pub(crate) allow_missing: bool,
    /// With --merge --allow-missing: the plan file the shards ran (`plan --shards N --out
    /// plan.json`), so that each task of a missing shard is listed as not run
    #[arg(long = "plan", value_name = "FILE", requires = "allow_missing")]
    pub(crate) merge_plan: Option<PathBuf>,
    /// Render this minijinja template instead of the built-in report
    #[arg(long, value_name = "FILE")]
    pub(crate) template: Option<PathBuf>,
    /// Write the report to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "markdown")]
    pub(crate) format: ReportFormat,
    /// Append the report to $GITHUB_STEP_SUMMARY
    #[arg(long)]
    pub(crate) job_summary: bool,
    /// Create or update one sticky comment on the pull request
    #[arg(long)]
    pub(crate) pr_comment: bool,
    /// Pull request number [default: from $GITHUB_EVENT_PATH]
    #[arg(long, value_name = "N")]
    pub(crate) pr: Option<u64>,
    /// Sticky comment key, so two workflows keep separate comments
    #[arg(long, value_name = "KEY", default_value = "cargo-tek")]
    pub(crate) key: String,
    /// Fail (exit 4) when the comment cannot be posted, instead of warning
    #[arg(long)]
    pub(crate) strict: bool,
    /// Where to save the comment body when it cannot be posted [default: <run>/pr-comment.md]
    #[arg(long, value_name = "FILE")]
    pub(crate) save_comment: Option<PathBuf>,
    /// Report that no task ran because cargo-tek stopped on bad input; FILE holds its error output
    #[arg(long, value_name = "FILE", conflicts_with_all = ["run", "runs_dir", "template", "merge"])]
    pub(crate) config_error: Option<PathBuf>,
    /// Exit code of the command that stopped, with --config-error [default: 1]
    #[arg(long, value_name = "CODE", requires = "config_error")]
    pub(crate) exit_code: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which file
    #[arg(value_enum)]
    pub(crate) which: SchemaKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaKind {
    Plan,
    Run,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cargo::command().debug_assert();
    }

    #[test]
    fn report_defaults_are_clap_s_own() {
        let d = ReportArgs::defaults();
        assert_eq!(d.key, "cargo-tek");
        assert!(matches!(d.format, ReportFormat::Markdown));
        assert!(d.run.is_none() && !d.pr_comment && !d.job_summary && !d.strict);
    }
}
