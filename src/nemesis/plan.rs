//! The nemesis's plan: the fixed schedule plus the random swarm, drawn up front from the
//! nemesis seed so a run can print what it is going to do. Which node a fault hits is decided
//! when it fires (it depends on which nodes are up), also from the nemesis seed.

use crate::fault::{FaultAction, LinkSelector, PartitionKind};
use crate::net::partition::min_nodes;
use crate::rng::DetRng;
use crate::scenario::{FaultSpec, RandomFaults, RandomKind, Scenario};
use rand::Rng;
use std::collections::BTreeMap;

/// Something the nemesis will do at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// A fault from the scenario; `revert_after_ms` schedules its undo once it has fired.
    Fault {
        spec: FaultSpec,
        revert_after_ms: Option<u64>,
        random: bool,
    },
    /// An undo, already resolved (heal, resume n, restart n, net-calm).
    Revert(FaultAction),
}

/// Time-ordered plan; entries at the same time keep insertion order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    entries: BTreeMap<(u64, u64), Planned>,
    next_seq: u64,
}

impl Plan {
    pub fn push(&mut self, at_ms: u64, p: Planned) {
        self.entries.insert((at_ms, self.next_seq), p);
        self.next_seq += 1;
    }

    /// Removes and returns the next entry due at or before `now_ms`.
    pub fn pop_due(&mut self, now_ms: u64) -> Option<(u64, Planned)> {
        let (&(at, seq), _) = self.entries.first_key_value()?;
        if at > now_ms {
            return None;
        }
        self.entries.remove(&(at, seq)).map(|p| (at, p))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Planned)> {
        self.entries.iter().map(|(&(at, _), p)| (at, p))
    }
}

/// Builds the plan for a scenario.
pub fn build_plan(scenario: &Scenario, rng: &mut DetRng) -> Plan {
    let mut plan = Plan::default();
    for tf in &scenario.schedule {
        plan.push(
            tf.at_ms,
            Planned::Fault {
                spec: tf.spec.clone(),
                revert_after_ms: tf.revert_after_ms,
                random: false,
            },
        );
    }
    if let Some(r) = &scenario.random {
        let mut t = r.start_ms;
        loop {
            t = t.saturating_add(rng.random_range(0..=r.mean_interval_ms.saturating_mul(2)));
            if t >= scenario.duration_ms {
                break;
            }
            let kind = r.kinds[rng.random_range(0..r.kinds.len())];
            let (spec, lasts) = random_spec(kind, r, scenario.nodes, rng);
            let revert_after_ms = lasts.then(|| rng.random_range(r.fault_ms_min..=r.fault_ms_max));
            plan.push(
                t,
                Planned::Fault {
                    spec,
                    revert_after_ms,
                    random: true,
                },
            );
        }
    }
    plan
}

/// A random fault of `kind`, and whether it is undone after a while.
fn random_spec(
    kind: RandomKind,
    r: &RandomFaults,
    nodes: u32,
    rng: &mut DetRng,
) -> (FaultSpec, bool) {
    let all = LinkSelector::default();
    match kind {
        RandomKind::Partition => {
            let feasible: Vec<PartitionKind> = if r.partition_kinds.is_empty() {
                PartitionKind::ALL
                    .into_iter()
                    .filter(|k| nodes as usize >= min_nodes(*k))
                    .collect()
            } else {
                r.partition_kinds.clone()
            };
            // Validation guarantees at least two nodes for any partition kind listed; a
            // one-node cluster falls back to a no-op heal.
            match feasible.get(rng.random_range(0..feasible.len().max(1))) {
                Some(&kind) => (FaultSpec::Partition { kind, node: None }, true),
                None => (FaultSpec::Heal, false),
            }
        }
        RandomKind::NetLoss => (
            FaultSpec::NetLoss {
                probability: r.loss_probability,
                links: all,
            },
            true,
        ),
        RandomKind::NetDuplicate => (
            FaultSpec::NetDuplicate {
                probability: r.duplicate_probability,
                links: all,
            },
            true,
        ),
        RandomKind::NetDelay => (
            FaultSpec::NetDelay {
                probability: r.delay_probability,
                delay_ms_max: r.delay_ms_max,
                links: all,
            },
            true,
        ),
        RandomKind::Crash => (FaultSpec::Crash { node: None }, true),
        RandomKind::Pause => (FaultSpec::Pause { node: None }, true),
        RandomKind::ClockJump => {
            let delta_ms = rng.random_range(r.clock_jump_ms_min..=r.clock_jump_ms_max);
            (
                FaultSpec::ClockJump {
                    node: None,
                    delta_ms,
                },
                false,
            )
        }
        RandomKind::ClockDrift => {
            let drift_ppm = rng.random_range(-r.drift_ppm_max..=r.drift_ppm_max);
            (
                FaultSpec::ClockDrift {
                    node: None,
                    drift_ppm,
                },
                false,
            )
        }
        RandomKind::ClockOffset => {
            let offset_ms = rng.random_range(-r.offset_ms_max..=r.offset_ms_max);
            (
                FaultSpec::ClockOffset {
                    node: None,
                    offset_ms,
                },
                false,
            )
        }
    }
}
