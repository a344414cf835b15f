//! The plan's data model and its JSON shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::sot::Format;

/// Version of the plan JSON this build writes (`schema_version`). The predecessor's
/// `version` key is kept at 1 so its readers keep working.
pub(crate) const PLAN_SCHEMA_VERSION: u32 = 1;

/// An executable plan.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Plan {
    /// The predecessor's format version (always 1).
    pub(crate) version: u32,
    /// cargo-tek's plan schema version.
    #[serde(default)]
    pub(crate) schema_version: u32,
    /// The sot.md the plan came from.
    pub(crate) source: String,
    /// RFC 3339 timestamp.
    pub(crate) generated_at: String,
    /// Which sot.md grammar was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) format: Option<Format>,
    /// Queues in document order.
    pub(crate) queues: Vec<PlanQueue>,
    /// The split over CI jobs (`plan --shards N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shards: Option<super::sharding::ShardPlan>,
}

/// A queue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct PlanQueue {
    pub(crate) name: String,
    /// Queues that must finish first (from manifest.json).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) after: Vec<String>,
    /// Tasks run one at a time in document order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) serial: bool,
    pub(crate) tasks: Vec<PlanTask>,
}

/// A task.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct PlanTask {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) layer: String,
    /// Checked in sot.md: skipped unless `--include-done`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) done: bool,
    /// Task ids this one waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) after: Vec<String>,
    /// Line in sot.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<usize>,
    /// What it would run and why, as known when planned. Informational: `run` always
    /// re-resolves commands from hooks.json, so a plan file can never inject commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) runs: Option<Routing>,
    /// For a combination of a hook's matrix: the sot.md task it comes from (`after` and
    /// `run` name the base for all its combinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<String>,
    /// For a combination of a hook's matrix: its values, axes in hooks.json's order, then
    /// the variables `include` added. Informational, like `runs`: `run` reads the values
    /// from hooks.json by the task's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) matrix: Option<MatrixValues>,
    /// What the combination's known values resolved to (`{"toolchain": "1.70"}` for
    /// `toolchain=msrv`): the id keeps `msrv`, argv gets the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resolved: Option<MatrixValues>,
}

/// Matrix values in their order, written as a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MatrixValues(pub Vec<(String, String)>);

impl Serialize for MatrixValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for MatrixValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values;
        impl<'de> serde::de::Visitor<'de> for Values {
            type Value = MatrixValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of matrix values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MatrixValues, A::Error> {
                let mut values = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    values.push(entry);
                }
                Ok(MatrixValues(values))
            }
        }
        deserializer.deserialize_map(Values)
    }
}

impl JsonSchema for MatrixValues {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MatrixValues".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <std::collections::BTreeMap<String, String>>::json_schema(generator)
    }
}

/// Which agent runs a task, and which hook it uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Routing {
    pub(crate) agent: String,
    pub(crate) hook: HookSource,
    /// The argv of each command, for reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) commands: Vec<Vec<String>>,
    /// Where each command runs, relative to the workspace root; empty when every command
    /// runs at the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) cwds: Vec<String>,
    /// With manifest.json `compile_once`: the package whose test binaries this task runs
    /// after the one shared workspace test compile, instead of `commands`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) compile_once: Option<String>,
}

/// Where a task's commands come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum HookSource {
    /// The task's own entry in hooks.json.
    Task,
    /// Its queue's entry.
    Queue,
    /// No hook: the task is a `noop`.
    None,
}

impl Plan {
    /// Every task with its queue.
    pub(crate) fn tasks(&self) -> impl Iterator<Item = (&PlanQueue, &PlanTask)> {
        self.queues
            .iter()
            .flat_map(|q| q.tasks.iter().map(move |t| (q, t)))
    }

    /// The JSON Schema of the plan file.
    pub(crate) fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
    }
}

/// Small plans for tests of the graph and the scheduler.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Plan, PlanQueue, PlanTask};

    /// A task with dependencies.
    pub(crate) fn task(id: &str, after: &[&str]) -> PlanTask {
        PlanTask {
            id: id.into(),
            title: id.into(),
            layer: "x".into(),
            done: false,
            after: after.iter().map(|s| s.to_string()).collect(),
            line: None,
            runs: None,
            base: None,
            matrix: None,
            resolved: None,
        }
    }

    /// A queue of tasks.
    pub(crate) fn queue(name: &str, tasks: Vec<PlanTask>) -> PlanQueue {
        PlanQueue {
            name: name.into(),
            after: vec![],
            serial: false,
            tasks,
        }
    }

    /// A plan of queues.
    pub(crate) fn plan(queues: Vec<PlanQueue>) -> Plan {
        Plan {
            version: 1,
            schema_version: 1,
            source: "s".into(),
            generated_at: "t".into(),
            format: None,
            queues,
            shards: None,
        }
    }
}
