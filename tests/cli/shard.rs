//! `plan --shards N` and `run --shard K/N`: the matrix and its `$GITHUB_OUTPUT` form,
//! shards that together run every task once, run.json stamped with the shard, and plans
//! that do not match the checkout refused.

use std::collections::BTreeSet;

use crate::harness::{run_json_in, Workspace};

/// Three independent queues and a chain across two of them (TASK-002 → TASK-011 →
/// TASK-012): four groups that can go to different jobs.
const SOT: &str = "# Plan
## Queue A — Build
- [ ] `TASK-001` Pin the toolchain
- [ ] `TASK-002` Build
## Queue B — Quality gates
- [ ] `TASK-011` Unit tests — after `TASK-002`
- [ ] `TASK-012` Docs — after `TASK-011`
## Queue C — Checks
- [ ] `TASK-020` Lint
- [ ] `TASK-021` Format
";

const ALL: [&str; 6] = [
    "TASK-001", "TASK-002", "TASK-011", "TASK-012", "TASK-020", "TASK-021",
];

fn ws() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", SOT);
    ws.file(
        "config/hooks.json",
        r#"{"Queue A — Build": {"commands": [{"cmd": ["true"]}]},
            "Queue B — Quality gates": {"commands": [{"cmd": ["true"]}]},
            "Queue C — Checks": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    // Recorded durations: the chain is long (9 s), TASK-020 is 8 s, the rest short.
    ws.file(
        "durations/run.json",
        serde_json::json!({
            "status": "ok", "started": "2026-11-30T00:00:00Z",
            "results": [
                {"task": "TASK-001", "queue": "A", "agent": "shell", "status": "ok", "duration_ms": 1000},
                {"task": "TASK-002", "queue": "A", "agent": "shell", "status": "ok", "duration_ms": 3000},
                {"task": "TASK-011", "queue": "B", "agent": "shell", "status": "ok", "duration_ms": 3000},
                {"task": "TASK-012", "queue": "B", "agent": "shell", "status": "ok", "duration_ms": 3000},
                {"task": "TASK-020", "queue": "C", "agent": "shell", "status": "ok", "duration_ms": 8000},
            ]
        })
        .to_string(),
    );
    ws
}

fn matrix(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The task ids of a run directory's results.
fn ran(dir: &std::path::Path) -> BTreeSet<String> {
    run_json_in(dir)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["task"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn plan_shards_prints_the_matrix_and_writes_the_plan() {
    let ws = ws();
    let out = ws
        .tek(&[
            "plan",
            "--shards",
            "2",
            "-j",
            "1",
            "--durations",
            "durations/run.json",
            "--out",
            "plan.json",
            "--format",
            "matrix",
        ])
        .output()
        .expect_code(0);
    let m = matrix(&out.stdout());
    let include = m["include"].as_array().unwrap();
    assert_eq!(include.len(), 2);
    assert_eq!(include[0]["shard"], "1/2");
    assert_eq!(include[1]["shard"], "2/2");
    let tasks: u64 = include.iter().map(|e| e["tasks"].as_u64().unwrap()).sum();
    assert_eq!(tasks, 6);
    // Groups of 9 s (the chain), 8 s, 3 s (TASK-021 was never timed: the median) and
    // 1 s on one worker each: 11 / 10 is the best split; the bound is 21 / 2 = 10.5 s.
    let estimates: BTreeSet<&str> = include
        .iter()
        .map(|e| e["estimate"].as_str().unwrap())
        .collect();
    assert_eq!(estimates, BTreeSet::from(["10s", "11s"]), "{m}");
    let err = out.stderr();
    assert!(err.contains("Sharded 6 tasks into 2 shards"), "{err}");
    assert!(err.contains("lower bound 11s (1.05×)"), "{err}");

    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let shards = &plan["shards"];
    assert_eq!(shards["total"], 2);
    assert_eq!(shards["basis"], "durations");
    assert_eq!(shards["recorded"], 5);
    assert_eq!(shards["lower_bound_ms"], 10500);
    assert!(shards["plan_hash"].as_str().unwrap().starts_with("sha256:"));
    let mut seen = BTreeSet::new();
    for shard in shards["shards"].as_array().unwrap() {
        let ids: Vec<&str> = shard["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        // The chain never splits.
        let chain = ids
            .iter()
            .filter(|id| ["TASK-002", "TASK-011", "TASK-012"].contains(id));
        assert!(matches!(chain.count(), 0 | 3), "{ids:?}");
        for id in ids {
            assert!(seen.insert(id.to_owned()), "{id} twice");
        }
    }
    assert_eq!(seen.len(), 6);
}

#[test]
fn the_matrix_goes_to_github_output_on_one_line() {
    let ws = ws();
    let file = ws.join("github-output");
    std::fs::write(&file, "earlier=1\n").unwrap();
    let out = ws
        .tek(&["plan", "--shards", "3", "--github-output", "matrix"])
        .env("GITHUB_OUTPUT", &file)
        .output()
        .expect_code(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("earlier=1"));
    let line = lines.next().unwrap();
    let json = line.strip_prefix("matrix=").expect(line);
    let m = matrix(json);
    assert_eq!(m["include"].as_array().unwrap().len(), 3);
    assert_eq!(m["include"][2]["shard"], "3/3");
    // No durations: the estimate is not made up.
    assert_eq!(m["include"][0]["estimate"], "unknown");
    assert!(lines.next().is_none());
    assert!(
        out.stderr().contains("balanced by task count"),
        "{}",
        out.stderr()
    );

    // Without $GITHUB_OUTPUT the flag is a mistake, said as such.
    let err = ws
        .tek(&["plan", "--shards", "3", "--github-output", "matrix"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("$GITHUB_OUTPUT is not set"), "{err}");
}

#[test]
fn more_shards_than_groups_are_reduced_and_nothing_to_run_is_one_entry() {
    let ws = ws();
    let out = ws
        .tek(&["plan", "--shards", "256", "--format", "matrix"])
        .output()
        .expect_code(0);
    assert_eq!(
        matrix(&out.stdout())["include"].as_array().unwrap().len(),
        4
    );
    assert!(
        out.stderr()
            .contains("(256 asked for: only 4 independent groups of tasks)"),
        "{}",
        out.stderr()
    );
    ws.tek(&["plan", "--shards", "257"]).output().expect_code(1);
    ws.tek(&["plan", "--format", "matrix"])
        .output()
        .expect_code(1);

    ws.file("sot.md", SOT.replace("[ ]", "[x]"));
    let out = ws
        .tek(&["plan", "--shards", "4", "--format", "matrix"])
        .output()
        .expect_code(0);
    let m = matrix(&out.stdout());
    assert_eq!(m["include"].as_array().unwrap().len(), 1);
    assert_eq!(m["include"][0]["shard"], "1/1");
}

#[test]
fn each_shard_runs_only_its_tasks_and_together_they_run_every_task_once() {
    let ws = ws();
    ws.tek(&[
        "plan",
        "--shards",
        "2",
        "--durations",
        "durations/run.json",
        "--out",
        "plan.json",
    ])
    .output()
    .expect_code(0);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let hash = plan["shards"]["plan_hash"].as_str().unwrap().to_owned();
    let mut all = BTreeSet::new();
    for k in 1..=2 {
        let runs = format!("runs-{k}");
        let err = ws
            .tek(&[
                "run",
                "--plan",
                "plan.json",
                "--shard",
                &format!("{k}/2"),
                "--runs-dir",
                &runs,
            ])
            .output()
            .expect_code(0)
            .stderr();
        assert!(
            err.contains(&format!("Shard {k}/2 of plan {hash}")),
            "{err}"
        );
        let dir = std::fs::read_dir(ws.join(&runs))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("run.json").exists())
            .unwrap();
        let record = run_json_in(&dir);
        // `assigned`: what the plan gave the shard, so a merge can tell a dropped task.
        // `estimate_ms`: what the plan expected, for the merged report.
        assert_eq!(
            record["shard"],
            serde_json::json!({"index": k, "total": 2, "plan_hash": hash,
                "assigned": plan["shards"]["shards"][k - 1]["tasks"],
                "estimate_ms": plan["shards"]["shards"][k - 1]["estimate_ms"]})
        );
        let planned: BTreeSet<String> = plan["shards"]["shards"][k - 1]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let ran = ran(&dir);
        assert_eq!(ran, planned);
        for id in ran {
            assert!(all.insert(id.clone()), "{id} ran in two shards");
        }
    }
    assert_eq!(all, ALL.iter().map(|s| s.to_string()).collect());

    // The merged report puts each shard's estimate beside the time it took.
    let report = ws
        .tek(&[
            "report",
            "--merge",
            "runs-1",
            "runs-2",
            "--runs-dir",
            "merged",
        ])
        .output()
        .expect_code(0)
        .stdout();
    for k in 1..=2 {
        let estimate = plan["shards"]["shards"][k - 1]["estimate_ms"]
            .as_u64()
            .unwrap();
        let shown = format!("(estimated {:.1}s)", estimate as f64 / 1000.0);
        assert!(report.contains(&format!("shard {k}/2 took ")), "{report}");
        assert!(report.contains(&shown), "{shown}: {report}");
    }
}

#[test]
fn a_shard_composes_with_queue_and_only() {
    let ws = ws();
    ws.tek(&["plan", "--shards", "4", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let shards = plan["shards"]["shards"].as_array().unwrap();
    let k = shards
        .iter()
        .position(|s| s["tasks"].as_array().unwrap().contains(&"TASK-011".into()))
        .unwrap()
        + 1;
    // The shard with the chain holds queue A's TASK-002 and queue B: --queue B keeps B.
    ws.tek(&[
        "run",
        "--plan",
        "plan.json",
        "--shard",
        &format!("{k}/4"),
        "--queue",
        "B",
    ])
    .output()
    .expect_code(0);
    assert_eq!(
        ran(&ws.latest_run()),
        BTreeSet::from(["TASK-011".to_owned(), "TASK-012".to_owned()])
    );
    ws.tek(&[
        "run",
        "--plan",
        "plan.json",
        "--shard",
        &format!("{k}/4"),
        "--only",
        "TASK-012,TASK-020",
    ])
    .output()
    .expect_code(0);
    assert_eq!(
        ran(&ws.latest_run()),
        BTreeSet::from(["TASK-012".to_owned()])
    );
    let err = ws
        .tek(&[
            "run",
            "--plan",
            "plan.json",
            "--shard",
            &format!("{k}/4"),
            "TASK-020",
        ])
        .output()
        .expect_code(0)
        .stderr();
    assert!(
        err.contains(&format!("not in shard {k}/4, so not run here: TASK-020")),
        "{err}"
    );
}

#[test]
fn a_plan_from_another_checkout_or_edited_by_hand_is_refused() {
    let ws = ws();
    ws.tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(0);
    ws.file("sot.md", format!("{SOT}- [ ] `TASK-022` Audit\n"));
    let err = ws
        .tek(&["run", "--plan", "plan.json", "--shard", "1/2"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("`plan.json` does not match this checkout: sot.md (planned sha256:"),
        "{err}"
    );
    assert!(!ws.join(".tek/runs").exists(), "no run may start");
    ws.file("sot.md", SOT);
    ws.file(
        "config/hooks.json",
        r#"{"Queue A — Build": {"commands": [{"cmd": ["false"]}]}}"#,
    );
    let err = ws
        .tek(&["run", "--plan", "plan.json", "--shard", "1/2"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("hooks.json (planned"), "{err}");

    let ws = self::ws();
    ws.tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let text = std::fs::read_to_string(ws.join("plan.json")).unwrap();
    ws.file(
        "plan.json",
        text.replacen("\"requested\": 2", "\"requested\": 3", 1),
    );
    let err = ws
        .tek(&["run", "--plan", "plan.json", "--shard", "1/2"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("was changed after it was planned"), "{err}");
    ws.file("plan.json", &text);

    // A plan without shards, a wrong total, bad syntax: each says what to do.
    ws.tek(&["plan", "--out", "plain.json"])
        .output()
        .expect_code(0);
    let err = ws
        .tek(&["run", "--plan", "plain.json", "--shard", "1/2"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("has no shards"), "{err}");
    let err = ws
        .tek(&["run", "--plan", "plan.json", "--shard", "1/3"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("use --shard K/2"), "{err}");
    for bad in ["2", "0/2", "3/2", "x/y"] {
        let err = ws
            .tek(&["run", "--shard", bad])
            .output()
            .expect_code(1)
            .stderr();
        assert!(err.contains("write K/N"), "{bad}: {err}");
    }
}

#[test]
fn without_a_plan_every_job_splits_the_same_way() {
    let ws = ws();
    let out = ws
        .tek(&[
            "plan",
            "--shards",
            "2",
            "-j",
            "2",
            "--durations",
            "durations/run.json",
            "--out",
            "plan.json",
        ])
        .output()
        .expect_code(0);
    drop(out);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    let mut all = BTreeSet::new();
    for k in 1..=2 {
        ws.tek(&[
            "run",
            "--shard",
            &format!("{k}/2"),
            "-j",
            "2",
            "--durations",
            "durations/run.json",
        ])
        .output()
        .expect_code(0);
        let record = run_json_in(&ws.latest_run());
        assert_eq!(record["shard"]["plan_hash"], plan["shards"]["plan_hash"]);
        all.extend(ran(&ws.latest_run()));
    }
    assert_eq!(all.len(), 6);
}

#[test]
fn a_shard_rerun_carries_only_its_own_tasks() {
    let ws = ws();
    ws.file(
        "config/hooks.json",
        r#"{"Queue A — Build": {"commands": [{"cmd": ["true"]}]},
            "Queue B — Quality gates": {"commands": [{"cmd": ["true"]}]},
            "Queue C — Checks": {"commands": [{"cmd": ["false"]}]}}"#,
    );
    ws.tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(0);
    // A whole run first: every task has a state to carry.
    ws.tek(&["run", "--plan", "plan.json"])
        .output()
        .expect_code(2);
    let plan: serde_json::Value = crate::harness::json_file(&ws, "plan.json");
    for k in 1..=2usize {
        let own: BTreeSet<String> = plan["shards"]["shards"][k - 1]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let out = ws
            .tek(&[
                "run",
                "--plan",
                "plan.json",
                "--shard",
                &format!("{k}/2"),
                "--rerun-failed",
            ])
            .output();
        let fails = own.iter().any(|id| id.starts_with("TASK-02"));
        assert_eq!(out.code(), if fails { 2 } else { 0 }, "{}", out.stderr());
        assert_eq!(ran(&ws.latest_run()), own, "shard {k}");
    }
}

/// The shard estimates of a plan split with `durations/run.json` (each task 10 s, the
/// shared compile 30 s when `compile_ms` is set).
fn estimates(ws: &Workspace, shards: &str, workers: &str) -> Vec<u64> {
    ws.tek(&[
        "plan",
        "--shards",
        shards,
        "-j",
        workers,
        "--durations",
        "durations/run.json",
        "--out",
        "plan.json",
    ])
    .output()
    .expect_code(0);
    let plan: serde_json::Value = crate::harness::json_file(ws, "plan.json");
    let mut loads: Vec<u64> = plan["shards"]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["estimate_ms"].as_u64().unwrap())
        .collect();
    loads.sort_unstable();
    loads
}

fn timed(ws: &Workspace, ids: &[&str], compile_ms: Option<u64>) {
    let results: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"task": id, "queue": "Q", "agent": "shell", "status": "ok", "duration_ms": 10000}))
        .collect();
    let mut run =
        serde_json::json!({"status": "ok", "started": "2026-11-30T00:00:00Z", "results": results});
    if let Some(ms) = compile_ms {
        run["compile_ms"] = ms.into();
    }
    ws.file("durations/run.json", run.to_string());
}

#[test]
fn estimates_count_the_turns_tasks_take_on_a_target_dir_or_a_resource() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` a\n- `TASK-2` b\n- `TASK-3` c\n- `TASK-4` d\n",
    );
    timed(&ws, &["TASK-1", "TASK-2", "TASK-3", "TASK-4"], None);
    // Four independent cargo builds on the workspace's target dir take turns on its lock.
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["cargo", "clippy", "--", "-D", "warnings"]}]}}"#,
    );
    assert_eq!(estimates(&ws, "1", "4"), [40_000]);
    // Two machines, two target dirs.
    assert_eq!(estimates(&ws, "2", "4"), [20_000, 20_000]);
    // cargo fmt takes no build lock: the four overlap.
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["cargo", "fmt", "--check"]}]}}"#,
    );
    assert_eq!(estimates(&ws, "1", "4"), [10_000]);
    // A named resource two tasks may hold at once.
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"resources": ["db"], "commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.file("config/manifest.json", r#"{"resources": {"db": 2}}"#);
    assert_eq!(estimates(&ws, "1", "4"), [20_000]);
}

#[test]
fn a_shard_of_compile_once_tasks_counts_the_shared_compile_once() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` tests\n## R\n- `TASK-2` other\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["cargo", "test", "-p", "demo"]}]},
            "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.file("config/manifest.json", r#"{"compile_once": true}"#);
    timed(&ws, &["TASK-1", "TASK-2"], Some(30_000));
    // The shard with the test binary compiles first, on its own machine.
    assert_eq!(estimates(&ws, "2", "1"), [10_000, 40_000]);
    // Without a recorded compile there is nothing to add.
    timed(&ws, &["TASK-1", "TASK-2"], None);
    assert_eq!(estimates(&ws, "2", "1"), [10_000, 10_000]);
}
