//! What the report draws from the event log besides operations and faults: each Raft node's
//! role as its own records show it, and lanes of the records a failed verdict blames (a
//! protected resource's writes, Raft's leaders, votes, applied entries). Pure data; no HTML.

use crate::event::{Event, EventRecord};
use crate::ids::NodeId;
use crate::invariants::Evidence;
use crate::time::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// A Raft role as a node's records show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It became leader (`raft/leader`).
    Leader,
    /// It voted for itself (`raft/vote` for its own id): a candidate.
    Candidate,
    /// It voted for another node: a follower of that term.
    Follower,
}

impl Role {
    /// Its CSS class and the letter drawn on the strip.
    pub fn class_and_letter(self) -> (&'static str, &'static str) {
        match self {
            Role::Leader => ("role-leader", "L"),
            Role::Candidate => ("role-candidate", "C"),
            Role::Follower => ("role-follower", "F"),
        }
    }
}

/// A stretch of one node's role, from one of its records to the next (or its crash, halt or
/// restart, or the run's end).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpan {
    /// The node.
    pub node: NodeId,
    /// The role.
    pub role: Role,
    /// Its term.
    pub term: u64,
    /// From.
    pub from_ns: u64,
    /// To.
    pub to_ns: u64,
}

/// Every node's roles. A step-down on hearing a newer leader leaves no record, so a leader's
/// span runs until the node's next vote, crash or restart: the span says the node *may* still
/// believe it leads — which is what a stale read needs.
pub fn role_spans(events: &[EventRecord], end_ns: u64) -> Vec<RoleSpan> {
    let mut spans: Vec<RoleSpan> = Vec::new();
    let mut open: BTreeMap<NodeId, usize> = BTreeMap::new();
    for r in events {
        let at = r.time_ns.ns;
        let (node, next) = match &r.event {
            Event::Observe {
                node, label, value, ..
            } => {
                let term = value.get("term").and_then(Value::as_u64);
                let role = match label.as_str() {
                    "raft/leader" => Some(Role::Leader),
                    "raft/vote" => {
                        let candidate = value.get("candidate").and_then(Value::as_u64);
                        match candidate == Some(u64::from(node.0)) {
                            true => Some(Role::Candidate),
                            false => Some(Role::Follower),
                        }
                    }
                    _ => None,
                };
                match (role, term) {
                    (Some(role), Some(term)) => (*node, Some((role, term))),
                    _ => continue,
                }
            }
            Event::Crash { node, .. } | Event::Halt { node, .. } | Event::Start { node, .. } => {
                (*node, None)
            }
            _ => continue,
        };
        if let Some(i) = open.remove(&node) {
            spans[i].to_ns = at;
        }
        if let Some((role, term)) = next {
            open.insert(node, spans.len());
            spans.push(RoleSpan {
                node,
                role,
                term,
                from_ns: at,
                to_ns: end_ns.max(at),
            });
        }
    }
    spans
}

/// One record drawn on a record lane.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMark {
    /// Its index in the event log.
    pub record: usize,
    /// When.
    pub at: SimTime,
    /// The node that recorded it.
    pub node: NodeId,
    /// Who it is about (a write's `holder`, a vote's `candidate`), coloured alike.
    pub who: Option<String>,
    /// False for a refusal (`"accepted": false`): drawn hollow.
    pub accepted: bool,
    /// Its value, as the tooltip and the evidence list show it.
    pub text: String,
}

/// A lane of one observation label: every record of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordLane {
    /// The label (`lock/write`).
    pub label: String,
    /// Its records, in time order.
    pub marks: Vec<RecordMark>,
}

/// The records blamed by failed verdicts, each once: (index into the event log, invariant).
pub fn blamed_records(evidence: &[(&'static str, Evidence)]) -> Vec<(usize, &'static str)> {
    let mut seen = std::collections::BTreeSet::new();
    evidence
        .iter()
        .flat_map(|(inv, e)| e.blamed_events.iter().map(move |&i| (i, *inv)))
        .filter(|(i, _)| seen.insert(*i))
        .collect()
}

/// The lane a record goes on: its observation label, or `reply` for a node's replies.
fn lane_of(event: &Event) -> Option<&str> {
    match event {
        Event::Observe { label, .. } => Some(label),
        Event::Reply { .. } => Some("reply"),
        _ => None,
    }
}

/// A lane per kind among the blamed records (in the order first blamed), with every record
/// of that kind, so the clash is seen among its neighbours.
pub fn record_lanes(events: &[EventRecord], blamed: &[(usize, &'static str)]) -> Vec<RecordLane> {
    let mut labels: Vec<&str> = Vec::new();
    for (i, _) in blamed {
        if let Some(label) = events.get(*i).and_then(|r| lane_of(&r.event))
            && !labels.contains(&label)
        {
            labels.push(label);
        }
    }
    labels
        .into_iter()
        .map(|label| RecordLane {
            label: label.to_string(),
            marks: events
                .iter()
                .enumerate()
                .filter(|(_, r)| lane_of(&r.event) == Some(label))
                .filter_map(|(record, r)| mark(record, r))
                .collect(),
        })
        .collect()
}

fn mark(record: usize, r: &EventRecord) -> Option<RecordMark> {
    let (node, value, who) = match &r.event {
        Event::Observe { node, value, .. } => {
            let who = ["holder", "candidate", "term"]
                .iter()
                .find_map(|k| value.get(*k))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
            (*node, value, who)
        }
        // A node's replies are coloured by the incarnation that sent them.
        Event::Reply {
            node,
            incarnation,
            body,
            ..
        } => (*node, body, Some(format!("{node}#{}", incarnation.0))),
        _ => return None,
    };
    Some(RecordMark {
        record,
        at: r.time_ns,
        node,
        who,
        accepted: value.get("accepted").and_then(Value::as_bool) != Some(false),
        text: value.to_string(),
    })
}

/// `8.156s n5 lock/write {...}`: a record as the evidence list shows it.
pub fn describe(events: &[EventRecord], record: usize) -> String {
    match events.get(record) {
        Some(EventRecord {
            time_ns,
            event: Event::Observe {
                node, label, value, ..
            },
        }) => format!("{time_ns} {node} {label} {value}"),
        Some(EventRecord {
            time_ns,
            event:
                Event::Reply {
                    node,
                    incarnation,
                    to,
                    body,
                    ..
                },
        }) => format!(
            "{time_ns} {node} (incarnation {}) reply to {to} {body}",
            incarnation.0
        ),
        Some(r) => format!("{} {:?}", r.time_ns, r.event),
        None => format!("event record {record} (beyond the log)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Incarnation;
    use serde_json::json;

    fn obs(ms: u64, node: u32, label: &str, value: Value) -> EventRecord {
        EventRecord {
            time_ns: SimTime::from_ms(ms),
            event: Event::Observe {
                node: NodeId(node),
                incarnation: Incarnation(1),
                label: label.to_string(),
                value,
            },
        }
    }

    #[test]
    fn roles_run_from_record_to_record_and_end_at_a_crash() {
        let events = vec![
            obs(
                10,
                0,
                "raft/vote",
                json!({"group": 0, "term": 1, "candidate": 0}),
            ),
            obs(
                12,
                1,
                "raft/vote",
                json!({"group": 0, "term": 1, "candidate": 0}),
            ),
            obs(15, 0, "raft/leader", json!({"group": 0, "term": 1})),
            EventRecord {
                time_ns: SimTime::from_ms(40),
                event: Event::Crash {
                    node: NodeId(1),
                    incarnation: Incarnation(1),
                    unsynced_bytes_lost: 0,
                },
            },
        ];
        let spans: Vec<(u32, Role, u64, u64, u64)> = role_spans(&events, 100_000_000)
            .iter()
            .map(|s| {
                let ms = |ns: u64| ns / 1_000_000;
                (s.node.0, s.role, s.term, ms(s.from_ns), ms(s.to_ns))
            })
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, Role::Candidate, 1, 10, 15),
                (1, Role::Follower, 1, 12, 40),
                (0, Role::Leader, 1, 15, 100),
            ]
        );
    }

    #[test]
    fn a_lane_per_blamed_label_holds_every_record_of_it() {
        let events = vec![
            obs(
                1,
                5,
                "lock/write",
                json!({"holder": "c0#1", "accepted": true}),
            ),
            obs(2, 0, "raft/leader", json!({"group": 0, "term": 1})),
            obs(
                3,
                5,
                "lock/write",
                json!({"holder": "c1#1", "accepted": false}),
            ),
        ];
        let blamed = vec![(2, "exclusive-writes")];
        let lanes = record_lanes(&events, &blamed);
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].label, "lock/write");
        let marks: Vec<(usize, Option<&str>, bool)> = lanes[0]
            .marks
            .iter()
            .map(|m| (m.record, m.who.as_deref(), m.accepted))
            .collect();
        assert_eq!(
            marks,
            vec![(0, Some("c0#1"), true), (2, Some("c1#1"), false)]
        );
        assert_eq!(
            describe(&events, 2),
            "0.003s n5 lock/write {\"accepted\":false,\"holder\":\"c1#1\"}"
        );
    }
}
