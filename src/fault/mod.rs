//! The vocabulary of faults: one type for everything the nemesis can do to a world.
//!
//! A [`Fault`] comes in two stages. In a scenario ([`Open`]) the node it hits may be left open,
//! to be drawn by the nemesis when the fault fires; once resolved ([`Resolved`]) every node and
//! link is concrete, and that is what the event log records. The names (`partition`,
//! `clock-jump`, ...) come from one place: serde's kebab-case renaming of [`FaultKind`], which
//! strum derives from [`Fault`] itself. What undoes a lasting fault is decided by one rule,
//! [`Fault::undo`].
//!
//! Adding a fault kind: its variant here (its name and parameters, serde's encoding of which is
//! both the event log's and the schedule file's), its row in [`decl`] (which parameters an entry
//! takes, which node it hits, whether a swarm draws it, its docs), its undo in [`Fault::undo`]
//! and its line in `Display` if it lasts, its draw in [`swarm`] if a swarm may draw it — then
//! its effect (`nemesis/apply.rs`, and the layer it acts on). Nothing else names the kinds'
//! parameters: the schedule parser, the shrinker's write-back and the docs table are read off
//! these.

pub mod decl;
pub mod schedule;
pub mod swarm;

use crate::ids::NodeId;
use crate::rng::Probability;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};
use strum::{EnumDiscriminants, IntoStaticStr, VariantArray};

/// Shapes of network partition (after Jepsen's nemesis).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
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
    /// Every shape, in declaration order.
    pub const ALL: &'static [PartitionKind] = PartitionKind::VARIANTS;

    /// Stable kebab-case name, as in scenario files.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The smallest cluster the shape needs.
    pub fn min_nodes(self) -> usize {
        match self {
            PartitionKind::Halves | PartitionKind::OneWay | PartitionKind::Isolate => 2,
            PartitionKind::Bridge => 3,
            PartitionKind::MajoritiesRing => 4,
        }
    }
}

/// Which directed node-to-node links a network fault applies to; `None` = any.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LinkSelector {
    /// Sending side; `None` = any node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NodeId>,
    /// Receiving side; `None` = any node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NodeId>,
}

impl LinkSelector {
    /// True when the directed link `from → to` is selected.
    pub fn matches(&self, from: NodeId, to: NodeId) -> bool {
        self.from.is_none_or(|f| f == from) && self.to.is_none_or(|t| t == to)
    }
}

/// How far a fault is resolved: what stands for "a node" and for "the links a partition cuts".
pub trait Stage: Debug + Clone + PartialEq + Eq + 'static {
    /// A node the fault hits.
    type Node: Debug + Clone + Copy + PartialEq + Eq + Serialize + DeserializeOwned;
    /// What a partition is given: a pivot node to start from, or the links it cut.
    type Cut: Debug + Clone + PartialEq + Eq + Serialize + DeserializeOwned;
}

/// A fault as a scenario writes it: `None` nodes are drawn by the nemesis when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {}

impl Stage for Open {
    type Node = Option<NodeId>;
    /// A pivot node (or none) to draw the shape around, or the exact links to cut.
    type Cut = OpenCut;
}

/// What a planned partition is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OpenCut {
    /// The shape is drawn when the partition fires, around the isolated or bridge node if the
    /// scenario names one.
    Pivot(Option<NodeId>),
    /// Exactly these directed links `(from, to)`, as the event log records a partition (a
    /// resolved partition written back as a schedule entry, e.g. by `faultlab shrink`). Draws
    /// nothing.
    Links(Vec<(NodeId, NodeId)>),
}

/// A fault ready to apply: concrete nodes and links, as the event log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {}

impl Stage for Resolved {
    type Node = NodeId;
    /// The directed links `(from, to)` cut.
    type Cut = Vec<(NodeId, NodeId)>;
}

/// One fault. `Fault<Open>` is what a scenario plans, `Fault` (resolved) what the nemesis did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(
    tag = "fault",
    rename_all = "kebab-case",
    bound(
        serialize = "S::Node: Serialize, S::Cut: Serialize",
        deserialize = "S::Node: DeserializeOwned, S::Cut: DeserializeOwned"
    )
)]
#[strum_discriminants(
    name(FaultKind),
    doc = "The kind of a fault, without its parameters: the one name table (serde kebab-case).",
    derive(
        Serialize,
        Deserialize,
        PartialOrd,
        Ord,
        Hash,
        IntoStaticStr,
        VariantArray
    ),
    serde(rename_all = "kebab-case"),
    strum(serialize_all = "kebab-case")
)]
pub enum Fault<S: Stage = Resolved> {
    /// Cut links (`from` can no longer reach `to`) in a shape.
    Partition {
        /// The shape.
        kind: PartitionKind,
        /// Open: the pivot node, if fixed. Resolved: the directed links cut.
        cut: S::Cut,
    },
    /// Restore links cut by partitions: every one, or only those of the partition it ends.
    Heal {
        /// The partition this heal undoes (it lasted its `duration_ms`); `None`: heal every
        /// partition. Overlapping partitions each end on their own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends: Option<Box<Fault<S>>>,
    },
    /// Drop messages on the selected links with a probability.
    NetLoss {
        /// Chance that one message is dropped.
        probability: Probability,
        /// The links affected.
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// Deliver messages on the selected links twice with a probability.
    NetDuplicate {
        /// Chance that one message is duplicated.
        probability: Probability,
        /// The links affected.
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// With `probability`, hold a message up to `delay_ms_max` extra (which also reorders).
    NetDelay {
        /// Chance that one message is delayed (a schedule entry may leave it out: always).
        #[serde(default = "always")]
        probability: Probability,
        /// Upper bound of the extra delay, drawn uniformly from 1 ms.
        delay_ms_max: u64,
        /// The links affected.
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// Remove loss/duplicate/delay rules: every one, or only the rule it ends.
    NetCalm {
        /// The rule this undoes (it lasted its `duration_ms`); `None`: remove every rule. A
        /// rule ending never takes other rules with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends: Option<Box<Fault<S>>>,
    },
    /// Power off: the process dies and unsynced writes are lost.
    Crash {
        /// The node.
        node: S::Node,
    },
    /// Power on a crashed node: its software starts again from its durable state.
    Restart {
        /// The node.
        node: S::Node,
    },
    /// Stop the process (SIGSTOP, a long GC pause): time and the network go on without it.
    Pause {
        /// The node.
        node: S::Node,
    },
    /// Continue a paused process.
    Resume {
        /// The node.
        node: S::Node,
    },
    /// Set the wall clock's error against true time.
    ClockOffset {
        /// The node.
        node: S::Node,
        /// The error, positive = ahead.
        offset_ms: i64,
    },
    /// Set the clock's rate error.
    ClockDrift {
        /// The node.
        node: S::Node,
        /// Parts per million; positive = fast.
        drift_ppm: i64,
    },
    /// Step the wall clock (negative = backwards).
    ClockJump {
        /// The node.
        node: S::Node,
        /// The step.
        delta_ms: i64,
    },
    /// While it lasts, a crash of the node keeps only a sector-aligned prefix of each file's
    /// unsynced writes (a torn write).
    DiskTornWrite {
        /// The node.
        node: S::Node,
    },
    /// Flip one bit of a file at rest on the node's disk.
    DiskCorrupt {
        /// The node.
        node: S::Node,
        /// The file; `None` in a scenario = drawn among the node's files when it fires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// The bit flipped (from the file's first byte); drawn when it fires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bit: Option<u64>,
    },
    /// While it lasts, the node's syncs fail (EIO) and drop the writes they were to persist.
    DiskFsyncFail {
        /// The node.
        node: S::Node,
    },
    /// While it lasts, the node's syncs report success and persist nothing ("lying fsync": a
    /// volatile write cache); a crash before an honest sync loses the writes.
    DiskLostSync {
        /// The node.
        node: S::Node,
    },
    /// While it lasts, writes on the node fail: no space left.
    DiskFull {
        /// The node.
        node: S::Node,
    },
    /// While it lasts, the node's syncs take `delay_ms` longer.
    DiskSlow {
        /// The node.
        node: S::Node,
        /// Extra time per sync.
        delay_ms: u64,
    },
    /// End disk rules: every one, or only the rule it ends.
    DiskCalm {
        /// The rule this undoes (it lasted its `duration_ms`); `None`: end every disk rule.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends: Option<Box<Fault<S>>>,
    },
    /// Flip a bit of messages in flight on the selected links with a probability (what UDP's
    /// own checksum misses now and then). The frame checksum catches it: the receiver drops
    /// the datagram, never decodes it into a wrong message. Declared last so that adding it
    /// left every other kind's place (and every digest) as it was.
    NetCorrupt {
        /// Chance that one message is corrupted.
        probability: Probability,
        /// The links affected.
        #[serde(flatten)]
        links: LinkSelector,
    },
    /// Correct the node's clock the way NTP steps one: its wall clock is set to true time
    /// (a step backwards for a clock that ran ahead) and its rate error to zero.
    ClockResync {
        /// The node.
        node: S::Node,
    },
}

/// A fault as a scenario plans it.
pub type FaultSpec = Fault<Open>;

fn always() -> Probability {
    Probability::ALWAYS
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [FaultKind] = FaultKind::VARIANTS;

    /// Stable kebab-case name, as in scenario files and the event log.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<S: Stage> Fault<S> {
    /// The kind of this fault.
    pub fn kind(&self) -> FaultKind {
        self.into()
    }

    /// Stable kebab-case name, as in scenario files.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The one fault this undo ends (a heal that ends one partition, a calm that ends one
    /// rule); `None` for a fault that is not such an undo, or that ends everything of its kind.
    pub fn ends(&self) -> Option<&Fault<S>> {
        match self {
            Fault::Heal { ends } | Fault::NetCalm { ends } | Fault::DiskCalm { ends } => {
                ends.as_deref()
            }
            _ => None,
        }
    }

    /// The fault that ends this one when it lasts for a while (a partition heals, a crashed
    /// node restarts, a paused one resumes, network rules calm down); `None` for instantaneous
    /// faults. The one rule for reverting, used by the planner and by the nemesis alike.
    pub fn undo(&self) -> Option<Fault<S>> {
        let ends = Some(Box::new(self.clone()));
        match self {
            Fault::Partition { .. } => Some(Fault::Heal { ends }),
            Fault::NetLoss { .. }
            | Fault::NetDuplicate { .. }
            | Fault::NetDelay { .. }
            | Fault::NetCorrupt { .. } => Some(Fault::NetCalm { ends }),
            Fault::Crash { node } => Some(Fault::Restart { node: *node }),
            Fault::Pause { node } => Some(Fault::Resume { node: *node }),
            Fault::DiskTornWrite { .. }
            | Fault::DiskFsyncFail { .. }
            | Fault::DiskLostSync { .. }
            | Fault::DiskFull { .. }
            | Fault::DiskSlow { .. } => Some(Fault::DiskCalm { ends }),
            Fault::DiskCorrupt { .. } | Fault::DiskCalm { .. } => None,
            Fault::Heal { .. }
            | Fault::NetCalm { .. }
            | Fault::Restart { .. }
            | Fault::Resume { .. }
            | Fault::ClockOffset { .. }
            | Fault::ClockDrift { .. }
            | Fault::ClockJump { .. }
            | Fault::ClockResync { .. } => None,
        }
    }
}

impl Fault<Open> {
    /// The node the scenario names for this fault, if any (its `node` parameter).
    pub fn node(&self) -> Option<NodeId> {
        let value = serde_json::to_value(self).ok()?;
        serde_json::from_value(value.get("node")?.clone()).ok()
    }

    /// The fault with its node made concrete: serde's encoding of the planned fault with `node`
    /// set, read back as a resolved one — one rule for every kind whose only open choice is its
    /// node (a partition's links and a corruption's file and bit are drawn by the nemesis).
    pub fn resolved_with(&self, node: Option<NodeId>) -> Result<Fault<Resolved>, String> {
        let mut value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let (Some(node), Some(map)) = (node, value.as_object_mut()) {
            map.insert("node".into(), serde_json::json!(node));
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

impl fmt::Display for Fault<Resolved> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { kind, cut } => {
                write!(f, "partition {} ({} links cut)", kind.name(), cut.len())
            }
            Fault::NetLoss { probability, links }
            | Fault::NetDuplicate { probability, links }
            | Fault::NetCorrupt { probability, links } => {
                write!(
                    f,
                    "{} p={} {}",
                    self.name(),
                    probability.as_f64(),
                    DisplayLinks(links)
                )
            }
            Fault::NetDelay {
                probability,
                delay_ms_max,
                links,
            } => write!(
                f,
                "net-delay p={} up to {delay_ms_max}ms {}",
                probability.as_f64(),
                DisplayLinks(links)
            ),
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node } => write!(f, "{} {node}", self.name()),
            Fault::ClockOffset { node, offset_ms } => {
                write!(f, "clock-offset {node} {offset_ms:+}ms")
            }
            Fault::ClockDrift { node, drift_ppm } => {
                write!(f, "clock-drift {node} {drift_ppm:+}ppm")
            }
            Fault::ClockJump { node, delta_ms } => {
                write!(f, "clock-jump {node} {delta_ms:+}ms")
            }
            Fault::ClockResync { node } => write!(f, "clock-resync {node}"),
            Fault::DiskTornWrite { node }
            | Fault::DiskFsyncFail { node }
            | Fault::DiskLostSync { node }
            | Fault::DiskFull { node } => write!(f, "{} {node}", self.name()),
            Fault::DiskSlow { node, delay_ms } => write!(f, "disk-slow {node} +{delay_ms}ms"),
            Fault::DiskCorrupt { node, file, bit } => write!(
                f,
                "disk-corrupt {node} {} bit {}",
                file.as_deref().unwrap_or("?"),
                bit.map_or("?".to_string(), |b| b.to_string())
            ),
            Fault::Heal { ends: None }
            | Fault::NetCalm { ends: None }
            | Fault::DiskCalm { ends: None } => f.write_str(self.name()),
            Fault::Heal { ends: Some(what) }
            | Fault::NetCalm { ends: Some(what) }
            | Fault::DiskCalm { ends: Some(what) } => {
                write!(f, "{} (ends {what})", self.name())
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_name_table() {
        for &kind in FaultKind::ALL {
            let json = serde_json::to_value(kind).ok();
            assert_eq!(json, Some(serde_json::json!(kind.name())), "{kind:?}");
        }
        let crash: Fault = Fault::Crash { node: NodeId(2) };
        let v = serde_json::to_value(&crash).ok();
        assert_eq!(v, Some(serde_json::json!({"fault": "crash", "node": 2})));
        for &kind in PartitionKind::ALL {
            let json = serde_json::to_value(kind).ok();
            assert_eq!(json, Some(serde_json::json!(kind.name())));
        }
    }

    #[test]
    fn the_event_log_encoding_is_stable() {
        // Pinned: every digest in `snapshots/` hashes these bytes.
        let p: Fault = Fault::Partition {
            kind: PartitionKind::OneWay,
            cut: vec![(NodeId(0), NodeId(1))],
        };
        let delay: Fault = Fault::NetDelay {
            probability: Probability::ALWAYS,
            delay_ms_max: 5,
            links: LinkSelector {
                from: Some(NodeId(1)),
                to: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&p).ok().as_deref(),
            Some(r#"{"fault":"partition","kind":"one-way","cut":[[0,1]]}"#)
        );
        assert_eq!(
            serde_json::to_string(&delay).ok().as_deref(),
            Some(r#"{"fault":"net-delay","probability":1.0,"delay_ms_max":5,"from":1}"#)
        );
    }

    #[test]
    fn lasting_faults_take_the_parameter_that_ends_them() {
        use rand::SeedableRng;
        let kinds: Vec<String> = FaultKind::ALL
            .iter()
            .filter(|k| k.drawable())
            .map(|k| format!("\"{k}\""))
            .collect();
        let swarm: swarm::RandomFaults =
            toml::from_str(&format!("kinds = [{}]", kinds.join(", "))).expect("a swarm");
        let mut rng = crate::rng::DetRng::seed_from_u64(7);
        let mut seen = std::collections::BTreeSet::new();
        for &kind in FaultKind::ALL.iter().filter(|k| k.drawable()) {
            let fault = swarm.draw(kind, 5, &mut rng);
            assert_eq!(fault.kind(), kind);
            seen.insert(kind);
            let reverts = kind.duration_param().is_some();
            assert_eq!(fault.undo().is_some(), reverts, "{kind}");
            if let Some(undo) = fault.undo() {
                assert!(undo.undo().is_none(), "an undo of {kind} is final");
                assert!(
                    !undo.kind().drawable(),
                    "a swarm draws no undo ({})",
                    undo.kind()
                );
                assert_eq!(undo.kind().duration_param(), None);
                seen.insert(undo.kind());
            }
        }
        assert_eq!(
            seen.len(),
            FaultKind::ALL.len(),
            "every kind is drawable or an undo"
        );
    }
}
