//! The cause of a failure where the reviewer looks: a real Rust workspace with a failing
//! test, a compile error, a clippy error under `-D warnings` and a hanging command.

use super::harness::Workspace;

const FAILING_TEST: &str = r#"pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 2), 4);
    }

    #[test]
    fn adds_wrong() {
        let sum = add(2, 2);
        assert_eq!(sum, 5, "two and two make {sum}");
    }
}
"#;

/// A package of its own under `crates/`, outside the root workspace.
fn crate_at(ws: &Workspace, dir: &str, lib: &str) {
    ws.file(
        &format!("{dir}/Cargo.toml"),
        format!(
            "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
            dir.rsplit('/').next().unwrap()
        ),
    );
    ws.file(&format!("{dir}/src/lib.rs"), lib);
}

fn without_details(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(start) = rest.find("<details") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("</details>")
            .expect("details are closed")
            + start;
        rest = &rest[end + "</details>".len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_failing_rust_workspace_shows_each_cause_without_a_click() {
    let ws = Workspace::new();
    ws.file("src/lib.rs", FAILING_TEST);
    crate_at(
        &ws,
        "crates/broken",
        "pub fn parse(s: &str) -> u32 {\n    let n: u32 = s.len();\n    n\n}\n",
    );
    crate_at(
        &ws,
        "crates/lint",
        "pub fn first(v: &[u8]) -> Option<u8> {\n    let unused = 3;\n    v.first().copied()\n}\n",
    );
    ws.file(
        "sot.md",
        "## Checks\n- `TASK-1` unit tests\n- `TASK-2` build the parser\n- `TASK-3` lint\n- `TASK-4` integration\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
  "TASK-1": {"commands": [{"cmd": ["cargo", "test", "--offline", "-q"]}]},
  "TASK-2": {"commands": [{"cmd": ["cargo", "build", "--offline"], "cwd": "crates/broken"}]},
  "TASK-3": {"commands": [{"cmd": ["cargo", "clippy", "--offline", "--", "-D", "warnings"], "cwd": "crates/lint"}]},
  "TASK-4": {"timeout": "1s", "commands": [{"shell": "echo 'test slow::waits has been running for over 60 seconds'; sleep 30"}]}
}"#,
    );
    // The cause is found under a backtrace too, as most CI images print one.
    let run = ws
        .tek(&["run"])
        .env("GITHUB_ACTIONS", "true")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect_code(2);
    let (stdout, stderr) = (run.stdout(), run.stderr());

    // The annotations carry the cause and point at the source line it names, joined to
    // the command's cwd; a timeout has no source line and points at sot.md.
    let error = |task: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("::error ") && l.contains(&format!("title=cargo-tek {task}::")))
            .unwrap_or_else(|| panic!("an annotation for {task}:\n{stdout}"))
            .to_owned()
    };
    let e1 = error("TASK-1");
    assert!(
        e1.starts_with("::error file=src/lib.rs,line=17,col=9,"),
        "{e1}"
    );
    assert!(e1.contains("two and two make 4"), "{e1}");
    assert!(e1.contains("%0A  left: 4%0A right: 5"), "{e1}");
    let e2 = error("TASK-2");
    assert!(
        e2.starts_with("::error file=crates/broken/src/lib.rs,line=2,col=18,"),
        "{e2}"
    );
    assert!(
        e2.contains("::TASK-2 error[E0308]: mismatched types"),
        "{e2}"
    );
    let e3 = error("TASK-3");
    assert!(
        e3.starts_with("::error file=crates/lint/src/lib.rs,line=2,col=9,"),
        "{e3}"
    );
    assert!(e3.contains("error: unused variable: `unused`"), "{e3}");
    let e4 = error("TASK-4");
    assert!(e4.starts_with("::error file=sot.md,line=5,"), "{e4}");
    assert!(e4.contains("hung: killed after 1s"), "{e4}");
    assert!(e4.contains("still running: slow::waits"), "{e4}");

    // The terminal summary names each cause.
    for (task, cause) in [
        ("TASK-1", "`tests::adds_wrong` panicked: assertion `left == right` failed: two and two make 4 (at src/lib.rs:17:9); 1 failing test: tests::adds_wrong"),
        ("TASK-2", "error[E0308]: mismatched types (at crates/broken/src/lib.rs:2:18)"),
        ("TASK-3", "error: unused variable: `unused` (at crates/lint/src/lib.rs:2:9)"),
        ("TASK-4", "hung: killed after 1s"),
    ] {
        assert!(
            stderr.lines().any(|l| l.trim_start().starts_with(&format!("Cause {task} ")) && l.contains(cause)),
            "{task}: {cause}\n{stderr}"
        );
    }

    // The report shows them outside any <details>: no click needed.
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    std::fs::write(ws.join("comment.md"), &md).unwrap();
    let visible = without_details(&md);
    for needle in [
        "two and two make 4",
        "mismatched types",
        "unused variable",
        "hung&#58; killed after 1s",
        "&#40;at src&#47;lib&#46;rs&#58;17&#58;9&#41;",
        "1 failing test&#58; tests&#58;&#58;adds&#95;wrong",
        " right: 5",
    ] {
        assert!(
            visible.contains(needle),
            "{needle} outside <details>:\n{md}"
        );
    }
    assert!(
        md.contains("## ❌ cargo-tek: 3 tasks failed, 1 timed out\n"),
        "{md}"
    );
    assert!(md.contains("**4** tasks in"), "{md}");
    assert!(
        md.contains(": ❌ 3 failed · ⏱️ 1 timed out\n"),
        "only non-zero counts:\n{md}"
    );
    // Three open, the fourth collapsed.
    assert_eq!(md.matches("<details open>").count(), 3, "{md}");
    assert_eq!(md.matches("<details><summary>Output of").count(), 1, "{md}");
    // The log tail keeps the cause, not cargo's progress.
    assert!(!md.contains("   Compiling demo"), "{md}");
    assert!(!md.contains("core::panicking::panic_fmt"), "{md}");
    assert!(md.contains("4: demo::tests::adds_wrong"), "{md}");
    if let Ok(keep) = std::env::var("CAUSE_COMMENT_OUT") {
        std::fs::write(keep, &md).unwrap();
    }
}

#[test]
fn a_hostile_cause_is_escaped_and_masked_like_any_output() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` hostile\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "printf 'error: @octocat </details><img src=x> ghp_abcdefghijklmnopqrstuvwxyz0123456789 super-secret-value\\n --> ../../etc/passwd:1:1\\n' >&2; exit 1"}]}}"#,
    );
    let run = ws
        .tek(&["run"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect_code(2);
    // A path outside the workspace is never an annotation's file: sot.md is.
    let stdout = run.stdout();
    let error = stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an annotation");
    assert!(error.starts_with("::error file=sot.md,line=2,"), "{error}");
    assert!(error.contains("(at ../../etc/passwd:1:1)"), "{error}");
    let md = ws
        .tek(&["report"])
        .env("GITHUB_TOKEN", "super-secret-value")
        .output()
        .expect_code(0)
        .stdout();
    let line = md
        .lines()
        .find(|l| l.starts_with("❌ <code>TASK"))
        .expect("a failure line");
    assert!(line.contains("&#64;\u{200B}octocat"), "{line}");
    // The log tail below shows them fenced, as ever; the cause line has no fence.
    for bad in [
        "@octocat",
        "<img",
        "</details>",
        "ghp_abc",
        "super-secret-value",
    ] {
        assert!(!line.contains(bad), "{bad} in {line}");
    }
    for secret in ["ghp_abc", "super-secret-value"] {
        assert!(!md.contains(secret), "{secret} in\n{md}");
    }
    assert!(line.contains("&#42;&#42;&#42;"), "masked: {line}");
}
