//! The floor for cargo-tek's runner benchmarks: the least work a task runner can do.
//!
//! `tek-bench-floor JOBS COUNT OUTDIR CMD [ARG...]` runs COUNT copies of CMD (no shell),
//! at most JOBS at once, on JOBS plain threads sharing an atomic counter. Each task's
//! stdout and stderr go to their own files, OUTDIR/<n>.out and OUTDIR/<n>.err, like a
//! runner that keeps a log per task. Exit status: 0 if every task exited 0, else 2.

use std::fs::File;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

mod args;

fn main() -> ExitCode {
    let args = match args::parse("tek-bench-floor") {
        Ok(args) => args,
        Err(code) => return code,
    };
    let (jobs, count) = (args.jobs, args.count);
    let argv: Arc<Vec<String>> = Arc::new(args.argv);
    let outdir = Arc::new(args.outdir);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));

    let workers: Vec<_> = (0..jobs.min(count.max(1)))
        .map(|_| {
            let (argv, outdir, next, failed) =
                (argv.clone(), outdir.clone(), next.clone(), failed.clone());
            thread::spawn(move || loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let ok = (|| -> std::io::Result<bool> {
                    let out = File::create(outdir.join(format!("{n}.out")))?;
                    let err = File::create(outdir.join(format!("{n}.err")))?;
                    let status = Command::new(&argv[0])
                        .args(&argv[1..])
                        .stdin(std::process::Stdio::null())
                        .stdout(out)
                        .stderr(err)
                        .status()?;
                    Ok(status.success())
                })();
                match ok {
                    Ok(true) => {}
                    Ok(false) => failed.store(true, Ordering::Relaxed),
                    Err(e) => {
                        eprintln!("tek-bench-floor: task {n}: {e}");
                        failed.store(true, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    if failed.load(Ordering::Relaxed) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
