//! Tasks whose own definition changed since the base: their hooks.json entry or their
//! line in sot.md.

use std::collections::HashMap;
use std::path::Path;

use super::decide::Inputs;
use super::git::Repo;
use super::paths::{Classified, SpecialFiles};
use crate::config::Hooks;
use crate::source::SourceFile;

/// hooks.json as the base has it, or `None` when it was absent or cannot be read there.
pub(super) fn hooks_at(
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    files: &SpecialFiles,
) -> Option<Hooks> {
    let rel = files.hooks.as_ref()?;
    let bytes = repo.show(merge_base, &prefix.join(rel).to_string_lossy())?;
    let src = SourceFile::from_bytes(rel.clone(), bytes).ok()?;
    Hooks::load(src).ok()
}

/// Tasks whose own definition changed: their effective hooks.json entry, or their line
/// in sot.md (title, done mark, dependencies, queue). A file that cannot be read at the
/// base counts as a change to every task it defines.
pub(super) fn redefined(
    inputs: &Inputs<'_>,
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    files: &SpecialFiles,
    classified: &Classified,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let at_base = |rel: &Option<String>| -> Option<Vec<u8>> {
        let rel = rel.as_ref()?;
        repo.show(merge_base, &prefix.join(rel).to_string_lossy())
    };
    if classified.hooks_changed {
        let name = files.hooks.clone().unwrap_or_else(|| "hooks.json".into());
        let old = hooks_at(repo, merge_base, prefix, files);
        for (queue, task) in inputs.plan.tasks() {
            // A matrix's combination compares its own commands, values substituted.
            let now = crate::plan::hook_of(&task.id, &queue.name, inputs.hooks).0;
            let before = old
                .as_ref()
                .map(|h| crate::plan::hook_of(&task.id, &queue.name, h).0);
            if before != Some(now) {
                out.insert(task.id.clone(), format!("its entry in {name} changed"));
            }
        }
    }
    if classified.sot_changed {
        let name = files.sot.clone().unwrap_or_else(|| "sot.md".into());
        let old = at_base(&files.sot)
            .and_then(|b| SourceFile::from_bytes(name.clone(), b).ok())
            .and_then(|src| crate::sot::parse(&src, inputs.ids).ok());
        let before: HashMap<&str, (String, String, bool, Vec<String>)> = old
            .as_ref()
            .map(|doc| {
                doc.tasks()
                    .map(|(q, t)| {
                        (
                            t.id.as_str(),
                            (
                                q.name.clone(),
                                t.title.clone(),
                                t.done,
                                t.after.iter().map(|(a, _)| a.clone()).collect(),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (queue, task) in inputs.plan.tasks() {
            let now = (
                queue.name.clone(),
                task.title.clone(),
                task.done,
                task.after.clone(),
            );
            if before.get(task.id.as_str()) != Some(&now) {
                out.entry(task.id.clone())
                    .or_insert_with(|| format!("its line in {name} changed"));
            }
        }
    }
    out
}
