//! The `cargo-tek` binary: builds the runtime and hands over to the library.

// The output layer lives inside the runtime; if that cannot start, this is the one
// message printed directly.
#![allow(clippy::disallowed_macros)]

fn main() {
    // Before any thread exists: `run` re-executes itself without the scrubbed variables,
    // so that no task can read them from this process's /proc/<pid>/environ.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The run's watchdog is this binary too (see supervise::watchdog).
    if args
        .get(1)
        .is_some_and(|a| a == cargo_tek::entry::WATCHDOG_ARG)
    {
        std::process::exit(cargo_tek::entry::serve_watchdog(&args));
    }
    // The Action's run step starts its shell through this (see secrets::exec_scrubbed).
    if args.get(1).is_some_and(|a| a == cargo_tek::entry::EXEC_ARG) {
        let why = cargo_tek::entry::exec_scrubbed(&args);
        eprintln!("error: {why}");
        std::process::exit(cargo_tek::ExitCode::BadInput.code());
    }
    cargo_tek::entry::isolate(cargo_tek::entry::starts_tasks(&args));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            std::process::exit(cargo_tek::ExitCode::Internal.code());
        }
    };
    let code = runtime.block_on(cargo_tek::run_cli(args));
    // Exit with the runtime still alive: dropping it would wait for blocking work (a write
    // to a job-summary file that never returns) that a signal has already given up on.
    std::process::exit(code);
}
