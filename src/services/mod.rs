//! The services that run on nodes. Each is a sans-IO core (see `node::service`) plus a
//! workload that tells clients what to ask. Services never import the simulator, the nemesis
//! or the checkers.

pub mod idgen;
pub mod kv;
pub mod raft;
pub mod ring;

use crate::bugs::PlantedBug;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Snowflake-style unique ID generator.
    Idgen,
}

impl ServiceKind {
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Idgen => "idgen",
        }
    }

    /// The service a planted bug lives in.
    pub fn of_bug(bug: PlantedBug) -> ServiceKind {
        match bug {
            PlantedBug::IdgenClockRollback
            | PlantedBug::IdgenSequenceWrap
            | PlantedBug::IdgenRestartForgets => ServiceKind::Idgen,
        }
    }
}

/// A service's validated options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceConfig {
    Idgen(idgen::IdgenConfig),
}

impl ServiceConfig {
    pub fn kind(&self) -> ServiceKind {
        match self {
            ServiceConfig::Idgen(_) => ServiceKind::Idgen,
        }
    }
}
