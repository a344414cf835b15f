//! `--affected` with `--shard`: in real temporary git repositories, the shards are
//! planned over the affected tasks only, every job computes the same split, each
//! affected task runs in exactly one shard, and the unaffected ones are recorded once
//! in the merged run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{git, run_json_in, Workspace};

/// A chain (TASK-001 → TASK-002) and four independent tasks, each covering its own
/// folder.
pub const SOT: &str = "# Plan
## Queue A — Checks
- [ ] `TASK-001` one
- [ ] `TASK-002` two — after `TASK-001`
- [ ] `TASK-003` three
- [ ] `TASK-004` four
- [ ] `TASK-005` five
- [ ] `TASK-006` six
";

pub const ALL: [&str; 6] = [
    "TASK-001", "TASK-002", "TASK-003", "TASK-004", "TASK-005", "TASK-006",
];

/// What the change below affects: TASK-002 (its folder), its dependency TASK-001,
/// TASK-004 and TASK-005.
pub const AFFECTED: [&str; 4] = ["TASK-001", "TASK-002", "TASK-004", "TASK-005"];

/// A repository whose branch `base` is one commit behind HEAD, which changes the
/// folders of TASK-002, TASK-004 and TASK-005.
fn repo() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", SOT);
    let hooks: serde_json::Map<String, serde_json::Value> = (1..=6)
        .map(|n| {
            (
                format!("TASK-{n:03}"),
                serde_json::json!({"commands": [{"cmd": ["true"]}],
                    "covers": {"paths": [format!("t{n}/**")]}}),
            )
        })
        .collect();
    ws.file(
        "config/hooks.json",
        serde_json::to_string_pretty(&hooks).unwrap(),
    );
    for n in 1..=6 {
        ws.file(&format!("t{n}/file.txt"), "one\n");
    }
    ws.file(
        ".gitignore",
        "target/\n.tek/\n/runs-*/\n/merged/\n/plan*.json\n",
    );
    // Committed, as in a real repository: else `cargo metadata` writes it during the
    // first job and every later one sees one more changed path.
    let lock = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(ws.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(lock.status.success(), "{lock:?}");
    git(ws.path(), &["init", "-q", "-b", "main"]);
    git(ws.path(), &["add", "-A"]);
    git(ws.path(), &["commit", "-qm", "base"]);
    git(ws.path(), &["branch", "base"]);
    for n in [2, 4, 5] {
        ws.file(&format!("t{n}/file.txt"), "two\n");
    }
    git(ws.path(), &["commit", "-qam", "change"]);
    ws
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The only run directory under `runs`.
fn run_in(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("run.json").is_file())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// A run's results: task → reason ("" when it ran).
fn results(run: &serde_json::Value) -> Vec<(String, String, String)> {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Runs every shard's job with `args`, each in `runs-K`, and returns the run.json of
/// each.
fn run_shards(ws: &Workspace, total: u32, args: &[&str]) -> Vec<serde_json::Value> {
    (1..=total)
        .map(|k| {
            let runs = format!("runs-{k}");
            let shard = format!("{k}/{total}");
            let mut all = vec!["run", "--shard", &shard, "--runs-dir", &runs];
            all.extend_from_slice(args);
            ws.tek(&all).output().expect_code(0);
            run_json_in(&run_in(&ws.join(&runs)))
        })
        .collect()
}

/// Each affected task ran in exactly one shard, no unaffected one ran, and nothing else
/// was recorded but unaffected skips.
fn assert_covered_once(runs: &[serde_json::Value]) {
    let mut ran: BTreeMap<String, usize> = BTreeMap::new();
    for run in runs {
        for (task, status, reason) in results(run) {
            if reason == "unaffected" {
                assert_eq!(status, "skipped");
                assert!(!AFFECTED.contains(&task.as_str()), "{task} is affected");
            } else {
                assert_eq!(status, "ok", "{task}: {run}");
                *ran.entry(task).or_default() += 1;
            }
        }
    }
    assert_eq!(ran.keys().cloned().collect::<BTreeSet<_>>(), set(&AFFECTED));
    assert!(ran.values().all(|&n| n == 1), "{ran:?}");
}

/// The merge of `runs-1` … `runs-N`: every task once, the unaffected ones as skipped.
fn merged(ws: &Workspace, total: u32) -> serde_json::Value {
    let dirs: Vec<String> = (1..=total).map(|k| format!("runs-{k}")).collect();
    let mut args = vec!["report", "--merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--runs-dir", "merged", "--out", "report.md"]);
    ws.tek(&args).output().expect_code(0);
    let run = run_json_in(&run_in(&ws.join("merged")));
    let all = results(&run);
    let tasks: Vec<&str> = all.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(tasks.len(), 6, "each task once: {tasks:?}");
    assert_eq!(
        tasks.iter().copied().collect::<BTreeSet<&str>>(),
        BTreeSet::from(ALL)
    );
    let unaffected: BTreeSet<String> = all
        .iter()
        .filter(|(_, s, r)| s == "skipped" && r == "unaffected")
        .map(|(t, ..)| t.clone())
        .collect();
    assert_eq!(unaffected, set(&["TASK-003", "TASK-006"]));
    assert_eq!(run["affected"]["base"], "base", "{run}");
    assert_eq!(run["affected"]["selected"], 4);
    let report = std::fs::read_to_string(ws.join("report.md")).unwrap();
    assert!(
        report.contains("**2 unaffected** by the change since base"),
        "{report}"
    );
    run
}

#[test]
fn the_plan_job_splits_only_the_affected_tasks_and_each_shard_runs_its_own() {
    let ws = repo();
    let out = ws
        .tek(&[
            "plan",
            "--shards",
            "3",
            "-j",
            "1",
            "--affected",
            "base",
            "--out",
            "plan.json",
            "--format",
            "matrix",
        ])
        .output()
        .expect_code(0);
    let err = out.stderr();
    assert!(
        err.contains("Affected 4 of 6 tasks by the change since base"),
        "{err}"
    );
    assert!(
        err.contains("Sharded 4 affected of 6 tasks into 3 shards"),
        "{err}"
    );
    // Three groups run (the chain, TASK-004, TASK-005): one each, none idle. Unaffected
    // tasks weigh nothing and are not counted as work.
    let matrix: serde_json::Value = serde_json::from_str(out.stdout().trim()).unwrap();
    let counts: Vec<u64> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tasks"].as_u64().unwrap())
        .collect();
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 1, 2], "{matrix}");
    let plan = read_json(&ws.join("plan.json"));
    let recorded = &plan["shards"]["affected"];
    assert_eq!(recorded["base"], "base");
    assert_eq!(recorded["changed_paths"], 3);
    let tasks: BTreeSet<String> = recorded["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tasks, set(&AFFECTED));

    let runs = run_shards(&ws, 3, &["--plan", "plan.json"]);
    for (k, run) in runs.iter().enumerate() {
        assert_eq!(run["shard"]["plan_hash"], plan["shards"]["plan_hash"]);
        assert_eq!(run["affected"]["base"], "base");
        // Each shard runs and records exactly the tasks of its shard.
        let own: BTreeSet<String> = plan["shards"]["shards"][k]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let recorded: BTreeSet<String> = results(run).into_iter().map(|(t, ..)| t).collect();
        assert_eq!(recorded, own, "shard {}", k + 1);
    }
    assert_covered_once(&runs);
    merged(&ws, 3);

    // Without --shard, the plan's decision still holds: the affected tasks run.
    ws.tek(&["run", "--plan", "plan.json", "--runs-dir", "runs-whole"])
        .output()
        .expect_code(0);
    assert_covered_once(&[run_json_in(&run_in(&ws.join("runs-whole")))]);

    // The plan job's decision is the one every shard applies: another base is refused.
    let err = ws
        .tek(&[
            "run",
            "--plan",
            "plan.json",
            "--shard",
            "1/3",
            "--affected",
            "main",
        ])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("was planned with --affected base"), "{err}");
}

#[test]
fn every_job_splitting_in_place_makes_the_same_affected_plan() {
    let ws = repo();
    ws.tek(&[
        "plan",
        "--shards",
        "2",
        "-j",
        "2",
        "--affected",
        "base",
        "--out",
        "plan.json",
    ])
    .output()
    .expect_code(0);
    ws.tek(&["plan", "--shards", "2", "-j", "2", "--out", "plan-all.json"])
        .output()
        .expect_code(0);
    let plan = read_json(&ws.join("plan.json"));
    let hash = &plan["shards"]["plan_hash"];
    assert_ne!(
        hash,
        &read_json(&ws.join("plan-all.json"))["shards"]["plan_hash"],
        "the affected set is part of the plan hash"
    );

    let runs = run_shards(&ws, 2, &["-j", "2", "--affected", "base"]);
    for run in &runs {
        assert_eq!(
            &run["shard"]["plan_hash"], hash,
            "the same split in every job"
        );
    }
    assert_covered_once(&runs);
    merged(&ws, 2);

    // A job that saw another change computes another plan: the merge refuses it.
    ws.file("t3/file.txt", "uncommitted\n");
    ws.tek(&[
        "run",
        "--shard",
        "2/2",
        "-j",
        "2",
        "--affected",
        "base",
        "--runs-dir",
        "runs-other",
    ])
    .output()
    .expect_code(0);
    let err = ws
        .tek(&[
            "report",
            "--merge",
            "runs-1",
            "runs-other",
            "--runs-dir",
            "merged-other",
        ])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("different plans") || err.contains("plan"),
        "{err}"
    );
    ws.file("t3/file.txt", "one\n");

    // A change that leaves a job of the fixed matrix nothing: it says so, passes and
    // writes no run, and the merge of the others stands alone.
    let out = ws
        .tek(&[
            "run",
            "--shard",
            "2/2",
            "-j",
            "2",
            "--affected",
            "HEAD",
            "--runs-dir",
            "runs-idle",
        ])
        .output()
        .expect_code(0);
    assert!(
        out.stderr().contains("2/2 has nothing to run"),
        "{}",
        out.stderr()
    );
    assert!(!ws.join("runs-idle").exists());
}

#[test]
fn a_plan_split_over_every_task_still_runs_only_the_affected_ones_and_says_so() {
    let ws = repo();
    ws.tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let mut runs = Vec::new();
    for k in 1..=2 {
        let runs_dir = format!("runs-{k}");
        let out = ws
            .tek(&[
                "run",
                "--plan",
                "plan.json",
                "--shard",
                &format!("{k}/2"),
                "--affected",
                "base",
                "--runs-dir",
                &runs_dir,
            ])
            .output()
            .expect_code(0);
        assert!(
            out.stderr().contains("were balanced over every task"),
            "{}",
            out.stderr()
        );
        runs.push(run_json_in(&run_in(&ws.join(&runs_dir))));
    }
    assert_covered_once(&runs);
    merged(&ws, 2);
}
