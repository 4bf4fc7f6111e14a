//! The random swarm (`[faults.random]`): its parameters, how it draws a fault of each kind, and
//! the checks on its parameters. A drawable kind's draw is here, next to the parameters it
//! reads; the plan (`nemesis/plan.rs`) only decides when.

use super::{Fault, FaultKind, FaultSpec, LinkSelector, OpenCut, PartitionKind};
use crate::clock::DRIFT_PPM_LIMIT;
use crate::rng::{DetRng, Probability};
use rand::Rng;
use serde::Deserialize;

/// `[faults.random]`: the swarm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    /// Fault kinds to draw from (only kinds that start something: not heal, net-calm,
    /// restart or resume).
    pub kinds: Vec<FaultKind>,
    /// Mean time between fault starts; intervals are uniform in [0, 2 × mean]. Default 1000.
    #[serde(default = "d_mean_interval_ms")]
    pub mean_interval_ms: u64,
    /// No random fault starts before this. Default 200.
    #[serde(default = "d_start_ms")]
    pub start_ms: u64,
    /// How long a partition, pause, network rule or crash lasts. Defaults 200 and 2000.
    #[serde(default = "d_fault_ms_min")]
    pub fault_ms_min: u64,
    /// See `fault_ms_min`.
    #[serde(default = "d_fault_ms_max")]
    pub fault_ms_max: u64,
    /// Partition shapes to draw from. Default: every shape the cluster size allows.
    #[serde(default)]
    pub partition_kinds: Vec<PartitionKind>,
    /// Defaults 0.2, 0.2, 0.5.
    #[serde(default = "d_p02")]
    pub loss_probability: Probability,
    /// Chance a message is duplicated while a net-duplicate rule lasts.
    #[serde(default = "d_p02")]
    pub duplicate_probability: Probability,
    /// Chance a message is delayed while a net-delay rule lasts.
    #[serde(default = "d_p05")]
    pub delay_probability: Probability,
    /// Chance a message is corrupted in flight while a net-corrupt rule lasts. Default 0.1.
    #[serde(default = "d_p01")]
    pub corrupt_probability: Probability,
    /// Default 50.
    #[serde(default = "d_delay_ms_max")]
    pub delay_ms_max: u64,
    /// Clock jumps are drawn uniformly from [min, max]. Defaults −2000 and 2000.
    #[serde(default = "d_jump_min")]
    pub clock_jump_ms_min: i64,
    /// See `clock_jump_ms_min`.
    #[serde(default = "d_jump_max")]
    pub clock_jump_ms_max: i64,
    /// |drift| and |offset| bounds. Defaults 100000 ppm and 1000 ms.
    #[serde(default = "d_drift")]
    pub drift_ppm_max: i64,
    /// |offset| bound (see `drift_ppm_max`).
    #[serde(default = "d_offset")]
    pub offset_ms_max: i64,
    /// At most this many nodes down or paused at once. Default: a minority, (nodes − 1) / 2.
    pub down_nodes_max: Option<u32>,
    /// A disk-slow rule adds a delay drawn uniformly from [1, this] to each sync. Default 200.
    #[serde(default = "d_disk_slow_ms_max")]
    pub disk_slow_ms_max: u64,
}

fn d_disk_slow_ms_max() -> u64 {
    200
}

fn d_mean_interval_ms() -> u64 {
    1000
}
fn d_start_ms() -> u64 {
    200
}
fn d_fault_ms_min() -> u64 {
    200
}
fn d_fault_ms_max() -> u64 {
    2000
}
fn d_p02() -> Probability {
    Probability::from_f64(0.2).unwrap_or(Probability::NEVER)
}
fn d_p01() -> Probability {
    Probability::from_f64(0.1).unwrap_or(Probability::NEVER)
}
fn d_p05() -> Probability {
    Probability::from_f64(0.5).unwrap_or(Probability::NEVER)
}
fn d_delay_ms_max() -> u64 {
    50
}
fn d_jump_min() -> i64 {
    -2000
}
fn d_jump_max() -> i64 {
    2000
}
fn d_drift() -> i64 {
    100_000
}
fn d_offset() -> i64 {
    1000
}

/// What is wrong with a swarm's parameters: the field (and index in a list), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmError {
    /// The parameter of `[faults.random]`.
    pub field: &'static str,
    /// The position in it, for a list.
    pub index: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl RandomFaults {
    /// A random fault of `kind` (a drawable kind: validation guarantees it) on a cluster of
    /// `nodes`; the node it hits is drawn when it fires.
    pub fn draw(&self, kind: FaultKind, nodes: u32, rng: &mut DetRng) -> FaultSpec {
        let r = self;
        let links = LinkSelector::default();
        let node = None;
        match kind {
            FaultKind::Partition => {
                let feasible: Vec<PartitionKind> = if r.partition_kinds.is_empty() {
                    PartitionKind::ALL
                        .iter()
                        .copied()
                        .filter(|k| nodes as usize >= k.min_nodes())
                        .collect()
                } else {
                    r.partition_kinds.clone()
                };
                // Validation guarantees at least two nodes for any partition kind listed; a
                // one-node cluster falls back to a no-op heal.
                match feasible.get(rng.random_range(0..feasible.len().max(1))) {
                    Some(&kind) => Fault::Partition {
                        kind,
                        cut: OpenCut::Pivot(None),
                    },
                    None => Fault::Heal { ends: None },
                }
            }
            FaultKind::NetLoss => Fault::NetLoss {
                probability: r.loss_probability,
                links,
            },
            FaultKind::NetDuplicate => Fault::NetDuplicate {
                probability: r.duplicate_probability,
                links,
            },
            FaultKind::NetCorrupt => Fault::NetCorrupt {
                probability: r.corrupt_probability,
                links,
            },
            FaultKind::NetDelay => Fault::NetDelay {
                probability: r.delay_probability,
                delay_ms_max: r.delay_ms_max,
                links,
            },
            FaultKind::Crash => Fault::Crash { node },
            FaultKind::Pause => Fault::Pause { node },
            FaultKind::ClockJump => Fault::ClockJump {
                node,
                delta_ms: rng.random_range(r.clock_jump_ms_min..=r.clock_jump_ms_max),
            },
            FaultKind::ClockDrift => Fault::ClockDrift {
                node,
                drift_ppm: rng.random_range(-r.drift_ppm_max..=r.drift_ppm_max),
            },
            FaultKind::ClockOffset => Fault::ClockOffset {
                node,
                offset_ms: rng.random_range(-r.offset_ms_max..=r.offset_ms_max),
            },
            FaultKind::ClockResync => Fault::ClockResync { node },
            FaultKind::DiskTornWrite => Fault::DiskTornWrite { node },
            FaultKind::DiskCorrupt => Fault::DiskCorrupt {
                node,
                file: None,
                bit: None,
            },
            FaultKind::DiskFsyncFail => Fault::DiskFsyncFail { node },
            FaultKind::DiskLostSync => Fault::DiskLostSync { node },
            FaultKind::DiskFull => Fault::DiskFull { node },
            FaultKind::DiskSlow => Fault::DiskSlow {
                node,
                delay_ms: rng.random_range(1..=r.disk_slow_ms_max.max(1)),
            },
            FaultKind::Heal
            | FaultKind::NetCalm
            | FaultKind::DiskCalm
            | FaultKind::Restart
            | FaultKind::Resume => {
                debug_assert!(!kind.drawable());
                Fault::Heal { ends: None }
            }
        }
    }

    /// The checks serde cannot express, for a cluster of `nodes`.
    pub fn check(&self, nodes: u32) -> Result<(), SwarmError> {
        let r = self;
        let fail = |field, index, message: String| {
            Err(SwarmError {
                field,
                index,
                message,
            })
        };
        if r.kinds.is_empty() {
            return fail("kinds", None, "must name at least one fault kind".into());
        }
        for (i, kind) in r.kinds.iter().enumerate() {
            if !kind.drawable() {
                let drawable: Vec<&str> = FaultKind::ALL
                    .iter()
                    .filter(|k| k.drawable())
                    .map(|k| k.name())
                    .collect();
                return fail(
                    "kinds",
                    Some(i),
                    format!(
                        "`{kind}` only undoes or targets other faults; a swarm draws from: {}",
                        drawable.join(", ")
                    ),
                );
            }
        }
        if r.mean_interval_ms < 1 {
            return fail("mean_interval_ms", None, "must be at least 1".into());
        }
        if r.fault_ms_min > r.fault_ms_max {
            let m = format!("{} exceeds fault_ms_max {}", r.fault_ms_min, r.fault_ms_max);
            return fail("fault_ms_min", None, m);
        }
        if r.clock_jump_ms_min > r.clock_jump_ms_max {
            let m = format!(
                "{} exceeds clock_jump_ms_max {}",
                r.clock_jump_ms_min, r.clock_jump_ms_max
            );
            return fail("clock_jump_ms_min", None, m);
        }
        if !(0..=DRIFT_PPM_LIMIT).contains(&r.drift_ppm_max) {
            let m = format!("must be 0..={DRIFT_PPM_LIMIT}, got {}", r.drift_ppm_max);
            return fail("drift_ppm_max", None, m);
        }
        if r.offset_ms_max < 0 {
            return fail("offset_ms_max", None, "must not be negative".into());
        }
        if r.delay_ms_max < 1 {
            return fail("delay_ms_max", None, "must be at least 1".into());
        }
        if !(1..=60_000).contains(&r.disk_slow_ms_max) {
            let m = format!("must be 1..=60000, got {}", r.disk_slow_ms_max);
            return fail("disk_slow_ms_max", None, m);
        }
        if let Some(max) = r.down_nodes_max
            && max >= nodes
        {
            let m = format!("{max} would allow the whole cluster (nodes = {nodes}) down at once");
            return fail("down_nodes_max", None, m);
        }
        for (i, kind) in r.partition_kinds.iter().enumerate() {
            let min = kind.min_nodes();
            if (nodes as usize) < min {
                let m = format!(
                    "`{}` needs at least {min} nodes, the scenario has {nodes}",
                    kind.name()
                );
                return fail("partition_kinds", Some(i), m);
            }
        }
        Ok(())
    }
}
