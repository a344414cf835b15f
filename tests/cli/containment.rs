//! Containment: nothing a task starts outlives its run, however it leaves its process
//! group (`setsid`, perl's `setpgrp`, python's `os.setpgid`, a cleared environment), after
//! a normal end, a timeout, a cancel and a `kill -9` of cargo-tek. Survivors are found by
//! a unique number in their command line (`sleep <n>`), which no escape can shed.

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::harness::Workspace;

/// A number no other test or process uses, for `sleep <n>` (GNU sleep takes fractions).
fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "3000.{}{:03}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Live processes whose command line contains `needle` as an argument.
fn survivors(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == needle.as_bytes())
        {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !stat.contains(") Z ") {
                found.push(pid);
            }
        }
    }
    found
}

fn wait_until(what: impl Fn() -> bool, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while !what() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Kills leftovers so a failing test does not leave them to the next one.
fn kill_all(pids: &[u32]) {
    for &pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn assert_none_survive(needles: &[String]) {
    // A little slack for SIGKILL to land; anything still there after it is a survivor.
    let gone = wait_until(
        || needles.iter().all(|n| survivors(n).is_empty()),
        Duration::from_secs(3),
    );
    let left: Vec<(String, Vec<u32>)> = needles
        .iter()
        .map(|n| (n.clone(), survivors(n)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    for (_, pids) in &left {
        kill_all(pids);
    }
    assert!(gone, "survivors: {left:?}");
}

/// The escapes, each as a shell line starting `sleep <n>` in the background, and the
/// numbers to look for. The last one also clears its environment.
fn escapes() -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut needles = Vec::new();
    let mut add = |line: String, needle: String| {
        lines.push(line);
        needles.push(needle);
    };
    let n = unique();
    add(format!("setsid sh -c 'sleep {n}' &"), n);
    let n = unique();
    if which("perl") {
        add(
            format!("perl -e 'setpgrp(0, 0); exec(\"sleep\", \"{n}\")' &"),
            n,
        );
    }
    let n = unique();
    if which("python3") {
        add(
            format!(
                "python3 -c 'import os; os.setpgid(0, 0); os.execvp(\"sleep\", [\"sleep\", \"{n}\"])' &"
            ),
            n,
        );
    }
    let n = unique();
    // A double fork: the middle process exits at once, the sleep is orphaned early.
    add(format!("(setsid sleep {n} &) &"), n);
    let n = unique();
    add(format!("setsid env -i /bin/sleep {n} &"), n);
    (lines, needles)
}

fn which(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn hooks(task1: &str, timeout: Option<&str>) -> String {
    let timeout = timeout.map_or(String::new(), |t| format!(", \"timeout\": \"{t}\""));
    format!(
        r#"{{"TASK-1": {{"commands": [{{"shell": {}{timeout}}}]}}}}"#,
        serde_json::to_string(task1).unwrap()
    )
}

/// A workspace whose one task runs every escape, then hangs in `<sleep> <main>`: the
/// escapes' needles, and `main`, the unique duration that marks the main process.
fn escapes_then_hang(sleep: &str) -> (Workspace, Vec<String>, String) {
    let ws = Workspace::new();
    let (lines, needles) = escapes();
    let main = unique();
    ws.file("sot.md", "## Q\n- `TASK-1` escapes then hangs\n");
    ws.file(
        "config/hooks.json",
        hooks(&format!("{}\n{sleep} {main}", lines.join("\n")), None),
    );
    (ws, needles, main)
}

/// The escapes, then `sleep 1` so that they have time to get away, run in both modes:
/// with cgroups where this machine has them, and with the fallback (process groups,
/// subreaper and markers).
fn each_mode(test: impl Fn(&[(&str, &str)])) {
    test(&[]);
    test(&[("CARGO_TEK_NO_CGROUP", "1")]);
}

#[test]
fn escapes_are_killed_when_their_task_ends_and_recorded_as_leaked() {
    each_mode(|env| {
        let ws = Workspace::new();
        let (lines, needles) = escapes();
        // TASK-2 runs after TASK-1 and fails if any of TASK-1's processes is still there.
        // Without cgroups, a process that cleared its environment cannot be told apart
        // from another task's: it dies at the end of the run, not of its task.
        let fallback = !env.is_empty() || !cgroup_v2_writable();
        let attributable = if fallback {
            &needles[..needles.len() - 1]
        } else {
            &needles[..]
        };
        let check: Vec<String> = attributable
            .iter()
            .map(|n| {
                let pattern = n.replace('.', "[.]");
                format!("! grep -qa '{pattern}' /proc/[0-9]*/cmdline")
            })
            .collect();
        ws.file(
            "sot.md",
            "## Q\n- `TASK-1` escapes\n- `TASK-2` checks — after `TASK-1`\n",
        );
        ws.file(
            "config/hooks.json",
            format!(
                r#"{{"TASK-1": {{"commands": [{{"shell": {}}}]}},
                    "TASK-2": {{"commands": [{{"shell": {}}}]}}}}"#,
                serde_json::to_string(&format!("{}\nsleep 1", lines.join("\n"))).unwrap(),
                serde_json::to_string(&check.join(" && ")).unwrap()
            ),
        );
        let mut run = ws.tek(&["run", "-j", "1"]);
        for (k, v) in env {
            run = run.env(k, v);
        }
        let out = run.output();
        assert_none_survive(&needles);
        out.expect_code(0);
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ws.latest_run().join("run.json")).unwrap())
                .unwrap();
        let command = &run["results"][0]["commands"][0];
        assert_eq!(command["leaked"], true, "{env:?}: {run}");
        let pids = command["leaked_pids"].as_array().unwrap();
        assert!(pids.len() >= attributable.len(), "{env:?}: {command}");
    });
}

#[test]
fn escapes_die_with_a_timeout() {
    each_mode(|env| {
        let ws = Workspace::new();
        let (lines, needles) = escapes();
        ws.file("sot.md", "## Q\n- `TASK-1` escapes then hangs\n");
        ws.file(
            "config/hooks.json",
            hooks(&format!("{}\nsleep 60", lines.join("\n")), Some("1s")),
        );
        let mut run = ws.tek(&["run", "--grace-period", "200ms"]);
        for (k, v) in env {
            run = run.env(k, v);
        }
        let out = run.output();
        assert_none_survive(&needles);
        out.expect_code(2);
    });
}

fn spawn_run(ws: &Workspace, env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = crate::harness::command();
    cmd.args(["tek", "run", "--grace-period", "300ms"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

#[test]
fn escapes_die_with_a_cancel() {
    each_mode(|env| {
        let (ws, needles, main) = escapes_then_hang("sleep");
        let mut child = spawn_run(&ws, env);
        assert!(wait_until(
            || !survivors(&main).is_empty(),
            Duration::from_secs(10)
        ));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = child.wait().unwrap();
        let mut all = needles.clone();
        all.push(main);
        assert_none_survive(&all);
        assert_eq!(status.code(), Some(143));
    });
}

/// `kill -9` of cargo-tek: the run's watchdog kills the commands' process groups (and,
/// with cgroups, every command cgroup). Without cgroups, what left its process group
/// survives; with them, nothing does, and the next run finds nothing left.
#[test]
fn kill_9_takes_the_main_processes_along() {
    each_mode(|env| {
        let (ws, needles, main) = escapes_then_hang("exec sleep");
        let mut child = spawn_run(&ws, env);
        assert!(wait_until(
            || !survivors(&main).is_empty() && needles.iter().all(|n| !survivors(n).is_empty()),
            Duration::from_secs(10)
        ));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_none_survive(std::slice::from_ref(&main));
        let cgroups = env.is_empty() && cgroup_v2_writable();
        if cgroups {
            ws.file("sot.md", "## Q\n- `TASK-1` quick\n");
            ws.file(
                "config/hooks.json",
                r#"{"TASK-1": {"commands": [{"cmd": ["true"]}]}}"#,
            );
            ws.tek(&["run"]).output().expect_code(0);
            assert_none_survive(&needles);
        } else {
            // Honest: without cgroups they live on; the test cleans up after itself.
            for n in &needles {
                kill_all(&survivors(n));
            }
        }
    });
}

/// What cargo-tek itself checks: a cgroup v2 directory for this process that it can
/// create a group in.
/// Without it, the cgroup half of a test is not run, and says so.
fn cgroup_v2_writable() -> bool {
    let writable = own_cgroup().is_some();
    if !writable {
        crate::harness::not_here("cgroup", "no writable cgroup v2 here: the cgroup half");
    }
    writable
}

/// This process's cgroup v2 directory, when a group can be created in it.
fn own_cgroup() -> Option<std::path::PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let point = mounts.lines().find_map(|l| {
        let (fields, rest) = l.split_once(" - ")?;
        rest.starts_with("cgroup2 ")
            .then(|| fields.split_whitespace().nth(4).map(str::to_owned))?
    })?;
    let dir = std::path::Path::new(&point).join(path.trim_start_matches('/'));
    let probe = dir.join(format!("tek-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok.then_some(dir)
}

#[test]
fn commands_run_when_cargo_tek_starts_in_a_cgroup_that_was_once_killed() {
    // Some kernels (6.18) SIGKILL every child clone3 creates in a cgroup whose count of
    // `cgroup.kill`s differs from its creator's: cargo-tek must notice and join its
    // commands' groups the other way.
    let Some(own) = own_cgroup() else {
        return crate::harness::not_here("cgroup", "no writable cgroup v2 here");
    };
    let killed = own.join(format!("tek-killed-{}", unique()));
    std::fs::create_dir(&killed).unwrap();
    std::fs::write(killed.join("cgroup.kill"), "1").unwrap();
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n- `TASK-2` two\n")
        .file(
            "config/hooks.json",
            r#"{"TASK-1": {"commands": [{"cmd": ["sh", "-c", "echo ran-1"]}]},
            "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
        );
    let procs = std::fs::OpenOptions::new()
        .write(true)
        .open(killed.join("cgroup.procs"))
        .unwrap();
    let mut command = crate::harness::command();
    command
        .args(["tek", "run", "-j", "1"])
        .current_dir(ws.path());
    let fd = std::os::fd::AsRawFd::as_raw_fd(&procs);
    // SAFETY: one write(2) between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
            let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
            nix::unistd::write(fd, b"0").map(drop).map_err(Into::into)
        });
    }
    let out = command.output().unwrap();
    let _ = std::fs::remove_dir(&killed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json = crate::harness::run_json(&ws);
    for task in ["TASK-1", "TASK-2"] {
        let result = crate::harness::result(&json, task);
        assert_eq!(result["status"], "ok", "{result}");
    }
}

/// Values no task may see, unique to this test process and to the test (`tag`): tests
/// run in parallel, and one test's task may legitimately hold its own test's value.
fn sentinels(tag: &str) -> Vec<(&'static str, String)> {
    let id = std::process::id();
    [
        "GITHUB_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "INPUT_GITHUB-TOKEN",
        "GITHUB_ENV",
    ]
    .into_iter()
    .enumerate()
    .map(|(i, k)| (k, format!("tek-sentinel-{tag}-{id}-{i}")))
    .collect()
}

/// The task: reads every environment it can in /proc, its parent's by name too, and
/// prints how often a sentinel turned up, and who owns its parent's and its own environ.
fn snoop(tag: &str) -> String {
    format!(
        r#"n=$( (cat /proc/[0-9]*/environ /proc/$PPID/environ /proc/$PPID/task/*/environ) 2>/dev/null | tr '\0' '\n' | grep -c "tek-sentinel-{tag}-"); echo "found=$n parent-owner=$(stat -c %u /proc/$PPID/environ) own-owner=$(stat -c %u /proc/self/environ) parent=$(tr '\0' ' ' < /proc/$PPID/cmdline)"; sleep 0.5"#
    )
}

/// As an unprivileged user, a task (same user as cargo-tek) finds no scrubbed value
/// anywhere in /proc: not in cargo-tek's environ (re-executed without them), not in its
/// memory or descriptors (undumpable), not in any other process.
///
/// It always runs: as root it drops to `nobody` with setpriv (which must then be
/// installed); as anyone else it already is the unprivileged user it needs.
#[test]
fn an_unprivileged_task_finds_no_scrubbed_value_in_proc() {
    // /proc/self belongs to the effective user.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    assert!(
        uid != 0 || which("setpriv"),
        "as root this test drops to an unprivileged user with setpriv: install util-linux"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Not a Cargo workspace: the unprivileged user cannot run root's cargo; --sot works
    // without one.
    std::fs::write(
        root.join("sot.md"),
        "## Q\n- `TASK-1` snoops\n- `TASK-2` snoops too\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("config")).unwrap();
    std::fs::write(
        root.join("config/hooks.json"),
        serde_json::json!({"Q": {"commands": [{"shell": snoop("unprivileged")}]}}).to_string(),
    )
    .unwrap();
    for path in [root.to_path_buf(), root.join("config")] {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
    }
    let (mut cmd, task_uid) = if uid == 0 {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(crate::harness::BIN);
        (cmd, 65534)
    } else {
        (std::process::Command::new(crate::harness::BIN), uid)
    };
    cmd.args([
        "tek",
        "run",
        "--sot",
        "sot.md",
        "--runs-dir",
        "runs",
        "-j",
        "2",
    ])
    .current_dir(root)
    .env_clear()
    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
    .env("HOME", root)
    .env("CARGO_TEK_NO_CACHE", "1")
    .env("CARGO_TERM_COLOR", "never");
    for (k, v) in sentinels("unprivileged") {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let run = std::fs::read_dir(root.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .expect("a run directory");
    for task in ["TASK-1", "TASK-2"] {
        let log =
            std::fs::read_to_string(run.join(format!("logs/{task}/attempt1-cmd1.stdout.log")))
                .unwrap();
        assert!(log.contains("found=0 "), "{task}: {log}");
        // cargo-tek is undumpable (its /proc files belong to root); the task is not.
        assert!(
            log.contains(&format!("parent-owner=0 own-owner={task_uid}")),
            "{task}: {log}"
        );
        assert!(
            log.contains("cargo-tek tek run"),
            "the parent is cargo-tek: {log}"
        );
    }
}

/// The re-execution alone: even root, whom undumpability does not stop, finds no
/// scrubbed value in cargo-tek's environ. The values still work where they are meant to:
/// `pass_env` hands one to a hook, and `run --report` writes the job summary.
#[test]
fn scrubbed_values_leave_the_environ_block_but_still_serve_pass_env_and_the_report() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        // TASK-2 holds a scrubbed value it was given (pass_env): it must not run while
        // TASK-1 snoops, or TASK-1 would rightly find it.
        "## Q\n- `TASK-1` snoops\n- `TASK-2` may write GITHUB_ENV — after `TASK-1`\n",
    );
    ws.file(
        "config/hooks.json",
        serde_json::json!({
            "TASK-1": {"commands": [{"shell": format!("{}; env | grep -c '^GITHUB_\\(ENV\\|STEP_SUMMARY\\|OUTPUT\\)=' || true", snoop("reexec"))}]},
            "TASK-2": {"commands": [{"shell": "echo \"env=$GITHUB_ENV\""}], "pass_env": ["GITHUB_ENV"]}
        })
        .to_string(),
    );
    let summary = ws.join("summary.md");
    let mut run = ws.tek(&["run", "--report", "job-summary"]);
    for (k, v) in sentinels("reexec") {
        run = run.env(k, v);
    }
    run.env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", ws.join("out"))
        .output()
        .expect_code(0);
    let dir = ws.latest_run();
    let log = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    // Root reads the parent's environ; a non-root user may not (undumpable): both find 0.
    assert!(log.contains("found=0 "), "{log}");
    assert!(
        log.trim_end().ends_with('0'),
        "no GITHUB_ENV/OUTPUT/STEP_SUMMARY: {log}"
    );
    let log = std::fs::read_to_string(dir.join("logs/TASK-2/attempt1-cmd1.stdout.log")).unwrap();
    let github_env = &sentinels("reexec")[3].1;
    assert!(log.contains(&format!("env={github_env}")), "{log}");
    let body = std::fs::read_to_string(&summary).unwrap();
    assert!(body.contains("all tasks passed"), "{body}");
}

/// Whether `parent` has a live watchdog child.
fn has_watchdog(parent: u32) -> bool {
    survivors("__tek-watchdog").iter().any(|pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The field after the state is the parent's pid.
        let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
        after.split_whitespace().nth(1) == Some(parent.to_string().as_str())
    })
}

/// A task kills the run's watchdog (found by its name, as any task could), then cargo-tek
/// is killed with `kill -9`: cargo-tek noticed the watchdog's death, killed every task at
/// once and ended the run (interrupted, exit 137), so nothing is left for the `kill -9` to
/// strand, in either mode.
#[test]
fn a_task_that_kills_the_watchdog_ends_the_run_and_leaves_no_survivor() {
    each_mode(|env| {
        let ws = Workspace::new();
        let (escape, main) = (unique(), unique());
        ws.file("sot.md", "## Q\n- `TASK-1` kills the watchdog\n");
        ws.file(
            "config/hooks.json",
            hooks(
                &format!(
                    "setsid sleep {escape} &\n\
                     sleep {main} &\n\
                     sleep 0.3\n\
                     pkill -9 -P $PPID -f '__tek-watchdo[g]'\n\
                     wait"
                ),
                None,
            ),
        );
        let child = spawn_run(&ws, env);
        let pid = child.id();
        assert!(wait_until(|| has_watchdog(pid), Duration::from_secs(10)));
        assert!(
            wait_until(|| !has_watchdog(pid), Duration::from_secs(10)),
            "the task could not kill the watchdog"
        );
        // The run ends on its own; if it does not, the kill -9 below is the attack.
        let child = std::cell::RefCell::new(child);
        let ended = wait_until(
            || child.borrow_mut().try_wait().unwrap().is_some(),
            Duration::from_secs(5),
        );
        let mut child = child.into_inner();
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert_none_survive(&[escape, main]);
        assert!(ended, "the run went on without its watchdog");
        assert_eq!(status.code(), Some(137));
        let run = crate::harness::run_json(&ws);
        assert_eq!(run["status"], "interrupted", "{run}");
        assert_eq!(run["signal"], "SIGKILL", "{run}");
    });
}
