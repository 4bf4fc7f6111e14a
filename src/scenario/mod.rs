//! Scenarios: what a run is made of (service, cluster size, workload, faults, expectations).
//! A scenario is data (a TOML file); the seed fixes everything else.

pub mod error;
pub mod file;
mod spans;
mod validate;

pub use error::ScenarioError;
pub use file::{DiskConfig, Expect, NetworkConfig, RandomFaults, RandomKind, WorkloadConfig};

use crate::bugs::BugSet;
use crate::fault::{LinkSelector, PartitionKind};
use crate::ids::NodeId;
use crate::rng::Probability;
use crate::services::ServiceConfig;
use std::path::Path;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Where it came from, for replay commands.
    pub source: String,
    pub service: ServiceConfig,
    pub nodes: u32,
    pub clients: u32,
    pub duration_ms: u64,
    pub liveness_ms: u64,
    pub bugs: BugSet,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    pub workload: WorkloadConfig,
    pub schedule: Vec<TimedFault>,
    pub random: Option<RandomFaults>,
    pub expect: Expect,
}

/// A fault as a scenario describes it: choices left open (`None`) are drawn by the nemesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultSpec {
    Partition {
        kind: PartitionKind,
        node: Option<NodeId>,
    },
    Heal,
    NetLoss {
        probability: Probability,
        links: LinkSelector,
    },
    NetDuplicate {
        probability: Probability,
        links: LinkSelector,
    },
    NetDelay {
        probability: Probability,
        delay_ms_max: u64,
        links: LinkSelector,
    },
    NetCalm,
    Crash {
        node: Option<NodeId>,
    },
    Restart {
        node: Option<NodeId>,
    },
    Pause {
        node: Option<NodeId>,
    },
    Resume {
        node: Option<NodeId>,
    },
    ClockOffset {
        node: Option<NodeId>,
        offset_ms: i64,
    },
    ClockDrift {
        node: Option<NodeId>,
        drift_ppm: i64,
    },
    ClockJump {
        node: Option<NodeId>,
        delta_ms: i64,
    },
}

/// A fault at a fixed time, optionally undone later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    pub at_ms: u64,
    pub spec: FaultSpec,
    /// Undo after this long: heal, resume, restart or net-calm, as fits the fault.
    pub revert_after_ms: Option<u64>,
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Self::parse(&text, &path.display().to_string(), stem.as_deref())
    }

    /// Parses and validates scenario text; `source` names it in errors.
    pub fn parse(
        text: &str,
        source: &str,
        default_name: Option<&str>,
    ) -> Result<Scenario, ScenarioError> {
        let raw = validate::deserialize(text, source)?;
        validate::validate(raw, text, source, default_name)
    }

    pub fn node_ids(&self) -> Vec<NodeId> {
        (0..self.nodes).map(NodeId).collect()
    }

    pub fn total_ms(&self) -> u64 {
        self.duration_ms.saturating_add(self.liveness_ms)
    }
}
