//! An `os` axis is matrix legs, not tasks of one run: `plan --format matrix` lists the
//! legs (with each leg's shards), a run takes its leg from `--leg`, the job's matrix or
//! `RUNNER_OS` and runs only that `os`'s combinations, and the merged report of two
//! legs has one table per task: a row per combination, a column per leg.

use crate::harness::{ran, run_json, run_json_in, Workspace};

const SOT: &str = "# Plan
## Queue A — Tests
- [ ] `TASK-010` Tests
- [ ] `TASK-020` After the tests — after `TASK-010`
";

/// The combination macos-14/beta fails.
const HOOKS: &str = r#"{
  "TASK-010": {
    "matrix": { "os": ["ubuntu-latest", "macos-13", "macos-14"], "toolchain": ["stable", "beta"] },
    "commands": [{ "cmd": ["sh", "-c", "[ \"$0\" != macos-14-beta ]", "${matrix.os}-${matrix.toolchain}"] }]
  },
  "TASK-020": { "commands": [{ "cmd": ["true"] }] }
}"#;

fn ws() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", SOT).file("config/hooks.json", HOOKS);
    ws
}

fn matrix(ws: &Workspace, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["plan", "--format", "matrix"];
    all.extend_from_slice(args);
    let out = ws.tek(&all).output().expect_code(0).stdout();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn plan_format_matrix_lists_the_os_legs_and_each_legs_own_shards() {
    let ws = ws();
    let legs = matrix(&ws, &[]);
    let include = legs["include"].as_array().unwrap();
    let os: Vec<&str> = include.iter().map(|e| e["os"].as_str().unwrap()).collect();
    assert_eq!(os, ["ubuntu-latest", "macos-13", "macos-14"]);
    // Each leg: its two combinations and TASK-020.
    assert!(include.iter().all(|e| e["tasks"] == 3), "{legs}");

    // Without the dependency, each leg has three independent tasks to split in two.
    ws.file("sot.md", SOT.replace(" — after `TASK-010`", ""));
    let sharded = matrix(&ws, &["--shards", "2"]);
    let pairs: Vec<(String, String)> = sharded["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["os"].as_str().unwrap().into(),
                e["shard"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 6, "{sharded}");
    assert_eq!(pairs[0], ("ubuntu-latest".into(), "1/2".into()));
    assert_eq!(pairs[5], ("macos-14".into(), "2/2".into()));

    // Shards in a plan file cannot hold every leg's split: said, not guessed.
    let err = ws
        .tek(&["plan", "--shards", "2", "--out", "plan.json"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("run --leg os=VALUE --shard K/N"), "{err}");
}

#[test]
fn a_run_is_one_leg_from_the_flag_the_job_matrix_or_runner_os_and_refuses_without() {
    let ws = ws();
    let err = ws.tek(&["run"]).output().expect_code(1).stderr();
    assert!(err.contains("pass --leg os=VALUE"), "{err}");
    assert!(
        err.contains("`ubuntu-latest`, `macos-13`, `macos-14`"),
        "{err}"
    );

    ws.tek(&["run", "--leg", "os=ubuntu-latest"])
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    assert_eq!(
        ran(&run),
        [
            "TASK-010[os=ubuntu-latest,toolchain=stable]",
            "TASK-010[os=ubuntu-latest,toolchain=beta]",
            "TASK-020"
        ]
    );
    assert_eq!(run["leg"]["os"], "ubuntu-latest", "{}", run["leg"]);

    ws.tek(&["run"])
        .env("RUNNER_OS", "Linux")
        .output()
        .expect_code(0);
    assert_eq!(
        ran(&run_json(&ws))[0],
        "TASK-010[os=ubuntu-latest,toolchain=stable]"
    );
    let err = ws
        .tek(&["run"])
        .env("RUNNER_OS", "macOS")
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("matches several `os` values (`macos-13`, `macos-14`)"),
        "{err}"
    );
    // The job's matrix (what the Action passes) settles it.
    ws.tek(&["run"])
        .env("RUNNER_OS", "macOS")
        .env("CARGO_TEK_MATRIX", r#"{"os": "macos-14", "shard": "1/1"}"#)
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(
        ran(&run)[..2],
        [
            "TASK-010[os=macos-14,toolchain=stable]",
            "TASK-010[os=macos-14,toolchain=beta]"
        ]
    );
    assert_eq!(
        crate::harness::result(&run, "TASK-020")["status"],
        "skipped"
    );
    let err = ws
        .tek(&["run", "--leg", "os=beos"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("`beos` is not a value of the `os` axis"),
        "{err}"
    );
}

/// A task whose every combination is on one `os` (a set-up step for ubuntu only) is not
/// on the other legs: their runs leave it out and run, they do not refuse its hook as
/// naming no task. A typo'd key is still refused on every leg.
#[test]
fn a_task_only_for_one_os_is_left_out_of_the_other_legs_not_refused() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "# Plan\n## Queue A — Tests\n- [ ] `TASK-005` Set-up\n- [ ] `TASK-010` Tests — after `TASK-005`\n",
    )
    .file(
        "config/hooks.json",
        r#"{
  "TASK-005": { "matrix": { "os": ["ubuntu-latest"] }, "commands": [{ "shell": "touch set-up" }] },
  "TASK-010": {
    "matrix": { "os": ["ubuntu-latest", "macos-14"] },
    "commands": [{ "shell": "[ ${matrix.os} = macos-14 ] || [ -e set-up ]" }]
  }
}"#,
    );
    ws.tek(&["run", "--leg", "os=macos-14"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&run_json(&ws)), ["TASK-010[os=macos-14]"]);
    assert!(!ws.join("set-up").exists());
    // A shard job of the leg, and a run of a plan file, leave it out alike.
    ws.tek(&["run", "--leg", "os=macos-14", "--shard", "1/1"])
        .output()
        .expect_code(0);
    ws.tek(&["plan", "--out", "plan.json"])
        .output()
        .expect_code(0);
    ws.tek(&["run", "--plan", "plan.json", "--leg", "os=macos-14"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&run_json(&ws)), ["TASK-010[os=macos-14]"]);
    ws.tek(&["run", "--leg", "os=ubuntu-latest"])
        .output()
        .expect_code(0);
    assert_eq!(
        ran(&run_json(&ws)),
        ["TASK-005[os=ubuntu-latest]", "TASK-010[os=ubuntu-latest]"]
    );
    let hooks = std::fs::read_to_string(ws.join("config/hooks.json")).unwrap();
    ws.file(
        "config/hooks.json",
        hooks.replace("\"TASK-005\"", "\"TASK-00S\""),
    );
    let err = ws
        .tek(&["run", "--leg", "os=macos-14"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("hook `TASK-00S` names no task or queue"),
        "{err}"
    );
}

#[test]
fn the_merged_report_of_two_legs_has_a_row_per_combination_and_a_column_per_leg() {
    let ws = ws();
    let leg = |runs: &str, os: &str, code: i32| {
        ws.tek(&["run", "--runs-dir", runs, "--leg", &format!("os={os}")])
            .output()
            .expect_code(code);
    };
    leg("linux", "ubuntu-latest", 0);
    leg("mac", "macos-14", 2);
    ws.tek(&[
        "report",
        "--merge",
        "linux",
        "mac",
        "--runs-dir",
        "merged",
        "--out",
        "report.md",
    ])
    .output()
    .expect_code(0);
    let report = std::fs::read_to_string(ws.join("report.md")).unwrap();
    assert!(
        report.contains("#### Matrix of TASK\\-010 by os"),
        "{report}"
    );
    assert!(
        report.contains("| combination | macos\\-14 | ubuntu\\-latest |"),
        "{report}"
    );
    assert!(
        report.contains("| toolchain\\=stable | ✅ pass | ✅ pass |"),
        "{report}"
    );
    assert!(
        report.contains("| toolchain\\=beta | ❌ fail | ✅ pass |"),
        "{report}"
    );
    // Two legs, named by their os.
    let merged = std::fs::read_dir(ws.join("merged"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    let run = run_json_in(&merged);
    let names: Vec<&str> = run["merge"]["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["macos-14", "ubuntu-latest"], "{run}");
}

/// A CI matrix written as GitHub users write it: every build an `include` entry with its
/// own `os`, toolchain, program and flags (no axis but a one-value `build`), the pinned
/// build on the workspace's `rust-version`.
const INCLUDE_ONLY: &str = r#"{
  "TASK-010": {
    "matrix": {
      "os": ["ubuntu-latest"],
      "build": ["pinned"],
      "include": [
        {"os": "ubuntu-latest", "build": "pinned", "rust": "msrv", "cargo": "cargo", "target_flags": ""},
        {"os": "ubuntu-latest", "build": "stable", "rust": "stable", "cargo": "cargo", "target_flags": ""},
        {"os": "ubuntu-latest", "build": "stable-s390x", "rust": "stable", "cargo": "cross", "target_flags": "--target s390x-unknown-linux-gnu"},
        {"os": "macos-latest", "build": "macos", "rust": "nightly", "cargo": "cargo", "target_flags": ""},
        {"os": "windows-latest", "build": "win-msvc", "rust": "nightly", "cargo": "cargo", "target_flags": ""},
        {"os": "windows-latest", "build": "win-gnu", "rust": "nightly-x86_64-gnu", "cargo": "cargo", "target_flags": ""}
      ]
    },
    "commands": [{ "shell": "${matrix.cargo} +${matrix.rust} test --workspace ${matrix.target_flags}" }]
  }
}"#;

#[test]
fn include_entries_alone_make_the_builds_legs_and_commands_of_a_ci_matrix() {
    let ws = Workspace::new();
    ws.file(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.96\"\n\n[workspace]\n",
    )
    .file("sot.md", "# Plan\n## Queue A — Test\n- [ ] `TASK-010` Build and test\n")
    .file("config/hooks.json", INCLUDE_ONLY);
    let legs = matrix(&ws, &[]);
    let legs: Vec<(String, u64)> = legs["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["os"].as_str().unwrap().into(),
                e["tasks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("ubuntu-latest".into(), 3),
            ("macos-latest".into(), 1),
            ("windows-latest".into(), 2)
        ]
    );
    let out = ws
        .tek(&["run", "--leg", "os=ubuntu-latest", "--dry-run"])
        .output()
        .expect_code(0)
        .stderr();
    assert!(out.contains("cargo +1.96 test --workspace"), "{out}");
    assert!(
        out.contains("cross +stable test --workspace --target s390x-unknown-linux-gnu"),
        "{out}"
    );
    assert!(
        !out.contains("nightly"),
        "another leg's build ran here: {out}"
    );
    assert_eq!(out.matches("Would run TASK-010[").count(), 3, "{out}");
}
