//! The run's routing table: for every task the run starts, its agent, the hook it runs
//! (from hooks.json, a matrix combination's values substituted), the sandbox it runs in
//! and the resources it holds. Resolved once, when the run starts, from the plan's ids
//! and the config — never from the commands a plan file lists — and read by the
//! scheduler, compile once and the attempts.

use crate::config::{Hook, Hooks, Manifest, Sandbox};
use crate::plan::{Graph, Node, Plan, Routing};

use super::claims;
use super::resources::Resource;

/// How one task runs.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The agent, where the hook comes from, compile-once membership.
    pub(crate) routing: Routing,
    /// The configured hook, its sandbox decided (the hook's own, else the manifest's).
    pub(crate) hook: Option<Hook>,
    /// What the configured hook holds while it runs (see [`claims`]).
    pub(crate) claims: Vec<Resource>,
}

/// The routes of a run's selected tasks, by graph node.
pub(crate) struct Routes {
    by_node: Vec<Option<Route>>,
    /// manifest.json's default sandbox, for a hook the scheduler chose (compile once's
    /// test binaries) that names none of its own.
    default_sandbox: Option<Sandbox>,
}

impl Routes {
    pub(crate) fn new(
        (plan, graph): (&Plan, &Graph),
        (hooks, manifest): (&Hooks, &Manifest),
        selected: &[bool],
        context: &claims::Context,
    ) -> Self {
        let by_node = graph
            .nodes
            .iter()
            .zip(selected)
            .map(|(node, &selected)| match *node {
                Node::Task { queue, index } if selected => {
                    let (q, task) = (&plan.queues[queue], &plan.queues[queue].tasks[index]);
                    Some(route(&task.id, &q.name, hooks, manifest, context))
                }
                _ => None,
            })
            .collect();
        Self {
            by_node,
            default_sandbox: manifest.sandbox.clone(),
        }
    }

    /// The route of a selected task's node.
    ///
    /// # Panics
    /// When `node` is a queue gate or was not selected: the scheduler starts neither.
    pub(crate) fn of(&self, node: usize) -> &Route {
        self.by_node[node]
            .as_ref()
            .expect("only selected tasks are routed")
    }

    /// `hook` with the sandbox it runs in: its own, else the manifest's default.
    pub(crate) fn with_sandbox(&self, mut hook: Hook) -> Hook {
        if hook.sandbox.is_none() {
            hook.sandbox = self.default_sandbox.clone().map(Box::new);
        }
        hook
    }
}

fn route(
    id: &str,
    queue: &str,
    hooks: &Hooks,
    manifest: &Manifest,
    context: &claims::Context,
) -> Route {
    let hook = crate::plan::hook_of(id, queue, hooks)
        .0
        .map(std::borrow::Cow::into_owned);
    let claims = hook
        .as_ref()
        .map(|hook| claims::of_hook(hook, context))
        .unwrap_or_default();
    let hook = hook.map(|mut hook| {
        hook.sandbox = manifest.sandbox_of(&hook).cloned().map(Box::new);
        hook
    });
    Route {
        routing: crate::plan::route(id, queue, hooks, manifest),
        hook,
        claims,
    }
}

/// What the plan's tasks hold and need first, for the shard estimates: the claims each
/// task's hook makes (a cargo target directory named by its path relative to the
/// workspace, so every job of a matrix names it alike), the manifest's capacities, and
/// compile-once membership.
pub(crate) fn shard_costs(
    (plan, graph): (&Plan, &Graph),
    (hooks, manifest): (&Hooks, &Manifest),
    context: &claims::Context,
) -> crate::plan::sharding::Costs {
    let every = vec![true; graph.nodes.len()];
    let routes = Routes::new((plan, graph), (hooks, manifest), &every, context);
    let name = |resource: &Resource| match resource {
        Resource::Named(name) => name.clone(),
        Resource::CargoTarget(dir) => format!(
            "cargo target dir {}",
            dir.strip_prefix(&context.root).unwrap_or(dir).display()
        ),
    };
    let (claims, compiles) = routes
        .by_node
        .iter()
        .map(|route| match route {
            Some(route) => (
                route.claims.iter().map(name).collect(),
                route.routing.compile_once.is_some(),
            ),
            None => (Vec::new(), false),
        })
        .unzip();
    crate::plan::sharding::Costs {
        claims,
        capacity: manifest
            .resources
            .iter()
            .map(|(name, &n)| (name.to_owned(), n as u64))
            .collect(),
        compiles,
    }
}
