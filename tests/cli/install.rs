//! The action's install step (scripts/action/install.sh and cache-key.sh) against a
//! local HTTP server that serves release archives as GitHub's release downloads do:
//! a verified binary install, a checksum mismatch, a 404, a truncated download, and the
//! choices between a prebuilt binary and a source build.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TARGET: &str = "x86_64-unknown-linux-musl";
const VERSION: &str = "9.8.7";

fn script(name: &str) -> String {
    format!("{}/scripts/action/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn archive_name() -> String {
    format!("cargo-tek-v{VERSION}-{TARGET}.tar.gz")
}

/// A release archive laid out as the release workflow packs it, holding an executable
/// that answers `tek --version` like cargo-tek does.
fn release_archive(dir: &Path) -> Vec<u8> {
    let top = format!("cargo-tek-v{VERSION}-{TARGET}");
    let exe = dir.join(&top).join("cargo-tek");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::write(
        &exe,
        format!("#!/bin/sh\n[ \"$1 $2\" = \"tek --version\" ] && echo 'cargo-tek {VERSION}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("archive.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .arg(&top)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn sha256_hex(bytes: &[u8], dir: &Path) -> String {
    let file = dir.join("to-hash");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// The action's checkout: only the committed manifest matters for a binary install.
fn action_dir(dir: &Path, manifest: &str) -> PathBuf {
    let action = dir.join("action");
    std::fs::create_dir_all(action.join("release")).unwrap();
    std::fs::write(action.join("release/SHA256SUMS"), manifest).unwrap();
    action
}

struct Setup {
    tmp: tempfile::TempDir,
    server: MockServer,
    archive: Vec<u8>,
    action: PathBuf,
}

impl Setup {
    async fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let archive = release_archive(tmp.path());
        let sum = sha256_hex(&archive, tmp.path());
        let manifest = format!(
            "# pinned by the release workflow\n{sum}  {}\n{}  cargo-tek-v{VERSION}-aarch64-apple-darwin.tar.gz\n",
            archive_name(),
            "0".repeat(64)
        );
        let action = action_dir(tmp.path(), &manifest);
        let server = MockServer::start().await;
        Self {
            tmp,
            server,
            archive,
            action,
        }
    }

    async fn serve(&self, status: u16, body: Vec<u8>) {
        Mock::given(method("GET"))
            .and(path(format!("/v{VERSION}/{}", archive_name())))
            .respond_with(ResponseTemplate::new(status).set_body_bytes(body))
            .mount(&self.server)
            .await;
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(script(name))
            .env_remove("TEK_BIN")
            .env_remove("TEK_VERSION")
            .env_remove("TEK_FROM_SOURCE")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_ACTION_PATH")
            .env("TEK_SOURCE_DIR", &self.action)
            .env("TEK_INSTALL_ROOT", self.root())
            .env("TEK_DOWNLOAD_BASE", self.server.uri())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.tmp.path());
        cmd
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn installs_the_pinned_binary_after_checking_its_checksum() {
    let s = Setup::new().await;
    s.serve(200, s.archive.clone()).await;
    let out = s.script("install.sh").output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let bin = s.root().join("bin/cargo-tek");
    assert!(
        err.contains(&format!("output bin={}", bin.display())),
        "{err}"
    );
    assert!(err.contains("output how=binary"), "{err}");
    let version = Command::new(&bin)
        .args(["tek", "--version"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("cargo-tek {VERSION}")
    );
    // Nothing of the download is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(s.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cargo-tek-install"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checksum_mismatch_installs_nothing() {
    let s = Setup::new().await;
    let mut tampered = s.archive.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    s.serve(200, tampered).await;
    let out = s.script("install.sh").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("::error::checksum mismatch"), "{err}");
    assert!(!s.root().join("bin/cargo-tek").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_download_installs_nothing() {
    let s = Setup::new().await;
    let half = s.archive[..s.archive.len() / 2].to_vec();
    s.serve(200, half).await;
    let out = s.script("install.sh").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("::error::checksum mismatch"), "{err}");
    assert!(!s.root().join("bin").join("cargo-tek").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_release_is_an_error_with_the_way_out() {
    let s = Setup::new().await;
    s.serve(404, b"Not Found".to_vec()).await;
    let out = s.script("install.sh").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("::error::could not download"), "{err}");
    assert!(err.contains("install-from-source: true"), "{err}");
    assert!(!s.root().join("bin/cargo-tek").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_fails_fast() {
    let s = Setup::new().await;
    for name in ["cache-key.sh", "install.sh"] {
        let out = s.script(name).env("RUNNER_OS", "Windows").output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("::error::cargo-tek does not support Windows runners yet"),
            "{name}: {err}"
        );
    }
}

fn key_of(out: &Output) -> String {
    let err = stderr(out);
    assert!(out.status.success(), "{err}");
    err.lines()
        .find_map(|l| l.strip_prefix("output key="))
        .unwrap_or_else(|| panic!("no key in {err}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_key_names_what_is_installed() {
    let s = Setup::new().await;
    // The pinned version as a binary: the key carries the checksum's prefix.
    let pinned = key_of(&s.script("cache-key.sh").output().unwrap());
    let sum = sha256_hex(&s.archive, s.tmp.path());
    assert!(
        pinned.contains(&format!("-bin-v{VERSION}-{}", &sum[..16])),
        "{pinned}"
    );
    // Asking for the pinned version explicitly is the same install.
    let explicit = key_of(
        &s.script("cache-key.sh")
            .env("TEK_VERSION", VERSION)
            .output()
            .unwrap(),
    );
    assert_eq!(explicit, pinned);
    // Another exact version: built from crates.io.
    let other = key_of(
        &s.script("cache-key.sh")
            .env("TEK_VERSION", "1.2.3")
            .output()
            .unwrap(),
    );
    assert!(other.contains("-crates-v1.2.3"), "{other}");
    // A runner with no pinned binary, or install-from-source: the action's source.
    std::fs::write(s.action.join("Cargo.lock"), "# lock\n").unwrap();
    std::fs::write(s.action.join("Cargo.toml"), "[package]\n").unwrap();
    let arm = key_of(
        &s.script("cache-key.sh")
            .env("RUNNER_ARCH", "ARM")
            .output()
            .unwrap(),
    );
    assert!(arm.contains("-src-"), "{arm}");
    let forced = key_of(
        &s.script("cache-key.sh")
            .env("TEK_FROM_SOURCE", "true")
            .output()
            .unwrap(),
    );
    assert!(forced.contains("-src-"), "{forced}");
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_must_be_exact_and_the_manifest_well_formed() {
    let s = Setup::new().await;
    for range in ["^0.1", "~0.1.2", "0.1", "=0.1.0", "latest"] {
        let out = s
            .script("cache-key.sh")
            .env("TEK_VERSION", range)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{range}: {err}");
        assert!(err.contains("one exact version"), "{range}: {err}");
    }
    std::fs::write(
        s.action.join("release/SHA256SUMS"),
        format!("not-a-hash  {}\n", archive_name()),
    )
    .unwrap();
    let out = s.script("cache-key.sh").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("malformed line"), "{err}");
}
