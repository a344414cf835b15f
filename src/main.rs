//! The `cargo-tek` binary: builds the runtime and hands over to the library.

// The output layer lives inside the runtime; if that cannot start, this is the one
// message printed directly.
#![allow(clippy::disallowed_macros)]

fn main() {
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        // Run on a worker thread rather than in `block_on`: the scheduler and the tasks it
        // starts then share the workers, instead of every finished task waking the main
        // thread and every start waking a worker.
        Ok(runtime) => {
            let cli = runtime.spawn(cargo_tek::run_cli(std::env::args_os().collect()));
            runtime.block_on(cli).unwrap_or(1)
        }
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            1
        }
    };
    std::process::exit(code);
}
