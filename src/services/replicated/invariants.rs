//! Raft's invariants, from what the replicas recorded (`raft/leader`, `raft/applied`):
//!
//! - `one-leader-per-term` (always): no two nodes of a group lead the same term (election
//!   safety);
//! - `same-entry-per-index` (always): every replica that applied index `i` of a group applied
//!   the entry of the same term there and reached the same state digest — state machine safety.
//!   An acknowledged write is acknowledged once applied, so a write lost by a later leader shows
//!   up here as another entry at its index;
//! - `replicas-converge` (eventually): after everything healed, every replica caught up with
//!   what its group had applied halfway through the liveness phase — except one that found its
//!   durable state damaged and said so (`raft/refusing-to-serve`): it fail-stops by design;
//! - `one-vote-per-term` (always): no node votes for two candidates in one term, across its
//!   restarts (election safety rests on it);
//! - `commit-own-term` (always): what a leader commits by counting replicas is an entry of its
//!   own term (Raft §5.4.2; earlier entries commit only along with one).
//! - `peer-messages-valid` (always): no replica refused a peer message as one no correct
//!   replica sends;
//! - `leader-completeness`, `log-matching`, `leader-append-only` (always): the rest of the
//!   paper's Figure 3, judged on log summaries (`invariants_raft.rs`).

use crate::event::{Event, EventRecord};
use crate::ids::NodeId;
use crate::invariants::{
    Evidence, Invariant, Outcome, RunRecords, Tag, observations, observations_indexed,
};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// The evidence of a verdict on the event log: the records at fault.
fn blaming(records: Vec<usize>) -> Evidence {
    Evidence {
        blamed_events: records,
        ..Evidence::default()
    }
}

/// The replicated layer's invariants.
pub fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(OneLeaderPerTerm),
        Box::new(SameEntryPerIndex),
        Box::new(ReplicasConverge),
        Box::new(OneVotePerTerm),
        Box::new(CommitOwnTerm),
        Box::new(PeerMessagesValid),
        Box::new(super::invariants_raft::LeaderCompleteness),
        Box::new(super::invariants_raft::LogMatching),
        Box::new(super::invariants_raft::LeaderAppendOnly),
    ]
}

/// `peer-messages-valid`: no replica refused a peer's message as one no correct replica
/// sends. Under simulation every peer runs the same correct code, so a refusal is a bug —
/// in the sender, or in the check (a false alarm to fix either way). On real sockets the same
/// refusal is what keeps a hostile datagram from reaching the core.
struct PeerMessagesValid;

impl Invariant for PeerMessagesValid {
    fn name(&self) -> &'static str {
        "peer-messages-valid"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let refused = r.events.iter().find_map(|rec| match &rec.event {
            Event::Note {
                node, label, value, ..
            } if label == super::node::REFUSED_MESSAGE => Some((rec.time_ns, *node, value)),
            _ => None,
        });
        match refused {
            Some((at, node, why)) => {
                Outcome::Fail(format!("at {at}: {node} refused a peer message: {why}"))
            }
            None => Outcome::Pass,
        }
    }
}

struct OneVotePerTerm;

impl Invariant for OneVotePerTerm {
    fn name(&self) -> &'static str {
        "one-vote-per-term"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two votes.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut votes: BTreeMap<(u64, NodeId, u64), (u64, SimTime, usize)> = BTreeMap::new();
        for (record, at, node, v) in observations_indexed(r.events, "raft/vote") {
            let (Some(group), Some(term), Some(candidate)) =
                (field(v, "group"), field(v, "term"), field(v, "candidate"))
            else {
                let why = format!("malformed raft/vote record at {at}: {v}");
                return (Outcome::Unknown(why), Evidence::default());
            };
            match votes.get(&(group, node, term)) {
                Some(&(first, first_at, first_record)) if first != candidate => {
                    let outcome = Outcome::Fail(format!(
                        "group {group}: {node} voted for n{first} at {first_at} and for n{candidate} at {at}, both in term {term}"
                    ));
                    return (outcome, blaming(vec![first_record, record]));
                }
                Some(_) => {}
                None => {
                    votes.insert((group, node, term), (candidate, at, record));
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

struct CommitOwnTerm;

impl Invariant for CommitOwnTerm {
    fn name(&self) -> &'static str {
        "commit-own-term"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the commit.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        for (record, at, node, v) in observations_indexed(r.events, "raft/commit") {
            let (Some(group), Some(term), Some(index), Some(entry_term)) = (
                field(v, "group"),
                field(v, "term"),
                field(v, "index"),
                field(v, "entry_term"),
            ) else {
                let why = format!("malformed raft/commit record at {at}: {v}");
                return (Outcome::Unknown(why), Evidence::default());
            };
            if entry_term != term {
                let outcome = Outcome::Fail(format!(
                    "group {group}: leader {node} of term {term} committed index {index}, an entry of term {entry_term}, by counting replicas (at {at})"
                ));
                return (outcome, blaming(vec![record]));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// One `raft/applied` observation.
struct Applied {
    at: SimTime,
    record: usize,
    node: NodeId,
    group: u64,
    index: u64,
    term: u64,
    digest: String,
}

fn field(v: &Value, name: &str) -> Option<u64> {
    v.get(name).and_then(Value::as_u64)
}

fn applied(events: &[EventRecord]) -> Result<Vec<Applied>, String> {
    observations_indexed(events, "raft/applied")
        .map(|(record, at, node, v)| {
            let parse = || {
                Some(Applied {
                    at,
                    record,
                    node,
                    group: field(v, "group")?,
                    index: field(v, "index")?,
                    term: field(v, "term")?,
                    digest: v.get("digest")?.as_str()?.to_string(),
                })
            };
            parse().ok_or_else(|| format!("malformed raft/applied record at {at}: {v}"))
        })
        .collect()
}

struct OneLeaderPerTerm;

impl Invariant for OneLeaderPerTerm {
    fn name(&self) -> &'static str {
        "one-leader-per-term"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two leaders' records.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut leaders: BTreeMap<(u64, u64), (NodeId, SimTime, usize)> = BTreeMap::new();
        for (record, at, node, v) in observations_indexed(r.events, "raft/leader") {
            let (Some(group), Some(term)) = (field(v, "group"), field(v, "term")) else {
                let why = format!("malformed raft/leader record at {at}: {v}");
                return (Outcome::Unknown(why), Evidence::default());
            };
            match leaders.get(&(group, term)) {
                Some(&(first, first_at, first_record)) if first != node => {
                    let outcome = Outcome::Fail(format!(
                        "group {group}, term {term}: {first} became leader at {first_at} and {node} at {at}"
                    ));
                    return (outcome, blaming(vec![first_record, record]));
                }
                _ => {
                    leaders.insert((group, term), (node, at, record));
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

struct SameEntryPerIndex;

impl Invariant for SameEntryPerIndex {
    fn name(&self) -> &'static str {
        "same-entry-per-index"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two replicas' applications of the index.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let all = match applied(r.events) {
            Ok(all) => all,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        let mut first: BTreeMap<(u64, u64), &Applied> = BTreeMap::new();
        for a in &all {
            match first.get(&(a.group, a.index)) {
                Some(f) if (f.term, &f.digest) != (a.term, &a.digest) => {
                    let outcome = Outcome::Fail(format!(
                        "group {}, index {}: {} applied the entry of term {} (state {}) at {}, \
                         {} the entry of term {} (state {}) at {}",
                        a.group,
                        a.index,
                        f.node,
                        f.term,
                        f.digest,
                        f.at,
                        a.node,
                        a.term,
                        a.digest,
                        a.at
                    ));
                    return (outcome, blaming(vec![f.record, a.record]));
                }
                Some(_) => {}
                None => {
                    first.insert((a.group, a.index), a);
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

struct ReplicasConverge;

/// Nodes whose last incarnation said it refuses to serve (damaged durable state).
fn refusing_to_serve(events: &[EventRecord]) -> std::collections::BTreeSet<NodeId> {
    use crate::event::Event;
    let mut refusing = std::collections::BTreeSet::new();
    for rec in events {
        match &rec.event {
            Event::Start { node, .. } => {
                refusing.remove(node);
            }
            Event::Note { node, label, .. } if label == "raft/refusing-to-serve" => {
                refusing.insert(*node);
            }
            _ => {}
        }
    }
    refusing
}

impl Invariant for ReplicasConverge {
    fn name(&self) -> &'static str {
        "replicas-converge"
    }

    fn tag(&self) -> Tag {
        Tag::Eventually
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        if r.liveness_ms == 0 {
            return Outcome::Unknown("the scenario has no liveness phase (liveness_ms = 0)".into());
        }
        let all = match applied(r.events) {
            Ok(all) => all,
            Err(e) => return Outcome::Unknown(e),
        };
        let midpoint = r
            .heal_at
            .saturating_add(std::time::Duration::from_millis(r.liveness_ms / 2));
        // Per group: what had been applied by the midpoint, and how far each node got.
        let mut target: BTreeMap<u64, u64> = BTreeMap::new();
        let mut reached: BTreeMap<(u64, NodeId), u64> = BTreeMap::new();
        // Every replica that ever started counts, also one that never applied anything.
        for (_, node, v) in observations(r.events, "raft/started") {
            if let Some(group) = field(v, "group") {
                reached.entry((group, node)).or_default();
            }
        }
        for a in &all {
            if a.at <= midpoint {
                let t = target.entry(a.group).or_default();
                *t = (*t).max(a.index);
            }
            let n = reached.entry((a.group, a.node)).or_default();
            *n = (*n).max(a.index);
        }
        let refusing = refusing_to_serve(r.events);
        let behind: Vec<String> = reached
            .iter()
            .filter(|&(&(_, node), _)| !refusing.contains(&node))
            .filter(|&(&(group, _), &index)| index < target.get(&group).copied().unwrap_or(0))
            .map(|(&(group, node), &index)| {
                format!(
                    "{node} (group {group}) applied up to {index} < {}",
                    target.get(&group).copied().unwrap_or(0)
                )
            })
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
