//! One file per subcommand: glue between the CLI, the library and the output.

mod affected;
mod check;
mod context;
mod explain_cache;
mod init;
mod leg;
mod plan;
mod plan_legs;
mod report;
mod report_merge;
mod run;
mod schema;
mod shard;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cargo, Command};
use crate::error::{Error, ExitCode};
use crate::output::Output;

pub(crate) use context::Context;

/// Runs cargo-tek with `args` (including the program name) and returns the exit code.
/// Callable more than once per process, so whole commands can be tested in-process.
pub async fn run_cli(args: Vec<OsString>) -> i32 {
    let args = normalize(args);
    let cargo = match Cargo::try_parse_from(args) {
        Ok(cargo) => cargo,
        Err(err) => {
            let _ = err.print();
            // clap uses 2 for usage errors; 2 means "tasks failed" here.
            return if err.use_stderr() {
                ExitCode::BadInput.code()
            } else {
                0
            };
        }
    };
    let Cargo::Tek(tek) = cargo;
    let color = tek.global.color.map(|c| match c {
        crate::cli::Color::Auto => crate::output::Color::Auto,
        crate::cli::Color::Always => crate::output::Color::Always,
        crate::cli::Color::Never => crate::output::Color::Never,
    });
    let output = Output::new(color, tek.global.quiet, tek.global.verbose);
    let ctx = match Context::new(tek.global.clone(), output.clone()) {
        Ok(ctx) => ctx,
        Err(err) => return report(&output, &err),
    };
    let result = match tek.command {
        Command::Plan(args) => plan::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Run(args) => run::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Schema(args) => schema::run(&ctx, args),
        Command::Affected(args) => affected::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::ExplainCache(args) => explain_cache::run(&ctx, args),
    };
    let code = match result {
        Ok(code) => code.code(),
        Err(err) => report(&output, &err),
    };
    output.finish_annotations();
    code
}

fn report(output: &Output, err: &Error) -> i32 {
    if !matches!(err, Error::CheckFailed(_)) {
        output.diagnostic("error", err);
    }
    err.exit_code().code()
}

/// Whether `args` ask for a command that starts tasks (`run`), which must not hold
/// scrubbed values in its exec-time environment (see [`crate::supervise::secrets`]).
pub fn starts_tasks(args: &[OsString]) -> bool {
    matches!(
        Cargo::try_parse_from(normalize(args.to_vec())),
        Ok(Cargo::Tek(tek)) if matches!(tek.command, Command::Run(_))
    )
}

/// Accepts both `cargo tek <cmd>` (argv: cargo-tek tek <cmd>) and `cargo-tek <cmd>`.
fn normalize(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.get(1).and_then(|a| a.to_str()) != Some("tek") {
        args.insert(1, "tek".into());
    }
    args
}
