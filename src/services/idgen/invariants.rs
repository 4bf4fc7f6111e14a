//! ID-generator invariants. Data contract with the core: a history `ok` of `f = "next"`
//! carries the id as its value; a node's reply body reads `{"id": N}` when it issued an id.

use super::IdLayout;
use crate::check::{self, CheckOptions, ModelKind};
use crate::event::Event;
use crate::history::{History, HistoryEvent, OpType};
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag, Verdict};
use crate::time::SimTime;
use std::collections::BTreeMap;

/// The ID generator's invariants over a simulated run.
pub fn all(layout: IdLayout) -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(UniqueIds),
        Box::new(PerNodeMonotonic),
        Box::new(MonotonicAcrossRestarts),
        Box::new(OrderedPerWorker { layout }),
    ]
}

/// What a bare history can show (a real run has no event log).
pub fn history_only(history: &History) -> Vec<Verdict> {
    vec![Verdict {
        invariant: "unique-ids",
        tag: Tag::Always,
        outcome: unique_in_history(history),
    }]
}

/// An id a node issued, as seen in the event log.
#[derive(Debug, Clone, Copy)]
struct Issued {
    at: SimTime,
    /// Its reply's index in the event log (what a verdict blames).
    record: usize,
    node: NodeId,
    incarnation: Incarnation,
    id: u64,
}

fn issued(r: &RunRecords<'_>) -> Vec<Issued> {
    r.events
        .iter()
        .enumerate()
        .filter_map(|(record, rec)| match &rec.event {
            Event::Reply {
                node,
                incarnation,
                body,
                ..
            } => body
                .get("id")
                .and_then(serde_json::Value::as_u64)
                .map(|id| Issued {
                    at: rec.time_ns,
                    record,
                    node: *node,
                    incarnation: *incarnation,
                    id,
                }),
            _ => None,
        })
        .collect()
}

/// No id is returned to clients twice, and no node issues an id twice.
struct UniqueIds;

impl Invariant for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        if let (fail @ Outcome::Fail(_), evidence) = unique_in_history_judged(r.history) {
            return (fail, evidence);
        }
        (self.in_event_log(r), Evidence::default())
    }
}

impl UniqueIds {
    fn in_event_log(&self, r: &RunRecords<'_>) -> Outcome {
        let mut by_id: BTreeMap<u64, &Issued> = BTreeMap::new();
        let all = issued(r);
        for i in &all {
            if let Some(first) = by_id.get(&i.id) {
                return Outcome::Fail(format!(
                    "id {} issued twice: by {} (incarnation {}) at {} and by {} (incarnation {}) at {}",
                    i.id, first.node, first.incarnation.0, first.at, i.node, i.incarnation.0, i.at
                ));
            }
            by_id.insert(i.id, i);
        }
        Outcome::Pass
    }
}

/// No id returned to clients twice (the part of `unique-ids` a history alone can show).
pub fn unique_in_history(history: &History) -> Outcome {
    unique_in_history_judged(history).0
}

/// `unique_in_history`, blaming the two operations that got the same id (by their invocation
/// lines).
fn unique_in_history_judged(history: &History) -> (Outcome, Evidence) {
    let mut invoked: BTreeMap<String, u32> = BTreeMap::new();
    let mut seen: BTreeMap<u64, (usize, String, Option<u32>)> = BTreeMap::new();
    for (line, ev) in history.events.iter().enumerate() {
        let line_no = u32::try_from(line + 1).unwrap_or(u32::MAX);
        if ev.kind == OpType::Invoke {
            invoked.insert(ev.process.to_string(), line_no);
        }
        if ev.kind != OpType::Ok || ev.f != "next" {
            continue;
        }
        let invoke_line = invoked.get(&ev.process.to_string()).copied();
        let Some(id) = ev.value.as_ref().and_then(serde_json::Value::as_u64) else {
            let outcome = Outcome::Fail(format!(
                "history line {line_no}: ok `next` without an integer id"
            ));
            return (outcome, blame(invoke_line.into_iter().collect()));
        };
        if let Some((first, who, first_invoke)) = seen.get(&id) {
            let outcome = Outcome::Fail(format!(
                "id {id} returned twice: to process {who} (history line {}) and to process {} (history line {line_no})",
                first + 1,
                ev.process,
            ));
            let lines = [*first_invoke, invoke_line].into_iter().flatten().collect();
            return (outcome, blame(lines));
        }
        seen.insert(id, (line, ev.process.to_string(), invoke_line));
    }
    (Outcome::Pass, Evidence::default())
}

/// The evidence of a verdict on the event log: the replies at fault.
fn blame_records(records: Vec<usize>) -> Evidence {
    Evidence {
        blamed_events: records,
        ..Evidence::default()
    }
}

fn blame(blamed_lines: Vec<u32>) -> Evidence {
    Evidence {
        blamed_lines,
        ..Evidence::default()
    }
}

/// Within one process lifetime, a node's ids strictly increase.
struct PerNodeMonotonic;

impl Invariant for PerNodeMonotonic {
    fn name(&self) -> &'static str {
        "per-node-monotonic"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two replies.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut last: BTreeMap<(NodeId, Incarnation), Issued> = BTreeMap::new();
        for i in issued(r) {
            if let Some(prev) = last.get(&(i.node, i.incarnation))
                && i.id <= prev.id
            {
                let outcome = Outcome::Fail(format!(
                    "{} (incarnation {}) issued {} at {} after {} at {}",
                    i.node, i.incarnation.0, i.id, i.at, prev.id, prev.at
                ));
                return (outcome, blame_records(vec![prev.record, i.record]));
            }
            last.insert((i.node, i.incarnation), i);
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// After a restart, a node issues only ids above everything it issued before the crash.
struct MonotonicAcrossRestarts;

impl Invariant for MonotonicAcrossRestarts {
    fn name(&self) -> &'static str {
        "monotonic-across-restarts"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the reply of the highest id before the restart and the reply not above it.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        // Per node: the highest id over all earlier incarnations (its reply), and the highest
        // of the current one.
        let mut high: BTreeMap<NodeId, Issued> = BTreeMap::new();
        let mut current: BTreeMap<NodeId, Issued> = BTreeMap::new();
        for i in issued(r) {
            match current.get(&i.node) {
                Some(c) if c.incarnation != i.incarnation => {
                    let ended = *c;
                    if high.get(&i.node).is_none_or(|h| ended.id > h.id) {
                        high.insert(i.node, ended);
                    }
                    current.insert(i.node, i);
                }
                Some(c) => {
                    if i.id > c.id {
                        current.insert(i.node, i);
                    }
                }
                None => {
                    current.insert(i.node, i);
                }
            }
            if let Some(h) = high.get(&i.node)
                && i.id <= h.id
            {
                let outcome = Outcome::Fail(format!(
                    "{} (incarnation {}) issued {} at {}, not above {} issued before its restart (incarnation {})",
                    i.node, i.incarnation.0, i.id, i.at, h.id, h.incarnation.0
                ));
                return (outcome, blame_records(vec![h.record, i.record]));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// What clients saw, per worker: an id that completed before another `next` (served by the same
/// worker) was invoked is smaller — the linearizability checker's `idgen` model, partitioned by
/// the worker bits of each id. Global order across workers is not promised (clocks are skewed),
/// so it is not checked.
struct OrderedPerWorker {
    layout: IdLayout,
}

impl Invariant for OrderedPerWorker {
    fn name(&self) -> &'static str {
        "ordered-per-worker"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let l = self.layout;
        let worker_of = |id: u64| (id >> l.sequence_bits) & ((1u64 << l.worker_bits) - 1);
        let (keyed, original_line) = ok_ops_keyed_by(r.history, worker_of);
        // Line numbers in the report refer to `keyed`; translate them back to the history's.
        let line = |l: u32| original_line.get(l as usize - 1).copied().unwrap_or(0);
        match check::check(&keyed, ModelKind::Idgen, &CheckOptions::default()) {
            Ok(report) => match &report.verdict {
                check::Verdict::Linearizable => Outcome::Pass,
                check::Verdict::NotLinearizable(cx) => {
                    let ops: Vec<String> = cx
                        .unplaced
                        .iter()
                        .map(|op| {
                            let end = op.complete_line.map_or(0, line);
                            format!(
                                "process {} {} (history lines {}–{end})",
                                op.process,
                                op.op,
                                line(op.invoke_line)
                            )
                        })
                        .collect();
                    let worker = cx.partition.clone().unwrap_or_default();
                    Outcome::Fail(format!(
                        "worker {worker}: {}: {}",
                        cx.explanation,
                        ops.join(", ")
                    ))
                }
                check::Verdict::Unknown(why) => Outcome::Unknown(why.describe()),
            },
            Err(e) => Outcome::Unknown(format!("the checker rejected the history: {e}")),
        }
    }
}

/// The completed `next` operations only (a timed-out or refused one carries no id and so no
/// constraint), each keyed by the worker that issued its id.
/// Also returns, for each kept event, its 1-based line in `history`.
fn ok_ops_keyed_by(history: &History, worker_of: impl Fn(u64) -> u64) -> (History, Vec<u32>) {
    // (position, event) of each process's open invocation; kept events return to their
    // original positions so real-time order is preserved.
    let mut open: BTreeMap<String, (usize, &HistoryEvent)> = BTreeMap::new();
    let mut keep: Vec<(usize, HistoryEvent)> = Vec::new();
    for (i, ev) in history.events.iter().enumerate() {
        let p = ev.process.to_string();
        match ev.kind {
            OpType::Invoke => {
                open.insert(p, (i, ev));
            }
            OpType::Ok => {
                let Some((at, inv)) = open.remove(&p) else {
                    continue;
                };
                let Some(id) = ev.value.as_ref().and_then(serde_json::Value::as_u64) else {
                    continue;
                };
                let key = Some(serde_json::json!(worker_of(id)));
                keep.push((
                    at,
                    HistoryEvent {
                        key: key.clone(),
                        ..inv.clone()
                    },
                ));
                keep.push((i, HistoryEvent { key, ..ev.clone() }));
            }
            OpType::Fail | OpType::Info => {
                open.remove(&p);
            }
        }
    }
    keep.sort_by_key(|(i, _)| *i);
    let lines = keep
        .iter()
        .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
        .collect();
    (
        History {
            events: keep.into_iter().map(|(_, e)| e).collect(),
        },
        lines,
    )
}
