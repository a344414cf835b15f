//! Compile once: per-crate `cargo test -p` tasks share one workspace test compile and
//! run their crates' test binaries directly, each task still its own.

use crate::harness::{result, run_json, Run, Workspace};
use crate::target_dir::{lock_waits, own_cargo_home, two_crates};

const SOT: &str = "# Gates\n\n## Queue A — Cargo\n\
- `TASK-001` Build\n\
- `TASK-004` Format\n\
- `TASK-010` Tests of a\n\
- `TASK-011` Tests of b\n";

const HOOKS: &str = r#"{
  "TASK-001": {"commands": [{"cmd": ["cargo", "build", "--workspace"]}]},
  "TASK-004": {"commands": [{"cmd": ["cargo", "fmt", "--all", "--check"]}]},
  "TASK-010": {"commands": [{"cmd": ["cargo", "test", "-p", "a"]}]},
  "TASK-011": {"env": {"RUST_BACKTRACE": "0"}, "commands": [{"cmd": ["cargo", "test", "-p", "b", "--", "--test-threads=1"]}]}
}"#;

/// The fixture, with tests that check what cargo would give them: the package's
/// directory as cwd and its variables.
fn workspace() -> Workspace {
    let ws = two_crates();
    ws.file("sot.md", SOT)
        .file("config/hooks.json", HOOKS)
        .file("config/manifest.json", r#"{"compile_once": true}"#)
        .file(
            "crates/a/tests/env.rs",
            "#[test]\nfn runs_where_cargo_would() {\n    let cwd = std::env::current_dir().unwrap();\n    assert!(cwd.ends_with(\"crates/a\"), \"{cwd:?}\");\n    assert_eq!(std::env::var(\"CARGO_PKG_NAME\").unwrap(), \"a\");\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    assert_eq!(dir, cwd.to_str().unwrap());\n}\n",
        );
    ws
}

#[test]
fn per_crate_tests_share_one_compile_and_run_their_own_binaries() {
    let ws = workspace();
    let out = ws
        .tek(&["run", "--max-workers", "4"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    let dir = ws.latest_run();
    assert_eq!(lock_waits(&dir), Vec::<String>::new());
    assert!(dir.join("logs/%compile-once/cmd1.stdout.log").is_file());
    // One task per crate, each running its own binaries where cargo would.
    let a = result(&run, "TASK-010");
    assert_eq!(a["status"], "ok", "{run}");
    let commands = a["commands"].as_array().unwrap();
    assert_eq!(
        commands.len(),
        2,
        "the lib's unit tests and tests/env.rs: {a}"
    );
    assert!(commands.iter().all(|c| c["cwd"] == "crates/a"), "{a}");
    assert!(
        commands[0]["cmd"][0].as_str().unwrap().contains("/deps/a-"),
        "{a}"
    );
    let b = result(&run, "TASK-011");
    assert_eq!(b["commands"][0]["cmd"][1], "--test-threads=1", "{b}");
    let log = std::fs::read_to_string(dir.join(b["commands"][0]["log"].as_str().unwrap())).unwrap();
    assert!(log.contains("test tests::adds ... ok"), "{log}");
    // One outcome per test, read with libtest's parser.
    let tests = b["cargo"]["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"] == "tests::adds" && t["status"] == "passed" && t["package"] == "b"),
        "{b}"
    );
    // The test tasks waited for the compile, and said so; run.json says how long it
    // took, for the shard estimates of the next plan.
    assert!(a["wait_ms"].as_u64().unwrap_or(0) > 0, "{a}");
    assert!(run["compile_ms"].as_u64().unwrap_or(0) > 0, "{run}");
    assert!(
        out.stderr().contains("the workspace test compile"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_failing_test_fails_its_crate_only_and_names_its_binary() {
    let ws = workspace();
    ws.file(
        "crates/b/tests/broken.rs",
        "#[test]\nfn fails() {\n    assert_eq!(1, 2, \"b is broken\");\n}\n",
    );
    ws.tek(&["run", "TASK-010", "TASK-011"])
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-010")["status"], "ok", "{run}");
    let b = result(&run, "TASK-011");
    assert_eq!(b["status"], "error", "{run}");
    assert_eq!(
        b["reason"], "test binary `broken` of package `b` exited with 101",
        "{b}"
    );
    // Split tasks run on the agent plan.json names for them.
    assert_eq!(b["agent"], "cargo", "{b}");
    let plan: serde_json::Value = serde_json::from_str(
        &ws.tek(&["plan", "--format", "json"])
            .output()
            .expect_code(0)
            .stdout(),
    )
    .unwrap();
    let planned = plan["queues"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "TASK-011")
        .unwrap()
        .clone();
    assert_eq!(planned["runs"]["agent"], "cargo", "{planned}");
}

/// Three crates: `a`, which does not compile, `b`, which needs it, and `c`, which
/// does not.
fn broken_dependency() -> Workspace {
    let ws = workspace();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/a\", \"crates/b\", \"crates/c\"]\nresolver = \"2\"\n",
    )
    .file(
        "crates/c/Cargo.toml",
        "[package]\nname = \"c\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .file(
        "crates/c/src/lib.rs",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn stands_alone() {}\n}\n",
    )
    .file(
        "sot.md",
        format!("{SOT}- `TASK-012` Tests of c\n"),
    )
    .file(
        "config/hooks.json",
        HOOKS.replace(
            "\n}",
            ",\n  \"TASK-012\": {\"commands\": [{\"cmd\": [\"cargo\", \"test\", \"-p\", \"c\"]}]}\n}",
        ),
    )
    .file(
        "crates/a/src/lib.rs",
        "pub fn one() -> u32 {\n    \"not a number\"\n}\n",
    );
    ws
}

#[test]
fn a_broken_dependency_fails_its_dependents_once_and_independent_crates_still_run() {
    let ws = broken_dependency();
    let out = ws
        .tek(&["run", "TASK-010", "TASK-011", "TASK-012"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    // c does not need a: its binary built (the keep-going build) and ran.
    let c = result(&run, "TASK-012");
    assert_eq!(c["status"], "ok", "{run}");
    assert!(
        c["cargo"]["tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "tests::stands_alone" && t["status"] == "passed"),
        "{c}"
    );
    // a's task shows the compiler error, at its place.
    let a = result(&run, "TASK-010");
    assert_eq!(a["status"], "error", "{a}");
    assert_eq!(
        a["reason"], "`a` did not compile: 1 error, the first at crates/a/src/lib.rs:2:5",
        "{a}"
    );
    let finding = &a["cargo"]["findings"][0];
    assert_eq!(
        (&finding["code"], &finding["file"], &finding["line"]),
        (
            &serde_json::json!("E0308"),
            &serde_json::json!("crates/a/src/lib.rs"),
            &serde_json::json!(2)
        ),
        "{a}"
    );
    assert!(
        a["commands"][0]["cmd"].to_string().contains("--keep-going"),
        "{a}"
    );
    // b needs a: it fails too, and refers to a's task instead of repeating the error.
    let b = result(&run, "TASK-011");
    assert_eq!(b["status"], "error", "{b}");
    assert_eq!(
        b["reason"],
        "not built: `b` depends on `a`, which did not compile (its error is under TASK-010)",
        "{b}"
    );
    assert_eq!(b["commands"], serde_json::json!([]), "{b}");
    // The terminal names the error once; no task "could not start".
    let stderr = out.stderr();
    let causes: Vec<&str> = stderr.lines().filter(|l| l.contains("Cause")).collect();
    assert_eq!(causes.len(), 1, "{stderr}");
    assert!(
        causes[0].contains("TASK-010 error[E0308]: mismatched types (at crates/a/src/lib.rs:2:5)"),
        "{stderr}"
    );
    assert!(!stderr.contains("could not start"), "{stderr}");
    // The compile's logs hold what cargo showed people, not its JSON.
    let dir = ws.latest_run();
    for log in ["cmd1.stdout.log", "cmd2.stdout.log"] {
        let text = std::fs::read_to_string(dir.join("logs/%compile-once").join(log)).unwrap();
        assert!(
            text.contains("error[E0308]: mismatched types"),
            "{log}: {text}"
        );
        assert!(!text.contains("\"reason\""), "{log}: {text}");
    }
}

#[test]
fn plan_shows_and_check_explains_the_rewrite() {
    let ws = workspace();
    let plan = ws.tek(&["plan"]).output().expect_code(0).stdout();
    assert!(
        plan.contains("compile once: the test binaries of `a`"),
        "{plan}"
    );
    let check = ws.tek(&["check", "-v"]).output().expect_code(0).stderr();
    assert!(
        check.contains("hook `TASK-010` is compiled once"),
        "{check}"
    );
    assert!(check.contains("doctests"), "{check}");

    ws.file("config/manifest.json", "{}");
    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    assert!(
        check.contains("2 hooks run `cargo test -p <package>` (TASK-010, TASK-011)"),
        "{check}"
    );
    assert!(check.contains("\"compile_once\": true"), "{check}");
}

#[test]
fn check_quotes_what_split_test_tasks_compiled_twice_in_the_last_run() {
    let ws = workspace();
    // b wants a feature of a that a's own tests do not: `cargo test -p b` resolves it
    // and compiles a again.
    ws.file(
        "crates/a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nextra = []\n",
    )
    .file(
        "crates/b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\na = { path = \"../a\", features = [\"extra\"] }\n",
    )
    .file("config/manifest.json", "{}");
    ws.tek(&["run", "-j", "1", "TASK-010", "TASK-011"])
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    let compiled = |task: &str| result(&run, task)["cargo"]["compiled"].clone();
    assert_eq!(compiled("TASK-010"), serde_json::json!(["a@0.1.0"]));
    assert_eq!(
        compiled("TASK-011"),
        serde_json::json!(["a@0.1.0", "b@0.1.0"])
    );

    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    let id = run["run_id"].as_str().unwrap();
    assert!(
        check.contains(&format!(
            "in run {id}, 2 such tasks compiled a package another of them had already compiled 1 time (a@0.1.0 ×2)"
        )),
        "{check}"
    );
    // With compile once on there is nothing to warn about.
    ws.file("config/manifest.json", r#"{"compile_once": true}"#);
    let check = ws.tek(&["check"]).output().expect_code(0).stderr();
    assert!(!check.contains("such tasks compiled"), "{check}");
}

/// The fixture plus a proc-macro crate with unit tests (its test binary links `libstd`
/// dynamically: it runs only with the sysroot on the library path) and a doctest, and a
/// crate whose tests read what its build script left and a file beside its manifest.
fn proc_macro_workspace() -> Workspace {
    let ws = workspace();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/a\", \"crates/b\", \"crates/mac\"]\nresolver = \"2\"\n",
    )
    .file(
        "crates/mac/Cargo.toml",
        "[package]\nname = \"mac-ro\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n[lib]\nproc-macro = true\n",
    )
    .file(
        "crates/mac/src/lib.rs",
        "use proc_macro::TokenStream;\n\n/// Hands its input back.\n///\n/// ```\n/// assert_eq!(1 + 1, 2);\n/// ```\n#[proc_macro]\npub fn same(input: TokenStream) -> TokenStream {\n    input\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn runs() {\n        assert_eq!(env!(\"CARGO_PKG_NAME\"), \"mac-ro\");\n    }\n}\n",
    )
    .file(
        "crates/b/build.rs",
        "fn main() {\n    println!(\"cargo::rustc-env=FROM_BUILD=yes\");\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    std::fs::write(std::path::Path::new(&out).join(\"made.txt\"), \"made\").unwrap();\n}\n",
    )
    .file("crates/b/data.txt", "beside the manifest\n")
    .file(
        "crates/b/tests/runtime.rs",
        "#[test]\nfn sees_what_cargo_gives_it() {\n    assert_eq!(std::fs::read_to_string(\"data.txt\").unwrap(), \"beside the manifest\\n\");\n    let out = std::env::var(\"OUT_DIR\").expect(\"OUT_DIR at run time\");\n    assert_eq!(std::fs::read_to_string(std::path::Path::new(&out).join(\"made.txt\")).unwrap(), \"made\");\n    assert_eq!(std::env::var(\"FROM_BUILD\").unwrap(), \"yes\");\n    assert_eq!(std::env::var(\"CARGO_PKG_NAME\").unwrap(), \"b\");\n    assert_eq!(std::env::var(\"CARGO_MANIFEST_DIR\").unwrap(), env!(\"CARGO_MANIFEST_DIR\"));\n}\n",
    )
    .file("sot.md", format!("{SOT}- `TASK-013` Tests of mac-ro\n"))
    .file(
        "config/hooks.json",
        HOOKS.replace(
            "\n}",
            ",\n  \"TASK-013\": {\"commands\": [{\"cmd\": [\"cargo\", \"test\", \"-p\", \"mac-ro\"]}]}\n}",
        ),
    );
    ws
}

/// `run` without the dynamic library path this test process got from cargo (which has
/// the sysroot's library directory on it): as `cargo tek` starts on a CI machine.
fn without_library_path(mut run: Run) -> Run {
    run.cmd
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH");
    run
}

/// Each task's status and its tests (package, binary, name, status), sorted, doctests
/// left out (compile once leaves them to a task of their own); and JUnit's suites.
fn outcomes(ws: &Workspace) -> (Vec<String>, Vec<String>) {
    let run = run_json(ws);
    let mut seen = Vec::new();
    for id in ["TASK-010", "TASK-011", "TASK-013"] {
        let task = result(&run, id);
        seen.push(format!("{id} {}", task["status"]));
        for t in task["cargo"]["tests"].as_array().into_iter().flatten() {
            if t["binary"] != "doctests" {
                seen.push(format!(
                    "{id} {}/{} {} {}",
                    t["package"], t["binary"], t["name"], t["status"]
                ));
            }
        }
    }
    seen.sort();
    let xml = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    let mut suites: Vec<String> = xml
        .split("<testsuite name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|s| s.contains('/') && !s.ends_with("/doctests"))
        .map(str::to_owned)
        .collect();
    suites.sort();
    (seen, suites)
}

#[test]
fn a_proc_macro_crate_and_cargos_environment_pass_as_they_do_under_cargo_test() {
    let ws = proc_macro_workspace();
    let tasks = ["run", "TASK-010", "TASK-011", "TASK-013"];
    let out = without_library_path(ws.tek(&tasks))
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output();
    let run = run_json(&ws);
    assert_eq!(out.code(), 0, "{}\n{run}", out.stderr());
    let once = outcomes(&ws);
    let mac = result(&run, "TASK-013");
    assert!(
        mac["commands"][0]["cmd"][0]
            .as_str()
            .unwrap()
            .contains("/deps/mac_ro-"),
        "the proc-macro's own test binary ran: {mac}"
    );
    assert!(
        once.0
            .contains(&"TASK-013 \"mac-ro\"/\"lib\" \"tests::runs\" \"passed\"".to_owned()),
        "{once:?}"
    );
    assert!(
        once.0.contains(
            &"TASK-011 \"b\"/\"runtime\" \"sees_what_cargo_gives_it\" \"passed\"".to_owned()
        ),
        "{once:?}"
    );

    // The same tasks as cargo runs them: the same outcomes under the same names.
    ws.file("config/manifest.json", "{}");
    ws.tek(&tasks)
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    assert_eq!(outcomes(&ws), once);
    assert!(once.1.contains(&"mac-ro/lib".to_owned()), "{once:?}");
    // Doctests are the package's, not the crate's (`mac_ro`).
    let run = run_json(&ws);
    let doctests: Vec<&serde_json::Value> = result(&run, "TASK-013")["cargo"]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["binary"] == "doctests")
        .collect();
    assert_eq!(doctests.len(), 1, "{run}");
    assert_eq!(doctests[0]["package"], "mac-ro", "{run}");
}

#[test]
fn a_test_binary_that_cannot_load_a_shared_library_says_so() {
    let ws = proc_macro_workspace();
    // Built by compile once, then run by hand (a hook of its own), without the
    // sysroot's library directory on the loader's path.
    without_library_path(ws.tek(&["run", "TASK-013"]))
        .env("CARGO_HOME", own_cargo_home(&ws))
        .output()
        .expect_code(0);
    let run = run_json(&ws);
    let exe = result(&run, "TASK-013")["commands"][0]["cmd"][0]
        .as_str()
        .unwrap()
        .to_owned();
    ws.file(
        "config/hooks.json",
        format!(r#"{{"TASK-013": {{"commands": [{{"cmd": ["{exe}"]}}]}}}}"#),
    )
    .file("config/manifest.json", "{}");
    let out = without_library_path(ws.tek(&["run", "TASK-013"]))
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-013")["commands"][0]["rc"], 127, "{run}");
    let stderr = out.stderr();
    let cause = stderr
        .lines()
        .find(|l| l.contains("Cause"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        cause.contains("could not load the shared library `libstd-")
            && cause.contains("it is not on the dynamic library path"),
        "{stderr}"
    );
}
