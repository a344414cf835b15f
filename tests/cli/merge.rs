//! `report --merge`: real runs of the binary stamped as the shards of one plan (one of
//! them killed with kill -9, one missing) and runs of matrix legs, merged into one run
//! directory and one report, posted once to a local GitHub stand-in.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{run_json_in, Workspace};

const SOT: &str = "## Q\n- `TASK-1` one\n- `TASK-2` two\n- `TASK-3` three\n- `TASK-4` four\n";
const HOOKS: &str = r#"{
    "TASK-1": {"commands": [{"shell": "echo output-of-one"}]},
    "TASK-2": {"commands": [{"shell": "echo boom-two >&2; exit 3"}]},
    "TASK-3": {"commands": [{"cmd": ["sleep", "30"]}]},
    "TASK-4": {"commands": [{"shell": "echo output-of-four"}]}
}"#;

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", SOT).file("config/hooks.json", HOOKS);
    ws
}

/// The run directory a command just made under `runs`.
fn newest(runs: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    dirs.sort();
    dirs.pop().unwrap()
}

/// Runs `ids` for real into `runs` and returns the run directory.
fn run_shard(ws: &Workspace, runs: &str, ids: &[&str], code: i32) -> PathBuf {
    let mut args = vec!["run", "--runs-dir", runs];
    args.extend_from_slice(ids);
    ws.tek(&args).output().expect_code(code);
    newest(&ws.join(runs))
}

/// Runs TASK-3 (it sleeps) and kills cargo-tek with SIGKILL once it has started.
fn killed_shard(ws: &Workspace, runs: &str) -> PathBuf {
    let mut child = crate::harness::command()
        .args(["tek", "run", "--runs-dir", runs, "TASK-3"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let journal = std::fs::read_dir(ws.join(runs))
            .ok()
            .and_then(|d| {
                d.filter_map(Result::ok).find(|e| {
                    !e.file_name().to_string_lossy().starts_with('.') && e.path().is_dir()
                })
            })
            .and_then(|e| std::fs::read_to_string(e.path().join("events.jsonl")).ok());
        if journal.is_some_and(|j| j.contains("\"task_started\"")) || Instant::now() > until {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    newest(&ws.join(runs))
}

/// Stamps a run as shard `index` of `total` of plan `hash`, as `run --shard` does.
fn stamp(dir: &Path, index: u32, total: u32, hash: &str) {
    let mut run = run_json_in(dir);
    run["shard"] = serde_json::json!({"index": index, "total": total, "plan_hash": hash});
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&run).unwrap(),
    )
    .unwrap();
}

/// Copies a run directory into an artifact folder, as download-artifact leaves it.
fn upload(dir: &Path, artifacts: &Path, name: &str) {
    let to = artifacts.join(name).join(dir.file_name().unwrap());
    std::fs::create_dir_all(&to).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-R")
        .arg(format!("{}/.", dir.display()))
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Three shards of one plan: shard 1 ran TASK-1 and TASK-2 (which fails), shard 2 was
/// killed with kill -9 while running TASK-3, shard 3 ran TASK-4. Uploaded as artifacts
/// under `artifacts/`, shard 1 twice (two downloads of one run).
fn three_shards(ws: &Workspace) -> PathBuf {
    let one = run_shard(ws, "r1", &["TASK-1", "TASK-2"], 2);
    let two = killed_shard(ws, "r2");
    let three = run_shard(ws, "r3", &["TASK-4"], 0);
    for (k, dir) in [&one, &two, &three].into_iter().enumerate() {
        stamp(dir, k as u32 + 1, 3, "sha256:plan-a");
    }
    let artifacts = ws.join("artifacts");
    upload(&one, &artifacts, "tek-run-1");
    upload(&one, &artifacts, "tek-run-1-again");
    upload(&two, &artifacts, "tek-run-2");
    upload(&three, &artifacts, "tek-run-3");
    artifacts
}

fn status_of(run: &serde_json::Value, id: &str) -> String {
    crate::harness::result(run, id)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn shards_merge_into_one_run_directory_that_reports_like_any_run() {
    let ws = workspace();
    let artifacts = three_shards(&ws);
    // An artifact is untrusted: a log replaced by a link to a file outside is not copied.
    let secret = ws.join("outside-secret.txt");
    std::fs::write(&secret, "SECRET-OUTSIDE\n").unwrap();
    let shard3 = newest(&artifacts.join("tek-run-3"));
    let log = shard3.join("logs/TASK-4/attempt1-cmd1.stdout.log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&secret, &log).unwrap();

    let out = ws
        .tek(&[
            "report",
            "--merge",
            "artifacts",
            "--runs-dir",
            "merged",
            "--out",
            "report.md",
        ])
        .output()
        .expect_code(0);
    assert!(out.stderr().contains("not copied"), "{}", out.stderr());
    let merged = newest(&ws.join("merged"));
    let run = run_json_in(&merged);
    assert_eq!(run["results"].as_array().unwrap().len(), 4, "{run}");
    assert_eq!(status_of(&run, "TASK-1"), "ok");
    assert_eq!(status_of(&run, "TASK-2"), "error");
    assert_eq!(status_of(&run, "TASK-3"), "cancelled", "killed mid-task");
    assert_eq!(status_of(&run, "TASK-4"), "ok");
    assert_eq!(run["status"], "interrupted", "a shard was killed");
    assert_eq!(run["merge"]["duplicates"], 2, "shard 1 came twice: {run}");
    let leg = &run["merge"]["legs"][0];
    assert_eq!(leg["shards"], 3);
    assert_eq!(leg["runs"][1]["incomplete"], true);
    // Logs were copied into the merged directory and are read from there.
    let t2 = crate::harness::result(&run, "TASK-2");
    let rel = t2["commands"][0]["stderr_log"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(merged.join(rel)).unwrap(),
        "boom-two\n"
    );
    assert!(merged.join("junit.xml").is_file());
    let killed_id = leg["runs"][1]["run_id"].as_str().unwrap();
    assert!(merged
        .join("sources")
        .join(killed_id)
        .join("events.jsonl")
        .is_file());
    let everything = std::process::Command::new("grep")
        .args(["-r", "SECRET-OUTSIDE"])
        .arg(&merged)
        .output()
        .unwrap();
    assert!(everything.stdout.is_empty(), "the linked file leaked");

    let report = std::fs::read_to_string(ws.join("report.md")).unwrap();
    assert!(report.contains("Merged from 3 of 3 shards"), "{report}");
    assert!(report.contains("boom-two"), "{report}");
    // An ordinary run directory: report --run and the JSON format read it unchanged.
    let again = ws
        .tek(&[
            "report",
            "--run",
            merged.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(0);
    let back: serde_json::Value = serde_json::from_str(&again.stdout()).unwrap();
    assert_eq!(back["counts"]["total"], 4);
}

#[test]
fn a_missing_shard_is_named_and_fails_unless_allowed() {
    let ws = workspace();
    let one = run_shard(&ws, "r1", &["TASK-1"], 0);
    let three = run_shard(&ws, "r3", &["TASK-4"], 0);
    stamp(&one, 1, 3, "sha256:plan-a");
    stamp(&three, 3, 3, "sha256:plan-a");
    let out = ws
        .tek(&["report", "--merge", "r1", "r3", "--runs-dir", "merged"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains("shard 2/3 missing"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("--allow-missing"), "{}", out.stderr());
    assert!(
        !ws.join("merged").exists()
            || std::fs::read_dir(ws.join("merged"))
                .unwrap()
                .all(|e| e.unwrap().file_name() == ".gitignore")
    );

    let out = ws
        .tek(&[
            "report",
            "--merge",
            "r1",
            "r3",
            "--runs-dir",
            "merged",
            "--allow-missing",
            "--out",
            "report.md",
        ])
        .output()
        .expect_code(0);
    assert!(
        out.stderr().contains("shard 2/3 missing"),
        "{}",
        out.stderr()
    );
    let report = std::fs::read_to_string(ws.join("report.md")).unwrap();
    assert!(
        report.starts_with("## ❌ cargo-tek: shard 2/3 missing"),
        "{report}"
    );
    assert!(report.contains("**shard 2/3 missing**"), "{report}");
    let run = run_json_in(&newest(&ws.join("merged")));
    assert_eq!(run["status"], "error");
    assert_eq!(run["merge"]["legs"][0]["missing"], serde_json::json!([2]));
}

#[test]
fn runs_of_different_plans_are_refused() {
    let ws = workspace();
    let one = run_shard(&ws, "r1", &["TASK-1"], 0);
    let two = run_shard(&ws, "r2", &["TASK-4"], 0);
    stamp(&one, 1, 2, "sha256:plan-a");
    stamp(&two, 2, 2, "sha256:plan-b");
    let out = ws
        .tek(&["report", "--merge", "r1", "r2", "--runs-dir", "merged"])
        .output()
        .expect_code(1);
    let err = out.stderr();
    assert!(err.contains("different plans"), "{err}");
    assert!(err.contains("plan-a") && err.contains("plan-b"), "{err}");
    // A path with no run in it is named.
    let out = ws
        .tek(&["report", "--merge", "config", "--runs-dir", "merged"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains("no run directory"),
        "{}",
        out.stderr()
    );
}

#[tokio::test]
async fn matrix_legs_merge_into_one_comment_posted_once() {
    let ws = workspace();
    let leg = |runs: &str, os: &str, ids: &[&str], code: i32| {
        let mut args = vec!["run", "--runs-dir", runs];
        args.extend_from_slice(ids);
        ws.tek(&args)
            .env("GITHUB_JOB", "test")
            .env("CARGO_TEK_MATRIX", format!(r#"{{"os": "{os}"}}"#))
            .output()
            .expect_code(code);
        newest(&ws.join(runs))
    };
    let linux = leg("linux", "ubuntu", &["TASK-1"], 0);
    // Different plans are fine across legs, and the same task id in two legs is kept
    // once per leg.
    let _mac = leg("mac", "macos", &["TASK-1", "TASK-2"], 2);
    assert_eq!(
        run_json_in(&linux)["leg"]["matrix"]["os"],
        "ubuntu",
        "recorded at run time"
    );

    let server = crate::action_honesty::github().await;
    let out = tokio::task::spawn_blocking({
        let dir = ws.path().to_path_buf();
        let api = server.uri();
        move || {
            let mut cmd = crate::harness::command();
            cmd.args([
                "tek",
                "report",
                "--merge",
                "linux",
                "mac",
                "--runs-dir",
                "merged",
            ])
            .args(["--pr-comment", "--pr", "7", "--key", "ci", "--job-summary"])
            .current_dir(&dir)
            .env("GITHUB_TOKEN", "t")
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_API_URL", api)
            .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"));
            cmd.output().unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = server.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one comment for all legs");
    let sent: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(
        body.contains("## ❌ cargo-tek: 1 of 2 legs failed"),
        "{body}"
    );
    assert!(
        body.contains(r"### ✅ test \(ubuntu\): all tasks passed"),
        "{body}"
    );
    assert!(
        body.contains(r"### ❌ test \(macos\): 1 task failed"),
        "{body}"
    );
    assert!(body.contains("boom-two"), "the failing leg's cause: {body}");
    assert!(!body.contains("Merged from 1 run"), "{body}");
    let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap();
    assert!(summary.contains("1 of 2 legs failed"), "{summary}");
    let merged = run_json_in(&newest(&ws.join("merged")));
    assert_eq!(merged["results"].as_array().unwrap().len(), 3);
    assert_eq!(merged["merge"]["legs"].as_array().unwrap().len(), 2);
}

/// The Action's merge mode as action.yml wires it: run.sh merges the downloaded
/// artifacts, report.sh posts the merged report once; a bad shard input is refused in
/// the first step.
#[tokio::test]
async fn the_action_merges_downloaded_shards_and_comments_once() {
    use crate::action_honesty::{github, output, outputs, step};
    let ws = workspace();
    let one = run_shard(&ws, "r1", &["TASK-1", "TASK-2"], 2);
    let two = run_shard(&ws, "r2", &["TASK-4"], 0);
    stamp(&one, 1, 2, "sha256:plan-a");
    stamp(&two, 2, 2, "sha256:plan-a");
    // download-artifact with pattern + merge-multiple: the run folders side by side.
    upload(&one, &ws.join("tek-downloads"), "runs");
    upload(&two, &ws.join("tek-downloads"), "runs");

    let server = github().await;
    let mut run = step(&ws, "run.sh", &server.uri(), "pull_request");
    run.env("TEK_COMMAND", "merge")
        .env("TEK_MERGE_PATH", "tek-downloads");
    let ran = output(run).await;
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let out = outputs(&ws);
    assert_eq!(out["status"], "failed", "TASK-2 failed in shard 1: {out:?}");
    assert_eq!(out["exit-code"], "2");
    let merged = PathBuf::from(&out["run-dir"]);
    assert_eq!(run_json_in(&merged)["counts"]["total"], 3);

    let mut report = step(&ws, "report.sh", &server.uri(), "pull_request");
    report
        .env("TEK_RUN_DIR", &merged)
        .env("TEK_REPORT_PATH", ws.join("report.md"))
        .env("TEK_REPORT_KEY", "ci")
        .env("GITHUB_TOKEN", "t");
    let reported = output(report).await;
    assert!(
        reported.status.success(),
        "{}",
        String::from_utf8_lossy(&reported.stderr)
    );
    let requests = server.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one comment for all shards");
    let sent: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(body.contains("Merged from 2 of 2 shards"), "{body}");
    assert!(body.contains("boom-two"), "{body}");

    // The first step refuses a shard that is not K/N before anything runs.
    let mut check = step(&ws, "cache-key.sh", &server.uri(), "pull_request");
    check.env("TEK_SHARD", "3/2").env("TEK_SHARDS", "300");
    let refused = output(check).await;
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("::error::input 'shard' must be K/N"), "{err}");
    assert!(
        err.contains("::error::input 'shards' must be a number"),
        "{err}"
    );
}

/// The Action's publish mode for fork PRs: the artifacts of the CI run (shards, with
/// the PR number and head beside them) are verified against the API, merged, and
/// posted once, linking to the CI run's failed job rather than to this run.
#[tokio::test]
async fn publish_mode_verifies_merges_and_links_the_ci_runs_job() {
    use crate::action_honesty::{github, output, outputs, step};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let ws = workspace();
    let one = run_shard(&ws, "r1", &["TASK-1", "TASK-2"], 2);
    let two = run_shard(&ws, "r2", &["TASK-4"], 0);
    stamp(&one, 1, 2, "sha256:plan-a");
    stamp(&two, 2, 2, "sha256:plan-a");
    let artifacts = ws.join("artifacts");
    upload(&one, &artifacts, "runs");
    upload(&two, &artifacts, "runs");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    ws.file("artifacts/runs/pr-number", "7\n");
    ws.file("artifacts/runs/head-sha", format!("{sha}\n"));

    let server = github().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "head": {"sha": sha}, "base": {"repo": {"full_name": "o/r"}}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/actions/runs/555/attempts/2/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"jobs": [
            {"name": "tek shard 1/2", "conclusion": "failure", "html_url": "https://github.com/o/r/actions/runs/555/job/91"},
            {"name": "tek shard 2/2", "conclusion": "success", "html_url": "https://github.com/o/r/actions/runs/555/job/92"}
        ]})))
        .mount(&server)
        .await;

    let mut verify = step(&ws, "verify-artifact.sh", &server.uri(), "workflow_run");
    verify
        .env("TEK_ARTIFACT_DIR", artifacts.join("runs"))
        .env("TEK_EXPECTED_HEAD_SHA", sha)
        .env("TEK_CI_RUN_ID", "555")
        .env("TEK_CI_RUN_ATTEMPT", "2")
        .env("GITHUB_TOKEN", "t");
    let verified = output(verify).await;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let out = outputs(&ws);
    assert_eq!(out["post"], "true");
    assert_eq!(
        out["ci-url"],
        "https://github.com/o/r/actions/runs/555/job/91"
    );

    let mut merge = step(&ws, "run.sh", &server.uri(), "workflow_run");
    merge
        .env("TEK_COMMAND", "merge")
        .env("TEK_MERGE_PATH", &out["run-dir"]);
    assert!(output(merge).await.status.success());
    let out = outputs(&ws);
    let mut report = step(&ws, "report.sh", &server.uri(), "workflow_run");
    report
        .env("TEK_RUN_DIR", &out["run-dir"])
        .env("TEK_COMMENT", "true")
        .env("TEK_PR", &out["pr"])
        .env("TEK_CI_URL", &out["ci-url"])
        .env("TEK_CI_RUN_ID", "555")
        .env("TEK_CI_RUN_ATTEMPT", "2")
        .env("GITHUB_TOKEN", "t");
    let reported = output(report).await;
    assert!(
        reported.status.success(),
        "{}",
        String::from_utf8_lossy(&reported.stderr)
    );
    let requests = server.received_requests().await.unwrap();
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let sent: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(
        body.contains("(https://github.com/o/r/actions/runs/555/job/91)"),
        "{body}"
    );
    assert!(body.contains("Merged from 2 of 2 shards"), "{body}");
}

#[test]
fn with_the_plan_a_missing_shards_tasks_are_listed_as_not_run() {
    let ws = Workspace::new();
    let mut sot = String::from("## Q\n");
    let mut hooks = serde_json::Map::new();
    for n in 1..=6 {
        sot.push_str(&format!("- `TASK-{n}` task {n}\n"));
        hooks.insert(
            format!("TASK-{n}"),
            serde_json::json!({"commands": [{"cmd": ["true"]}]}),
        );
    }
    ws.file("sot.md", sot).file(
        "config/hooks.json",
        serde_json::Value::Object(hooks).to_string(),
    );
    ws.tek(&["plan", "--shards", "3", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let lost: Vec<String> = plan["shards"]["shards"][1]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert!(!lost.is_empty(), "{plan}");
    for k in ["1/3", "3/3"] {
        let runs = format!("r{}", &k[..1]);
        ws.tek(&[
            "run",
            "--plan",
            "plan.json",
            "--shard",
            k,
            "--runs-dir",
            &runs,
        ])
        .output()
        .expect_code(0);
    }
    // The plan names what shard 2 would have run.
    let out = ws
        .tek(&[
            "report",
            "--merge",
            "r1",
            "r3",
            "--runs-dir",
            "merged",
            "--allow-missing",
            "--plan",
            "plan.json",
            "--out",
            "report.md",
        ])
        .output()
        .expect_code(0);
    assert!(
        out.stderr().contains(&format!(
            "Listed {} of the missing shards as not run",
            if lost.len() == 1 {
                "1 task".to_owned()
            } else {
                format!("{} tasks", lost.len())
            }
        )),
        "{}",
        out.stderr()
    );
    let run = run_json_in(&newest(&ws.join("merged")));
    assert_eq!(run["status"], "error");
    assert_eq!(run["results"].as_array().unwrap().len(), 6, "{run}");
    let report = std::fs::read_to_string(ws.join("report.md")).unwrap();
    for id in &lost {
        let result = crate::harness::result(&run, id);
        assert_eq!(result["status"], "skipped", "{result}");
        assert_eq!(
            result["reason"],
            "not run: shard 2/3 has no run among the merged ones"
        );
        let shown = format!("| ⏭️ | {} |", id.replace('-', "\\-"));
        assert!(report.contains(&shown), "{shown} in\n{report}");
    }
    assert!(
        report.contains("so the tasks planned there are listed as not run"),
        "{report}"
    );

    // A plan file of something else is refused, not half-applied.
    ws.file("other/sot.md", "## Q\n- `TASK-9` nine\n");
    let out = ws
        .tek(&[
            "report",
            "--merge",
            "r1",
            "r3",
            "--runs-dir",
            "merged2",
            "--allow-missing",
            "--plan",
            "sot.md",
        ])
        .output()
        .expect_code(1);
    assert!(out.stderr().contains("sot.md"), "{}", out.stderr());
}

/// Issue 24, item 10: a shard run narrowed by id (`--shard K/N TASK-x`) dropped a failing
/// task and its dependent from the merged report, which said ok, with `--allow-missing
/// --plan` too. Now each shard's run.json lists what the plan gave it, and the merge lists
/// every task given but not reported as not run, and fails; with the plan as well.
#[test]
fn a_shard_narrowed_by_id_cannot_drop_its_failing_tasks_from_the_merge() {
    let ws = Workspace::new();
    let mut sot = String::from("## Q\n");
    let mut hooks = serde_json::Map::new();
    for n in 1..=6 {
        let after = if n == 3 { " — after `TASK-2`" } else { "" };
        sot.push_str(&format!("- `TASK-{n}` task {n}{after}\n"));
        let cmd = if n == 2 { "false" } else { "true" };
        hooks.insert(
            format!("TASK-{n}"),
            serde_json::json!({"commands": [{"cmd": [cmd]}]}),
        );
    }
    ws.file("sot.md", sot).file(
        "config/hooks.json",
        serde_json::Value::Object(hooks).to_string(),
    );
    ws.tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let shard_tasks = |k: usize| -> Vec<String> {
        plan["shards"]["shards"][k]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    let k = (0..2)
        .find(|&k| shard_tasks(k).contains(&"TASK-2".to_owned()))
        .unwrap();
    // Narrowed to a task of the other shard, as `--shard 2/3 TASK-004` was: it runs
    // nothing of its own.
    let narrow = shard_tasks(1 - k)[0].clone();
    for s in 0..2 {
        let spec = format!("{}/2", s + 1);
        let runs = format!("r{}", s + 1);
        let mut args = vec![
            "run",
            "--plan",
            "plan.json",
            "--shard",
            &spec,
            "--runs-dir",
            &runs,
        ];
        if s == k {
            args.push(&narrow);
        }
        ws.tek(&args).output().expect_code(0);
    }
    for with_plan in [false, true] {
        let merged = format!("merged-{with_plan}");
        let mut args = vec!["report", "--merge", "r1", "r2", "--runs-dir", &merged];
        if with_plan {
            args.extend(["--allow-missing", "--plan", "plan.json"]);
        }
        ws.tek(&args).output().expect_code(0);
        let run = run_json_in(&newest(&ws.join(&merged)));
        assert_eq!(run["status"], "error", "with plan {with_plan}: {run}");
        assert_eq!(run["results"].as_array().unwrap().len(), 6, "{run}");
        for id in ["TASK-2", "TASK-3"] {
            let result = crate::harness::result(&run, id);
            assert_eq!(result["status"], "skipped", "{result}");
            assert_eq!(
                result["reason"],
                format!(
                    "not run: shard {}/2 was given this task but its run does not report it",
                    k + 1
                )
            );
        }
    }
}
