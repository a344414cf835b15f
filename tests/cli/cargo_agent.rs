//! The cargo agent on a real workspace of tiny crates (no dependencies, offline): a
//! failing test, a compile error, a deny-level clippy lint, and new warnings against a
//! baseline. The workspace sits in a subdirectory of cargo-tek's root, which itself sits
//! in a subdirectory of the "repository", so every path has to be made relative twice.

use super::harness::{result, run_json, Workspace};

/// Writes a member crate of the fixture workspace under `rust/crates/`.
fn member(ws: &Workspace, name: &str, lib: &str) {
    ws.file(
        &format!("rust/crates/{name}/Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    );
    ws.file(&format!("rust/crates/{name}/src/lib.rs"), lib);
}

const ALPHA: &str = r#"pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(1, 1), 2);
    }

    #[test]
    fn compares() {
        assert_eq!(super::add(1, 1), 3, "one and one");
    }

    // The fixture's own ignored test (not one of ours): cargo-tek must record it as
    // "ignored" (asserted below).
    #[test]
    #[ignore]
    fn later() {}
}
"#;

/// The fixture: alpha (a failing unit test and a passing integration test), beta (a
/// compile error), gamma (clippy's deny-level `eq_op`).
fn fixture() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "rust/Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    member(&ws, "alpha", ALPHA);
    ws.file(
        "rust/crates/alpha/tests/it.rs",
        "#[test]\nfn from_outside() {\n    assert_eq!(alpha::add(2, 2), 4);\n}\n",
    );
    member(
        &ws,
        "beta",
        "pub fn broken() -> u32 {\n    \"not a number\"\n}\n\npub fn also() -> i32 {\n    \"x\"\n}\n",
    );
    member(
        &ws,
        "gamma",
        "pub fn same(a: u32) -> bool {\n    a == a\n}\n",
    );
    ws.file(
        "sot.md",
        "## Checks\n- `TASK-1` alpha's tests\n- `TASK-2` build beta\n- `TASK-3` clippy on gamma\n- `TASK-4` opted out\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"cmd": ["cargo", "test", "--offline", "--no-fail-fast", "-p", "alpha"], "cwd": "rust"}]},
  "TASK-2": {"commands": [{"cmd": ["cargo", "build", "--offline", "-p", "beta"], "cwd": "rust/crates/beta"}]},
  "TASK-3": {"commands": [{"cmd": ["cargo", "clippy", "--offline", "-p", "gamma"], "cwd": "rust"}]},
  "TASK-4": {"agent": "shell", "commands": [{"cmd": ["cargo", "build", "--offline", "-p", "alpha"], "cwd": "rust"}]}
}"#,
    );
    ws
}

#[test]
fn findings_tests_annotations_junit_and_report_come_from_cargo() {
    let ws = fixture();
    // The "repository" is the temp dir's parent: cargo-tek runs in a subdirectory of it.
    let repo = ws.path().parent().unwrap();
    let prefix = ws
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let run = ws
        .tek(&["run", "--max-workers", "2"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", repo)
        .output()
        .expect_code(2);
    let stdout = run.stdout();
    let json = run_json(&ws);

    // run.json: one outcome per test, attributed to its crate and binary.
    let t1 = result(&json, "TASK-1");
    assert_eq!(t1["agent"], "cargo");
    let tests = t1["cargo"]["tests"].as_array().unwrap();
    let find = |name: &str| {
        tests
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {tests:?}"))
    };
    let compares = find("tests::compares");
    assert_eq!(compares["status"], "failed");
    assert_eq!(
        (&compares["package"], &compares["binary"]),
        (&"alpha".into(), &"lib".into())
    );
    assert_eq!(compares["file"], "rust/crates/alpha/src/lib.rs");
    assert_eq!(
        (&compares["line"], &compares["column"]),
        (&14.into(), &9.into())
    );
    let message = compares["message"].as_str().unwrap();
    assert!(
        message.contains("one and one") && message.contains("right: 3"),
        "{message}"
    );
    assert_eq!(find("tests::adds")["status"], "passed");
    assert_eq!(find("tests::later")["status"], "ignored");
    assert_eq!(find("from_outside")["binary"], "it");
    assert_eq!(find("from_outside")["status"], "passed");

    // run.json: the compile error and the clippy lint as findings at their source.
    let f2 = &result(&json, "TASK-2")["cargo"]["findings"][0];
    assert_eq!(f2["level"], "error");
    assert_eq!(f2["code"], "E0308");
    assert_eq!(f2["file"], "rust/crates/beta/src/lib.rs");
    assert_eq!((&f2["line"], &f2["column"]), (&2.into(), &5.into()));
    assert!(f2["rendered"]
        .as_str()
        .unwrap()
        .contains("expected `u32`, found `&str`"));
    let f3 = &result(&json, "TASK-3")["cargo"]["findings"][0];
    assert_eq!(f3["code"], "clippy::eq_op");
    assert_eq!(f3["file"], "rust/crates/gamma/src/lib.rs");
    assert_eq!(result(&json, "TASK-3")["status"], "error");

    // `"agent": "shell"` opts out: the command runs as written, nothing is parsed.
    let t4 = result(&json, "TASK-4");
    assert_eq!(t4["agent"], "shell");
    assert!(t4.get("cargo").is_none_or(|c| c.is_null()), "{t4}");
    assert_eq!(t4["commands"][0]["cmd"][1], "build");
    assert_eq!(t4["commands"][0]["cmd"].as_array().unwrap().len(), 5);

    // The log is what a person would have read, not JSON.
    let log =
        std::fs::read_to_string(ws.latest_run().join(t2_log(result(&json, "TASK-2")))).unwrap();
    assert!(log.contains("error[E0308]: mismatched types"), "{log}");
    assert!(!log.contains("\"reason\":"), "{log}");

    // Annotations on the source lines, relative to the repository.
    let annotation = |file: &str, line: u32| {
        let head = format!("::error file={prefix}/{file},line={line},");
        stdout
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("{head}… in\n{stdout}"))
            .to_owned()
    };
    let a1 = annotation("rust/crates/alpha/src/lib.rs", 14);
    assert!(
        a1.contains("col=9,") && a1.contains("`tests::compares` (in alpha/lib) panicked"),
        "{a1}"
    );
    assert!(a1.contains("one and one"), "{a1}");
    let a2 = annotation("rust/crates/beta/src/lib.rs", 2);
    assert!(
        a2.contains("col=5,") && a2.contains("mismatched types"),
        "{a2}"
    );
    let a3 = annotation("rust/crates/gamma/src/lib.rs", 2);
    assert!(a3.contains("equal expressions as operands"), "{a3}");
    assert!(
        !stdout.contains("\"reason\":\"compiler-message\""),
        "no raw JSON forwarded"
    );

    // JUnit: one case per test, in a suite per crate and binary.
    let xml = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    let suite = |name: &str| {
        let start = xml
            .find(&format!("<testsuite name=\"{name}\""))
            .unwrap_or_else(|| panic!("suite {name} in\n{xml}"));
        let end = xml[start..].find("</testsuite>").unwrap() + start;
        xml[start..end].to_owned()
    };
    let lib = suite("alpha/lib");
    assert!(lib.contains("tests=\"3\""), "{lib}");
    assert!(lib.contains("failures=\"1\""), "{lib}");
    assert!(lib.contains("<testcase name=\"tests::compares\""), "{lib}");
    assert!(lib.contains("one and one"), "{lib}");
    assert!(lib.contains("<skipped"), "{lib}");
    assert!(suite("alpha/it").contains("<testcase name=\"from_outside\""));

    // The report: errors with their snippet, the failing test with its panic message.
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    for needle in [
        "error&#91;E0308&#93;&#58; mismatched types &#40;at rust&#47;crates&#47;beta&#47;src&#47;lib&#46;rs&#58;2&#58;5&#41;",
        "expected `u32`, found `&str`",
        "&#96;tests&#58;&#58;compares&#96; panicked&#58; assertion &#96;left &#61;&#61; right&#96; failed&#58; one and one",
        "equal expressions as operands",
        // The second error of beta, listed below the first.
        "\n- error&#91;E0308&#93;&#58; mismatched types &#40;at rust&#47;crates&#47;beta&#47;src&#47;lib&#46;rs&#58;6&#41;\n",
    ] {
        assert!(md.contains(needle), "{needle} in\n{md}");
    }
}

fn t2_log(result: &serde_json::Value) -> String {
    result["commands"][0]["log"].as_str().unwrap().to_owned()
}

#[test]
fn new_warnings_fail_against_the_baseline_and_old_ones_do_not() {
    let ws = Workspace::new();
    ws.file(
        "rust/Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    let old = "pub fn f() {\n    let unused = 1;\n}\n";
    member(&ws, "delta", old);
    ws.file("sot.md", "## Checks\n- `TASK-1` build delta\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"fail_on_new_warnings": true, "commands": [{"cmd": ["cargo", "build", "--offline"], "cwd": "rust"}]}}"#,
    );
    // No baseline yet: the warnings are recorded, nothing fails.
    ws.tek(&["run"]).output().expect_code(0);
    let first = ws.latest_run();
    let json = run_json(&ws);
    let cargo = &result(&json, "TASK-1")["cargo"];
    assert_eq!(cargo["warnings_recorded"], true);
    assert_eq!(cargo["findings"][0]["message"], "unused variable: `unused`");
    assert!(cargo["gate"]["note"]
        .as_str()
        .unwrap()
        .contains("no baseline"));

    // A new warning (and the old one moved down a line): only the new one counts.
    ws.file(
        "rust/crates/delta/src/lib.rs",
        format!("fn never() {{}}\n{old}"),
    );
    let run = ws.tek(&["run"]).output().expect_code(2);
    assert!(
        run.stderr().contains("1 new warning compared with run"),
        "{}",
        run.stderr()
    );
    let json = run_json(&ws);
    let t1 = result(&json, "TASK-1");
    assert_eq!(t1["status"], "error");
    assert_eq!(t1["cargo"]["gate"]["new_warnings"], 1);
    let first_id = first.file_name().unwrap().to_str().unwrap();
    assert_eq!(t1["cargo"]["gate"]["baseline"], first_id);
    let new: Vec<&serde_json::Value> = t1["cargo"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["new"] == true)
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["message"], "function `never` is never used");
    assert_eq!(new[0]["file"], "rust/crates/delta/src/lib.rs");
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(
        md.contains("new warning&#58; function &#96;never&#96; is never used"),
        "{md}"
    );

    // An explicit baseline is the run compared with, whatever ran since.
    let run = ws
        .tek(&["run", "--baseline", first.to_str().unwrap()])
        .output()
        .expect_code(2);
    assert!(run.stderr().contains(first_id), "{}", run.stderr());
    let run = ws
        .tek(&["run", "--baseline", "no/such/dir"])
        .output()
        .expect_code(1);
    assert!(
        run.stderr().contains("--baseline no/such/dir"),
        "{}",
        run.stderr()
    );

    // Back to the old warnings: passes again.
    ws.file("rust/crates/delta/src/lib.rs", old);
    ws.tek(&["run", "--baseline", first.to_str().unwrap()])
        .output()
        .expect_code(0);
}

#[test]
fn a_hook_preferring_nextest_gets_per_test_results_from_it_when_installed() {
    let ws = Workspace::new();
    ws.file(
        "rust/Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    member(&ws, "alpha", ALPHA);
    ws.file("sot.md", "## Checks\n- `TASK-1` alpha's tests\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"nextest": true, "commands": [{"cmd": ["cargo", "test", "--offline", "-p", "alpha"], "cwd": "rust"}]}}"#,
    );
    ws.tek(&["run"]).output().expect_code(2);
    let json = run_json(&ws);
    let t1 = result(&json, "TASK-1");
    // Without cargo-nextest the command runs as written and libtest's output is read.
    let installed = which::which("cargo-nextest").is_ok();
    assert_eq!(t1["commands"][0]["cmd"][1] == "nextest", installed, "{t1}");
    let tests = t1["cargo"]["tests"].as_array().unwrap();
    let compares = tests
        .iter()
        .find(|t| t["name"] == "tests::compares")
        .unwrap_or_else(|| panic!("{tests:?}"));
    assert_eq!(compares["status"], "failed");
    assert_eq!(
        (&compares["package"], &compares["binary"]),
        (&"alpha".into(), &"lib".into())
    );
    assert!(compares["message"]
        .as_str()
        .unwrap()
        .contains("one and one"));
    assert_eq!(compares["file"], "rust/crates/alpha/src/lib.rs");
    assert_eq!(
        tests.iter().filter(|t| t["status"] == "passed").count(),
        1,
        "{tests:?}"
    );
    let log = std::fs::read_to_string(
        ws.latest_run()
            .join(t1["commands"][0]["log"].as_str().unwrap()),
    )
    .unwrap();
    assert!(
        !log.contains("\"type\":\"test\""),
        "events are not shown as text:\n{log}"
    );
}

#[test]
fn check_warns_when_cargo_options_cannot_apply() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Checks\n- `TASK-1` a script\n- `TASK-2` opted out\n- `TASK-3` fine\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"fail_on_new_warnings": true, "commands": [{"shell": "cargo build"}]},
  "TASK-2": {"agent": "shell", "nextest": true, "commands": [{"cmd": ["cargo", "test"]}]},
  "TASK-3": {"warnings": true, "commands": [{"cmd": ["cargo", "build"]}]}
}"#,
    );
    let check = ws.tek(&["check"]).output().expect_code(0);
    let stderr = check.stderr();
    for key in ["TASK-1", "TASK-2"] {
        assert!(
            stderr.contains(&format!(
                "hook `{key}` sets options of the cargo agent, which does not run it"
            )),
            "{key}: {stderr}"
        );
    }
    assert!(!stderr.contains("hook `TASK-3` sets options"), "{stderr}");
}

#[test]
fn a_quiet_cargo_test_still_says_which_binary_failed_and_its_log_stays_quiet() {
    let ws = fixture();
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["cargo", "test", "-q", "--offline", "--no-fail-fast", "-p", "alpha"], "cwd": "rust"}]}}"#,
    );
    ws.tek(&["run", "TASK-1"]).output().expect_code(2);
    let json = run_json(&ws);
    let t1 = result(&json, "TASK-1");
    let tests = t1["cargo"]["tests"].as_array().unwrap();
    // Two binaries (lib and it) ran; terse output names only the failure, and it is
    // attributed by the Running lines cargo-tek kept.
    let failed: Vec<_> = tests.iter().filter(|t| t["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{tests:?}");
    assert_eq!(failed[0]["name"], "tests::compares");
    assert_eq!(
        (&failed[0]["package"], &failed[0]["binary"]),
        (&"alpha".into(), &"lib".into())
    );
    assert_eq!(failed[0]["line"], 14);
    // The command as spawned moved the quiet to the harness.
    let cmd: Vec<&str> = t1["commands"][0]["cmd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(!cmd[..cmd.len() - 1].contains(&"-q"), "{cmd:?}");
    assert_eq!(&cmd[cmd.len() - 2..], ["--", "--quiet"], "{cmd:?}");
    // The log reads as `-q` asked: no status lines, the terse failure.
    let log = std::fs::read_to_string(ws.latest_run().join(t2_log(t1))).unwrap();
    assert!(log.contains("tests::compares"), "{log}");
    for status in ["Running", "Compiling", "Finished", "Doc-tests"] {
        assert!(!log.contains(status), "{status} in\n{log}");
    }
}
