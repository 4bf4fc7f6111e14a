//! What the run report draws, extracted from a run's records: client operations (with `fail`,
//! which the checker's pairing leaves out) and fault intervals per node. Pure data; no HTML.

use crate::event::{Event, EventRecord};
use crate::fault::Fault;
use crate::history::{History, OpType};
use crate::ids::NodeId;
use serde_json::Value;
use std::collections::BTreeMap;

/// How a drawn operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// It took effect.
    Ok,
    /// It definitely did not take effect.
    Fail,
    /// Unknown outcome (timed out).
    Info,
    /// Never completed before the run ended (unknown outcome).
    Pending,
}

impl End {
    /// The CSS class and the word a report uses.
    pub fn name(self) -> &'static str {
        match self {
            End::Ok => "ok",
            End::Fail => "fail",
            End::Info => "info",
            End::Pending => "pending",
        }
    }
}

/// One client operation as the report draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnOp {
    /// The row: the client (worker) that ran it; a client runs one operation at a time.
    pub client: u32,
    /// The Jepsen process (a client's process changes after every `info`).
    pub process: String,
    /// The operation's name.
    pub f: String,
    /// Its key, if any.
    pub key: Option<Value>,
    /// Input on invoke.
    pub input: Option<Value>,
    /// Output on `ok`.
    pub output: Option<Value>,
    /// How it ended.
    pub end: End,
    /// True time of the invocation.
    pub from_ns: u64,
    /// True time of the completion (the run's end when it never completed).
    pub to_ns: u64,
    /// 1-based history line of the invocation (what verdicts blame).
    pub invoke_line: u32,
}

impl DrawnOp {
    /// `c2 p7 read k=1 in=- → 3 (ok, line 215)`: the text a report shows for it.
    pub fn describe(&self) -> String {
        let json = |v: &Option<Value>| v.as_ref().map_or("-".to_string(), Value::to_string);
        let mut text = format!("c{} p{} {}", self.client, self.process, self.f);
        if self.key.is_some() {
            text.push_str(&format!(" key={}", json(&self.key)));
        }
        if self.input.is_some() {
            text.push_str(&format!(" in={}", json(&self.input)));
        }
        if self.output.is_some() {
            text.push_str(&format!(" → {}", json(&self.output)));
        }
        format!("{text} ({}, line {})", self.end.name(), self.invoke_line)
    }
}

/// The history's operations, paired per process, in invocation order. `end_ns` closes the ones
/// that never completed. The row of a process is its client, from the event log's client
/// operations (else `process mod clients`).
pub fn operations(
    history: &History,
    events: &[EventRecord],
    clients: u32,
    end_ns: u64,
) -> Vec<DrawnOp> {
    let mut client_of: BTreeMap<u64, u32> = BTreeMap::new();
    for r in events {
        if let Event::ClientOp {
            client, process, ..
        } = &r.event
        {
            client_of.insert(*process, client.0);
        }
    }
    let row = |process: &crate::history::Process| match process {
        crate::history::Process::Int(p) => client_of
            .get(p)
            .copied()
            .unwrap_or_else(|| u32::try_from(p % u64::from(clients.max(1))).unwrap_or(0)),
        crate::history::Process::Name(_) => 0,
    };
    let mut ops: Vec<DrawnOp> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_ns = 0;
    for (index, ev) in history.events.iter().enumerate() {
        let at = ev.time.unwrap_or(last_ns);
        last_ns = at;
        let process = ev.process.to_string();
        match ev.kind {
            OpType::Invoke => {
                open.insert(process.clone(), ops.len());
                ops.push(DrawnOp {
                    client: row(&ev.process),
                    process,
                    f: ev.f.clone(),
                    key: ev.key.clone(),
                    input: ev.value.clone(),
                    output: None,
                    end: End::Pending,
                    from_ns: at,
                    to_ns: end_ns.max(at),
                    invoke_line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                });
            }
            kind => {
                // A completion without an invocation is not drawn (the checker reports it).
                let Some(i) = open.remove(&process) else {
                    continue;
                };
                let op = &mut ops[i];
                op.to_ns = at.max(op.from_ns);
                op.end = match kind {
                    OpType::Ok => End::Ok,
                    OpType::Fail => End::Fail,
                    _ => End::Info,
                };
                if kind == OpType::Ok {
                    op.output = ev.value.clone();
                }
            }
        }
    }
    ops
}

/// The three kinds of fault band a node's lane holds, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    /// The process: crashed (down) or paused.
    Process,
    /// Partitions cutting its links.
    Partition,
    /// Loss, duplication and delay rules on its links, disk faults (any other lasting fault).
    Network,
    /// Instantaneous: clock steps, offsets, drift (and any other one-off fault).
    Instant,
}

/// A fault drawn on one node's lane: an interval, or an instant when `to_ns == from_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMark {
    /// The node whose lane it is on.
    pub node: NodeId,
    /// Where in the lane.
    pub band: Band,
    /// The fault's kind name (`partition`, `crash`, ...): its CSS class.
    pub kind: &'static str,
    /// The fault as the summary prints it.
    pub label: String,
    /// When it started.
    pub from_ns: u64,
    /// When it ended (its undo, the final heal, or the run's end).
    pub to_ns: u64,
}

/// Every fault of the log on the lanes of the nodes it touches. A lasting fault ends at its
/// undo ([`Fault::undo`]), at a heal / net-calm that ends everything of its band, at the final
/// heal, or at `end_ns`.
pub fn fault_marks(events: &[EventRecord], nodes: u32, end_ns: u64) -> Vec<FaultMark> {
    let mut marks: Vec<FaultMark> = Vec::new();
    // Open lasting faults: (the fault that ends it, indices of its marks).
    let mut open: Vec<(Fault, Vec<usize>)> = Vec::new();
    for r in events {
        let at = r.time_ns.ns;
        let action = match &r.event {
            Event::Fault { action } => action,
            Event::HealAll => {
                close(&mut open, &mut marks, at, |_| true);
                continue;
            }
            _ => continue,
        };
        let ended_by_undo = open.iter().position(|(undo, _)| undo == action);
        if let Some(i) = ended_by_undo {
            let (_, ids) = open.remove(i);
            ids.iter().for_each(|&m| marks[m].to_ns = at);
            continue;
        }
        match action {
            // Power loss ends a pause: the paused process is gone (its resume is skipped).
            Fault::Crash { node } => {
                let resume = Fault::Resume { node: *node };
                close(&mut open, &mut marks, at, |f| *f == resume);
            }
            Fault::Heal { ends: None } => {
                close(&mut open, &mut marks, at, |f| {
                    matches!(f, Fault::Heal { .. })
                });
                continue;
            }
            Fault::NetCalm { ends: None } => {
                close(&mut open, &mut marks, at, |f| {
                    matches!(f, Fault::NetCalm { .. })
                });
                continue;
            }
            Fault::DiskCalm { ends: None } => {
                close(&mut open, &mut marks, at, |f| {
                    matches!(f, Fault::DiskCalm { .. })
                });
                continue;
            }
            // An undo whose fault is not open (already ended by a blanket heal): nothing to draw.
            Fault::Heal { .. }
            | Fault::DiskCalm { .. }
            | Fault::NetCalm { .. }
            | Fault::Restart { .. }
            | Fault::Resume { .. } => {
                continue;
            }
            _ => {}
        }
        let undo = action.undo();
        let band = match action {
            Fault::Crash { .. } | Fault::Pause { .. } => Band::Process,
            Fault::Partition { .. } => Band::Partition,
            _ if undo.is_some() => Band::Network,
            _ => Band::Instant,
        };
        let first = marks.len();
        for node in nodes_of(action, nodes) {
            marks.push(FaultMark {
                node,
                band,
                kind: action.name(),
                label: node_label(action, node),
                from_ns: at,
                to_ns: if undo.is_some() { end_ns.max(at) } else { at },
            });
        }
        if let Some(undo) = undo {
            open.push((undo, (first..marks.len()).collect()));
        }
    }
    marks
}

/// The fault as one node's lane shows it: a partition says which nodes this one cannot reach.
fn node_label(fault: &Fault, node: NodeId) -> String {
    let Fault::Partition { cut, .. } = fault else {
        return fault.to_string();
    };
    let unreachable: Vec<NodeId> = cut
        .iter()
        .filter(|(from, _)| *from == node)
        .map(|(_, to)| *to)
        .collect();
    let list = |ns: &[NodeId]| {
        ns.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if unreachable.is_empty() {
        return format!("{fault}: {node} can send everywhere (others cannot reach it)");
    }
    // Its side: the nodes it can still send to, itself included (every node a cut names).
    let mut named: Vec<NodeId> = cut.iter().flat_map(|(a, b)| [*a, *b]).collect();
    named.sort_unstable();
    named.dedup();
    let side: Vec<NodeId> = named
        .into_iter()
        .filter(|n| !unreachable.contains(n))
        .collect();
    format!(
        "{fault}: {node} is on the side of {} and cannot reach {}",
        list(&side),
        list(&unreachable)
    )
}

/// Ends every open fault whose undo matches.
fn close(
    open: &mut Vec<(Fault, Vec<usize>)>,
    marks: &mut [FaultMark],
    at: u64,
    which: impl Fn(&Fault) -> bool,
) {
    open.retain(|(undo, ids)| {
        if which(undo) {
            ids.iter().for_each(|&m| marks[m].to_ns = at);
            false
        } else {
            true
        }
    });
}

/// The nodes a fault touches, read off its encoding: the ends of the links it cuts (`cut`) or
/// rules (`from`, `to` of a kind that takes them; an open end means every node), its `node`,
/// else every node.
pub(crate) fn nodes_of(fault: &Fault, nodes: u32) -> Vec<NodeId> {
    let all = || (0..nodes).map(NodeId).collect::<Vec<_>>();
    let Ok(v) = serde_json::to_value(fault) else {
        return all();
    };
    let id = |v: Option<&Value>| {
        v.and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .map(NodeId)
    };
    if let Some(cut) = v.get("cut").and_then(Value::as_array) {
        let mut touched: Vec<NodeId> = cut
            .iter()
            .filter_map(Value::as_array)
            .flat_map(|link| [id(link.first()), id(link.get(1))])
            .flatten()
            .collect();
        touched.sort_unstable();
        touched.dedup();
        return touched;
    }
    if fault.kind().params().contains(&"from") {
        return match (id(v.get("from")), id(v.get("to"))) {
            (None, _) | (_, None) => all(),
            (Some(a), Some(b)) if a == b => vec![a],
            (Some(a), Some(b)) => vec![a.min(b), a.max(b)],
        };
    }
    id(v.get("node")).map_or_else(all, |n| vec![n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::PartitionKind;
    use crate::time::SimTime;

    fn at(ms: u64, event: Event) -> EventRecord {
        EventRecord {
            time_ns: SimTime::from_ms(ms),
            event,
        }
    }

    #[test]
    fn a_partition_label_says_which_side_a_node_is_on() {
        let n = NodeId;
        // Halves {0, 1} | {2}: both directions cut.
        let cut = vec![(n(0), n(2)), (n(1), n(2)), (n(2), n(0)), (n(2), n(1))];
        let halves = Fault::Partition {
            kind: PartitionKind::Halves,
            cut,
        };
        assert!(
            node_label(&halves, n(0)).ends_with("n0 is on the side of n0,n1 and cannot reach n2"),
            "{}",
            node_label(&halves, n(0))
        );
        assert!(
            node_label(&halves, n(2)).ends_with("n2 is on the side of n2 and cannot reach n0,n1")
        );
    }

    #[test]
    fn lasting_faults_end_at_their_undo_or_the_final_heal() {
        let crash = Fault::Crash { node: NodeId(1) };
        let pause = Fault::Pause { node: NodeId(2) };
        let events = vec![
            at(10, Event::Fault { action: crash }),
            at(15, Event::Fault { action: pause }),
            at(
                20,
                Event::Fault {
                    action: Fault::ClockJump {
                        node: NodeId(0),
                        delta_ms: -5,
                    },
                },
            ),
            at(
                30,
                Event::Fault {
                    action: Fault::Restart { node: NodeId(1) },
                },
            ),
            at(
                40,
                Event::Fault {
                    action: Fault::Pause { node: NodeId(0) },
                },
            ),
            at(
                45,
                Event::Fault {
                    action: Fault::Crash { node: NodeId(0) },
                },
            ),
            at(50, Event::HealAll),
        ];
        let marks = fault_marks(&events, 3, 100);
        let spans: Vec<(u32, &str, u64, u64)> = marks
            .iter()
            .map(|m| (m.node.0, m.kind, m.from_ns / 1_000_000, m.to_ns / 1_000_000))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, "crash", 10, 30),
                (2, "pause", 15, 50),
                (0, "clock-jump", 20, 20),
                (0, "pause", 40, 45),
                (0, "crash", 45, 50)
            ]
        );
    }
}
