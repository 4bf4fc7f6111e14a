//! The coverage signal of one run: a set of 64-bit features, cheap to compute from what a run
//! already produces and the same in every process.
//!
//! - **Abstract states** the nodes reported ([`crate::node::sketch`]): where each protocol
//!   stood after each handler (Raft role × term gap × commit lag × …, a lock's holders ×
//!   waiters, …).
//! - **Rare paths under faults**: each service note paired with the kinds of fault active when
//!   it was made (a note on a crash-free run and the same note during a partition are two
//!   features).
//! - **Happens-before pairs**, after Mallory (CCS 2023): for each node, which message kind (or
//!   timer) it had last received when it sent each kind, and which kind of fault hit it last
//!   before each kind it received — counted and bucketed like AFL's hit counts, so "once" and
//!   "a storm of" are different features.

use crate::event::Event;
use crate::fault::{Fault, FaultKind};
use crate::ids::Addr;
use crate::node::sketch::bucket;
use crate::runner::RunOutcome;
use std::collections::{BTreeMap, BTreeSet};

/// A run's coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSignal {
    /// Every feature (states, notes under faults, happens-before pairs).
    pub features: BTreeSet<u64>,
    /// The abstract states alone ([`crate::node::sketch::Sketch::key`]), for the bench's
    /// "distinct states reached".
    pub states: BTreeSet<u64>,
}

const TAG_STATE: u64 = 1;
const TAG_NOTE: u64 = 2;
const TAG_RECV_SEND: u64 = 3;
const TAG_FAULT_RECV: u64 = 4;

/// What a node received last: a message kind, or a timer.
const TIMER: u32 = u32::MAX;
/// A node that received nothing yet (it just started).
const START: u32 = u32::MAX - 1;

/// The run's signal.
pub fn signal(o: &RunOutcome) -> RunSignal {
    let mut s = RunSignal::default();
    for &key in o.abstract_states.keys() {
        s.states.insert(key);
        s.features.insert(feature(TAG_STATE, &[key]));
    }
    walk_log(o, &mut s.features);
    s
}

/// Folds the log into note-under-fault and happens-before features.
fn walk_log(o: &RunOutcome, features: &mut BTreeSet<u64>) {
    let mut labels = Labels::default();
    // Message id → label index; ids are dense from 0, so a vector.
    let mut msg_label: Vec<u32> = Vec::new();
    let mut last_in: BTreeMap<Addr, u32> = BTreeMap::new();
    let mut last_fault: BTreeMap<Addr, FaultKind> = BTreeMap::new();
    let mut active = Active::default();
    let mut recv_send: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    let mut fault_recv: BTreeMap<(FaultKind, u32), u64> = BTreeMap::new();
    for r in o.log.records() {
        match &r.event {
            Event::Send {
                from,
                label,
                msg_id,
                ..
            } => {
                let l = labels.intern(label);
                let i = usize::try_from(*msg_id).unwrap_or(usize::MAX);
                if i < (1 << 28) {
                    if msg_label.len() <= i {
                        msg_label.resize(i + 1, START);
                    }
                    msg_label[i] = l;
                }
                let before = last_in.get(from).copied().unwrap_or(START);
                *recv_send.entry((before, l)).or_default() += 1;
            }
            Event::Deliver { to, msg_id, .. } => {
                let l = usize::try_from(*msg_id)
                    .ok()
                    .and_then(|i| msg_label.get(i).copied())
                    .unwrap_or(START);
                last_in.insert(*to, l);
                if let Some(kind) = last_fault.remove(to) {
                    *fault_recv.entry((kind, l)).or_default() += 1;
                }
            }
            Event::Timer { node, .. } => {
                last_in.insert(Addr::Node(*node), TIMER);
            }
            Event::Start { node, .. } => {
                last_in.insert(Addr::Node(*node), START);
            }
            Event::Fault { action } => {
                active.apply(action);
                if let Some(node) = node_of(action) {
                    last_fault.insert(node, action.kind());
                }
            }
            Event::HealAll => active = Active::default(),
            Event::Note { label, .. } => {
                let l = u64::from(labels.intern(label));
                features.insert(feature(TAG_NOTE, &[labels.hash(l), active.mask()]));
            }
            _ => {}
        }
    }
    for ((a, b), n) in recv_send {
        let (ha, hb) = (labels.hash(u64::from(a)), labels.hash(u64::from(b)));
        features.insert(feature(TAG_RECV_SEND, &[ha, hb, bucket(n) as u64]));
    }
    for ((kind, b), n) in fault_recv {
        let hb = labels.hash(u64::from(b));
        features.insert(feature(
            TAG_FAULT_RECV,
            &[kind as u64, hb, bucket(n) as u64],
        ));
    }
}

/// The node a fault hits, for faults aimed at one node.
fn node_of(f: &Fault) -> Option<Addr> {
    match f {
        Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::ClockOffset { node, .. }
        | Fault::ClockDrift { node, .. }
        | Fault::ClockJump { node, .. }
        | Fault::ClockResync { node }
        | Fault::DiskTornWrite { node }
        | Fault::DiskCorrupt { node, .. }
        | Fault::DiskFsyncFail { node }
        | Fault::DiskLostSync { node }
        | Fault::DiskFull { node }
        | Fault::DiskSlow { node, .. } => Some(Addr::Node(*node)),
        _ => None,
    }
}

/// Which kinds of lasting fault are in force (a count per kind: faults overlap).
#[derive(Debug, Default)]
struct Active {
    counts: BTreeMap<FaultKind, u32>,
}

impl Active {
    fn apply(&mut self, f: &Fault) {
        if let Some(ended) = f.ends() {
            if let Some(n) = self.counts.get_mut(&ended.kind()) {
                *n = n.saturating_sub(1);
            }
            return;
        }
        let clear: &[FaultKind] = match f {
            Fault::Heal { .. } => &[FaultKind::Partition],
            Fault::NetCalm { .. } => &[
                FaultKind::NetLoss,
                FaultKind::NetDuplicate,
                FaultKind::NetDelay,
                FaultKind::NetCorrupt,
            ],
            Fault::DiskCalm { .. } => &[
                FaultKind::DiskTornWrite,
                FaultKind::DiskFsyncFail,
                FaultKind::DiskLostSync,
                FaultKind::DiskFull,
                FaultKind::DiskSlow,
            ],
            Fault::Restart { .. } => &[FaultKind::Crash],
            Fault::Resume { .. } => &[FaultKind::Pause],
            _ => &[],
        };
        for kind in clear {
            // A restart or resume undoes one crash or pause; a calm or heal undoes them all.
            let one = matches!(f, Fault::Restart { .. } | Fault::Resume { .. });
            if let Some(n) = self.counts.get_mut(kind) {
                *n = if one { n.saturating_sub(1) } else { 0 };
            }
        }
        if f.undo().is_some() {
            *self.counts.entry(f.kind()).or_default() += 1;
        }
    }

    fn mask(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .fold(0, |m, (k, _)| m | (1u64 << ((*k as u32) % 64)))
    }
}

/// Message labels interned per run; features use a hash of the label text so that they mean
/// the same thing in every run.
#[derive(Debug, Default)]
struct Labels {
    index: BTreeMap<String, u32>,
    hashes: Vec<u64>,
}

impl Labels {
    fn intern(&mut self, label: &str) -> u32 {
        if let Some(&i) = self.index.get(label) {
            return i;
        }
        let i = u32::try_from(self.hashes.len()).unwrap_or(START - 1);
        self.index.insert(label.to_string(), i);
        self.hashes.push(fnv(label.as_bytes(), FNV_OFFSET));
        i
    }

    fn hash(&self, i: u64) -> u64 {
        match u32::try_from(i) {
            Ok(TIMER) => 1,
            Ok(START) => 2,
            Ok(i) => self.hashes.get(i as usize).copied().unwrap_or(3),
            Err(_) => 3,
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn feature(tag: u64, parts: &[u64]) -> u64 {
    let mut h = fnv(&tag.to_le_bytes(), FNV_OFFSET);
    for p in parts {
        h = fnv(&p.to_le_bytes(), h);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NodeId;

    #[test]
    fn active_faults_follow_their_undos() {
        let mut a = Active::default();
        let crash = Fault::Crash { node: NodeId(1) };
        a.apply(&crash);
        a.apply(&Fault::Crash { node: NodeId(2) });
        assert_ne!(a.mask(), 0);
        a.apply(&Fault::Restart { node: NodeId(1) });
        assert_ne!(a.mask(), 0, "one crash still in force");
        a.apply(&Fault::Restart { node: NodeId(2) });
        assert_eq!(a.mask(), 0);
        a.apply(&Fault::Pause { node: NodeId(0) });
        let paused = a.mask();
        a.apply(&Fault::Crash { node: NodeId(0) });
        assert_ne!(a.mask(), paused, "two kinds, another mask");
    }

    #[test]
    fn features_are_stable_and_distinct() {
        assert_eq!(feature(1, &[2, 3]), feature(1, &[2, 3]));
        assert_ne!(feature(1, &[2, 3]), feature(1, &[3, 2]));
        assert_ne!(feature(1, &[2]), feature(2, &[2]));
        let mut l = Labels::default();
        let a = l.intern("raft/append");
        assert_eq!(l.intern("raft/append"), a);
        assert_ne!(l.hash(u64::from(a)), l.hash(u64::from(TIMER)));
    }
}
