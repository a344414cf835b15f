//! hooks.json and manifest.json for the proposed gates, written with serde_json
//! (pretty, with a trailing newline) in the shapes `config::Hooks` and
//! `config::Manifest` read.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Queue;

#[derive(Serialize)]
struct Hook<'a> {
    commands: [Command<'a>; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    env: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Command<'a> {
    cmd: &'a [String],
    cwd: &'static str,
}

#[derive(Serialize)]
struct Manifest {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    compile_once: bool,
}

/// hooks.json: one hook per task, keyed by its id (ids sort in document order).
pub(crate) fn hooks_json(queues: &[Queue]) -> String {
    let hooks: BTreeMap<&str, Hook> = queues
        .iter()
        .flat_map(|q| &q.tasks)
        .map(|t| {
            (
                t.id.as_str(),
                Hook {
                    commands: [Command {
                        cmd: &t.cmd,
                        cwd: ".",
                    }],
                    env: &t.env,
                },
            )
        })
        .collect();
    pretty(&hooks)
}

/// manifest.json: compile once for the per-crate test tasks, when there are any.
pub(crate) fn manifest_json(queues: &[Queue]) -> String {
    let splits = queues
        .iter()
        .flat_map(|q| &q.tasks)
        .any(|t| t.cmd.get(1..3) == Some(&["test".to_owned(), "-p".to_owned()][..]));
    pretty(&Manifest {
        compile_once: splits,
    })
}

fn pretty(value: &impl Serialize) -> String {
    // Serializing these plain structs and maps of strings cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {

    use crate::config::{Hooks, Manifest};
    use crate::init::shape::Member;
    use crate::init::{gates, Shape};
    use crate::source::SourceFile;

    fn src(name: &str, text: &str) -> SourceFile {
        SourceFile::from_bytes(name.into(), text.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_config_loads_with_the_real_readers() {
        let shape = Shape {
            name: "solo".into(),
            members: vec![Member {
                name: "solo".into(),
                doctests: true,
            }],
        };
        let queues = gates(&shape);
        let hooks_text = super::hooks_json(&queues);
        assert!(hooks_text.ends_with("}\n"), "{hooks_text}");
        let hooks = Hooks::load(src("hooks.json", &hooks_text)).unwrap();
        assert_eq!(hooks.len(), 5);
        let tests = hooks.get("TASK-003").unwrap();
        assert_eq!(tests.commands[0].cmd, ["cargo", "test", "-p", "solo"]);
        assert_eq!(tests.commands[0].cwd(), ".");
        assert!(tests.env.is_empty());
        let docs = hooks.get("TASK-005").unwrap();
        assert_eq!(docs.env["RUSTDOCFLAGS"], "-D warnings");

        let manifest_text = super::manifest_json(&queues);
        assert_eq!(manifest_text, "{\n  \"compile_once\": true\n}\n");
        assert!(
            Manifest::load(&src("manifest.json", &manifest_text))
                .unwrap()
                .compile_once
        );
    }
}
