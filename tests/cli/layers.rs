//! The house rules of `src/` (issue 18), checked on the source so that a shortcut
//! through a layer fails here, not in review: clap stays at the edge, the core never
//! prints, the bottom modules depend on nothing, and the planner and the evidence know
//! nothing of the runner, the agents, the reports or the commands. Test modules (from a
//! file's first `#[cfg(test)]` on) may use anything.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `crate::` paths a file uses outside its tests, with the file relative to src/.
fn uses() -> Vec<(String, Vec<String>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let word = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut out: Vec<(String, Vec<String>)> = files
        .iter()
        .filter(|f| {
            !f.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("_tests.rs")
        })
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Doc links name a module without depending on it.
            let code: String = text
                .split("\n#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let mut used: Vec<String> =
                word.captures_iter(&code).map(|c| c[1].to_owned()).collect();
            used.sort();
            used.dedup();
            let rel = f.strip_prefix(&src).unwrap().display().to_string();
            (rel, used)
        })
        .collect();
    out.sort();
    out
}

fn breaking(rule: impl Fn(&str, &str) -> bool) -> Vec<String> {
    uses()
        .into_iter()
        .flat_map(|(file, used)| {
            used.into_iter()
                .filter(|m| rule(&file, m))
                .map(|m| format!("{file} uses crate::{m}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn clap_stays_at_the_edge() {
    let bad = breaking(|file, m| {
        m == "cli" && !file.starts_with("commands/") && file != "cli.rs" && file != "lib.rs"
    });
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_core_never_prints() {
    let bad = breaking(|file, m| {
        m == "output" && !file.starts_with("commands/") && !file.starts_with("output/")
    });
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_bottom_modules_depend_on_nothing() {
    let bottom = ["text.rs", "source.rs", "redact.rs"];
    let bad = breaking(|file, m| bottom.contains(&file) && m != "text" && m != "source");
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn plans_and_evidence_know_nothing_above_them() {
    let low = ["plan/", "evidence/", "sot/", "config/"];
    let above = [
        "runner", "agent", "report", "commands", "output", "cli", "github",
    ];
    let bad = breaking(|file, m| low.iter().any(|l| file.starts_with(l)) && above.contains(&m));
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The top-level module a file of src/ belongs to: `plan` for `plan/build.rs`, `check`
/// for `check.rs`.
fn top(file: &str) -> &str {
    let first = file.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first)
}

/// Every top-level module reachable from `from` through `crate::` uses.
fn reachable<'a>(
    edges: &'a std::collections::BTreeMap<&'a str, std::collections::BTreeSet<String>>,
    from: &'a str,
) -> std::collections::BTreeSet<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![from];
    while let Some(m) = todo.pop() {
        for next in edges.get(m).into_iter().flatten() {
            if seen.insert(next.as_str()) {
                todo.push(next.as_str());
            }
        }
    }
    seen
}

/// The folders of src/ form floors: a module may use the ones below it, never one that
/// (through others) uses it back. A cycle is reported as the edges that close it, with
/// the file that adds each.
#[test]
fn no_import_cycle_between_top_level_modules() {
    let uses = uses();
    let mut edges: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> =
        Default::default();
    for (file, used) in &uses {
        let from = top(file);
        for m in used.iter().filter(|m| m.as_str() != from) {
            edges.entry(from).or_default().insert(m.clone());
        }
    }
    let mut cycles = Vec::new();
    for (file, used) in &uses {
        let from = top(file);
        for m in used.iter().filter(|m| m.as_str() != from) {
            if reachable(&edges, m).contains(from) {
                cycles.push(format!(
                    "{file} uses crate::{m}, which leads back to {from}"
                ));
            }
        }
    }
    assert!(cycles.is_empty(), "{cycles:#?}");
}

/// `pub(crate)` by default: an item is `pub` only where the binary (or the shard
/// bench) reaches it through lib.rs, so the compiler reports whatever is dead. A new
/// bare `pub` elsewhere fails here rather than quietly widening the library's API.
#[test]
fn items_are_pub_only_on_the_surface_the_binary_uses() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let item = regex::Regex::new(
        r"^\s*pub (fn|struct|enum|const|static|type|trait|mod|use|async|unsafe|[a-z_0-9]+\s*:)",
    )
    .unwrap();
    // The files lib.rs re-exports from (`entry`, `ExitCode`, `run_cli`, `shard_split`).
    let surface = [
        "lib.rs",
        "error.rs",
        "commands/mod.rs",
        "supervise/secrets.rs",
        "supervise/watchdog.rs",
        "plan/mod.rs",
        "plan/shard.rs",
    ];
    let mut wide = Vec::new();
    let (mut bare, mut narrow) = (0, 0);
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().display().to_string();
        for (n, line) in std::fs::read_to_string(f).unwrap().lines().enumerate() {
            if item.is_match(line) {
                bare += 1;
                if !surface.contains(&rel.as_str()) {
                    wide.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
                }
            } else if line.trim_start().starts_with("pub(crate) ")
                || line.trim_start().starts_with("pub(super) ")
            {
                narrow += 1;
            }
        }
    }
    assert!(
        wide.is_empty(),
        "`pub` outside the library's surface (use pub(crate)):\n{}",
        wide.join("\n")
    );
    assert!(narrow > bare * 10, "{bare} pub against {narrow} pub(crate)");
}
