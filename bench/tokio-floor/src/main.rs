//! The Tokio floor for cargo-tek's runner benchmarks: the least a runner built on Tokio
//! does, as the issue asks cargo-tek to be.
//!
//! `tek-bench-tokio-floor JOBS COUNT OUTDIR CMD [ARG...]` runs COUNT copies of CMD (no
//! shell) on a multi-thread runtime, at most JOBS at once in a `JoinSet`, each spawned
//! with `tokio::process` and awaited on the runtime. Each task's stdout and stderr go to
//! OUTDIR/<n>.out and OUTDIR/<n>.err. No process groups, timeouts, journal, headers or
//! display: the difference from the std floor is the cost of the Tokio model itself.
//! Exit status: 0 if every task exited 0, else 2; 1 for a usage error.

// A standalone bench tool: it prints its own errors (the repository's clippy.toml is
// meant for cargo-tek's library).
#![allow(clippy::disallowed_macros)]

use std::fs::File;
use std::process::{ExitCode, Stdio};

#[path = "../../floor/src/args.rs"]
mod args;

async fn one(n: usize, argv: &[String], outdir: &std::path::Path) -> std::io::Result<bool> {
    let out = File::create(outdir.join(format!("{n}.out")))?;
    let err = File::create(outdir.join(format!("{n}.err")))?;
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()?;
    Ok(child.wait().await?.success())
}

fn main() -> ExitCode {
    let args = match args::parse("tek-bench-tokio-floor") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let (jobs, count) = (args.jobs, args.count);
    let argv = std::sync::Arc::new(args.argv);
    let outdir = std::sync::Arc::new(args.outdir);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tek-bench-tokio-floor: {e}");
            return ExitCode::from(1);
        }
    };
    let all_ok = runtime.block_on(async move {
        let mut running = tokio::task::JoinSet::new();
        let (mut next, mut all_ok) = (0, true);
        loop {
            while running.len() < jobs && next < count {
                let (n, argv, outdir) = (next, argv.clone(), outdir.clone());
                next += 1;
                running.spawn(async move { (n, one(n, &argv, &outdir).await) });
            }
            match running.join_next().await {
                Some(Ok((_, Ok(true)))) => {}
                Some(Ok((_, Ok(false)))) => all_ok = false,
                Some(Ok((n, Err(e)))) => {
                    eprintln!("tek-bench-tokio-floor: task {n}: {e}");
                    all_ok = false;
                }
                Some(Err(e)) => {
                    eprintln!("tek-bench-tokio-floor: {e}");
                    all_ok = false;
                }
                None => break,
            }
        }
        all_ok
    });
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
