//! The command line both benchmark floors share: `TOOL JOBS COUNT OUTDIR CMD [ARG...]`.
//! The Tokio floor includes this file with `#[path]`, so the two parse it the same way.

use std::path::PathBuf;
use std::process::ExitCode;

/// What to run.
pub struct Args {
    /// At most this many tasks at once (at least 1).
    pub jobs: usize,
    /// How many copies of the command.
    pub count: usize,
    /// Where `<n>.out` and `<n>.err` go; created if missing.
    pub outdir: PathBuf,
    /// The command, run without a shell.
    pub argv: Vec<String>,
}

/// Parses the process arguments and creates OUTDIR, or prints why not (as `tool`) and
/// returns the exit code to use.
pub fn parse(tool: &str) -> Result<Args, ExitCode> {
    let usage = || {
        eprintln!("usage: {tool} JOBS COUNT OUTDIR CMD [ARG...]");
        ExitCode::from(1)
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err(usage());
    }
    let (Ok(jobs), Ok(count)) = (args[0].parse::<usize>(), args[1].parse::<usize>()) else {
        return Err(usage());
    };
    if jobs == 0 {
        return Err(usage());
    }
    let outdir = PathBuf::from(&args[2]);
    if let Err(e) = std::fs::create_dir_all(&outdir) {
        eprintln!("{tool}: {}: {e}", outdir.display());
        return Err(ExitCode::from(1));
    }
    Ok(Args {
        jobs,
        count,
        outdir,
        argv: args[3..].to_vec(),
    })
}
