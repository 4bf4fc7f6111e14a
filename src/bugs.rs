//! Planted bugs: classic mistakes each service can be switched into, to prove the harness
//! catches them. Off by default; chosen by name (`--bug NAME` or `bugs = [..]` in a scenario).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlantedBug {
    /// The ID generator does not guard against its wall clock going backwards.
    IdgenClockRollback,
    /// The ID generator's sequence wraps within one millisecond instead of waiting.
    IdgenSequenceWrap,
    /// The ID generator does not persist its timestamp high-water mark.
    IdgenRestartForgets,
}

impl PlantedBug {
    pub const ALL: [PlantedBug; 3] = [
        PlantedBug::IdgenClockRollback,
        PlantedBug::IdgenSequenceWrap,
        PlantedBug::IdgenRestartForgets,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::IdgenClockRollback => "idgen-clock-rollback",
            PlantedBug::IdgenSequenceWrap => "idgen-sequence-wrap",
            PlantedBug::IdgenRestartForgets => "idgen-restart-forgets",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            PlantedBug::IdgenClockRollback => "no guard when the wall clock steps backwards",
            PlantedBug::IdgenSequenceWrap => "sequence wraps within one millisecond",
            PlantedBug::IdgenRestartForgets => "timestamp high-water mark not persisted",
        }
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown planted bug {given:?}; known bugs: {known}")]
pub struct UnknownBug {
    pub given: String,
    pub known: String,
}

impl FromStr for PlantedBug {
    type Err = UnknownBug;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlantedBug::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownBug {
                given: s.to_string(),
                known: PlantedBug::ALL.map(PlantedBug::name).join(", "),
            })
    }
}

/// The bugs switched on for a run.
pub type BugSet = BTreeSet<PlantedBug>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in PlantedBug::ALL {
            assert_eq!(bug.name().parse::<PlantedBug>(), Ok(bug));
            let json = serde_json::to_string(&bug).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", bug.name()));
        }
        assert!("idgen-nope".parse::<PlantedBug>().is_err());
    }
}
