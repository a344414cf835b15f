//! Supervision: signals sent to cargo-tek alone, grandchildren, kill -9 of cargo-tek.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::Workspace;

/// Processes whose environment carries `marker` (our tasks and their descendants).
fn survivors(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()) {
                // Zombies are already dead; only count live processes.
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if !stat.contains(") Z ") {
                    found.push(pid);
                }
            }
        }
    }
    found
}

fn spawn_run(ws: &Workspace, marker: &str) -> std::process::Child {
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` tree one\n- `TASK-2` tree two\n- `TASK-3` waits — after `TASK-1`\n",
    );
    // Each task starts a grandchild that ignores SIGINT and SIGTERM.
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"shell": "(trap '' INT TERM; sleep 60) & sleep 60"}]},
        "TASK-2": {"commands": [{"shell": "(trap '' INT TERM; sleep 60) & sleep 60"}]},
        "TASK-3": {"commands": [{"cmd": ["true"]}]}
    }"#,
    );
    crate::harness::command()
        .args([
            "tek",
            "run",
            "--max-workers",
            "4",
            "--grace-period",
            "500ms",
        ])
        .current_dir(ws.path())
        .env("TEK_SIGNAL_TEST", marker.split('=').nth(1).unwrap())
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits for `count` processes carrying `marker` of which one is a task's `sleep`: the
/// count alone is reached while `cargo metadata` runs, before cargo-tek listens for
/// signals.
fn wait_for(marker: &str, count: usize) {
    let until = Instant::now() + Duration::from_secs(10);
    let ready = || {
        let found = survivors(marker);
        found.len() >= count
            && found.iter().any(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.starts_with(b"sleep\0"))
            })
    };
    while !ready() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal_run(signal: i32, code: i32) {
    let ws = Workspace::new();
    let marker = format!("TEK_SIGNAL_TEST={}-{}", signal, std::process::id());
    let mut child = spawn_run(&ws, &marker);
    wait_for(&marker, 4);
    // Sent to cargo-tek alone, as CI does — not to its process group.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::try_from(signal).unwrap(),
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        survivors(&marker).is_empty(),
        "survivors: {:?}",
        survivors(&marker)
    );
    let dir = ws.latest_run();
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "interrupted");
    let statuses: Vec<_> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("TASK-1".into(), "cancelled".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("TASK-2".into(), "cancelled".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("TASK-3".into(), "skipped".into())),
        "{statuses:?}"
    );
}

#[test]
fn sigint_cancels_every_tree_and_exits_130() {
    signal_run(2, 130);
}

#[test]
fn sigterm_cancels_every_tree_and_exits_143() {
    signal_run(15, 143);
}

#[test]
fn sighup_cancels_every_tree_and_exits_129() {
    signal_run(1, 129);
}

#[test]
fn a_second_signal_kills_at_once() {
    let ws = Workspace::new();
    let marker = format!("TEK_SIGNAL_TEST=twice-{}", std::process::id());
    ws.file("sot.md", "## Q\n- `TASK-1` stubborn\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "trap '' INT TERM; sleep 60"}]}}"#,
    );
    let mut child = crate::harness::command()
        .args(["tek", "run", "--grace-period", "60s"])
        .current_dir(ws.path())
        .env("TEK_SIGNAL_TEST", marker.split('=').nth(1).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Two signals that arrive before cargo-tek wakes up are one signal to it (the kernel
    // coalesces a pending signal), so the second is sent only once the first was seen.
    let (seen_tx, seen) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("received: cancelling") {
                let _ = seen_tx.send(());
            }
        }
    });
    wait_for(&marker, 2);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    seen.recv_timeout(Duration::from_secs(20))
        .expect("cargo-tek reports the first signal");
    let started = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 60 s grace period was cut short"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(survivors(&marker).is_empty());
}

#[test]
fn kill_9_leaves_a_run_directory_that_reports() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` quick\n- `TASK-2` slow — after `TASK-1`\n",
    );
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}, "TASK-2": {"commands": [{"cmd": ["sleep", "5"]}]}}"#);
    let mut child = crate::harness::command()
        .args(["tek", "run"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = ws.join(crate::harness::RUNS);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let journal = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.find(|e| e.as_ref().unwrap().path().is_dir()))
            .and_then(|e| std::fs::read_to_string(e.unwrap().path().join("events.jsonl")).ok());
        // The first entry plans TASK-2 too; wait for its start.
        let started = "\"event\":\"task_started\",\"task\":\"TASK-2\"";
        if journal.is_some_and(|j| j.contains(started)) || Instant::now() > until {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = ws
        .tek(&["report", "--format", "json"])
        .output()
        .expect_code(0);
    let run: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["task"] == "TASK-1" && r["status"] == "ok"),
        "{run}"
    );
    assert!(
        results
            .iter()
            .any(|r| r["task"] == "TASK-2" && r["status"] == "cancelled"),
        "{run}"
    );
    assert!(out.stderr().contains("did not finish"), "{}", out.stderr());
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(md.contains("This run did not finish"), "{md}");
    // The killed run counts as a previous run: what it did not finish runs again.
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}, "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    let rerun: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.latest_run().join("run.json")).unwrap()).unwrap();
    let ran: Vec<_> = rerun["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "ok" && r["carried_from"].is_null())
        .map(|r| r["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ran, ["TASK-2"], "{rerun}");
}

/// kill -9 at several moments: whatever the moment, the run directory parses and every
/// task recorded as finished keeps its status.
#[test]
fn kill_9_at_random_moments_leaves_parsable_evidence() {
    let ws = Workspace::new();
    let tasks: String = (1..=12).map(|i| format!("- `TASK-{i}` t{i}\n")).collect();
    ws.file("sot.md", format!("## Q\n{tasks}"));
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"cmd": ["sleep", "0.05"]}]}}"#,
    );
    let mut seed = std::process::id() as u64;
    for _ in 0..6 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(20 + (seed >> 33) % 300);
        let mut child = crate::harness::command()
            .args(["tek", "run", "-j", "3"])
            .current_dir(ws.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let out = ws.tek(&["report", "--format", "json"]).output();
        // A kill before the run directory existed leaves nothing to report; anything
        // after must parse.
        if out.code() == 0 {
            let run: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
            let results = run["results"].as_array().unwrap();
            // Every planned task is counted: never-started ones as not run.
            assert_eq!(results.len(), 12, "{delay:?}: {run}");
            for r in results {
                let not_run = r["status"] == "skipped"
                    && r["reason"].as_str().unwrap().starts_with("not run");
                assert!(
                    not_run || ["ok", "cancelled"].contains(&r["status"].as_str().unwrap()),
                    "{delay:?}: {r}"
                );
            }
        } else {
            assert!(
                out.stderr().contains("no readable run under") || out.stderr().contains("journal"),
                "{delay:?}: {}",
                out.stderr()
            );
        }
    }
}

/// Spawns `run --report ...` on a one-task plan; returns the child.
fn spawn_run_report(
    ws: &Workspace,
    report: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> std::process::Child {
    ws.file("sot.md", "## Q\n- `TASK-1` quick\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let mut cmd = crate::harness::command();
    cmd.args(["tek", "run", "--report", report])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Sends `signal` and returns the exit code and how long the exit took.
fn stop(
    child: std::process::Child,
    signal: nix::sys::signal::Signal,
) -> (Option<i32>, Duration, String) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// GitHub hangs while `run --report pr-comment` waits on it: SIGTERM ends it at once, 143.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_run_report_while_github_hangs() {
    use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(300)))
        .mount(&server)
        .await;
    let ws = Workspace::new();
    ws.file("event.json", r#"{"pull_request": {"number": 7}}"#);
    let uri = server.uri();
    let event = ws.join("event.json");
    let env: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("GITHUB_TOKEN", "test-token".as_ref()),
        ("GITHUB_REPOSITORY", "o/r".as_ref()),
        ("GITHUB_API_URL", uri.as_ref()),
        ("GITHUB_EVENT_PATH", event.as_os_str()),
    ];
    let child = spawn_run_report(&ws, "pr-comment", &env);
    let until = Instant::now() + Duration::from_secs(20);
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < until, "cargo-tek never called GitHub");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, took, stderr) =
        tokio::task::spawn_blocking(move || stop(child, nix::sys::signal::Signal::SIGTERM))
            .await
            .unwrap();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(stderr.contains("the report was not finished"), "{stderr}");
}

/// The job-summary file blocks (a FIFO nobody reads): SIGINT ends `run --report` at once.
#[test]
fn sigint_stops_run_report_on_a_blocking_job_summary() {
    let ws = Workspace::new();
    let fifo = ws.join("summary.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let child = spawn_run_report(
        &ws,
        "job-summary",
        &[("GITHUB_STEP_SUMMARY", fifo.as_os_str())],
    );
    // Wait until the run is over and the report has started.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let done = std::fs::read_dir(ws.join(crate::harness::RUNS))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("run.json")).ok())
            .any(|j| j.contains("\"ended\""));
        if done {
            break;
        }
        assert!(Instant::now() < until, "the run did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, took, stderr) = stop(child, nix::sys::signal::Signal::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
