//! The sandbox (hooks.json `sandbox`): real processes under Landlock and the seccomp
//! filter, with real files, a real TCP listener and the evidence they leave. On a kernel
//! without the Landlock ABI a test needs, it says so through `not_here("landlock")`,
//! which fails where `TEK_TEST_REQUIRE` names `landlock`.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;

use crate::harness::{not_here, result, run_json, Result_, Workspace};

/// The kernel's Landlock ABI (0: none).
fn landlock_abi() -> i64 {
    // SAFETY: with a null attribute and size 0 the call only returns the version.
    let abi = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    abi.max(0)
}

/// Whether the kernel has the ABI `needs`; if not, the test says it did not run.
fn have(needs: i64) -> bool {
    let abi = landlock_abi();
    if abi < needs {
        not_here(
            "landlock",
            &format!("the sandbox needs Landlock ABI {needs}; this kernel has {abi}"),
        );
        return false;
    }
    true
}

/// A workspace whose tasks get a temporary directory of their own, outside it (the
/// usual `/tmp` holds the test's workspace: see the test of a private `$TMPDIR`).
struct Sandboxed {
    ws: Workspace,
    tmp: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Sandboxed {
    fn new(sot: &str, hooks: &str) -> Self {
        let ws = Workspace::new();
        ws.file("sot.md", sot);
        ws.file("config/hooks.json", hooks);
        Self {
            ws,
            tmp: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn tek(&self, args: &[&str]) -> Result_ {
        self.ws
            .tek(args)
            .env("TMPDIR", self.tmp.path())
            .env("HOME", self.home.path())
            .output()
    }

    fn home(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }
}

fn reason(run: &serde_json::Value, id: &str) -> String {
    result(run, id)["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn write_rules_allow_their_places_and_deny_the_rest_however_it_is_reached() {
    if !have(3) {
        return;
    }
    let sandbox = r#""sandbox": {"write": ["out"]}"#;
    let s = Sandboxed::new(
        "## Q\n- `TASK-1` inside\n- `TASK-2` outside\n- `TASK-3` tricks\n- `TASK-4` setsid\n- `TASK-5` free\n",
        &format!(
            r#"{{
            "TASK-1": {{"commands": [{{"shell": "touch out/x && mkdir -p out/d && echo t > \"$TMPDIR/t\" && echo ok > /dev/null"}}], {sandbox}}},
            "TASK-2": {{"commands": [{{"cmd": ["touch", "src/evil"]}}], {sandbox}}},
            "TASK-3": {{"commands": [{{"shell": "touch out/y; ln -s ../src out/link; ! echo x > out/link/via-link && ! echo x > out/../src/via-dots && ! ln src/lib.rs out/hard && ! mv out/y src/moved && ! mv src/lib.rs out/stolen && ! truncate -s 0 src/lib.rs && ! rm src/lib.rs && echo all refused"}}], {sandbox}}},
            "TASK-4": {{"commands": [{{"shell": "setsid -w sh -c 'sleep 0.1; touch src/grandchild'"}}], {sandbox}}},
            "TASK-5": {{"commands": [{{"cmd": ["touch", "src/unconfined"]}}]}}
        }}"#
        ),
    );
    s.ws.file("src/lib.rs", "pub fn kept() {}\n");
    s.tek(&["run", "--max-workers", "2"]).expect_code(2);
    let run = run_json(&s.ws);
    assert_eq!(result(&run, "TASK-1")["status"], "ok", "{run}");
    assert!(s.ws.join("out/x").is_file() && s.ws.join("out/d").is_dir());
    assert!(s.tmp.path().join("t").is_file(), "$TMPDIR is writable");

    assert_eq!(result(&run, "TASK-2")["status"], "error");
    assert!(!s.ws.join("src/evil").exists());
    assert_eq!(
        reason(&run, "TASK-2"),
        "command 1 exited with 1: denied by the sandbox (write: out)"
    );

    assert_eq!(result(&run, "TASK-3")["status"], "ok", "{run}");
    let log = result(&run, "TASK-3")["commands"][0]["log"]
        .as_str()
        .unwrap();
    let out = std::fs::read_to_string(s.ws.latest_run().join(log)).unwrap();
    assert_eq!(out, "all refused\n");
    for gone in [
        "src/via-link",
        "src/via-dots",
        "out/hard",
        "src/moved",
        "out/stolen",
    ] {
        assert!(!s.ws.join(gone).exists(), "{gone} was written");
    }
    assert_eq!(
        std::fs::read_to_string(s.ws.join("src/lib.rs")).unwrap(),
        "pub fn kept() {}\n",
        "src/lib.rs is untouched"
    );

    // A grandchild in a session of its own is still confined.
    assert_eq!(result(&run, "TASK-4")["status"], "error");
    assert!(!s.ws.join("src/grandchild").exists());
    assert!(reason(&run, "TASK-4").contains("denied by the sandbox (write: out)"));

    // Without a sandbox the same write works: the denial was the sandbox's.
    assert_eq!(result(&run, "TASK-5")["status"], "ok");
    assert!(s.ws.join("src/unconfined").exists());
}

/// Accepts connections on a background thread; the count of those that sent "hi".
fn listen() -> (u16, std::sync::mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut text = String::new();
            let _ = (&stream).take(16).read_to_string(&mut text);
            if text.starts_with("hi") {
                let _ = tx.send(());
            }
        }
    });
    (port, rx)
}

#[test]
fn net_none_refuses_tcp_and_udp_but_the_same_command_unsandboxed_connects() {
    if !have(4) {
        return;
    }
    let (port, received) = listen();
    let tcp = format!("echo hi > /dev/tcp/127.0.0.1/{port}");
    let none = r#""sandbox": {"net": "none"}"#;
    let s = Sandboxed::new(
        "## Q\n- `TASK-1` tcp\n- `TASK-2` udp\n- `TASK-3` open\n- `TASK-4` tcp bind\n",
        &format!(
            r#"{{
            "TASK-1": {{"commands": [{{"cmd": ["bash", "-c", "{tcp}"]}}], {none}}},
            "TASK-2": {{"commands": [{{"cmd": ["bash", "-c", "echo hi > /dev/udp/127.0.0.1/9"]}}], {none}}},
            "TASK-3": {{"commands": [{{"cmd": ["bash", "-c", "{tcp}"]}}]}},
            "TASK-4": {{"commands": [{{"cmd": ["python3", "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0))"]}}], {none}}}
        }}"#
        ),
    );
    s.tek(&["run", "--max-workers", "1"]).expect_code(2);
    let run = run_json(&s.ws);
    for id in ["TASK-1", "TASK-2"] {
        assert_eq!(result(&run, id)["status"], "error", "{id}: {run}");
        assert!(
            reason(&run, id).contains("denied by the sandbox (net: none)"),
            "{id}: {}",
            reason(&run, id)
        );
    }
    assert_eq!(result(&run, "TASK-3")["status"], "ok", "{run}");
    // Exactly one "hi" arrived: the unsandboxed one.
    received
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the unsandboxed command connected");
    assert!(
        received.try_recv().is_err(),
        "a sandboxed command connected"
    );
    // Binding is refused too (where python3 is there to try it).
    if which::which("python3").is_ok() {
        assert_eq!(result(&run, "TASK-4")["status"], "error", "{run}");
    }
}

#[test]
fn read_rules_hide_what_they_do_not_list_and_never_show_credentials() {
    if !have(3) {
        return;
    }
    let s = Sandboxed::new(
        "## Q\n- `TASK-1` everything\n- `TASK-2` only src\n- `TASK-3` the secret\n",
        r#"{
            "TASK-1": {"commands": [{"shell": "cat \"$HOME/notes.txt\" src/lib.rs"}], "sandbox": {"read": ["/"]}},
            "TASK-2": {"commands": [{"shell": "cat src/lib.rs && cat \"$HOME/notes.txt\""}], "sandbox": {"read": ["src"]}},
            "TASK-3": {"commands": [{"shell": "cat \"$HOME/.cargo/credentials.toml\""}], "sandbox": {"read": ["/"], "write": ["out"]}}
        }"#,
    );
    std::fs::create_dir_all(s.home(".cargo")).unwrap();
    std::fs::write(s.home("notes.txt"), "notes\n").unwrap();
    std::fs::write(s.home(".cargo/credentials.toml"), "token = \"s3cr3t\"\n").unwrap();
    s.ws.file("src/lib.rs", "lib\n");
    s.tek(&["run", "--max-workers", "2"]).expect_code(2);
    let run = run_json(&s.ws);
    let dir = s.ws.latest_run();
    let stdout = |id: &str| {
        let log = result(&run, id)["commands"][0]["log"].as_str().unwrap();
        std::fs::read_to_string(dir.join(log)).unwrap()
    };
    assert_eq!(result(&run, "TASK-1")["status"], "ok", "{run}");
    assert_eq!(stdout("TASK-1"), "notes\nlib\n");
    assert_eq!(result(&run, "TASK-2")["status"], "error");
    assert_eq!(
        stdout("TASK-2"),
        "lib\n",
        "src is readable, the home is not"
    );
    assert!(reason(&run, "TASK-2").contains("denied by the sandbox (read: src)"));
    assert_eq!(result(&run, "TASK-3")["status"], "error");
    assert_eq!(stdout("TASK-3"), "");
    assert!(
        reason(&run, "TASK-3").contains("denied by the sandbox (write: out; read: /)"),
        "{}",
        reason(&run, "TASK-3")
    );
}

#[test]
fn run_json_records_the_rules_and_check_shows_them_with_the_abi() {
    if !have(4) {
        return;
    }
    let s = Sandboxed::new(
        "## Q\n- `TASK-1` own\n- `TASK-2` default\n- `TASK-3` preset\n",
        r#"{
            "TASK-1": {"commands": [{"cmd": ["true"]}], "sandbox": {"write": ["target", "out"], "net": "none"}},
            "TASK-2": {"commands": [{"cmd": ["true"]}]},
            "TASK-3": {"commands": [{"cmd": ["true"]}], "sandbox": "cargo"}
        }"#,
    );
    s.ws.file("config/manifest.json", r#"{"sandbox": {"net": "none"}}"#);
    let check = s.tek(&["check"]).expect_code(0);
    let abi = landlock_abi();
    let text = check.stderr() + &check.stdout();
    assert!(
        text.contains(&format!("this kernel has Landlock ABI {abi}")),
        "{text}"
    );
    assert!(
        text.contains("TASK-1: write: target, out; net: none"),
        "{text}"
    );
    assert!(text.contains("TASK-2: net: none"), "{text}");
    assert!(
        text.contains("TASK-3: \"cargo\" (write: $CARGO_TARGET_DIR"),
        "{text}"
    );

    s.tek(&["run"]).expect_code(0);
    let run = run_json(&s.ws);
    assert_eq!(
        result(&run, "TASK-1")["sandbox"],
        serde_json::json!({"write": ["target", "out"], "net": "none", "landlock_abi": abi})
    );
    assert_eq!(
        result(&run, "TASK-2")["sandbox"],
        serde_json::json!({"net": "none", "landlock_abi": abi}),
        "manifest.json's default"
    );
    assert_eq!(result(&run, "TASK-3")["sandbox"]["preset"], "cargo");
}

#[test]
fn an_unknown_sandbox_key_or_loopback_is_a_hooks_json_error_at_its_line() {
    for (sandbox, says) in [
        (
            r#"{"write": ["out"], "wirte": []}"#,
            "unknown field `wirte`",
        ),
        (r#"{"net": "loopback"}"#, "by port, not by address"),
    ] {
        let s = Sandboxed::new(
            "## Q\n- `TASK-1` one\n",
            &format!(
                "{{\n  \"TASK-1\": {{\n    \"commands\": [{{\"cmd\": [\"true\"]}}],\n    \"sandbox\": {sandbox}\n  }}\n}}\n"
            ),
        );
        let out = s.tek(&["check"]).expect_code(1);
        let text = out.stderr();
        assert!(text.contains(says), "{text}");
        assert!(text.contains("config/hooks.json:4:"), "{text}");
    }
}

#[test]
fn the_cargo_preset_builds_offline_and_hides_cargo_credentials() {
    if !have(4) {
        return;
    }
    let ws = Workspace::new();
    ws.file(
        "sot.md",
        "## Q\n- `TASK-1` build\n- `TASK-2` token\n- `TASK-3` source\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{
            "TASK-1": {"commands": [{"cmd": ["cargo", "build", "--offline", "--quiet"]}], "sandbox": "cargo"},
            "TASK-2": {"commands": [{"shell": "cat \"$CARGO_HOME/credentials.toml\""}], "sandbox": "cargo"},
            "TASK-3": {"commands": [{"cmd": ["touch", "src/evil"]}], "sandbox": "cargo"}
        }"#,
    );
    // The lock file exists, as in CI: the preset may rewrite it, not create it.
    let lock = std::process::Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(ws.path())
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .unwrap();
    assert!(lock.success());
    let tmp = tempfile::tempdir().unwrap();
    let cargo_home = tempfile::tempdir().unwrap();
    std::fs::write(
        cargo_home.path().join("credentials.toml"),
        "token = \"s3cr3t\"\n",
    )
    .unwrap();
    // Where the toolchain is, with a CARGO_HOME of its own: rustup's, or cargo's own
    // directory.
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".rustup").into_os_string());
    ws.tek(&["run", "--max-workers", "1"])
        .env("TMPDIR", tmp.path())
        .env("CARGO_HOME", cargo_home.path())
        .env("RUSTUP_HOME", rustup_home)
        .output()
        .expect_code(2);
    let run = run_json(&ws);
    assert_eq!(result(&run, "TASK-1")["status"], "ok", "{run}");
    assert!(ws.join("target/debug/libdemo.rlib").is_file());
    assert_eq!(result(&run, "TASK-2")["status"], "error");
    assert!(reason(&run, "TASK-2").contains("denied by the sandbox"));
    assert_eq!(result(&run, "TASK-3")["status"], "error");
    assert!(!ws.join("src/evil").exists());
}

/// A checkout under `/tmp` (a newcomer's first try, and every test workspace here): a
/// writable `$TMPDIR` would make the workspace writable, so a sandboxed command gets a
/// private one in its log directory instead, and the rules still hold.
#[test]
fn a_workspace_under_tmpdir_gets_a_private_tmpdir() {
    if !have(3) {
        return;
    }
    let ws = Workspace::new();
    let tmp = std::fs::canonicalize(std::env::temp_dir()).unwrap();
    assert!(
        std::fs::canonicalize(ws.path()).unwrap().starts_with(&tmp),
        "the test's workspace is under the temporary directory"
    );
    ws.file("sot.md", "## Q\n- `TASK-1` writes\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-1": {"sandbox": {"write": ["out"]}, "commands": [{"shell": "echo t > \"$TMPDIR/t\" && touch out/ok && printf %s \"$TMPDIR\" > out/tmpdir && touch src/evil"}]}}"#,
    );
    std::fs::create_dir_all(ws.join("out")).unwrap();
    ws.tek(&["run"]).env("TMPDIR", &tmp).output().expect_code(2);
    let run = run_json(&ws);
    assert!(
        reason(&run, "TASK-1").contains("denied by the sandbox"),
        "{run}"
    );
    assert!(ws.join("out/ok").exists() && !ws.join("src/evil").exists());
    let private = std::fs::read_to_string(ws.join("out/tmpdir")).unwrap();
    assert!(
        private.starts_with(&ws.latest_run().display().to_string()),
        "{private}"
    );
    assert!(std::path::Path::new(&private).join("t").is_file());
}
