//! The services a program knows, by name: an open registry any crate can extend with
//! [`Registry::with`].

use super::erased::Plugin;
use super::{DynService, ServiceSpec};
use crate::bugs::{Bug, UnknownBug};
use crate::scenario::{Scenario, ScenarioError};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The services a program can run, in registration order. Cheap to clone.
///
/// ```ignore
/// let registry = faultlab::Registry::builtin().with::<MyService>();
/// let scenario = registry.load_scenario("fault-scenarios/my-swarm.toml".as_ref())?;
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    services: Vec<Arc<dyn DynService>>,
}

/// A service name nobody registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service {given:?} (known: {known})")]
pub struct UnknownService {
    /// What was asked for.
    pub given: String,
    /// Every registered service, comma-separated.
    pub known: String,
}

impl Registry {
    /// No services.
    pub fn new() -> Self {
        Registry::default()
    }

    /// This registry and service `S`.
    ///
    /// # Panics
    /// When a service of the same name is already registered, or one of `S`'s planted bugs is
    /// not named `<BUG_PREFIX>-...` or is already declared by another service: mistakes in the
    /// program's own setup, found on its first run.
    #[must_use]
    pub fn with<S: ServiceSpec>(mut self) -> Self {
        assert!(
            self.get(S::NAME).is_none(),
            "service {:?} is registered twice",
            S::NAME
        );
        for bug in S::BUGS {
            assert!(
                bug.name.starts_with(&format!("{}-", S::BUG_PREFIX)),
                "planted bug {bug} of service {} must be named {}-...",
                S::NAME,
                S::BUG_PREFIX
            );
            assert!(
                self.find_bug(bug.name).is_err(),
                "planted bug {bug} is declared twice"
            );
        }
        self.services.push(Plugin::<S>::erased());
        self
    }

    /// Every registered service, in registration order.
    pub fn services(&self) -> impl Iterator<Item = &Arc<dyn DynService>> {
        self.services.iter()
    }

    /// The service called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn DynService>> {
        self.services.iter().find(|s| s.name() == name)
    }

    /// The service called `name`, or an error listing the known ones.
    pub fn service(&self, name: &str) -> Result<&Arc<dyn DynService>, UnknownService> {
        self.get(name).ok_or_else(|| UnknownService {
            given: name.to_string(),
            known: self.names(),
        })
    }

    /// Every service name, comma-separated (for messages).
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.services.iter().map(|s| s.name()).collect();
        if names.is_empty() {
            "none registered".to_string()
        } else {
            names.join(", ")
        }
    }

    /// The service a planted bug belongs to, and the bug.
    pub fn find_bug(&self, name: &str) -> Result<(&Arc<dyn DynService>, Bug), UnknownBug> {
        self.services
            .iter()
            .flat_map(|s| s.bugs().iter().map(move |&b| (s, b)))
            .find(|(_, b)| b.name == name)
            .ok_or_else(|| UnknownBug {
                given: name.to_string(),
                known: self
                    .all_bugs()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every planted bug of every service.
    pub fn all_bugs(&self) -> impl Iterator<Item = Bug> + '_ {
        self.services.iter().flat_map(|s| s.bugs().iter().copied())
    }

    /// Reads and validates a scenario file of one of these services.
    pub fn load_scenario(&self, path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load(path, self)
    }

    /// Parses and validates scenario text; `source` names it in errors and replay commands,
    /// `default_name` is its name when it gives none.
    pub fn parse_scenario(
        &self,
        text: &str,
        source: &str,
        default_name: Option<&str>,
    ) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, source, default_name, self)
    }

    /// A registry of just `service` (what re-reading a scenario derived from another needs).
    pub fn of(service: &Arc<dyn DynService>) -> Self {
        Registry {
            services: vec![service.clone()],
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.services.iter().map(|s| s.name()))
            .finish()
    }
}
