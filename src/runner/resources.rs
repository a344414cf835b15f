//! Shared resources and their capacities: a task starts only when it can hold every
//! resource it claims (all at once, or none), and gives them back when it ends.
//!
//! A task that cannot get its resources does not take a worker: the scheduler parks it
//! and starts other ready work, so waiting is visible to the scheduler (and recorded as
//! the task's `wait_ms`) instead of hidden inside a running process that blocks on a
//! lock. Cargo target directories are one such resource with a capacity of 1 (cargo
//! takes an exclusive lock on them for a build), claimed automatically (see
//! [`super::claims`]); hooks.json `resources` names others, and manifest.json
//! `resources` sets their capacities.

use std::collections::HashMap;

/// One resource a task holds while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Resource {
    /// A name from hooks.json `resources`.
    Named(String),
    /// A cargo target directory (an absolute path), held by every cargo command that
    /// takes its build lock.
    CargoTarget(std::path::PathBuf),
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Named(name) => write!(f, "resource `{name}`"),
            Resource::CargoTarget(dir) => write!(f, "cargo target dir `{}`", dir.display()),
        }
    }
}

/// The holders of every resource in a run.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    /// Capacities of named resources; anything else has a capacity of 1.
    capacity: HashMap<String, usize>,
    held: HashMap<Resource, usize>,
}

impl Pool {
    /// A pool with manifest.json's capacities.
    pub(crate) fn new<'a>(capacities: impl IntoIterator<Item = (&'a str, usize)>) -> Self {
        Self {
            capacity: capacities
                .into_iter()
                .map(|(name, n)| (name.to_owned(), n.max(1)))
                .collect(),
            held: HashMap::new(),
        }
    }

    fn capacity(&self, resource: &Resource) -> usize {
        match resource {
            Resource::Named(name) => self.capacity.get(name).copied().unwrap_or(1),
            Resource::CargoTarget(_) => 1,
        }
    }

    /// The first of `claims` that is at capacity, if any.
    pub(crate) fn busy<'c>(&self, claims: &'c [Resource]) -> Option<&'c Resource> {
        claims
            .iter()
            .find(|r| self.held.get(*r).copied().unwrap_or(0) >= self.capacity(r))
    }

    /// Takes every one of `claims`, or none of them (then names the busy one). Taking
    /// all or nothing means two tasks can never each hold half of what the other needs.
    pub(crate) fn try_acquire<'c>(&mut self, claims: &'c [Resource]) -> Result<(), &'c Resource> {
        if let Some(busy) = self.busy(claims) {
            return Err(busy);
        }
        for resource in claims {
            *self.held.entry(resource.clone()).or_insert(0) += 1;
        }
        Ok(())
    }

    /// Gives back what [`Pool::try_acquire`] took.
    pub(crate) fn release(&mut self, claims: &[Resource]) {
        for resource in claims {
            if let Some(n) = self.held.get_mut(resource) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.held.remove(resource);
                }
            }
        }
    }

    /// Whether nothing is held (then every claim can be granted).
    pub(crate) fn is_idle(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Resource {
        Resource::Named(name.into())
    }

    #[test]
    fn a_resource_admits_up_to_its_capacity() {
        let mut pool = Pool::new([("db", 2)]);
        let db = [named("db")];
        assert!(pool.try_acquire(&db).is_ok());
        assert!(pool.try_acquire(&db).is_ok());
        assert_eq!(pool.try_acquire(&db), Err(&db[0]));
        pool.release(&db);
        assert!(pool.try_acquire(&db).is_ok());
    }

    #[test]
    fn unlisted_resources_and_target_dirs_are_exclusive() {
        let mut pool = Pool::new([]);
        let target = [Resource::CargoTarget("/w/target".into())];
        assert!(pool.try_acquire(&target).is_ok());
        assert!(pool.try_acquire(&target).is_err());
        assert!(pool
            .try_acquire(&[Resource::CargoTarget("/other/target".into())])
            .is_ok());
        assert!(pool.try_acquire(&[named("port")]).is_ok());
        assert!(pool.try_acquire(&[named("port")]).is_err());
    }

    #[test]
    fn claims_are_taken_all_or_nothing() {
        let mut pool = Pool::new([]);
        pool.try_acquire(&[named("b")]).unwrap();
        let both = [named("a"), named("b")];
        assert_eq!(pool.try_acquire(&both), Err(&both[1]));
        // `a` was not taken by the failed attempt.
        assert!(pool.try_acquire(&[named("a")]).is_ok());
        pool.release(&[named("a"), named("b")]);
        assert!(pool.is_idle());
    }
}
