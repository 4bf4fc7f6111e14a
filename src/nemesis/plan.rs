//! The nemesis's plan: the fixed schedule plus the random swarm, drawn up front from the
//! nemesis seed so a run can print what it is going to do. Which node a fault hits is decided
//! when it fires (it depends on which nodes are up), also from the nemesis seed.

use crate::fault::{Fault, FaultSpec};
use crate::rng::DetRng;
use crate::scenario::Scenario;
use rand::Rng;
use std::collections::BTreeMap;

/// Something the nemesis will do at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// A fault from the scenario; `revert_after_ms` schedules its undo once it has fired.
    Fault {
        /// The fault, its node possibly still open.
        spec: FaultSpec,
        /// Undo it this long after it fired.
        revert_after_ms: Option<u64>,
        /// Drawn by the swarm (bounded by `down_nodes_max`), not scheduled.
        random: bool,
    },
    /// An undo, already resolved (heal, resume n, restart n, net-calm).
    Revert(Fault),
}

/// Time-ordered plan; entries at the same time keep insertion order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    entries: BTreeMap<(u64, u64), Planned>,
    next_seq: u64,
}

impl Plan {
    /// Adds an entry at `at_ms` (after the ones already there for that time).
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

    /// When the next entry is due, if any.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.entries.first_key_value().map(|(&(at, _), _)| at)
    }

    /// Entries left.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in time order.
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
            let spec = r.draw(kind, scenario.nodes, rng);
            let lasts = spec.undo().is_some();
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
