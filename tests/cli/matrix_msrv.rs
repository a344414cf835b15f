//! The known value `msrv`: the `rust-version` of the package a command targets, read
//! through the real `cargo metadata` of a two-member workspace; the id keeps `msrv`, argv
//! and plan.json get the version, and a missing one is exit 1 naming the manifest.

use crate::harness::{ran, run_json, Workspace};

const SOT: &str = "# Plan
## Queue A — Tests
- [ ] `TASK-010` Tests
";

/// Each combination writes its toolchain argument to `out/<member>-<id toolchain>`.
const HOOKS: &str = r#"{
  "TASK-010": {
    "matrix": { "toolchain": ["stable", "msrv"], "member": ["a", "b"] },
    "commands": [{
      "cmd": ["sh", "-c", "mkdir -p out && echo \"$1\" > out/$0", "${matrix.member}-${matrix.toolchain}", "+${matrix.toolchain}", "-p", "${matrix.member}"]
    }]
  }
}"#;

/// `a` has its own `rust-version`; `b` inherits none, so the workspace's stands in.
fn ws(workspace_version: Option<&str>) -> Workspace {
    let ws = Workspace::new();
    let shared = workspace_version
        .map(|v| format!("\n[workspace.package]\nrust-version = \"{v}\"\n"))
        .unwrap_or_default();
    ws.file(
        "Cargo.toml",
        format!("[workspace]\nmembers = [\"crates/a\", \"crates/b\"]\nresolver = \"2\"\n{shared}"),
    )
    .file(
        "crates/a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.70\"\n",
    )
    .file("crates/a/src/lib.rs", "")
    .file(
        "crates/b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .file("crates/b/src/lib.rs", "")
    .file("sot.md", SOT)
    .file("config/hooks.json", HOOKS);
    let _ = std::fs::remove_file(ws.join("src/lib.rs"));
    ws
}

#[test]
fn msrv_is_the_targeted_packages_rust_version_in_argv_and_plan_json_but_not_the_id() {
    let ws = ws(Some("1.65"));
    let plan = ws
        .tek(&["plan", "--format", "json"])
        .output()
        .expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    let tasks = plan["queues"][0]["tasks"].as_array().unwrap();
    let task = |id: &str| tasks.iter().find(|t| t["id"] == id).unwrap();
    let a = task("TASK-010[toolchain=msrv,member=a]");
    assert_eq!(a["matrix"]["toolchain"], "msrv");
    assert_eq!(a["resolved"]["toolchain"], "1.70");
    assert_eq!(a["runs"]["commands"][0][4], "+1.70");
    let b = task("TASK-010[toolchain=msrv,member=b]");
    assert_eq!(
        b["resolved"]["toolchain"], "1.65",
        "the workspace's stands in"
    );
    let stable = task("TASK-010[toolchain=stable,member=a]");
    assert!(stable.get("resolved").is_none());

    ws.tek(&["run"]).output().expect_code(0);
    assert_eq!(ran(&run_json(&ws)).len(), 4);
    let read = |name: &str| std::fs::read_to_string(ws.join("out").join(name)).unwrap();
    assert_eq!(read("a-1.70"), "+1.70\n");
    assert_eq!(read("b-1.65"), "+1.65\n");
    assert_eq!(read("a-stable"), "+stable\n");
    // The log folders keep the readable id.
    let logs = ws.latest_run().join("logs");
    let names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.contains("msrv")), "{names:?}");
}

#[test]
fn msrv_without_a_rust_version_is_exit_1_naming_the_manifest_and_the_value() {
    let ws = ws(None);
    for command in ["plan", "run", "check"] {
        let err = ws.tek(&[command]).output().expect_code(1).stderr();
        assert!(
            err.contains("combination `TASK-010[toolchain=msrv,member=b]`"),
            "{command}: {err}"
        );
        assert!(
            err.contains(
                "none is set in `crates/b/Cargo.toml` nor in the workspace's `Cargo.toml`"
            ),
            "{command}: {err}"
        );
        // At the `msrv` value of the axis in hooks.json.
        assert!(err.contains("config/hooks.json:3:41"), "{command}: {err}");
        assert!(err.contains("rust-version = \"1.70\""), "{command}: {err}");
    }
    assert!(!ws.join("out").exists(), "nothing ran");
    // Written as a version instead, it plans.
    ws.file("config/hooks.json", HOOKS.replace("\"msrv\"", "\"1.60\""));
    ws.tek(&["plan"]).output().expect_code(0);
}
