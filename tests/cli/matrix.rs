//! A hook's `matrix`: one task per combination, values substituted into the commands,
//! selected as a whole by the base id or one by one, dependents waiting for every
//! combination, reruns of the one that failed, and mistakes at hooks.json's line:col.

use crate::harness::{ran, result, run_json, Workspace};

const SOT: &str = "# Plan
## Queue A — Tests
- [ ] `TASK-010` Tests
- [ ] `TASK-020` After the tests — after `TASK-010`
";

/// Each combination writes its argv to `out/<toolchain>-<features>`; the combination
/// `msrv`/`all` fails until `fixed` exists. `msrv` is the package's `rust-version`
/// (1.70 in [`ws`]'s Cargo.toml): the ids keep `msrv`, argv and the files get `1.70`. TASK-020 lists `out/` when it runs.
const HOOKS: &str = r#"{
  "TASK-010": {
    "matrix": { "toolchain": ["stable", "msrv"], "features": ["default", "all"] },
    "commands": [{
      "cmd": ["sh", "-c", "mkdir -p out && printf '%s\n' \"$@\" > out/$0 && { [ -e fixed ] || [ $0 != 1.70-all ]; }",
              "${matrix.toolchain}-${matrix.features}", "+${matrix.toolchain}", "test", "--${matrix.features}-features"]
    }]
  },
  "TASK-020": { "commands": [{ "shell": "ls out > after.txt" }] }
}"#;

const CARGO_TOML: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.70\"\n\n[workspace]\n";

const ALL: [&str; 4] = [
    "TASK-010[toolchain=stable,features=default]",
    "TASK-010[toolchain=stable,features=all]",
    "TASK-010[toolchain=msrv,features=default]",
    "TASK-010[toolchain=msrv,features=all]",
];

fn ws() -> Workspace {
    let ws = Workspace::new();
    ws.file("Cargo.toml", CARGO_TOML)
        .file("sot.md", SOT)
        .file("config/hooks.json", HOOKS);
    ws
}

/// The files the combinations wrote, sorted.
fn written(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.join("out"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn clear(ws: &Workspace) {
    let _ = std::fs::remove_dir_all(ws.join("out"));
}

#[test]
fn a_two_by_two_matrix_runs_four_tasks_with_their_values_and_the_dependent_waits() {
    let ws = ws();
    ws.file("fixed", "");
    ws.tek(&["run"]).output().expect_code(0);
    assert_eq!(
        written(&ws),
        ["1.70-all", "1.70-default", "stable-all", "stable-default"]
    );
    let argv = std::fs::read_to_string(ws.join("out/stable-all")).unwrap();
    assert_eq!(argv, "+stable\ntest\n--all-features\n");
    let argv = std::fs::read_to_string(ws.join("out/1.70-default")).unwrap();
    assert_eq!(argv, "+1.70\ntest\n--default-features\n");
    // TASK-020 started after all four had written their file.
    let after = std::fs::read_to_string(ws.join("after.txt")).unwrap();
    assert_eq!(
        after,
        "1.70-all\n1.70-default\nstable-all\nstable-default\n"
    );
    let run = run_json(&ws);
    for id in ALL {
        assert_eq!(result(&run, id)["status"], "ok", "{id}");
    }
    // One test case per combination, each under its own log folder.
    let junit = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    for id in ALL {
        assert_eq!(
            junit.matches(&format!("\"{id}")).count(),
            1,
            "{id} in {junit}"
        );
    }
    assert_eq!(junit.matches("<testcase").count(), 5, "{junit}");
    let folders = std::fs::read_dir(ws.latest_run().join("logs"))
        .unwrap()
        .count();
    assert_eq!(folders, 5);
    // plan.json carries the base id and the values, in hooks.json's axis order.
    ws.tek(&["plan", "--out", "plan.json"])
        .output()
        .expect_code(0);
    let plan = std::fs::read_to_string(ws.join("plan.json")).unwrap();
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let task = &plan["queues"][0]["tasks"][1];
    assert_eq!(task["id"], ALL[1]);
    assert_eq!(task["base"], "TASK-010");
    assert_eq!(task["matrix"]["features"], "all");
    let text = std::fs::read_to_string(ws.join("plan.json")).unwrap();
    let values = &text[text.find("\"matrix\"").unwrap()..];
    assert!(
        values.find("toolchain").unwrap() < values.find("features").unwrap(),
        "{values}"
    );
    assert_eq!(
        plan["queues"][0]["tasks"][4]["after"],
        serde_json::json!(ALL)
    );
    // A run from the plan file runs the same four (commands from hooks.json).
    clear(&ws);
    ws.tek(&["run", "--plan", "plan.json"])
        .output()
        .expect_code(0);
    assert_eq!(written(&ws).len(), 4);
}

#[test]
fn the_base_id_selects_every_combination_and_a_full_id_selects_one() {
    let ws = ws();
    ws.file("fixed", "");
    ws.tek(&["run", "TASK-010"]).output().expect_code(0);
    assert_eq!(ran(&run_json(&ws)), ALL);
    clear(&ws);
    ws.tek(&["run", "TASK-010[toolchain=stable,features=all]"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&run_json(&ws)), [ALL[1]]);
    assert_eq!(written(&ws), ["stable-all"]);
    // --with-deps from the dependent brings in all four.
    ws.tek(&["run", "TASK-020", "--with-deps"])
        .output()
        .expect_code(0);
    assert_eq!(ran(&run_json(&ws)).len(), 5);
    let err = ws
        .tek(&["run", "TASK-010[toolchain=stable,features=al]"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains("did you mean `TASK-010[toolchain=stable,features=all]`"),
        "{err}"
    );
}

#[test]
fn one_failing_combination_fails_the_run_and_rerun_failed_reruns_only_it() {
    let ws = ws();
    ws.tek(&["run"]).output().expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, ALL[3])["status"], "error");
    for id in &ALL[..3] {
        assert_eq!(result(&run, id)["status"], "ok", "{id}");
    }
    assert_eq!(result(&run, "TASK-020")["status"], "skipped");
    clear(&ws);
    ws.file("fixed", "");
    std::thread::sleep(std::time::Duration::from_millis(5));
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    assert_eq!(ran(&run_json(&ws)), [ALL[3], "TASK-020"]);
    assert_eq!(written(&ws), ["1.70-all"]);
    let run = run_json(&ws);
    assert!(result(&run, ALL[0])["carried_from"].is_string());
    assert_eq!(run["status"], "ok");
}

#[test]
fn check_accepts_a_matrix_and_mistakes_exit_1_at_their_line_and_column() {
    let ws = ws();
    ws.tek(&["check"]).output().expect_code(0);
    for (hooks, message, location) in [
        (
            HOOKS.replace("${matrix.toolchain}-", "${matrix.toolchian}-"),
            "`${matrix.toolchian}` is not an axis of the matrix",
            "config/hooks.json:6:",
        ),
        (
            HOOKS.replace(r#"["default", "all"]"#, "[]"),
            "matrix axis `features` is empty",
            "config/hooks.json:3:50",
        ),
        (
            HOOKS.replace(r#"["default", "all"]"#, r#"["all", "all"]"#),
            "matrix axis `features` lists \"all\" twice",
            "config/hooks.json:3:",
        ),
        (
            HOOKS.replace(
                r#""features": ["default", "all"] }"#,
                r#""features": ["default", "all"], "include": [{"toolchain": "nightly", "feature": "all"}] }"#,
            ),
            "gives no value for axis `features` (it names `feature`, which is not an axis)",
            "config/hooks.json:3:",
        ),
        (
            HOOKS.replace(
                r#""features": ["default", "all"] }"#,
                r#""features": ["default", "all"], "includes": [{"toolchain": "nightly"}] }"#,
            ),
            "`includes` is taken for an axis, whose values are strings; did you mean `include`?",
            "config/hooks.json:3:",
        ),
    ] {
        ws.file("config/hooks.json", &hooks);
        for command in ["check", "plan", "run"] {
            let err = ws.tek(&[command]).output().expect_code(1).stderr();
            assert!(err.contains(message), "{command}: {err}");
            assert!(err.contains(location), "{command}: {err}");
        }
    }
    assert!(!ws.join("out").exists(), "nothing ran");
}

#[test]
fn a_plan_file_from_before_the_matrix_is_refused_not_run_as_a_noop() {
    let ws = ws();
    ws.file(
        "config/hooks.json",
        r#"{"TASK-010": {"commands": [{"cmd": ["true"]}]}, "TASK-020": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.tek(&["plan", "--out", "plan.json"])
        .output()
        .expect_code(0);
    ws.file("config/hooks.json", HOOKS);
    let err = ws
        .tek(&["run", "--plan", "plan.json"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(
        err.contains(
            "task `TASK-010` of plan.json is none of the combinations of hook `TASK-010`'s matrix"
        ),
        "{err}"
    );
    assert!(err.contains("config/hooks.json:2:3"), "{err}");
    assert!(!ws.join("out").exists(), "nothing ran");
}

#[test]
fn affected_decides_per_combination_from_its_substituted_commands() {
    let ws = Workspace::new();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
    );
    let _ = std::fs::remove_dir_all(ws.join("src"));
    for name in ["a", "b"] {
        ws.file(
            &format!("{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        ws.file(&format!("{name}/src/lib.rs"), "");
    }
    ws.file("sot.md", "## Q\n- `TASK-1` check\n")
        .file(".gitignore", "target/\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"matrix": {"crate": ["a", "b"]}, "commands": [{"cmd": ["cargo", "check", "-p", "${matrix.crate}"]}]}}"#,
    );
    crate::harness::git(ws.path(), &["init", "-q"]);
    crate::harness::git(ws.path(), &["add", "-A"]);
    crate::harness::git(ws.path(), &["commit", "-qm", "start"]);
    ws.file("b/src/lib.rs", "// changed\n");
    let out = ws
        .tek(&["affected", "HEAD", "--format", "json"])
        .output()
        .expect_code(0)
        .stdout();
    let decision: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs: Vec<(&str, bool)> = decision["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["run"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        decision["changed_paths"],
        serde_json::json!(["b/src/lib.rs"])
    );
    assert_eq!(
        runs,
        [("TASK-1[crate=a]", false), ("TASK-1[crate=b]", true)]
    );
}

/// Combinations that stop at the same step with the same output are one failure in the
/// report, the others named under it; a combination whose output differs keeps its own.
#[test]
fn combinations_failing_alike_are_reported_once_with_the_others_named() {
    let ws = Workspace::new();
    ws.file("Cargo.toml", CARGO_TOML)
        .file("sot.md", SOT)
        .file(
            "config/hooks.json",
            r#"{
  "TASK-010": {
    "matrix": { "target": ["arm", "mips", "s390x", "x86"] },
    "commands": [{ "shell": "if [ ${matrix.target} = x86 ]; then echo 'x86 test failed' >&2; else echo 'cross: no container engine' >&2; fi; exit 3" }]
  },
  "TASK-020": { "commands": [{ "cmd": ["true"] }] }
}"#,
        );
    ws.tek(&["run"]).output().expect_code(2);
    let report = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert_eq!(
        report.matches("cross: no container engine").count(),
        1,
        "{report}"
    );
    assert_eq!(report.matches("Output of <code>").count(), 2, "{report}");
    assert!(
        report.contains("Output of <code>TASK&#45;010&#91;target&#61;x86&#93;</code>"),
        "{report}"
    );
    assert!(
        report.contains(
            "❌ 2 more failed the same way, with the same output: \
             <code>TASK&#45;010&#91;target&#61;mips&#93;</code>, \
             <code>TASK&#45;010&#91;target&#61;s390x&#93;</code>"
        ),
        "{report}"
    );
    assert!(report.contains("4 tasks failed"), "{report}");
    // A template of the user's own that knows nothing of `alike` still lists all four.
    ws.file(
        "mine.j2",
        "{% for f in failures %}{{ f.id }} ({{ f.same_as or 'first' }});{% endfor %}",
    );
    let mine = ws
        .tek(&["report", "--template", "mine.j2"])
        .output()
        .expect_code(0)
        .stdout();
    assert_eq!(mine.matches(" (").count(), 4, "{mine}");
    assert_eq!(mine.matches("(first)").count(), 2, "{mine}");
}
