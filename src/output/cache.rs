//! `explain-cache`: a task's key, part by part, and what changed since its last stored
//! pass.

use std::fmt::Write;

use super::sanitize;
use crate::cache::{Explanation, FILE};

/// Files listed before "and N more" unless `--all`.
const FILES_SHOWN: usize = 20;

/// The explanation as text.
pub(crate) fn render_cache_explanation(e: &Explanation, all: bool) -> String {
    let mut out = String::new();
    let task = sanitize(&e.task);
    if let Some(why) = &e.never {
        let _ = writeln!(out, "{task}: never cached: {}", sanitize(why));
        return out;
    }
    let (Some(recipe), Some(key)) = (&e.recipe, &e.key) else {
        return out;
    };
    let verdict = if e.hit { "hit" } else { "miss" };
    let _ = writeln!(out, "{task}: {verdict} (key {})", &key.digest);
    match (&e.last, &e.changes) {
        (None, _) => {
            let _ = writeln!(out, "no pass of {task} is stored yet");
        }
        (Some(last), Some(changes)) if changes.is_empty() => {
            let _ = writeln!(
                out,
                "same key as its last stored pass (run {})",
                sanitize(&last.run)
            );
        }
        (Some(last), Some(changes)) => {
            let _ = writeln!(
                out,
                "changed since its last stored pass (run {}):",
                sanitize(&last.run)
            );
            for (word, parts) in [
                ("changed", &changes.changed),
                ("new", &changes.added),
                ("gone", &changes.removed),
            ] {
                for part in parts {
                    let _ = writeln!(out, "  {word:<8} {}", sanitize(part));
                }
            }
        }
        (Some(_), None) => {}
    }
    let _ = writeln!(out, "\nthe key's parts:");
    let _ = writeln!(out, "  covers      {}", sanitize(&recipe.covered));
    for command in &recipe.commands {
        let _ = writeln!(out, "  command     {}", sanitize(command));
    }
    let first_line = |s: &str| s.lines().next().unwrap_or("").to_owned();
    let _ = writeln!(
        out,
        "  rustc -vV   {}",
        sanitize(&first_line(&recipe.toolchain.rustc))
    );
    let _ = writeln!(
        out,
        "  cargo -V    {}",
        sanitize(&first_line(&recipe.toolchain.cargo))
    );
    let env: Vec<&str> = recipe.env.keys().map(String::as_str).collect();
    let _ = writeln!(
        out,
        "  env         {}",
        if env.is_empty() {
            "none of the allowlisted variables is set".to_owned()
        } else {
            sanitize(&env.join(", ")).into_owned()
        }
    );
    if !recipe.globs.is_empty() {
        let _ = writeln!(out, "  globs       {}", sanitize(&recipe.globs.join(", ")));
    }
    let files: Vec<&str> = key
        .parts
        .keys()
        .filter_map(|k| k.strip_prefix(FILE))
        .collect();
    let _ = writeln!(
        out,
        "  files       {}",
        super::count(files.len(), "file", "files")
    );
    let shown = if all { files.len() } else { FILES_SHOWN };
    for file in files.iter().take(shown) {
        let _ = writeln!(out, "    {}", sanitize(file));
    }
    if files.len() > shown {
        let _ = writeln!(
            out,
            "    ... and {} more (--all lists them)",
            files.len() - shown
        );
    }
    out
}
