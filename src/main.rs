//! The `cargo-tek` binary: builds the runtime and hands over to the library.

// The output layer lives inside the runtime; if that cannot start, this is the one
// message printed directly.
#![allow(clippy::disallowed_macros)]

fn main() {
    // Before any thread exists: `run` re-executes itself without the scrubbed variables,
    // so that no task can read them from this process's /proc/<pid>/environ.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    cargo_tek::supervise::secrets::isolate(cargo_tek::commands::starts_tasks(&args));
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(cargo_tek::run_cli(args)),
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            1
        }
    };
    std::process::exit(code);
}
