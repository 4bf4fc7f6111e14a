//! The vocabulary of faults: what the nemesis can do to a world, fully resolved (concrete nodes,
//! concrete links). Scenario files describe faults with some choices left to the seed; the
//! nemesis resolves them into these values, which are what the event log records.

use crate::ids::NodeId;
use crate::rng::Probability;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shapes of network partition (after Jepsen's nemesis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionKind {
    /// Two halves that cannot talk to each other.
    Halves,
    /// One node cut off from all others.
    Isolate,
    /// Two halves; messages from the first to the second are dropped, the other way passes.
    OneWay,
    /// Two halves joined only through one bridge node that sees both.
    Bridge,
    /// Nodes on a ring; each sees a majority, no two see the same majority.
    MajoritiesRing,
}

impl PartitionKind {
    pub const ALL: [PartitionKind; 5] = [
        PartitionKind::Halves,
        PartitionKind::Isolate,
        PartitionKind::OneWay,
        PartitionKind::Bridge,
        PartitionKind::MajoritiesRing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Halves => "halves",
            PartitionKind::Isolate => "isolate",
            PartitionKind::OneWay => "one-way",
            PartitionKind::Bridge => "bridge",
            PartitionKind::MajoritiesRing => "majorities-ring",
        }
    }
}

/// Which directed node-to-node links a network fault applies to; `None` = any.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LinkSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NodeId>,
}

impl LinkSelector {
    pub fn matches(&self, from: NodeId, to: NodeId) -> bool {
        self.from.is_none_or(|f| f == from) && self.to.is_none_or(|t| t == to)
    }
}

/// One fault, resolved and ready to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum FaultAction {
    /// Cut the listed directed links (`from` can no longer reach `to`).
    Partition {
        kind: PartitionKind,
        cut: Vec<(NodeId, NodeId)>,
    },
    /// Restore every link cut by partitions.
    Heal,
    NetLoss {
        probability: Probability,
        #[serde(flatten)]
        links: LinkSelector,
    },
    NetDuplicate {
        probability: Probability,
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// With `probability`, hold a message up to `delay_ms_max` extra (which also reorders).
    NetDelay {
        probability: Probability,
        delay_ms_max: u64,
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// Remove every loss/duplicate/delay rule.
    NetCalm,
    /// Power off: the process dies and unsynced writes are lost.
    Crash {
        node: NodeId,
    },
    /// Power on a crashed node: its software starts again from its durable state.
    Restart {
        node: NodeId,
    },
    /// Stop the process (SIGSTOP, a long GC pause): time and the network go on without it.
    Pause {
        node: NodeId,
    },
    Resume {
        node: NodeId,
    },
    /// Set the wall clock's error against true time.
    ClockOffset {
        node: NodeId,
        offset_ms: i64,
    },
    /// Set the clock's rate error.
    ClockDrift {
        node: NodeId,
        drift_ppm: i64,
    },
    /// Step the wall clock (negative = backwards).
    ClockJump {
        node: NodeId,
        delta_ms: i64,
    },
}

impl FaultAction {
    /// Stable kebab-case name, as in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Partition { .. } => "partition",
            FaultAction::Heal => "heal",
            FaultAction::NetLoss { .. } => "net-loss",
            FaultAction::NetDuplicate { .. } => "net-duplicate",
            FaultAction::NetDelay { .. } => "net-delay",
            FaultAction::NetCalm => "net-calm",
            FaultAction::Crash { .. } => "crash",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Pause { .. } => "pause",
            FaultAction::Resume { .. } => "resume",
            FaultAction::ClockOffset { .. } => "clock-offset",
            FaultAction::ClockDrift { .. } => "clock-drift",
            FaultAction::ClockJump { .. } => "clock-jump",
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Partition { kind, cut } => {
                write!(f, "partition {} ({} links cut)", kind.name(), cut.len())
            }
            FaultAction::NetLoss { probability, links } => {
                write!(
                    f,
                    "net-loss p={} {}",
                    probability.as_f64(),
                    DisplayLinks(links)
                )
            }
            FaultAction::NetDuplicate { probability, links } => {
                write!(
                    f,
                    "net-duplicate p={} {}",
                    probability.as_f64(),
                    DisplayLinks(links)
                )
            }
            FaultAction::NetDelay {
                probability,
                delay_ms_max,
                links,
            } => write!(
                f,
                "net-delay p={} up to {delay_ms_max}ms {}",
                probability.as_f64(),
                DisplayLinks(links)
            ),
            FaultAction::Crash { node }
            | FaultAction::Restart { node }
            | FaultAction::Pause { node }
            | FaultAction::Resume { node } => write!(f, "{} {node}", self.name()),
            FaultAction::ClockOffset { node, offset_ms } => {
                write!(f, "clock-offset {node} {offset_ms:+}ms")
            }
            FaultAction::ClockDrift { node, drift_ppm } => {
                write!(f, "clock-drift {node} {drift_ppm:+}ppm")
            }
            FaultAction::ClockJump { node, delta_ms } => {
                write!(f, "clock-jump {node} {delta_ms:+}ms")
            }
            FaultAction::Heal | FaultAction::NetCalm => f.write_str(self.name()),
        }
    }
}

struct DisplayLinks<'a>(&'a LinkSelector);

impl fmt::Display for DisplayLinks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |n: Option<NodeId>| n.map_or("*".to_string(), |n| n.to_string());
        write!(f, "{}->{}", side(self.0.from), side(self.0.to))
    }
}
