//! The extractor over output captured from real cargo, rustc, clippy, nextest and git
//! runs (tests/fixtures/causes/, produced with Rust 1.95 on a tiny crate).

use super::*;
use crate::evidence::CommandRecord;

const TEST_STDOUT: &str = include_str!("../../tests/fixtures/causes/cargo-test.stdout.log");
const TEST_STDERR: &str = include_str!("../../tests/fixtures/causes/cargo-test.stderr.log");
const COMPILE: &str = include_str!("../../tests/fixtures/causes/compile-error.stderr.log");
const COMPILE_COLOR: &str =
    include_str!("../../tests/fixtures/causes/compile-error-color.stderr.log");
const CLIPPY: &str = include_str!("../../tests/fixtures/causes/clippy.stderr.log");
const NEXTEST: &str = include_str!("../../tests/fixtures/causes/nextest.stderr.log");
const GIT: &str = include_str!("../../tests/fixtures/causes/git-outside-repo.stderr.log");

fn command(argv: &[&str], rc: Option<i32>) -> CommandRecord {
    CommandRecord {
        duration_ms: 1200,
        ..CommandRecord::for_test(argv, rc)
    }
}

fn failed(commands: Vec<CommandRecord>) -> TaskResult {
    TaskResult {
        task: "TASK-1".into(),
        queue: "Q".into(),
        agent: "shell".into(),
        status: TaskStatus::Error,
        title: "t".into(),
        layer: String::new(),
        reason: Some("command 1 exited with 101".into()),
        attempts: 1,
        duration_ms: 1200,
        commands,
        line: Some(3),
        carried_from: None,
        started: None,
        wait_ms: 0,
        cargo: None,
        sandbox: None,
        cached: None,
    }
}

fn cargo(rc: i32) -> TaskResult {
    failed(vec![command(&["cargo", "test"], Some(rc))])
}

#[test]
fn a_failing_cargo_test_gives_the_assertion_its_place_and_the_failing_tests() {
    let cause = extract(&cargo(101), &[TEST_STDERR, TEST_STDOUT]).unwrap();
    assert_eq!(cause.kind, Kind::Panic);
    assert_eq!(
        cause.summary,
        "`tests::adds_wrong` panicked: assertion `left == right` failed: two and two make 4"
    );
    assert_eq!(cause.detail, ["  left: 4", " right: 5"]);
    assert_eq!(
        cause.location.as_ref().unwrap().to_string(),
        "src/lib.rs:17:9"
    );
    assert_eq!(cause.tests, ["tests::adds_wrong", "tests::unwraps_none"]);
    assert_eq!(
        cause.one_line(),
        "`tests::adds_wrong` panicked: assertion `left == right` failed: two and two make 4 \
         (at src/lib.rs:17:9); 2 failing tests: tests::adds_wrong, tests::unwraps_none"
    );
    assert_eq!(cause.command, Some(0));
}

#[test]
fn a_compile_error_is_the_first_diagnostic_with_its_location_not_cargos_echo() {
    for text in [COMPILE, COMPILE_COLOR] {
        let cause = extract(&cargo(101), &[text, ""]).unwrap();
        assert_eq!(cause.kind, Kind::Diagnostic);
        assert_eq!(cause.summary, "error[E0308]: mismatched types");
        let at = cause.location.unwrap();
        assert_eq!(
            (at.file.as_str(), at.line, at.col),
            ("src/lib.rs", 2, Some(18))
        );
        assert!(
            cause
                .detail
                .iter()
                .any(|l| l.contains("expected `u32`, found `usize`")),
            "{:?}",
            cause.detail
        );
        assert!(cause.detail.iter().all(|l| !l.contains('\x1b')));
        assert!(cause.detail.len() <= DETAIL_LINES);
    }
}

#[test]
fn a_clippy_error_under_deny_warnings_is_the_first_lint() {
    let cause = extract(&cargo(101), &[CLIPPY]).unwrap();
    assert_eq!(cause.kind, Kind::Diagnostic);
    assert_eq!(cause.summary, "error: unused variable: `unused`");
    assert_eq!(cause.location.unwrap().to_string(), "src/lib.rs:2:9");
    assert!(cause
        .detail
        .iter()
        .any(|l| l.contains("`-D unused-variables` implied by `-D warnings`")));
}

#[test]
fn nextest_output_gives_the_first_panic_and_the_summary_names() {
    let cause = extract(&cargo(100), &[NEXTEST, ""]).unwrap();
    assert_eq!(cause.kind, Kind::Panic);
    assert!(
        cause.summary.contains("assertion `left == right` failed"),
        "{cause:?}"
    );
    assert_eq!(cause.detail, ["  left: 4", " right: 5"]);
    assert_eq!(cause.location.unwrap().to_string(), "src/lib.rs:17:9");
    assert_eq!(cause.tests, ["tests::adds_wrong", "tests::unwraps_none"]);
}

#[test]
fn nextest_summary_lines_name_tests_when_no_libtest_list_is_shown() {
    let summary: String = NEXTEST
        .lines()
        .skip_while(|l| !l.contains("Summary ["))
        .collect::<Vec<_>>()
        .join("\n");
    let (tests, more) = failing_tests(
        [summary.lines().map(String::from).collect::<Vec<_>>()]
            .iter()
            .map(Vec::as_slice),
    );
    assert_eq!(
        tests,
        ["demo tests::adds_wrong", "demo tests::unwraps_none"]
    );
    assert_eq!(more, 0);
}

#[test]
fn an_old_style_panic_and_a_long_failures_list_are_understood() {
    let mut text = String::from(
        "thread 'main' panicked at 'boom: 42', src/main.rs:3:5\nnote: run with `RUST_BACKTRACE=1`\n\nfailures:\n",
    );
    for i in 0..9 {
        text.push_str(&format!("    t{i}\n"));
    }
    let cause = extract(&cargo(101), &[&text]).unwrap();
    assert_eq!(cause.summary, "panicked: boom: 42");
    assert_eq!(
        cause.location.as_ref().unwrap().to_string(),
        "src/main.rs:3:5"
    );
    assert_eq!(cause.tests.len(), TESTS_SHOWN);
    assert_eq!(cause.more_tests, 4);
    assert!(cause
        .tests_line()
        .unwrap()
        .starts_with("9 failing tests: t0, "));
}

#[test]
fn a_timeout_says_which_command_hung_and_for_how_long() {
    let mut build = command(&["cargo", "build"], Some(0));
    build.duration_ms = 500;
    let mut hung = command(&["cargo", "test", "--", "--nocapture"], None);
    hung.timed_out = true;
    hung.signal = Some("SIGKILL".into());
    hung.timeout_ms = Some(90_000);
    let mut task = failed(vec![build, hung]);
    task.status = TaskStatus::Timeout;
    let cause = extract(
        &task,
        &["running 2 tests\ntest slow::waits has been running for over 60 seconds\n"],
    )
    .unwrap();
    assert_eq!(cause.kind, Kind::Timeout);
    assert_eq!(
        cause.summary,
        "`cargo test -- --nocapture` hung: killed after 1m 30s (its time limit)"
    );
    assert_eq!(cause.detail, ["still running: slow::waits"]);
    assert_eq!(cause.command, Some(1));
}

#[test]
fn a_command_that_could_not_start_says_so() {
    let mut c = command(&["carg", "test"], None);
    c.error = Some("program not found".into());
    let cause = extract(&failed(vec![c]), &[""]).unwrap();
    assert_eq!(
        cause.summary,
        "`carg test` could not start: program not found"
    );
}

#[test]
fn a_missing_shared_library_is_the_cause_of_an_exit_127() {
    // What a proc-macro crate's test binary printed, run without cargo's library path
    // (Rust 1.95, Linux).
    let stderr = "/ws/target/debug/deps/mac-4b7f6bd4e9406667: error while loading shared libraries: libstd-d1237ef7159db0a2.so: cannot open shared object file: No such file or directory\n";
    let result = failed(vec![command(
        &["/ws/target/debug/deps/mac-4b7f6bd4e9406667"],
        Some(127),
    )]);
    let cause = extract(&result, &[stderr, ""]).unwrap();
    assert_eq!(cause.kind, Kind::Error);
    assert_eq!(
        cause.summary,
        "`/ws/target/debug/deps/mac-4b7f6bd4e9406667` could not load the shared library `libstd-d1237ef7159db0a2.so` (cannot open shared object file: No such file or directory): it is not on the dynamic library path"
    );
    let dyld = "dyld[4242]: Library not loaded: @rpath/libstd-d1237ef7159db0a2.dylib\n  Referenced from: /ws/target/debug/deps/mac-4b7f\n";
    let cause = extract(&result, &[dyld]).unwrap();
    assert!(
        cause
            .summary
            .contains("shared library `@rpath/libstd-d1237ef7159db0a2.dylib` (not loaded)"),
        "{}",
        cause.summary
    );
}

#[test]
fn anything_else_gives_its_last_error_like_lines() {
    let cause = extract(
        &failed(vec![command(&["git", "status"], Some(128))]),
        &[GIT],
    )
    .unwrap();
    assert_eq!(cause.kind, Kind::Error);
    assert_eq!(
        cause.summary,
        "fatal: not a git repository (or any of the parent directories): .git"
    );
    let npm = "> build\nsome progress\nnpm ERR! code ELIFECYCLE\nnpm ERR! Exit status 2\ndone\n";
    let cause = extract(&failed(vec![command(&["npm", "test"], Some(2))]), &[npm]).unwrap();
    assert_eq!(cause.summary, "npm ERR! Exit status 2");
    assert_eq!(cause.detail, ["npm ERR! code ELIFECYCLE"]);
}

#[test]
fn cargos_own_errors_without_a_location_are_causes_too() {
    let text = "    Updating crates.io index\nerror: no matching package named `serde_jsn` found\nlocation searched: crates.io index\nrequired by package `demo v0.1.0`\n";
    let cause = extract(&cargo(101), &[text]).unwrap();
    assert_eq!(
        cause.summary,
        "error: no matching package named `serde_jsn` found"
    );
    assert_eq!(cause.detail.len(), 2);
    assert!(cause.location.is_none());
}

#[test]
fn silence_and_huge_lines_are_handled() {
    assert_eq!(extract(&cargo(1), &["", "all good\n"]), None);
    let long = format!("error: {}\n", "x".repeat(10_000));
    let cause = extract(&cargo(1), &[&long]).unwrap();
    assert!(cause.summary.chars().count() <= LINE_LIMIT + 1);
    let mut ok = cargo(0);
    ok.status = TaskStatus::Ok;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read(dir.path(), Layout::Raw, &ok), None);
}

#[test]
fn read_takes_the_failing_commands_logs_and_refuses_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs/T")).unwrap();
    std::fs::write(dir.path().join("logs/T/err.log"), COMPILE).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("logs/T/err.log"),
        dir.path().join("logs/T/link.log"),
    )
    .unwrap();
    let mut c = command(&["cargo", "build"], Some(101));
    c.stderr_log = Some("logs/T/err.log".into());
    let cause = read(dir.path(), Layout::Raw, &failed(vec![c.clone()])).unwrap();
    assert_eq!(cause.summary, "error[E0308]: mismatched types");
    c.stderr_log = Some("logs/T/link.log".into());
    c.log = Some("../../etc/passwd".into());
    assert_eq!(read(dir.path(), Layout::Raw, &failed(vec![c])), None);
}

#[test]
fn only_a_relative_path_inside_the_workspace_becomes_an_annotation_file() {
    let at = |file: &str| Cause {
        location: Some(Location {
            file: file.into(),
            line: 1,
            col: None,
        }),
        ..plain(Kind::Panic, "x".into())
    };
    assert_eq!(
        at("src/lib.rs").workspace_file(".").as_deref(),
        Some("src/lib.rs")
    );
    assert_eq!(
        at("src/lib.rs").workspace_file("crates/a").as_deref(),
        Some("crates/a/src/lib.rs")
    );
    assert_eq!(
        at("../b/src/lib.rs").workspace_file("crates/a").as_deref(),
        Some("crates/b/src/lib.rs")
    );
    assert_eq!(at("../x.rs").workspace_file("."), None);
    assert_eq!(
        at("/home/u/.cargo/registry/src/x.rs").workspace_file("."),
        None
    );
    assert_eq!(at("src/lib.rs").workspace_file("/abs"), None);
    assert_eq!(at("C:\\x\\lib.rs").workspace_file("."), None);
    assert_eq!(plain(Kind::Error, "x".into()).workspace_file("."), None);
}

#[test]
fn the_summary_names_the_file_from_the_workspace_root() {
    let mut c = command(&["cargo", "build"], Some(101));
    c.cwd = "crates/comp".into();
    let cause = extract(&failed(vec![c]), &[COMPILE]).unwrap();
    assert_eq!(cause.source.as_deref(), Some("crates/comp/src/lib.rs"));
    assert_eq!(
        cause.one_line(),
        "error[E0308]: mismatched types (at crates/comp/src/lib.rs:2:18)"
    );
}
