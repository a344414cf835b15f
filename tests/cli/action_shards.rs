//! The Action's sharded flow end to end, as .github/workflows/ci.yml wires it: a plan
//! job (`command: plan`, `shards`) emits the matrix and the plan file, one job per
//! matrix entry runs its shard (`command: run`, `plan`, `shard`) and uploads its runs
//! directory, and a merge job (`command: merge`) reports the downloaded runs as one.
//! Each job is its own clone of one upstream repository; the scripts run as GitHub
//! runs them, with the real binary and a local GitHub stand-in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::action_honesty::{github, output, outputs, step};
use crate::affected_shards::{AFFECTED, ALL, SOT};
use crate::harness::{git, run_json_in, Workspace};

/// The upstream repository in `ws/upstream`: `main`, and the pull request's branch
/// `pr` one commit ahead.
fn upstream(ws: &Workspace) -> PathBuf {
    let up = ws.join("upstream");
    let file = |rel: &str, text: &str| {
        let path = up.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    file("src/lib.rs", "");
    file("sot.md", SOT);
    let hooks: serde_json::Map<String, serde_json::Value> = (1..=6)
        .map(|n| {
            (
                format!("TASK-{n:03}"),
                serde_json::json!({"commands": [{"cmd": ["sh", "-c", format!("echo ran-{n}")]}],
                    "covers": {"paths": [format!("t{n}/**")]}}),
            )
        })
        .collect();
    file(
        "config/hooks.json",
        &serde_json::to_string_pretty(&hooks).unwrap(),
    );
    for n in 1..=6 {
        file(&format!("t{n}/file.txt"), "one\n");
    }
    file(".gitignore", "target/\n.tek/\n");
    let lock = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&up)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(lock.status.success(), "{lock:?}");
    git(&up, &["init", "-q", "-b", "main"]);
    git(&up, &["add", "-A"]);
    git(&up, &["commit", "-qm", "base"]);
    git(&up, &["checkout", "-qb", "pr"]);
    for n in [2, 4, 5] {
        file(&format!("t{n}/file.txt"), "two\n");
    }
    git(&up, &["commit", "-qam", "change"]);
    up
}

/// A job's checkout of `pr` (with the whole history, as `fetch-depth: 0`).
fn checkout(ws: &Workspace, up: &Path, job: &str) -> PathBuf {
    git(
        ws.path(),
        &["clone", "-q", "--branch", "pr", up.to_str().unwrap(), job],
    );
    ws.join(job)
}

/// One step of a job: `script` in `job` with the action's environment, `event` and
/// the pull request's base; returns the step's outputs.
async fn job_step(
    ws: &Workspace,
    job: &Path,
    script: &str,
    api: &str,
    event: &str,
    env: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let _ = std::fs::remove_file(ws.join("gh-output"));
    let mut cmd = step(ws, script, api, event);
    cmd.env("TEK_WORKING_DIRECTORY", job);
    if event == "pull_request" {
        cmd.env("GITHUB_BASE_REF", "main");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output(cmd).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}: {stderr}");
    let mut outs = outputs(ws);
    outs.insert("stderr".into(), stderr.into_owned());
    outs
}

/// Copies a folder's contents into another (upload, then download with
/// `merge-multiple`).
fn copy_into(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_into(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn ids(value: &serde_json::Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// Plan, shards, merge and report through the Action's scripts on `event`; returns
/// the merged run.json and the comment posted.
async fn flow(event: &str, expect_run: &[&str]) -> (serde_json::Value, String) {
    let ws = Workspace::new();
    let up = upstream(&ws);
    let server = github().await;
    let api = server.uri();

    // tek-plan: `command: plan`, `shards: "3"`, `plan: tek-plan.json`.
    let plan_job = checkout(&ws, &up, "job-plan");
    let planned = job_step(
        &ws,
        &plan_job,
        "run.sh",
        &api,
        event,
        &[
            ("TEK_COMMAND", "plan"),
            ("TEK_SOT", "sot.md"),
            ("TEK_SHARDS", "3"),
            ("TEK_PLAN", "tek-plan.json"),
            ("TEK_MAX_WORKERS", "1"),
        ],
    )
    .await;
    assert_eq!(planned["status"], "ok", "{planned:?}");
    let plan_path = PathBuf::from(&planned["plan-path"]);
    assert_eq!(plan_path, plan_job.join("tek-plan.json"));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    // The matrix output, as `fromJSON(needs.tek-plan.outputs.matrix)` reads it.
    let matrix: serde_json::Value = serde_json::from_str(&planned["matrix"]).unwrap();
    let include = matrix["include"].as_array().unwrap();
    let total = include.len();
    assert_eq!(plan["shards"]["total"], total);
    let shards: Vec<String> = include
        .iter()
        .map(|e| e["shard"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (1..=total).map(|k| format!("{k}/{total}")).collect();
    assert_eq!(shards, expected);
    let counted: u64 = include.iter().map(|e| e["tasks"].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, expect_run.len(), "{matrix}");
    assert!(include.iter().all(|e| e["tasks"].as_u64() > Some(0)));

    // tek-shard: one job per matrix entry, the plan downloaded into its checkout.
    let downloads = ws.join("job-merge-downloads");
    for (k, entry) in include.iter().enumerate() {
        let shard = entry["shard"].as_str().unwrap();
        let job = checkout(&ws, &up, &format!("job-shard-{}", k + 1));
        std::fs::copy(&plan_path, job.join("tek-plan.json")).unwrap();
        let ran = job_step(
            &ws,
            &job,
            "run.sh",
            &api,
            event,
            &[
                ("TEK_COMMAND", "run"),
                ("TEK_SOT", "sot.md"),
                ("TEK_PLAN", "tek-plan.json"),
                ("TEK_SHARD", shard),
            ],
        )
        .await;
        assert_eq!(ran["status"], "ok", "{ran:?}");
        let run_dir = PathBuf::from(&ran["run-dir"]);
        assert!(run_dir.starts_with(job.join(".tek/runs")), "{run_dir:?}");
        let record = run_json_in(&run_dir);
        assert_eq!(record["shard"]["index"], k + 1);
        assert_eq!(record["shard"]["plan_hash"], plan["shards"]["plan_hash"]);
        // It recorded exactly its shard's tasks and ran only the ones it should.
        let own = ids(&plan["shards"]["shards"][k]["tasks"]);
        let recorded: BTreeSet<String> = record["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["task"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(recorded, own, "shard {shard}");
        for r in record["results"].as_array().unwrap() {
            let id = r["task"].as_str().unwrap();
            let should_run = expect_run.contains(&id);
            assert_eq!(r["status"] == "ok", should_run, "{id} in {shard}: {r}");
            if !should_run {
                assert_eq!(r["reason"], "unaffected", "{r}");
            }
        }
        // What ci.yml puts beside the runs, then the upload of `.tek/runs/`.
        std::fs::write(job.join(".tek/runs/pr-number"), "7\n").unwrap();
        copy_into(&job.join(".tek/runs"), &downloads);
    }

    // tek-merge: `command: merge`, `merge-path`, then the report step.
    let merge_job = checkout(&ws, &up, "job-merge");
    let merged_out = job_step(
        &ws,
        &merge_job,
        "run.sh",
        &api,
        event,
        &[
            ("TEK_COMMAND", "merge"),
            ("TEK_MERGE_PATH", downloads.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(merged_out["status"], "ok", "{merged_out:?}");
    let merged_dir = PathBuf::from(&merged_out["run-dir"]);
    let merged = run_json_in(&merged_dir);
    let tasks: Vec<&str> = merged["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(tasks.len(), ALL.len(), "every task once: {tasks:?}");
    assert_eq!(
        tasks.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(ALL)
    );
    assert_eq!(merged["merge"]["legs"][0]["shards"], total);
    assert_eq!(merged["merge"]["duplicates"].as_u64().unwrap_or(0), 0);

    job_step(
        &ws,
        &merge_job,
        "report.sh",
        &api,
        event,
        &[
            ("TEK_RUN_DIR", merged_dir.to_str().unwrap()),
            ("TEK_REPORT_PATH", merged_out["report-path"].as_str()),
            ("TEK_REPORT_KEY", "ci"),
            ("TEK_COMMENT", "true"),
            ("GITHUB_TOKEN", "t"),
        ],
    )
    .await;
    let requests = server.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one comment for every shard");
    let sent: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = sent["body"].as_str().unwrap().to_owned();
    assert!(
        body.contains(&format!("Merged from {total} of {total} shards")),
        "{body}"
    );
    (merged, body)
}

#[tokio::test]
async fn a_pull_request_plans_the_affected_tasks_once_and_each_shard_runs_its_part() {
    let (merged, body) = flow("pull_request", &AFFECTED).await;
    assert_eq!(merged["affected"]["base"], "origin/main", "{merged}");
    assert_eq!(merged["counts"]["ok"], 4);
    assert!(
        body.contains(r"**2 unaffected** by the change since origin\/main"),
        "{body}"
    );
}

#[tokio::test]
async fn a_push_runs_every_task_once_across_the_shards() {
    let (merged, body) = flow("push", &ALL).await;
    assert!(
        merged.get("affected").is_none_or(|a| a.is_null()),
        "{merged}"
    );
    assert_eq!(merged["counts"]["ok"], 6);
    assert!(!body.contains("unaffected"), "{body}");
}
