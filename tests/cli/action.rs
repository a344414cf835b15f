//! The composite action's shell steps, run as GitHub would run them: GITHUB_* set, the
//! real binary, and a local server speaking GitHub's REST shapes for the PR comment.

use std::process::Command;

use crate::harness::{Workspace, BIN};

fn script(name: &str) -> String {
    format!("{}/scripts/action/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn outputs(file: &std::path::Path) -> String {
    std::fs::read_to_string(file).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_then_report_posts_one_sticky_comment() {
    let server = crate::action_honesty::github().await;

    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` passes\n- `TASK-2` fails\n");
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"cmd": ["env"]}]}, "TASK-2": {"commands": [{"cmd": ["sh", "-c", "echo broken; exit 1"]}]}}"#);
    ws.file("event.json", r#"{"pull_request": {"number": 7}}"#);
    let gh_out = ws.join("gh-output");
    let summary = ws.join("summary.md");
    let common = |cmd: &mut Command| {
        cmd.current_dir(ws.path())
            .env_remove("CARGO_TARGET_DIR")
            .env("CARGO_TEK_CACHE_DIR", ws.join("target/tek-cache"))
            .env("TEK_BIN", BIN)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &gh_out)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_API_URL", server.uri())
            .env("GITHUB_EVENT_PATH", ws.join("event.json"))
            .env("CARGO_TERM_COLOR", "never");
    };
    let mut run = Command::new("bash");
    run.arg(script("run.sh"))
        .env("TEK_COMMAND", "run")
        .env("TEK_MAX_WORKERS", "2")
        .env("GITHUB_TOKEN", "test-token-value");
    common(&mut run);
    let out = run.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = outputs(&gh_out);
    assert!(
        o.contains("failed") && o.contains("exit-code") && o.contains("run-dir"),
        "{o}"
    );
    let run_dir = ws.latest_run();
    let env_log =
        std::fs::read_to_string(run_dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert!(
        !env_log.contains("test-token-value"),
        "the run step must not pass the token to tasks"
    );

    let mut report = Command::new("bash");
    report
        .arg(script("report.sh"))
        .env("TEK_RUN_DIR", &run_dir)
        .env("TEK_SUMMARY", "true")
        .env("TEK_COMMENT", "true")
        // As action.yml passes the `artifact-url` input.
        .env(
            "CARGO_TEK_ARTIFACT_URL",
            "https://github.com/o/r/actions/runs/1/artifacts/42",
        )
        .env("GITHUB_TOKEN", "test-token-value");
    common(&mut report);
    let out = tokio::task::spawn_blocking(move || report.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("test-token-value")
            && !String::from_utf8_lossy(&out.stdout).contains("test-token-value")
    );
    let body = std::fs::read_to_string(&summary).unwrap();
    assert!(
        body.contains("TASK&#45;2") && body.contains("1 task failed"),
        "{body}"
    );
    assert!(
        body.contains("(https://github.com/o/r/actions/runs/1/artifacts/42)"),
        "the full-log link goes to the uploaded artifact: {body}"
    );
    let posted = server.received_requests().await.unwrap();
    let posts: Vec<_> = posted
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one comment is created");
    let post = posts[0];
    let sent: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert!(sent["body"]
        .as_str()
        .unwrap()
        .starts_with("<!-- cargo-tek:sticky-comment key="));
    assert!(posted.iter().all(|r| r
        .headers
        .get("authorization")
        .is_some_and(|v| v == "Bearer test-token-value")));
}

/// The step of action.yml named `name`, as text: from its `- name:` line to the next.
pub(crate) fn action_step(name: &str) -> String {
    let yml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    let start = yml
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("no step `{name}` in action.yml"));
    let end = yml[start + 1..]
        .find("    - name: ")
        .map_or(yml.len(), |i| start + 1 + i);
    yml[start..end].to_owned()
}

#[test]
fn the_artifact_url_input_reaches_the_report_and_is_checked_first() {
    let report = action_step("cargo tek report");
    assert!(
        report.contains("CARGO_TEK_ARTIFACT_URL: ${{ inputs.artifact-url }}"),
        "{report}"
    );
    let first = action_step("Check inputs, compute cache key");
    assert!(
        first.contains("TEK_ARTIFACT_URL: ${{ inputs.artifact-url }}"),
        "{first}"
    );
}
