//! The action tells the truth on the pull request whatever happened: bad input is
//! published as a broken configuration, a dry run says nothing ran, a GitHub outage
//! does not turn a green build red, annotations stay within GitHub's caps. The scripts
//! run as GitHub runs them: GITHUB_* set, the real binary, a local GitHub stand-in.

use std::path::Path;
use std::process::{Command, Output};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Workspace, BIN};

const TOKEN: &str = "test-token-value";

fn script(name: &str) -> String {
    format!("{}/scripts/action/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A script run in `ws` as a GitHub step would run it, on `event` (an event name).
pub(crate) fn step(ws: &Workspace, name: &str, api: &str, event: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script(name));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("GITHUB_") || key.starts_with("TEK_") || key.starts_with("RUNNER_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(ws.path())
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_TEK_CACHE_DIR", ws.join("target/tek-cache"))
        .env("TEK_BIN", BIN)
        .env("RUNNER_TEMP", ws.join("runner-temp"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", ws.join("gh-output"))
        .env("GITHUB_STEP_SUMMARY", ws.join("summary.md"))
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", ws.join("event.json"))
        .env("CARGO_TERM_COLOR", "always");
    std::fs::create_dir_all(ws.join("runner-temp")).unwrap();
    ws.file("event.json", r#"{"pull_request": {"number": 7}}"#);
    cmd
}

pub(crate) async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// The step outputs written so far, as name → last value.
pub(crate) fn outputs(ws: &Workspace) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(ws.join("gh-output")).unwrap_or_default();
    let mut map = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let value = lines.next().unwrap_or("").to_string();
            assert_eq!(lines.next(), Some(delim), "{text}");
            map.insert(name.to_string(), value);
        } else if let Some((name, value)) = line.split_once('=') {
            map.insert(name.to_string(), value.to_string());
        }
    }
    map
}

/// A GitHub stand-in where PR 7 has no comment yet and a create succeeds.
pub(crate) async fn github() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"login": "tek-bot", "id": 1, "type": "Bot"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "id": 4242, "html_url": "https://github.example/o/r/pull/7#issuecomment-4242",
            "body": "x", "user": {"login": "tek-bot", "id": 1, "type": "Bot"}})))
        .mount(&server)
        .await;
    server
}

async fn posted_body(server: &MockServer) -> String {
    let requests = server.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a comment was posted");
    let sent: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    sent["body"].as_str().unwrap().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// run.sh then report.sh with the outputs run.sh wrote, as action.yml wires them.
async fn run_then_report(
    ws: &Workspace,
    api: &str,
    event: &str,
    extra: &[(&str, &str)],
) -> (Output, Output) {
    let mut run = step(ws, "run.sh", api, event);
    run.env("TEK_COMMAND", "run").env("GITHUB_TOKEN", TOKEN);
    for (k, v) in extra {
        run.env(k, v);
    }
    let out = output(run).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let o = outputs(ws);
    let mut report = step(ws, "report.sh", api, event);
    report
        .env("TEK_RUN_DIR", &o["run-dir"])
        .env("TEK_REPORT_PATH", &o["report-path"])
        .env("TEK_ERROR_LOG", &o["error-log"])
        .env("TEK_EXIT_CODE", &o["exit-code"])
        .env("GITHUB_TOKEN", TOKEN);
    for (k, v) in extra {
        report.env(k, v);
    }
    (out, output(report).await)
}

fn sample(ws: &Workspace) {
    ws.file("sot.md", "## Q\n- `TASK-1` passes\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_configuration_is_published_with_its_location() {
    let server = github().await;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` passes\n");
    ws.file("config/hooks.json", "{\"TASK-1\": {\"commandz\": 1}}");
    let (run, out) = run_then_report(&ws, &server.uri(), "pull_request", &[]).await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The run step annotates the file itself.
    let o = refused(
        &ws,
        &run,
        "::error file=config/hooks.json,line=1,col=22,title=cargo-tek::unknown field",
    );
    let body = posted_body(&server).await;
    assert!(
        body.contains("## ❌ cargo-tek: the configuration is broken"),
        "{body}"
    );
    assert!(body.contains("config/hooks.json:1:"), "{body}");
    assert!(body.contains("unknown field"), "{body}");
    assert!(!body.contains('\u{1b}'), "colour codes stripped: {body:?}");
    let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap();
    assert!(summary.contains("the configuration is broken"), "{summary}");
    assert!(summary.contains("config/hooks.json:1:"), "{summary}");
    assert_eq!(o["comment-id"], "4242", "{o:?}");
    assert_eq!(
        o["comment-url"],
        "https://github.example/o/r/pull/7#issuecomment-4242"
    );

    // Fixed, and checked only: the comment says so instead of keeping "broken".
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let (_, out) = run_then_report(
        &ws,
        &server.uri(),
        "pull_request",
        &[("TEK_COMMAND", "check")],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = server.received_requests().await.unwrap();
    let last = requests
        .iter()
        .rev()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(
        body.contains("## ✅ cargo-tek: the configuration is valid"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_says_nothing_ran() {
    let server = github().await;
    let ws = Workspace::new();
    sample(&ws);
    let (_, out) = run_then_report(
        &ws,
        &server.uri(),
        "pull_request",
        &[("TEK_DRY_RUN", "true")],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let body = posted_body(&server).await;
    assert!(
        body.contains("## ⚪ cargo-tek: plan only, nothing ran (1 task planned)"),
        "{body}"
    );
    assert!(!body.contains("all tasks passed"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_auto_on_a_push_makes_no_api_call() {
    let server = github().await;
    let ws = Workspace::new();
    sample(&ws);
    let (_, out) = run_then_report(&ws, &server.uri(), "push", &[]).await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("is not a pull request (comment: auto)"),
        "{err}"
    );
    assert!(!err.contains("::warning::"), "skipped quietly: {err}");
    assert!(server.received_requests().await.unwrap().is_empty());
    let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap();
    assert!(summary.contains("all tasks passed"), "{summary}");
    assert!(!outputs(&ws).contains_key("comment-id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_outage_warns_under_warn_and_fails_under_fail() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let ws = Workspace::new();
    sample(&ws);
    let (_, out) = run_then_report(&ws, &server.uri(), "pull_request", &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("::warning::could not post the PR comment: GitHub API error (HTTP 502)"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    let saved = std::fs::read_dir(ws.join(".tek/runs"))
        .unwrap()
        .map(|e| e.unwrap().path().join("pr-comment.md"))
        .any(|p| p.is_file());
    assert!(saved, "the body is kept for a later post");

    let (_, fail) = run_then_report(
        &ws,
        &server.uri(),
        "pull_request",
        &[("TEK_COMMENT_FAILURE", "fail")],
    )
    .await;
    let err = stderr(&fail);
    assert_ne!(fail.status.code(), Some(0), "{err}");
    assert!(err.contains("::error::cargo tek report failed"), "{err}");
}

#[test]
fn annotations_stay_within_githubs_cap_with_one_note() {
    let ws = Workspace::new();
    let mut sot = String::from("## Q\n");
    let mut hooks = Vec::new();
    for i in 1..=13 {
        sot.push_str(&format!("- `TASK-{i}` fails\n"));
        hooks.push(format!(
            r#""TASK-{i}": {{"commands": [{{"cmd": ["false"]}}]}}"#
        ));
    }
    ws.file("sot.md", sot);
    ws.file("config/hooks.json", format!("{{{}}}", hooks.join(",")));
    let out = ws
        .tek(&["run"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect_code(2);
    let errors = out
        .stdout()
        .lines()
        .chain(out.stderr().lines())
        .filter(|l| l.starts_with("::error"))
        .count();
    assert_eq!(errors, 10, "{}", out.stdout());
    let notes: Vec<String> = out
        .stderr()
        .lines()
        .filter(|l| l.starts_with("::notice"))
        .map(str::to_owned)
        .collect();
    assert_eq!(notes.len(), 1, "{}", out.stderr());
    assert!(
        notes[0].contains("+3 more not annotated (3 errors)"),
        "{notes:?}"
    );
}

#[test]
fn warnings_become_annotations_on_github() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.tek(&["run", "--allow-noop"]).output().expect_code(0);
    let out = ws
        .tek(&["report", "--job-summary"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect_code(0);
    assert!(
        out.stderr()
            .contains("::warning::--job-summary: GITHUB_STEP_SUMMARY is not set"),
        "{}",
        out.stderr()
    );
}

#[test]
fn every_input_is_checked_in_the_first_step() {
    let ws = Workspace::new();
    let mut key = step(&ws, "cache-key.sh", "http://127.0.0.1:9", "push");
    key.env_remove("TEK_BIN")
        .env("TEK_COMMENT", "yes")
        .env("TEK_COMMENT_FAILURE", "ignore")
        .env("TEK_MAX_WORKERS", "0")
        .env("TEK_COMMAND", "build")
        .env("TEK_AFFECTED", "sometimes")
        .env("TEK_WORKING_DIRECTORY", "missing")
        .env("TEK_ARTIFACT_URL", "https://example.com/a b");
    let out = key.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for what in [
        "::error::input 'comment' must be 'auto', 'true' or 'false', got 'yes'",
        "::error::input 'comment-failure' must be 'warn' or 'fail'",
        "::error::input 'max-workers' must be a positive integer",
        "::error::input 'command' must be one of plan, check, run",
        "::error::input 'working-directory' is not a directory",
        "::error::input 'affected' must be 'auto', 'true' or 'false', got 'sometimes'",
        "::error::input 'artifact-url' must be a plain http(s) URL",
    ] {
        assert!(err.contains(what), "{what}: {err}");
    }
    assert!(!Path::new(&ws.join("gh-output")).exists() || !outputs(&ws).contains_key("key"));
}

/// Issue 23.1 through the Action: a hook key that names no task stops the run step
/// before any task, and the summary says the configuration is broken, not that a task
/// failed (before, the run was green with the task a noop).
#[tokio::test(flavor = "multi_thread")]
async fn a_typod_hook_key_is_a_broken_configuration_not_a_green_run() {
    let server = github().await;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-013` passes\n- `TASK-014` passes\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-031": {"commands": [{"cmd": ["true"]}]}, "TASK-014": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let (run, out) = run_then_report(&ws, &server.uri(), "pull_request", &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    refused(&ws, &run, "::error file=config/hooks.json,line=1,col=2");
    let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap();
    assert!(summary.contains("the configuration is broken"), "{summary}");
    assert!(summary.contains("did you mean `TASK-013`?"), "{summary}");
    assert!(!summary.contains("passed"), "{summary}");
}

/// The run step stopped on bad input: it annotated the file, and its outputs say error,
/// exit 1 and no run directory. Returns the outputs.
fn refused(
    ws: &Workspace,
    run: &Output,
    annotation: &str,
) -> std::collections::BTreeMap<String, String> {
    assert!(stderr(run).contains(annotation), "{}", stderr(run));
    let o = outputs(ws);
    assert_eq!(
        (
            o["status"].as_str(),
            o["exit-code"].as_str(),
            o["run-dir"].as_str()
        ),
        ("error", "1", "")
    );
    o
}
