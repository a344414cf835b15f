//! Evidence people can read and keep: raw logs, log folders that never collide, a runs
//! directory that survives `cargo clean`, a full disk, killed runs, and `--rerun-failed`
//! carrying each task's last real result forward.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{command, ran, result, run_json_in, Workspace, BIN, RUNS};

#[test]
fn logs_hold_exactly_the_childs_bytes_and_printed_paths_work_from_here() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` prints\n- `TASK-2` no hook\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "printf 'out\\n'; printf 'err no newline' >&2; exit 3"}]}}"#,
    );
    // Run from a subdirectory: a printed path must work from where the user is.
    let out = crate::harness::Run {
        cmd: {
            let mut cmd = command();
            cmd.args(["tek", "run"]).current_dir(ws.join("src"));
            cmd
        },
    }
    .output()
    .expect_code(2);
    let dir = ws.latest_run();
    let run = run_json_in(&dir);
    let t1 = result(&run, "TASK-1");
    let log =
        |key: &str| std::fs::read(dir.join(t1["commands"][0][key].as_str().unwrap())).unwrap();
    assert_eq!(log("log"), b"out\n");
    assert_eq!(log("stderr_log"), b"err no newline");
    assert!(
        !dir.join("logs/TASK-2").exists(),
        "a noop has no child, so no log"
    );
    let stderr = out.stderr();
    let shown = stderr
        .lines()
        .find_map(|l| l.strip_prefix("--- TASK-1 ("))
        .and_then(|l| l.strip_suffix(") ---"))
        .unwrap_or_else(|| panic!("the failure's log is named: {stderr}"));
    let shown = Path::new(shown);
    assert!(
        ws.join("src").join(shown).is_file(),
        "`{}` is absolute or relative to the current directory",
        shown.display()
    );
}

#[test]
fn ids_that_look_alike_never_share_or_escape_a_log_folder() {
    let ws = Workspace::new();
    ws.file(
        "config/manifest.json",
        r#"{"id_pattern": "X[/_]1|\\.\\.|%2F"}"#,
    );
    ws.file(
        "sot.md",
        "## Q\n- `X/1` slash\n- `X_1` underscore\n- `..` dots\n- `%2F` percent\n",
    );
    // One hook per id, each printing its own id.
    let hooks: Vec<String> = ["X/1", "X_1", "..", "%2F"]
        .iter()
        .map(|id| format!(r#""{id}": {{"commands": [{{"cmd": ["echo", "{id}"]}}]}}"#))
        .collect();
    ws.file("config/hooks.json", format!("{{{}}}", hooks.join(",")));
    ws.tek(&["run"]).output().expect_code(0);
    let dir = ws.latest_run();
    let run = run_json_in(&dir);
    let mut folders = Vec::new();
    for id in ["X/1", "X_1", "..", "%2F"] {
        let rel = result(&run, id)["commands"][0]["log"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = dir.join(&rel);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{id}\n"));
        let folder = path.parent().unwrap().to_path_buf();
        assert_eq!(
            folder.parent().unwrap(),
            dir.join("logs"),
            "{id}: `{rel}` stays in its own folder under logs/"
        );
        folders.push(folder);
    }
    folders.sort();
    folders.dedup();
    assert_eq!(folders.len(), 4, "{folders:?}");
}

#[test]
fn a_hook_running_cargo_clean_keeps_the_evidence_and_the_history() {
    let ws = Workspace::new();
    ws.file("target/debug/stale", "built earlier");
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` clean\n- `TASK-2` fails once — after `TASK-1`\n- `TASK-3` last — after `TASK-2`\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"cmd": ["cargo", "clean"]}]},
        "TASK-2": {"commands": [{"shell": "test -f fixed || { touch fixed; exit 1; }"}]},
        "TASK-3": {"commands": [{"cmd": ["true"]}]}
    }"#,
    );
    ws.tek(&["run", "-j", "1"]).output().expect_code(2);
    assert!(!ws.join("target/debug").exists(), "cargo clean ran");
    let dir = ws.latest_run();
    let run = run_json_in(&dir);
    assert_eq!(run["status"], "error");
    assert_eq!(result(&run, "TASK-1")["status"], "ok");
    assert_eq!(result(&run, "TASK-2")["status"], "error");
    assert!(dir.join("junit.xml").is_file() && dir.join("events.jsonl").is_file());
    std::thread::sleep(Duration::from_millis(5));
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    let run = run_json_in(&ws.latest_run());
    assert_eq!(ran(&run), ["TASK-2", "TASK-3"], "the history survived");
}

#[test]
fn a_killed_run_reports_every_planned_task_and_its_real_duration() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` quick\n- `TASK-2` slow — after `TASK-1`\n- `TASK-3` never — after `TASK-2`\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["sleep", "0.4"]}]}, "TASK-2": {"commands": [{"cmd": ["sleep", "30"]}]}, "TASK-3": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    let mut child = command()
        .args(["tek", "run"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let started = "\"event\":\"task_started\",\"task\":\"TASK-2\"";
    loop {
        let journal = std::fs::read_dir(ws.join(RUNS))
            .ok()
            .and_then(|mut d| d.find(|e| e.as_ref().unwrap().path().is_dir()))
            .and_then(|e| std::fs::read_to_string(e.unwrap().path().join("events.jsonl")).ok());
        if journal.is_some_and(|j| j.contains(started)) {
            break;
        }
        assert!(Instant::now() < until, "TASK-2 never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = ws
        .tek(&["report", "--format", "json"])
        .output()
        .expect_code(0);
    let run: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(run["counts"]["total"], 3, "{run}");
    assert_eq!(result(&run, "TASK-1")["status"], "ok");
    assert_eq!(result(&run, "TASK-2")["status"], "cancelled");
    let t3 = result(&run, "TASK-3");
    assert_eq!(t3["status"], "skipped");
    assert!(
        t3["reason"].as_str().unwrap().starts_with("not run"),
        "{t3}"
    );
    assert!(
        run["duration_ms"].as_u64().unwrap() >= 400,
        "the real duration, up to the last entry: {run}"
    );
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(md.contains("**3** tasks"), "{md}");
    assert!(md.contains("not run"), "{md}");
}

/// Runs `cargo tek <args>` with its runs directory on a tiny tmpfs that a task fills,
/// inside a private mount namespace; returns the exit code, run.json and the report.
// A test may tell why it skipped; the ban on printing is for the tool.
#[allow(clippy::disallowed_macros)]
fn run_on_a_full_disk(ws: &Workspace) -> Option<(i32, serde_json::Value, String)> {
    let mount = ws.join("tiny");
    std::fs::create_dir(&mount).unwrap();
    let out_dir = ws.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let script = r#"
        mount -t tmpfs -o size=256k tmpfs "$1" || exit 99
        "$2" tek run --runs-dir "$1/runs"
        echo $? > "$3/code"
        cp "$1"/runs/*/run.json "$3/run.json"
        "$2" tek report --runs-dir "$1/runs" > "$3/report.md"
    "#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", script, "sh"])
        .arg(&mount)
        .arg(BIN)
        .arg(&out_dir)
        .current_dir(ws.path())
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TEK_NO_CACHE", "1")
        .env_remove("CARGO_TARGET_DIR");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GITHUB_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().ok()?;
    let code: PathBuf = out_dir.join("code");
    if !code.exists() {
        crate::harness::not_here(
            "tmpfs",
            &format!(
                "no private tmpfs here (unshare -rm): {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        );
        return None;
    }
    let code = std::fs::read_to_string(code)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let run = run_json_in(&out_dir);
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    Some((code, run, report))
}

#[test]
fn a_full_disk_is_the_tasks_error_and_run_json_is_still_finalised() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` loud\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "head -c 1048576 /dev/zero"}]}}"#,
    );
    let Some((code, run, report)) = run_on_a_full_disk(&ws) else {
        return;
    };
    assert_eq!(
        code, 3,
        "the evidence-I/O exit code, not 1 (bad input): {run}"
    );
    assert_eq!(run["status"], "error", "finalised, not `running`: {run}");
    let t1 = result(&run, "TASK-1");
    assert_eq!(t1["status"], "error");
    let reason = t1["reason"].as_str().unwrap();
    assert!(reason.contains("no space left"), "{reason}");
    assert!(report.contains("no space left"), "{report}");
}

#[test]
fn rerun_failed_carries_state_forward_and_converges() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` passes\n- `TASK-2` passes\n- `TASK-3` fails once\n- `TASK-4` fails until fixed\n- `TASK-5` after 4 — after `TASK-4`\n- [x] `TASK-6` done already\n",
    );
    let hook = |id: &str, then: &str| {
        format!(r#""{id}": {{"commands": [{{"shell": "echo {id} >> ran.txt; {then}"}}]}}"#)
    };
    ws.file(
        "config/hooks.json",
        format!(
            "{{{}}}",
            [
                hook("TASK-1", "true"),
                hook("TASK-2", "true"),
                hook("TASK-3", "test -f f3 || { touch f3; exit 1; }"),
                hook("TASK-4", "test -f fix4"),
                hook("TASK-5", "true"),
            ]
            .join(",")
        ),
    );
    let ran_txt = || {
        let text = std::fs::read_to_string(ws.join("ran.txt")).unwrap_or_default();
        std::fs::remove_file(ws.join("ran.txt")).ok();
        let mut ids: Vec<String> = text.lines().map(str::to_owned).collect();
        ids.sort();
        ids
    };
    let pause = || std::thread::sleep(Duration::from_millis(5));
    ws.tek(&["run"]).output().expect_code(2);
    assert_eq!(ran_txt(), ["TASK-1", "TASK-2", "TASK-3", "TASK-4"]);
    let first = run_json_in(&ws.latest_run())["run_id"].clone();
    pause();
    // A dry run does not count: the failing tasks still need a rerun.
    ws.tek(&["run", "--dry-run"]).output().expect_code(0);
    pause();
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(2);
    assert_eq!(ran_txt(), ["TASK-3", "TASK-4"], "TASK-5 was skipped again");
    pause();
    // Tasks that passed two runs ago are not run again.
    let out = ws.tek(&["run", "--rerun-failed"]).output().expect_code(2);
    assert_eq!(ran_txt(), ["TASK-4"]);
    assert!(
        out.stderr()
            .contains("2 tasks of 5 that have not passed yet"),
        "{}",
        out.stderr()
    );
    let third = run_json_in(&ws.latest_run());
    assert_eq!(third["rerun_failed"], true);
    assert_eq!(ran(&third), ["TASK-4", "TASK-5"]);
    ws.file("fix4", "");
    pause();
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    assert_eq!(ran_txt(), ["TASK-4", "TASK-5"]);
    let run = run_json_in(&ws.latest_run());
    assert_eq!(run["status"], "ok");
    assert_eq!(run["counts"]["total"], 5);
    assert_eq!(run["counts"]["ok"], 5);
    assert_eq!(result(&run, "TASK-1")["carried_from"], first);
    assert!(result(&run, "TASK-3")["carried_from"].is_string());
    // The report says what ran and shows the rest as carried forward.
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(
        md.contains("2 run again (TASK\\-4, TASK\\-5); the other 3"),
        "{md}"
    );
    assert!(md.contains("TASK\\-1 ↩️"), "{md}");
    assert!(md.contains("all tasks passed"), "{md}");
    pause();
    // Nothing left: nothing runs, and the state stays green.
    ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    assert!(ran_txt().is_empty());
    assert_eq!(run_json_in(&ws.latest_run())["counts"]["ok"], 5);
}

#[test]
fn rerun_failed_ignores_runs_of_another_plan() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` a\n- `TASK-2` b\n");
    ws.file(
        "config/hooks.json",
        r#"{"Q": {"commands": [{"shell": "echo x >> ran.txt"}]}}"#,
    );
    ws.tek(&["run"]).output().expect_code(0);
    std::thread::sleep(Duration::from_millis(5));
    ws.file("sot.md", "## Q\n- `TASK-1` a\n- `TASK-2` b\n- `TASK-3` c\n");
    let out = ws.tek(&["run", "--rerun-failed"]).output().expect_code(0);
    assert!(
        out.stderr().contains("no earlier run of this plan"),
        "{}",
        out.stderr()
    );
    assert_eq!(ran(&run_json_in(&ws.latest_run())).len(), 3);
}

#[test]
fn unreadable_run_directories_are_named_and_skipped() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` fails\n- `TASK-2` passes\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"cmd": ["false"]}]}, "TASK-2": {"commands": [{"cmd": ["true"]}]}}"#,
    );
    ws.tek(&["run"]).output().expect_code(2);
    let good = ws.latest_run();
    // Newer directories without a readable run: empty, and a broken run.json.
    let empty = ws.join(&format!("{RUNS}/99990101T000000.000Z-000000"));
    std::fs::create_dir(&empty).unwrap();
    let broken = ws.join(&format!("{RUNS}/99990102T000000.000Z-000000"));
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("run.json"), "{").unwrap();
    let out = ws
        .tek(&["report", "--format", "json"])
        .output()
        .expect_code(0);
    let run: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(run["run_id"], run_json_in(&good)["run_id"]);
    for dir in [&empty, &broken] {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(out.stderr().contains(&name), "{name}: {}", out.stderr());
    }
    let out = ws.tek(&["run", "--rerun-failed"]).output().expect_code(2);
    assert!(out.stderr().contains("skipping"), "{}", out.stderr());
    let mut real: Vec<PathBuf> = std::fs::read_dir(ws.join(RUNS))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(['.', '9'])
        })
        .collect();
    real.sort();
    assert_eq!(ran(&run_json_in(real.last().unwrap())), ["TASK-1"]);
}

#[test]
fn a_carried_failure_keeps_failing_the_rerun_and_shows_its_own_runs_log() {
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## A\n- `TASK-1` always fails\n## B\n- `TASK-2` fails once\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
        "TASK-1": {"commands": [{"shell": "echo boom-from-the-first-run; exit 1"}]},
        "TASK-2": {"commands": [{"shell": "test -f f2 || { touch f2; exit 1; }"}]}
    }"#,
    );
    ws.tek(&["run"]).output().expect_code(2);
    let first = run_json_in(&ws.latest_run())["run_id"].clone();
    std::thread::sleep(Duration::from_millis(5));
    // Queue B only: TASK-2 now passes, but TASK-1's failure is carried and still counts.
    ws.tek(&["run", "--rerun-failed", "--queue", "B"])
        .output()
        .expect_code(2);
    let run = run_json_in(&ws.latest_run());
    assert_eq!(ran(&run), ["TASK-2"]);
    assert_eq!(result(&run, "TASK-1")["carried_from"], first);
    assert_eq!(run["status"], "error");
    let md = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert!(md.contains("boom-from-the-first-run"), "{md}");
}

/// A workspace whose final run.json (86 KB: a command of 5,000 arguments, pretty-printed)
/// is much bigger than its journal (21 KB), and a task that fails.
fn workspace_with_a_big_final_run_json() -> Workspace {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` many args\n- `TASK-2` fails\n");
    let args: Vec<String> = std::iter::once("true".to_owned())
        .chain(std::iter::repeat_n("a".to_owned(), 5000))
        .collect();
    let hooks = serde_json::json!({
        "TASK-1": {"commands": [{"cmd": args}]},
        "TASK-2": {"commands": [{"cmd": ["false"]}]},
    });
    ws.file("config/hooks.json", hooks.to_string());
    ws
}

/// What a run on a runs directory with too little room left: the exit code of `run`, the
/// run.json left behind (as text) and `report --format json`'s output and stderr.
struct Cramped {
    code: i32,
    run_json: String,
    report_code: i32,
    report: String,
    report_err: String,
}

/// The runs directory on a real 64 KiB tmpfs (a private mount namespace, `unshare -rm`),
/// when this machine allows one.
fn on_a_tiny_tmpfs(ws: &Workspace) -> Option<Cramped> {
    let mount = ws.join("tiny");
    std::fs::create_dir(&mount).unwrap();
    let out_dir = ws.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let script = r#"
        mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
        "$2" tek run --runs-dir "$1/runs" > /dev/null 2>&1
        echo $? > "$3/code"
        cp "$1"/runs/*/run.json "$3/run.json"
        "$2" tek report --format json --runs-dir "$1/runs" > "$3/report.json" 2> "$3/report.err"
        echo $? > "$3/report.code"
    "#;
    // The clean environment of `command()`, around another program.
    let clean = command();
    let mut sh = std::process::Command::new("unshare");
    sh.args(["-rm", "sh", "-c", script, "sh"])
        .arg(&mount)
        .arg(BIN)
        .arg(&out_dir)
        .current_dir(ws.path());
    for (key, value) in clean.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    sh.output().ok()?;
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).ok();
    let code = read("code")?;
    Some(Cramped {
        code: code.trim().parse().unwrap(),
        run_json: read("run.json").unwrap_or_default(),
        report_code: read("report.code").unwrap().trim().parse().unwrap(),
        report: read("report.json").unwrap_or_default(),
        report_err: read("report.err").unwrap_or_default(),
    })
}

/// The same limit through `RLIMIT_FSIZE` (48 KiB per file, `SIGXFSZ` ignored so a write
/// past it fails with EFBIG as a full disk fails with ENOSPC): works for any user.
fn with_a_file_size_limit(ws: &Workspace) -> Cramped {
    use std::os::unix::process::CommandExt;
    let mut run = ws.tek(&["run"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        run.cmd.pre_exec(|| {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGXFSZ,
                nix::sys::signal::SigHandler::SigIgn,
            )
            .map_err(std::io::Error::from)?;
            nix::sys::resource::setrlimit(
                nix::sys::resource::Resource::RLIMIT_FSIZE,
                48 * 1024,
                48 * 1024,
            )
            .map_err(std::io::Error::from)
        });
    }
    let code = run.output().code();
    let run_json = std::fs::read_to_string(ws.latest_run().join("run.json")).unwrap();
    let out = ws.tek(&["report", "--format", "json"]).output();
    Cramped {
        code,
        run_json,
        report_code: out.code(),
        report: out.stdout(),
        report_err: out.stderr(),
    }
}

/// Issue 24, item 9: a run.json that no longer fits used to be overwritten in place and
/// cut (the valid `running` one destroyed), and `report` then failed with exit 1. Now the
/// `running` run.json stays whole, the run exits 3, and `report` rebuilds the run from
/// the journal: the real results, never "ok". Tried on a real tiny tmpfs when one can be
/// mounted, and always with a file-size limit.
#[test]
fn a_run_json_that_no_longer_fits_leaves_the_running_one_and_report_uses_the_journal() {
    let limited = with_a_file_size_limit(&workspace_with_a_big_final_run_json());
    let tmpfs_ws = workspace_with_a_big_final_run_json();
    let tmpfs = on_a_tiny_tmpfs(&tmpfs_ws);
    // Without a private tmpfs (harness::not_here says so) the limit alone is tried.
    for (how, c) in std::iter::once(("RLIMIT_FSIZE", limited)).chain(tmpfs.map(|c| ("tmpfs", c))) {
        assert_eq!(c.code, 3, "{how}: evidence could not be written in full");
        let run: serde_json::Value = serde_json::from_str(&c.run_json)
            .unwrap_or_else(|e| panic!("{how}: run.json is cut ({e}): {}", c.run_json.len()));
        assert_eq!(
            run["status"], "running",
            "{how}: the earlier record is kept"
        );
        assert_eq!(c.report_code, 0, "{how}: {}", c.report_err);
        assert!(
            c.report_err.contains("reporting from its journal"),
            "{how}: {}",
            c.report_err
        );
        let report: serde_json::Value = serde_json::from_str(&c.report).unwrap();
        assert_eq!(result(&report, "TASK-1")["status"], "ok", "{how}");
        assert_eq!(result(&report, "TASK-2")["status"], "error", "{how}");
        assert_ne!(report["status"], "ok", "{how}: {report}");
    }
}

/// Issue 24, item 8 (a): the journal's descriptor is not inherited by tasks (std opens it
/// with O_CLOEXEC), so task output cannot be written into `events.jsonl` through it. A
/// guard: no descriptor a task holds points at the journal or run.json.
#[test]
fn tasks_hold_no_descriptor_of_the_journal() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` look\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"commands": [{"shell": "for f in /proc/self/fd/*; do readlink \"$f\" || true; done"}]}}"#,
    );
    ws.tek(&["run"]).output().expect_code(0);
    let dir = ws.latest_run();
    let log = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert!(
        log.contains("attempt1-cmd1.stdout.log"),
        "the listing ran: {log}"
    );
    assert!(!log.contains("events.jsonl"), "{log}");
    assert!(!log.contains("run.json"), "{log}");
}

/// Every file under `dir`, recursively (the run directory holds logs in folders).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn passed_secrets_are_masked_in_every_file_and_stream() {
    let secrets = [
        ("GH_TOKEN", "gh-token-value-1a2b3c"),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "oidc-request-value-4d5e6f",
        ),
        ("ACTIONS_RUNTIME_TOKEN", "runtime-token-value-7a8b9c"),
        ("CARGO_REGISTRY_TOKEN", "registry-token-value-0d1e2f"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-value-3a4b5c"),
        ("MY_API_KEY", "manifest-named-value-6d7e8f"),
        ("DEPLOY_KEY", "pattern-named-value-9a0b1c"),
    ];
    let report_only = ("GITHUB_TOKEN", "report-step-token-value-2d3e4f");
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` leaks\n");
    let names: Vec<&str> = secrets.iter().map(|(k, _)| *k).collect();
    let print: String = names
        .iter()
        .map(|n| format!("echo ${n}; echo ${n} >&2; "))
        .collect();
    ws.file(
        "config/hooks.json",
        serde_json::json!({"TASK-1": {
            "pass_env": names,
            "commands": [{"shell": format!("{print}echo \"error: bad $MY_API_KEY\" >&2; exit 1")}],
        }})
        .to_string(),
    );
    ws.file(
        "config/manifest.json",
        r#"{"secrets": ["MY_API_KEY", "DEPLOY_*"]}"#,
    );
    let mut run = ws.tek(&["run"]);
    for (k, v) in secrets {
        run = run.env(k, v);
    }
    let ran = run.output().expect_code(2);
    let dir = ws.latest_run();
    let log = std::fs::read_to_string(dir.join("logs/TASK-1/attempt1-cmd1.stdout.log")).unwrap();
    assert_eq!(
        log.matches("***").count(),
        secrets.len(),
        "masked, not dropped: {log}"
    );

    let summary = ws.join("summary.md");
    let mut report = ws.tek(&["report", "--out", "report.md"]);
    let mut summarised = ws
        .tek(&["report", "--job-summary"])
        .env("GITHUB_STEP_SUMMARY", &summary);
    for (k, v) in secrets.iter().chain([&report_only]) {
        report = report.env(k, v);
        summarised = summarised.env(k, v);
    }
    let reported = report.output().expect_code(0);
    let summarised = summarised.output();

    let mut texts: Vec<(String, String)> = files_under(&dir)
        .into_iter()
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p.display().to_string(), text)
        })
        .collect();
    texts.push((
        "report.md".into(),
        std::fs::read_to_string(ws.join("report.md")).unwrap(),
    ));
    texts.push((
        "job summary".into(),
        std::fs::read_to_string(&summary).unwrap(),
    ));
    for (name, out) in [
        ("run", &ran),
        ("report", &reported),
        ("summary", &summarised),
    ] {
        texts.push((format!("{name} stdout"), out.stdout()));
        texts.push((format!("{name} stderr"), out.stderr()));
    }
    assert!(
        texts.iter().any(|(_, t)| t.contains("error: bad ***")),
        "the cause is still shown, masked"
    );
    for (name, text) in &texts {
        for (var, value) in secrets.iter().chain([&report_only]) {
            assert!(!text.contains(value), "{var}'s value is in {name}:\n{text}");
        }
    }
}

/// Issue 24, item 8 (b): a task that forges the evidence (a run.json that says ok, a
/// journal line that finishes the run ok) and then SIGKILLs cargo-tek cannot make the
/// report of a failed run say ok: with the run's key, the report trusts only what the
/// sealed journal vouches for; without it, a rebuilt run never passes as ok.
#[test]
fn a_task_cannot_forge_the_evidence_a_report_trusts() {
    let key = "0123456789abcdef".repeat(4);
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` fails\n- `TASK-2` forges\n");
    // Waits for the test to name cargo-tek's pid, then lies and kills it.
    let forge = r#"while [ ! -s "$TEK_WORKSPACE_PID" ]; do sleep 0.05; done
sed 's/"status": "running"/"status": "ok"/' "$TEK_RUN_DIR/run.json" > "$TEK_RUN_DIR/forged"
mv "$TEK_RUN_DIR/forged" "$TEK_RUN_DIR/run.json"
printf '%s\n' '{"event":"run_finished","status":"ok","ended":"2030-01-01T00:00:00Z"}' >> "$TEK_RUN_DIR/events.jsonl"
kill -9 "$(cat "$TEK_WORKSPACE_PID")"
sleep 30"#;
    ws.file(
        "config/hooks.json",
        serde_json::json!({
            "TASK-1": {"commands": [{"cmd": ["false"]}]},
            "TASK-2": {
                "commands": [{"shell": forge}],
                "env": {"TEK_WORKSPACE_PID": ws.join("pid").display().to_string()}
            }
        })
        .to_string(),
    );
    let mut child = command()
        .args(["tek", "run", "-j", "1"])
        .env("CARGO_TEK_JOURNAL_KEY", &key)
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(ws.join("pid"), child.id().to_string()).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the task killed cargo-tek"
    );
    let dir = ws.latest_run();
    assert_eq!(run_json_in(&dir)["status"], "ok", "the forgery is on disk");
    let journal = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(!journal.contains(&key), "the key is never written");
    let report = |key: Option<&str>| {
        let mut cmd = ws.tek(&["report", "--format", "json"]);
        if let Some(key) = key {
            cmd = cmd.env("CARGO_TEK_JOURNAL_KEY", key);
        }
        let out = cmd.output().expect_code(0);
        let run: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
        (run, out.stderr())
    };
    let (run, err) = report(Some(&key));
    assert_ne!(run["status"], "ok", "{run}");
    assert_eq!(result(&run, "TASK-1")["status"], "error", "{run}");
    assert!(err.contains("not the run.json cargo-tek wrote"), "{err}");
    // A journal line the task appended is not the run's: the rebuilt run is not ok
    // even when the forged run.json is gone.
    std::fs::remove_file(dir.join("run.json")).unwrap();
    let (run, err) = report(Some(&key));
    assert_ne!(run["status"], "ok", "{run}");
    assert!(err.contains("failed") || err.contains("MAC"), "{err}");
    let (run, err) = report(None);
    assert_ne!(run["status"], "ok", "{run}");
    assert!(err.contains("without its key"), "{err}");
}
