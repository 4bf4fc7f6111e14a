//! Scenarios: what a run is made of (service, cluster size, workload, faults, expectations).
//! A scenario is data (a TOML file); the seed fixes everything else.

mod checker;
pub mod error;
pub mod file;
mod service_table;
mod spans;
mod validate;

pub use error::ScenarioError;
pub use file::{DiskConfig, NetworkConfig, RandomFaults, Randomize, WorkloadConfig};

use crate::bugs::BugSet;
use crate::counters::Counter;
use crate::fault::FaultSpec;
use crate::ids::NodeId;
use crate::plugin::{DynService, Registry, ServiceOptions, Shape};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (default: the file name without `.toml`).
    pub name: String,
    /// One line: what it is for.
    pub description: String,
    /// Where it came from, for replay commands.
    pub source: String,
    /// The service and its validated options (`[<service>]`).
    pub service: ServiceOptions,
    /// Cluster size.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
    /// The safety phase: faults are injected.
    pub duration_ms: u64,
    /// Then everything is healed and clients must make progress.
    pub liveness_ms: u64,
    /// Planted bugs the scenario switches on.
    pub bugs: BugSet,
    /// Planted bugs the scenario is built to catch (its negative tests).
    pub catches: BugSet,
    /// `[network]`.
    pub network: NetworkConfig,
    /// `[disk]`.
    pub disk: DiskConfig,
    /// `[workload]`.
    pub workload: WorkloadConfig,
    /// `[[faults.schedule]]`, in file order.
    pub schedule: Vec<TimedFault>,
    /// `[faults.random]`.
    pub random: Option<RandomFaults>,
    /// `[expect]`: minimum counts of observable effects.
    pub expect: BTreeMap<Counter, u64>,
    /// `[expect.notes]`: minimum counts of service notes (rare paths), judged over a sweep.
    pub expect_notes: BTreeMap<String, u64>,
    /// `[randomize]`.
    pub randomize: Randomize,
}

/// A fault at a fixed time, optionally undone later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    /// When it fires.
    pub at_ms: u64,
    /// What it is.
    pub spec: FaultSpec,
    /// Undo after this long ([`crate::fault::Fault::undo`]).
    pub revert_after_ms: Option<u64>,
}

impl Scenario {
    /// Reads and validates a scenario file of one of `registry`'s services.
    pub fn load(path: &Path, registry: &Registry) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Self::parse(
            &text,
            &path.display().to_string(),
            stem.as_deref(),
            registry,
        )
    }

    /// Parses and validates scenario text of one of `registry`'s services; `source` names it
    /// in errors.
    pub fn parse(
        text: &str,
        source: &str,
        default_name: Option<&str>,
        registry: &Registry,
    ) -> Result<Scenario, ScenarioError> {
        let raw = validate::deserialize(text, source, registry)?;
        validate::validate(raw, text, source, default_name, registry)
    }

    /// Parses text derived from this scenario (a shrink candidate, a written-back file): it
    /// may name only this scenario's service.
    pub fn reparse(
        &self,
        text: &str,
        source: &str,
        default_name: Option<&str>,
    ) -> Result<Scenario, ScenarioError> {
        Self::parse(text, source, default_name, &Registry::of(self.plugin()))
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> Vec<NodeId> {
        (0..self.nodes).map(NodeId).collect()
    }

    /// Safety plus liveness phase.
    pub fn total_ms(&self) -> u64 {
        self.duration_ms.saturating_add(self.liveness_ms)
    }

    /// The service the scenario runs.
    pub fn plugin(&self) -> &Arc<dyn DynService> {
        self.service.service()
    }

    /// Its name.
    pub fn service_name(&self) -> &'static str {
        self.service.name()
    }

    /// The cluster's shape.
    pub fn shape(&self) -> Shape {
        Shape {
            nodes: self.nodes,
            clients: self.clients,
        }
    }
}
