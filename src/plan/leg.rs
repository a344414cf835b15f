//! Matrix legs: a matrix axis named `os` does not expand inside one run. Its values are
//! the legs of the CI matrix (`plan --format matrix`), and a run on one leg keeps only
//! the combinations of its `os` (and the tasks that are no combination of it).

use super::model::Plan;

/// The axis that names machines rather than tasks.
pub(crate) const OS: &str = "os";

/// The `os` value of a task's matrix, if it has one.
fn os_of(task: &super::PlanTask) -> Option<&str> {
    task.matrix
        .as_ref()?
        .0
        .iter()
        .find(|(k, _)| k == OS)
        .map(|(_, v)| v.as_str())
}

/// The plan's `os` values in the order first planned; empty when no matrix has `os`.
pub(crate) fn os_values(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, task) in plan.tasks() {
        if let Some(os) = os_of(task) {
            if !out.iter().any(|v| v == os) {
                out.push(os.to_owned());
            }
        }
    }
    out
}

/// Keeps the combinations of leg `os` (and every task without an `os`), and drops the
/// dependencies on the others: on this leg, "after TASK-010" means after this leg's
/// combinations of it. Returns the ids left out, with their base ids: they are still
/// tasks of sot.md, so their hooks name something (a task whose every combination is on
/// another leg, such as an ubuntu-only set-up step, is simply not on this one).
pub(crate) fn narrow(plan: &mut Plan, os: &str) -> Vec<String> {
    let mut dropped = std::collections::HashSet::new();
    let mut left_out = Vec::new();
    for queue in &mut plan.queues {
        queue.tasks.retain(|t| match os_of(t) {
            Some(value) if value != os => {
                dropped.insert(t.id.clone());
                left_out.push(t.id.clone());
                left_out.extend(t.base.clone());
                false
            }
            _ => true,
        });
    }
    if dropped.is_empty() {
        return left_out;
    }
    for task in plan.queues.iter_mut().flat_map(|q| &mut q.tasks) {
        task.after.retain(|d| !dropped.contains(d));
    }
    left_out.sort();
    left_out.dedup();
    left_out
}

/// Which leg a run is, or why none can be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegRequest<'a> {
    /// `--leg os=VALUE`, as typed.
    pub(crate) flag: Option<&'a str>,
    /// The `os` of the job's matrix (`CARGO_TEK_MATRIX`, which the Action passes).
    pub(crate) job_matrix: Option<&'a str>,
    /// `RUNNER_OS` (`Linux`, `macOS`, `Windows`).
    pub(crate) runner_os: Option<&'a str>,
}

/// The `os` leg of this run among `values` (the plan's): `--leg` first, then the job's
/// matrix, then `RUNNER_OS` matched by prefix (`Linux` is `ubuntu-*`, `macOS` is
/// `macos-*`, `Windows` is `windows-*`). `Ok(None)` when the plan has no `os` axis.
pub(crate) fn choose(values: &[String], req: &LegRequest<'_>) -> Result<Option<String>, String> {
    let listed = || {
        let v: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        v.join(", ")
    };
    if let Some(flag) = req.flag {
        let Some(value) = flag.strip_prefix("os=") else {
            return Err(format!("--leg {flag}: a leg is written `os=VALUE` (the matrix axis `os` is the only one that names legs)"));
        };
        if values.is_empty() {
            return Err(format!(
                "--leg {flag}: no matrix in hooks.json has an `os` axis, so there are no legs"
            ));
        }
        return match values.iter().find(|v| *v == value) {
            Some(v) => Ok(Some(v.clone())),
            None => Err(format!(
                "--leg {flag}: `{value}` is not a value of the `os` axis; the legs are {}",
                listed()
            )),
        };
    }
    if values.is_empty() {
        return Ok(None);
    }
    if let Some(v) = req.job_matrix.and_then(|m| values.iter().find(|v| *v == m)) {
        return Ok(Some(v.clone()));
    }
    let Some(runner) = req.runner_os else {
        return Err(format!(
            "the plan has matrix combinations for several machines (`os` is {}): a run is one of them; pass --leg os=VALUE (in GitHub Actions the job's matrix or RUNNER_OS chooses it)",
            listed()
        ));
    };
    let prefix = match runner {
        "Linux" => "ubuntu",
        "macOS" => "macos",
        "Windows" => "windows",
        other => other,
    }
    .to_ascii_lowercase();
    let matching: Vec<&String> = values
        .iter()
        .filter(|v| v.to_ascii_lowercase().starts_with(&prefix))
        .collect();
    match matching.as_slice() {
        [one] => Ok(Some((*one).clone())),
        [] => Err(format!("RUNNER_OS is `{runner}`, which matches none of the `os` values {}; pass --leg os=VALUE", listed())),
        many => {
            let m: Vec<String> = many.iter().map(|v| format!("`{v}`")).collect();
            Err(format!("RUNNER_OS is `{runner}`, which matches several `os` values ({}); pass --leg os=VALUE, or give the job its matrix (CARGO_TEK_MATRIX)", m.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};
    use crate::plan::model::MatrixValues;

    fn combination(id: &str, os: &str, after: &[&str]) -> crate::plan::PlanTask {
        let mut t = task(id, after);
        t.matrix = Some(MatrixValues(vec![("os".into(), os.into())]));
        t
    }

    #[test]
    fn a_leg_keeps_its_combinations_and_dependents_wait_for_those_only() {
        let mut p = plan(vec![queue(
            "Q",
            vec![
                combination("T[os=ubuntu-latest]", "ubuntu-latest", &[]),
                combination("T[os=macos-14]", "macos-14", &[]),
                task("U", &["T[os=ubuntu-latest]", "T[os=macos-14]"]),
            ],
        )]);
        assert_eq!(os_values(&p), ["ubuntu-latest", "macos-14"]);
        assert_eq!(narrow(&mut p, "macos-14"), ["T[os=ubuntu-latest]"]);
        let ids: Vec<&str> = p.tasks().map(|(_, t)| t.id.as_str()).collect();
        assert_eq!(ids, ["T[os=macos-14]", "U"]);
        assert_eq!(p.queues[0].tasks[1].after, ["T[os=macos-14]"]);
    }

    #[test]
    fn the_leg_comes_from_the_flag_the_job_matrix_or_runner_os() {
        let values: Vec<String> = ["ubuntu-latest", "macos-13", "macos-14", "windows-2022"]
            .map(String::from)
            .into();
        let req = |flag, job, runner| LegRequest {
            flag,
            job_matrix: job,
            runner_os: runner,
        };
        let pick = |r: LegRequest<'_>| choose(&values, &r);
        assert_eq!(
            pick(req(Some("os=macos-13"), None, Some("Linux")))
                .unwrap()
                .unwrap(),
            "macos-13"
        );
        assert_eq!(
            pick(req(None, Some("macos-14"), Some("macOS")))
                .unwrap()
                .unwrap(),
            "macos-14"
        );
        assert_eq!(
            pick(req(None, None, Some("Linux"))).unwrap().unwrap(),
            "ubuntu-latest"
        );
        assert_eq!(
            pick(req(None, None, Some("Windows"))).unwrap().unwrap(),
            "windows-2022"
        );
        let err = pick(req(None, None, Some("macOS"))).unwrap_err();
        assert!(
            err.contains("several") && err.contains("`macos-13`, `macos-14`"),
            "{err}"
        );
        let err = pick(req(None, None, None)).unwrap_err();
        assert!(err.contains("pass --leg os=VALUE"), "{err}");
        let err = pick(req(Some("os=beos"), None, None)).unwrap_err();
        assert!(err.contains("the legs are `ubuntu-latest`"), "{err}");
        assert!(pick(req(Some("toolchain=x"), None, None))
            .unwrap_err()
            .contains("os=VALUE"));
        assert_eq!(choose(&[], &req(None, None, Some("Linux"))), Ok(None));
    }
}
