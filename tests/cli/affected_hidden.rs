//! `--affected` against changes that could hide themselves: a submodule bump that
//! `.gitmodules` tells git to ignore, a pull request that widens the ignore rules or the
//! covers that would skip it, a `.gitattributes` change, and a source reached through a
//! symlink. Real git repositories, real `cargo metadata`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::affected::{affected, commit, copy, corpus};
use super::harness::{git, Workspace};

fn edit(ws: &Workspace, rel: &str, text: &str) {
    let mut old = std::fs::read_to_string(ws.join(rel)).unwrap_or_default();
    old.push_str(text);
    ws.file(rel, old);
}

fn all() -> BTreeSet<String> {
    tasks(&(1..=23).collect::<Vec<_>>())
}

fn tasks(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|n| format!("TASK-{n:03}")).collect()
}

/// A git repository holding one file per entry, committed on `main`.
fn upstream(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "upstream"]);
    dir
}

/// Adds `url` as a submodule at `path`, with `ignore = all` in `.gitmodules`: git's
/// own diff then says nothing about it.
fn submodule(ws: &Workspace, url: &Path, path: &str) {
    let url = url.display().to_string();
    git(
        ws.path(),
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            &url,
            path,
        ],
    );
    git(
        ws.path(),
        &[
            "config",
            "-f",
            ".gitmodules",
            &format!("submodule.{path}.ignore"),
            "all",
        ],
    );
}

/// A new commit inside the submodule at `path`, recorded in the superproject (`git
/// add -f`: `ignore = all` hides it from a plain `git add -A`).
fn bump(ws: &Workspace, path: &str, rel: &str, text: &str) {
    let dir = ws.join(path);
    let file = dir.join(rel);
    let mut old = std::fs::read_to_string(&file).unwrap_or_default();
    old.push_str(text);
    std::fs::write(&file, old).unwrap();
    git(&dir, &["commit", "-qam", "bump"]);
    git(ws.path(), &["add", "-f", path]);
    git(ws.path(), &["commit", "-qm", "bump the submodule"]);
}

#[test]
fn a_submodule_bump_is_seen_whatever_gitmodules_says() {
    let lib = upstream(&[
        (
            "Cargo.toml",
            "[package]\nname = \"lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", "pub fn f() {}\n"),
    ]);
    let assets = upstream(&[("logo.txt", "logo\n")]);
    let ws = Workspace::new();
    std::fs::remove_dir_all(ws.join("src")).unwrap();
    ws.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"ext/lib\"]\nresolver = \"2\"\n",
    );
    ws.file(
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    ws.file("app/src/lib.rs", "");
    ws.file(
        "sot.md",
        "## Q\n- [ ] `TASK-001` app\n- [ ] `TASK-002` lib\n",
    );
    ws.file(
        "config/hooks.json",
        r#"{"TASK-001": {"commands": [{"cmd": ["cargo", "check", "-p", "app"]}]},
            "TASK-002": {"commands": [{"cmd": ["cargo", "check", "-p", "lib"]}]}}"#,
    );
    ws.file(".gitignore", "target/\n.tek/\n");
    git(ws.path(), &["init", "-q", "-b", "main"]);
    submodule(&ws, lib.path(), "ext/lib");
    submodule(&ws, assets.path(), "third_party/assets");
    let out = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(ws.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    commit(&ws);
    git(ws.path(), &["branch", "base"]);

    // A bump of the submodule that holds a crate affects that crate.
    bump(&ws, "ext/lib", "src/lib.rs", "pub fn g() {}\n");
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[2]), "{decision:#}");
    assert_eq!(decision["changed_paths"], serde_json::json!(["ext/lib"]));

    // A bump of a submodule no crate and no task claims could affect anything.
    git(ws.path(), &["branch", "-f", "base"]);
    bump(&ws, "third_party/assets", "logo.txt", "new\n");
    let out = ws
        .tek(&["affected", "base"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(out.contains("2 of 2 tasks run"), "{out}");
    assert!(
        out.contains("third_party/assets changed: no crate"),
        "{out}"
    );
}

#[test]
fn a_gitattributes_change_affects_everything() {
    let base = corpus();
    for rel in [".gitattributes", "crates/c05/.gitattributes"] {
        let ws = copy(&base);
        ws.file(rel, "*.rs text eol=crlf\n");
        commit(&ws);
        let (run, decision) = affected(&ws);
        assert_eq!(run, all(), "{rel}: {decision:#}");
        assert!(
            decision["everything"]["rule"]
                .as_str()
                .unwrap()
                .contains("checked-out bytes"),
            "{decision:#}"
        );
    }
}

#[test]
fn a_pull_request_cannot_widen_the_ignore_rules_that_judge_it() {
    // The attack: one commit adds `ignore = ["**"]` and breaks the core crate.
    let base = corpus();
    let ws = copy(&base);
    edit(
        &ws,
        "Cargo.toml",
        "\n[workspace.metadata.tek.affected]\nignore = [\"**\"]\n",
    );
    edit(
        &ws,
        "crates/c01/src/lib.rs",
        "compile_error!(\"broken\");\n",
    );
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, all(), "{decision:#}");
    let out = ws
        .tek(&["affected", "base", "--explain"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(
        out.contains("rules: [workspace.metadata.tek.affected] as of the base"),
        "{out}"
    );
    assert!(
        out.contains("the change edits them; they apply once it is merged"),
        "{out}"
    );

    // The base's own rules still judge the change: README.md is ignored at the base,
    // so a change to it alone runs nothing (not even the task covering `*.md`).
    let ws = copy(&base);
    edit(
        &ws,
        "Cargo.toml",
        "\n[workspace.metadata.tek.affected]\nignore = [\"*.md\"]\n",
    );
    commit(&ws);
    git(ws.path(), &["branch", "-f", "base"]);
    edit(&ws, "README.md", "more\n");
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, BTreeSet::new(), "{decision:#}");

    // But no glob hides cargo-tek's own files: `*.md` matches the root sot.md, and a
    // task the change edits there runs.
    let sot = std::fs::read_to_string(ws.join("sot.md")).unwrap();
    ws.file("sot.md", sot.replace("check c05\n", "check c05 twice\n"));
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[5]), "{decision:#}");
}

#[test]
fn a_single_package_cannot_ignore_its_own_breaking_change() {
    // `[package.metadata.tek]` is outside `[workspace]`: the root manifest rule alone
    // would not catch it.
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- [ ] `TASK-001` test\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-001": {"commands": [{"cmd": ["cargo", "test"]}]}}"#,
    );
    ws.file(".gitignore", "target/\n.tek/\nCargo.lock\n");
    git(ws.path(), &["init", "-q", "-b", "main"]);
    commit(&ws);
    git(ws.path(), &["branch", "base"]);
    edit(
        &ws,
        "Cargo.toml",
        "\n[package.metadata.tek.affected]\nignore = [\"**\"]\n",
    );
    edit(&ws, "src/lib.rs", "compile_error!(\"broken\");\n");
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[1]), "{decision:#}");
}

#[test]
fn a_source_reached_through_a_symlink_affects_the_crate_that_holds_the_link() {
    let base = corpus();
    // c06 reads a file of c07 and a directory of c08 through symlinks; it depends on
    // neither.
    std::os::unix::fs::symlink(
        "../../c07/src/lib.rs",
        base.join("crates/c06/src/shared.rs"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../c08/src", base.join("crates/c06/borrowed")).unwrap();
    commit(&base);
    git(base.path(), &["branch", "-f", "base"]);

    let ws = copy(&base);
    edit(&ws, "crates/c07/src/lib.rs", "pub fn more() {}\n");
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[6, 7, 22]), "{decision:#}");
    let out = ws
        .tek(&["affected", "base"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(
        out.contains(
            "run   TASK-006  crates/c07/src/lib.rs (through the symlink crates/c06/src/shared.rs) → c06"
        ),
        "{out}"
    );

    let ws = copy(&base);
    edit(&ws, "crates/c08/src/util.rs", "pub fn more() {}\n");
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[6, 8, 22]), "{decision:#}");

    // The link itself, retargeted, is a change inside the crate that holds it.
    let ws = copy(&base);
    std::fs::remove_file(ws.join("crates/c06/src/shared.rs")).unwrap();
    std::os::unix::fs::symlink("../../c09/src/lib.rs", ws.join("crates/c06/src/shared.rs"))
        .unwrap();
    let (run, decision) = affected(&ws);
    assert_eq!(run, tasks(&[6, 22]), "{decision:#}");
}

#[test]
fn a_pull_request_cannot_narrow_the_covers_that_judge_it() {
    let base = corpus();

    // A task's new `covers.paths` claiming a path nothing claimed at the base: the
    // path could affect anything, so everything runs, not only the claiming task.
    let ws = copy(&base);
    let hooks = std::fs::read_to_string(ws.join("config/hooks.json")).unwrap();
    ws.file(
        "config/hooks.json",
        hooks.replace("\"release/**\"", "\"release/**\", \"scripts/**\""),
    );
    ws.file("scripts/gen.sh", "exit 1\n");
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert_eq!(run, all(), "{decision:#}");

    // A queue hook's covers apply to the tasks whose own hook has none: narrowing them
    // changes what those tasks cover, so they run.
    let ws = copy(&base);
    let mut hooks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("config/hooks.json")).unwrap())
            .unwrap();
    hooks["Queue A — Checks"] = serde_json::json!({
        "commands": [{ "cmd": ["true"] }], "covers": { "crates": ["c01"] }
    });
    ws.file("config/hooks.json", hooks.to_string());
    commit(&ws);
    git(ws.path(), &["branch", "-f", "base"]);
    hooks["Queue A — Checks"]["covers"]["crates"] = serde_json::json!([]);
    ws.file("config/hooks.json", hooks.to_string());
    edit(
        &ws,
        "crates/c01/src/lib.rs",
        "compile_error!(\"broken\");\n",
    );
    commit(&ws);
    let (run, decision) = affected(&ws);
    assert!(
        tasks(&(1..=20).collect::<Vec<_>>()).is_subset(&run),
        "{decision:#}"
    );
}
