//! The cwd cannot be swapped under a command: one task exchanges `sub/d` with a symlink
//! to a directory outside the workspace (`renameat2` with `RENAME_EXCHANGE`, atomic, in
//! a tight loop) while many others, each with cwd `sub/d`, record `pwd -P`. Each of them
//! either runs in a directory of the workspace or is refused; none runs outside.

use crate::harness::Workspace;

/// How many tasks run in `sub/d` while it is being swapped.
const TASKS: usize = 300;

#[test]
fn a_directory_swapped_for_a_symlink_never_moves_a_command_outside() {
    let ws = Workspace::new();
    let outside = tempfile::tempdir().unwrap();
    let outside_real = outside.path().canonicalize().unwrap();
    std::fs::create_dir_all(ws.join("sub/d")).unwrap();
    std::os::unix::fs::symlink(&outside_real, ws.join("sub/x")).unwrap();
    let seen = outside.path().join("seen");
    // The swapper stops once the other tasks have stopped writing lines for a second (or
    // after a minute), and prints how often it swapped, so the test knows the race ran.
    let swapper = format!(
        r#"import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
n, until, last, quiet = 0, time.time() + 60, -1, time.time()
while time.time() < until:
    if libc.renameat2(-100, b"sub/d", -100, b"sub/x", 2) != 0:
        raise SystemExit("renameat2: " + os.strerror(ctypes.get_errno()))
    n += 1
    if n % 256 == 0:
        size = os.path.getsize({seen:?}) if os.path.exists({seen:?}) else 0
        if size != last:
            last, quiet = size, time.time()
        elif size > 0 and time.time() - quiet > 1:
            break
print("swaps", n)
"#,
        seen = seen.display().to_string()
    );
    let mut sot = String::from("## Q\n- `TASK-9999` swaps sub/d and a link to outside\n");
    let mut hooks = serde_json::Map::new();
    hooks.insert(
        "TASK-9999".into(),
        serde_json::json!({"commands": [{"cmd": ["python3", "-c", swapper]}]}),
    );
    for i in 0..TASKS {
        let id = format!("TASK-{i:03}");
        sot.push_str(&format!("- `{id}` pwd\n"));
        hooks.insert(
            id,
            serde_json::json!({"commands": [{
                "shell": format!("pwd -P >> '{}'", seen.display()),
                "cwd": "sub/d"
            }]}),
        );
    }
    ws.file("sot.md", sot);
    ws.file(
        "config/hooks.json",
        serde_json::to_string(&serde_json::Value::Object(hooks)).unwrap(),
    );
    let out = ws.tek(&["run", "-j", "3"]).output();
    assert!(ws.join(crate::harness::RUNS).exists(), "{}", out.stderr());
    let run = crate::harness::run_json(&ws);
    let swap = crate::harness::result(&run, "TASK-9999");
    assert_eq!(swap["status"], "ok", "{}", out.stderr());
    let swaps = std::fs::read_to_string(
        ws.latest_run()
            .join(swap["commands"][0]["log"].as_str().unwrap()),
    )
    .unwrap();
    let root = ws.path().canonicalize().unwrap();
    let lines = std::fs::read_to_string(&seen).unwrap_or_default();
    let escaped: Vec<&str> = lines
        .lines()
        .filter(|l| !std::path::Path::new(l).starts_with(&root))
        .collect();
    assert!(
        escaped.is_empty(),
        "{} of {} commands ran outside the workspace ({swaps}): {:?}",
        escaped.len(),
        lines.lines().count(),
        &escaped[..escaped.len().min(5)]
    );
    // Every task is accounted for: it ran inside, or it was refused with why.
    let results = run["results"].as_array().unwrap();
    let refused: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["task"] != "TASK-9999" && r["status"] != "ok")
        .collect();
    for r in &refused {
        let why = r["commands"][0]["error"].as_str().unwrap_or_default();
        assert!(why.contains("cwd `sub/d`"), "{r}");
    }
    assert_eq!(lines.lines().count() + refused.len(), TASKS, "{swaps}");
    assert!(lines.lines().count() > 0, "some tasks ran: {swaps}");
}
