//! Agents by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Agent, CargoAgent, NoopAgent, ShellAgent};

/// The agents a run may use.
#[derive(Clone)]
pub(crate) struct Registry {
    agents: BTreeMap<&'static str, Arc<dyn Agent>>,
}

impl Registry {
    /// The built-in agents.
    pub(crate) fn builtin() -> Self {
        let mut registry = Self {
            agents: BTreeMap::new(),
        };
        registry.register(Arc::new(ShellAgent));
        registry.register(Arc::new(CargoAgent));
        registry.register(Arc::new(NoopAgent));
        registry
    }

    /// Adds (or replaces) an agent.
    pub(crate) fn register(&mut self, agent: Arc<dyn Agent>) {
        self.agents.insert(agent.name(), agent);
    }

    /// The agent called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn Agent>> {
        self.agents.get(name).cloned()
    }

    /// Registered names, for error messages.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.agents.keys().copied().collect()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.agents.keys()).finish()
    }
}
