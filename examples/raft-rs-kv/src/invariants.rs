//! Raft's safety properties, from what the replicas recorded with `ctx.observe`:
//!
//! - `one-leader-per-term` (always): no two nodes lead the same term (election safety);
//! - `one-vote-per-term` (always): no node grants its vote to two candidates in one term, across
//!   its restarts — a vote sent before it was durable and forgotten in a crash shows up here;
//! - `same-entry-per-index` (always): every replica that applied index `i` applied the entry
//!   of the same term there and reached the same state digest (state machine safety). An
//!   acknowledged write a later leader lost shows up as another entry at its index;
//! - `durable-state-recovers` (always): no node found its own durable state inconsistent
//!   (`raftkv/refused`) unless the disk was corrupted under it — with an honest disk, a crash
//!   must always leave a state the node can restart from;
//! - `acknowledged-entries-kept` (always): no leader ever proved a node lost entries the node
//!   had acknowledged (`raftkv/lost-acknowledged`: a heartbeat committing past the end of the
//!   node's log, an append overwriting its committed entries);
//! - `replicas-converge` (eventually): after everything healed, every replica that serves caught
//!   up with what had been applied halfway through the liveness phase.

use faultlab::fault::Fault;
use faultlab::invariants::observations;
use faultlab::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Every invariant of this file.
pub fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(OneLeaderPerTerm),
        Box::new(OneVotePerTerm),
        Box::new(SameEntryPerIndex),
        Box::new(DurableStateRecovers),
        Box::new(AcknowledgedEntriesKept),
        Box::new(ReplicasConverge),
    ]
}

fn field(v: &Value, name: &str) -> Option<u64> {
    v.get(name).and_then(Value::as_u64)
}

/// `one-leader-per-term`.
pub struct OneLeaderPerTerm;

impl Invariant for OneLeaderPerTerm {
    fn name(&self) -> &'static str {
        "one-leader-per-term"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
        for (at, node, v) in observations(r.events, "raftkv/leader") {
            let Some(term) = field(v, "term") else {
                return Outcome::Unknown(format!("malformed raftkv/leader at {at}: {v}"));
            };
            match leaders.get(&term) {
                Some(&first) if first != node => {
                    return Outcome::Fail(format!(
                        "term {term}: {first} and {node} both became leader (the second at {at})"
                    ));
                }
                _ => {
                    leaders.insert(term, node);
                }
            }
        }
        Outcome::Pass
    }
}

/// `one-vote-per-term`.
pub struct OneVotePerTerm;

impl Invariant for OneVotePerTerm {
    fn name(&self) -> &'static str {
        "one-vote-per-term"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let mut votes: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
        for (at, node, v) in observations(r.events, "raftkv/vote") {
            let (Some(term), Some(candidate)) = (field(v, "term"), field(v, "candidate")) else {
                return Outcome::Unknown(format!("malformed raftkv/vote at {at}: {v}"));
            };
            match votes.get(&(node, term)) {
                Some(&first) if first != candidate => {
                    return Outcome::Fail(format!(
                        "{node} voted for raft id {first} and for raft id {candidate} in term \
                         {term} (the second at {at})"
                    ));
                }
                _ => {
                    votes.insert((node, term), candidate);
                }
            }
        }
        Outcome::Pass
    }
}

/// One `raftkv/applied` record.
struct Applied<'a> {
    at: faultlab::time::SimTime,
    node: NodeId,
    index: u64,
    term: u64,
    digest: &'a str,
}

fn applied(events: &[EventRecord]) -> Result<Vec<Applied<'_>>, String> {
    observations(events, "raftkv/applied")
        .map(|(at, node, v)| {
            let parse = || {
                Some(Applied {
                    at,
                    node,
                    index: field(v, "index")?,
                    term: field(v, "term")?,
                    digest: v.get("digest")?.as_str()?,
                })
            };
            parse().ok_or_else(|| format!("malformed raftkv/applied at {at}: {v}"))
        })
        .collect()
}

/// `same-entry-per-index`.
pub struct SameEntryPerIndex;

impl Invariant for SameEntryPerIndex {
    fn name(&self) -> &'static str {
        "same-entry-per-index"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let all = match applied(r.events) {
            Ok(all) => all,
            Err(e) => return Outcome::Unknown(e),
        };
        let mut first: BTreeMap<u64, &Applied<'_>> = BTreeMap::new();
        for a in &all {
            match first.get(&a.index) {
                Some(f) if (f.term, f.digest) != (a.term, a.digest) => {
                    return Outcome::Fail(format!(
                        "index {}: {} applied the entry of term {} (state {}) at {}, {} the \
                         entry of term {} (state {}) at {}",
                        a.index, f.node, f.term, f.digest, f.at, a.node, a.term, a.digest, a.at
                    ));
                }
                Some(_) => {}
                None => {
                    first.insert(a.index, a);
                }
            }
        }
        Outcome::Pass
    }
}

/// Nodes whose last incarnation refused to serve.
fn refusing(events: &[EventRecord]) -> BTreeSet<NodeId> {
    let mut out = BTreeSet::new();
    for rec in events {
        match &rec.event {
            Event::Start { node, .. } => {
                out.remove(node);
            }
            Event::Observe { node, label, .. }
                if label == "raftkv/refused" || label == "raftkv/lost-acknowledged" =>
            {
                out.insert(*node);
            }
            _ => {}
        }
    }
    out
}

/// `durable-state-recovers`.
pub struct DurableStateRecovers;

impl Invariant for DurableStateRecovers {
    fn name(&self) -> &'static str {
        "durable-state-recovers"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let corrupted: BTreeSet<NodeId> = r
            .events
            .iter()
            .filter_map(|rec| match &rec.event {
                Event::Fault {
                    action: Fault::DiskCorrupt { node, .. },
                } => Some(*node),
                _ => None,
            })
            .collect();
        for (at, node, v) in observations(r.events, "raftkv/refused") {
            if !corrupted.contains(&node) {
                let reason = v.get("reason").and_then(Value::as_str).unwrap_or("?");
                return Outcome::Fail(format!(
                    "{node} refused to serve at {at} without any disk corruption: {reason}"
                ));
            }
        }
        Outcome::Pass
    }
}

/// `acknowledged-entries-kept`.
pub struct AcknowledgedEntriesKept;

impl Invariant for AcknowledgedEntriesKept {
    fn name(&self) -> &'static str {
        "acknowledged-entries-kept"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        match observations(r.events, "raftkv/lost-acknowledged").next() {
            Some((at, node, v)) => {
                let reason = v.get("reason").and_then(Value::as_str).unwrap_or("?");
                Outcome::Fail(format!("{node} at {at}: {reason}"))
            }
            None => Outcome::Pass,
        }
    }
}

/// `replicas-converge`.
pub struct ReplicasConverge;

impl Invariant for ReplicasConverge {
    fn name(&self) -> &'static str {
        "replicas-converge"
    }

    fn tag(&self) -> Tag {
        Tag::Eventually
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        if r.liveness_ms == 0 {
            return Outcome::Unknown("the scenario has no liveness phase".into());
        }
        let all = match applied(r.events) {
            Ok(all) => all,
            Err(e) => return Outcome::Unknown(e),
        };
        let midpoint = r
            .heal_at
            .saturating_add(std::time::Duration::from_millis(r.liveness_ms / 2));
        let mut target = 0;
        let mut reached: BTreeMap<NodeId, u64> = BTreeMap::new();
        for (_, node, _) in observations(r.events, "raftkv/started") {
            reached.entry(node).or_default();
        }
        for a in &all {
            if a.at <= midpoint {
                target = target.max(a.index);
            }
            let n = reached.entry(a.node).or_default();
            *n = (*n).max(a.index);
        }
        let refusing = refusing(r.events);
        let behind: Vec<String> = reached
            .iter()
            .filter(|&(node, &index)| !refusing.contains(node) && index < target)
            .map(|(node, index)| format!("{node} applied up to {index} < {target}"))
            .collect();
        if behind.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "replicas still behind at the end of the run, after healing: {}",
                behind.join("; ")
            ))
        }
    }
}
