//! `run --leg os=VALUE`: which leg of a matrix with an `os` axis this run is (from the
//! flag, the job's matrix or `RUNNER_OS`), and the plan narrowed to its combinations.
//! Glue only; the choice and the narrowing are `plan::leg`'s.

use crate::error::Error;
use crate::plan::leg::{choose, narrow, os_values, LegRequest, OS};
use crate::plan::{Graph, Plan};

/// Narrows `plan` (and rebuilds `graph`) to this run's `os` leg; the leg and the task
/// ids left out, or None when no matrix has an `os` axis. Refusing when no leg is known is deliberate: running
/// every `os` combination on one machine would report macOS results from Linux.
pub(crate) fn narrow_to_leg(
    flag: Option<&str>,
    plan: &mut Plan,
    graph: &mut Graph,
) -> Result<Option<(String, Vec<String>)>, Error> {
    let values = os_values(plan);
    let job_matrix = std::env::var("CARGO_TEK_MATRIX")
        .ok()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .and_then(|m| m.get(OS)?.as_str().map(str::to_owned));
    let runner_os = std::env::var("RUNNER_OS").ok().filter(|v| !v.is_empty());
    let request = LegRequest {
        flag,
        job_matrix: job_matrix.as_deref(),
        runner_os: runner_os.as_deref(),
    };
    let Some(os) = choose(&values, &request).map_err(Error::Usage)? else {
        return Ok(None);
    };
    let left_out = narrow(plan, &os);
    *graph = Graph::new(plan).map_err(|e| Error::Usage(format!("--leg os={os}: {e}")))?;
    Ok(Some((os, left_out)))
}
