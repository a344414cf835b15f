//! The result cache's remote store against a real self-hosted Turborepo remote cache
//! (`turborepo-remote-cache` from npm, installed by scripts/turbo-cache-server.sh):
//! one workspace's pass replays in another that shares nothing but the server; a bad
//! or missing signature is a miss with a warning; `--cache-read-only` writes nothing;
//! the token never reaches a task.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::cache::{hooks, setup_in, Cached};
use super::harness::{not_here, result};

const TOKEN: &str = "test-token-4c1e";

/// The server, killed when dropped.
struct Server {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The installed server's entry point, installing it (once for all tests) when it is
/// missing; `None` (after saying so) where npm cannot.
fn entry() -> Option<PathBuf> {
    static ENTRY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    ENTRY.get_or_init(install).clone()
}

fn install() -> Option<PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/turbo-cache-server.sh"))
        .output()
        .ok()?;
    if !out.status.success() {
        not_here(
            "turbo-cache",
            &format!(
                "turborepo-remote-cache could not be installed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
        return None;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A server; `keeps_tags`: it stores and serves `x-artifact-tag` (without, it drops
/// them, and every artifact it serves is unsigned).
fn start(keeps_tags: bool) -> Option<Server> {
    let entry = entry()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = tempfile::tempdir().unwrap();
    let mut command = Command::new("node");
    if keeps_tags {
        // The server keeps the tags only when it has a key of its own; it never checks
        // them: verifying is the reader's job.
        command.env("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "server-side");
    }
    let child = command
        .arg(entry)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("TURBO_TOKEN", TOKEN)
        .env("STORAGE_PROVIDER", "local")
        .env("STORAGE_PATH", store.path())
        .env("STORAGE_PATH_USE_TMP_FOLDER", "false")
        .env("LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => {
            not_here("turbo-cache", &format!("node could not start: {e}"));
            return None;
        }
    };
    let mut server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _store: store,
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the cache server did not start");
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the cache server exited at once ({status}): is its install whole?");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

impl Cached {
    /// A run against the remote store with the signing key `key` (none: unsigned).
    fn remote(&self, server: &Server, key: Option<&str>, more: &[&str]) -> String {
        let mut args = vec!["--cache-url", server.url.as_str()];
        args.extend(more);
        let mut env = vec![("CARGO_TEK_CACHE_TOKEN", TOKEN)];
        if let Some(key) = key {
            env.push(("CARGO_TEK_CACHE_SIGNATURE_KEY", key));
        }
        self.run_with(&args, &env)
    }
}

#[test]
fn a_signed_pass_replays_in_another_workspace_and_a_bad_signature_misses() {
    let Some(server) = start(true) else { return };
    let outside = Rc::new(tempfile::tempdir().unwrap());
    let first = setup_in(outside.clone());
    first.remote(&server, Some("key-1"), &[]);
    assert_eq!(first.runs("TASK-1"), 1);
    // The token is held by cargo-tek and never reaches a task's environment.
    let env = std::fs::read_to_string(format!("{}.env", first.count_file().display())).unwrap();
    assert!(!env.contains("CARGO_TEK_CACHE_TOKEN"), "{env}");
    assert!(!env.contains(TOKEN), "{env}");

    // Another checkout, its own runs directory: only the server is shared.
    let second = setup_in(outside.clone());
    let stderr = second.remote(&server, Some("key-1"), &[]);
    assert_eq!(
        second.runs("TASK-1"),
        1,
        "replayed from the server:\n{stderr}"
    );
    let task = result(&second.run_json(), "TASK-1").clone();
    assert_eq!(task["cached"]["store"], server.url.as_str(), "{task}");
    assert_eq!(task["cached"]["run"], first.run_json()["run_id"]);

    // Signed with another key: not trusted.
    let third = setup_in(outside.clone());
    let stderr = third.remote(&server, Some("key-2"), &[]);
    assert_eq!(third.runs("TASK-1"), 2, "{stderr}");
    assert!(stderr.contains("does not verify"), "{stderr}");
}

#[test]
fn an_unsigned_artifact_misses_and_read_only_writes_nothing() {
    // This server drops the tags: what it serves is unsigned, whoever wrote it.
    let Some(server) = start(false) else { return };
    let outside = Rc::new(tempfile::tempdir().unwrap());
    let unsigned = setup_in(outside.clone());
    unsigned.remote(&server, Some("key-1"), &[]);
    let signed = setup_in(outside.clone());
    let stderr = signed.remote(&server, Some("key-1"), &[]);
    assert_eq!(signed.runs("TASK-1"), 2, "{stderr}");
    assert!(stderr.contains("is unsigned"), "{stderr}");
    // Without a key of its own, a reader takes what it gets.
    let trusting = setup_in(outside.clone());
    trusting.remote(&server, None, &[]);
    assert_eq!(trusting.runs("TASK-1"), 2);

    // Another command, so another key: a read-only run leaves the server without it.
    let count = unsigned.count_file();
    let reader = setup_in(outside.clone());
    reader
        .ws
        .file("config/hooks.json", hooks(&count, "; echo read-only"));
    reader.remote(&server, Some("key-1"), &["--cache-read-only"]);
    let later = setup_in(outside.clone());
    later
        .ws
        .file("config/hooks.json", hooks(&count, "; echo read-only"));
    let stderr = later.remote(&server, Some("key-1"), &[]);
    assert_eq!(later.runs("TASK-1"), 4, "nothing was written:\n{stderr}");
}
