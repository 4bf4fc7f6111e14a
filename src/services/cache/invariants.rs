//! The cache tier's promises, judged in true simulated time:
//!
//! - `reads-see-written-values` (always): an `ok` read returns `null` or a value some write of
//!   that key wrote (values are unique per write), invoked before the read completed;
//! - `bounded-staleness` (always): a read invoked more than `staleness_bound_ms` after a write
//!   completed returns that write's value or one no older — never a value whose write completed
//!   before that write began, and never `null` after it;
//! - `read-your-writes` (always): the same with no slack for a client's reads after its own
//!   writes;
//! - `cache-matches-store` (eventually): after healing, no cache node still holds, at the end
//!   of the run, a value other than the store's for a key whose store value has been settled
//!   longer than a write takes to wait out every copy (from `cache/start`, `cache/fill`,
//!   `cache/drop` and the store replicas' `cache/store-value`).

use super::options::CacheOptions;
use crate::event::Event;
use crate::history::{History, OpType, Process};
use crate::ids::NodeId;
use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag, observations};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// One client operation on one key, paired.
#[derive(Debug, Clone)]
struct Op {
    process: Process,
    write: bool,
    key: Value,
    /// The value written (writes) or read (ok reads).
    value: Value,
    invoke_ns: u64,
    /// `Some` for `ok` completions.
    ok_ns: Option<u64>,
    /// 1-based history line of the invocation.
    line: u32,
}

/// Pairs the history's reads and writes (fails dropped: they took no effect).
fn ops(history: &History) -> Vec<Op> {
    let mut open: BTreeMap<Process, usize> = BTreeMap::new();
    let mut out: Vec<Op> = Vec::new();
    let mut failed = Vec::new();
    for (i, e) in history.events.iter().enumerate() {
        let time = e.time.unwrap_or(0);
        match e.kind {
            OpType::Invoke => {
                open.insert(e.process.clone(), out.len());
                out.push(Op {
                    process: e.process.clone(),
                    write: e.f == "write",
                    key: e.key.clone().unwrap_or(Value::Null),
                    value: e.value.clone().unwrap_or(Value::Null),
                    invoke_ns: time,
                    ok_ns: None,
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                });
            }
            OpType::Ok | OpType::Fail | OpType::Info => {
                let Some(at) = open.remove(&e.process) else {
                    continue;
                };
                match e.kind {
                    OpType::Ok => {
                        if let Some(op) = out.get_mut(at) {
                            op.ok_ns = Some(time);
                            if !op.write {
                                op.value = e.value.clone().unwrap_or(Value::Null);
                            }
                        }
                    }
                    OpType::Fail => failed.push(at),
                    _ => {}
                }
            }
        }
    }
    for at in failed.into_iter().rev() {
        out.remove(at);
    }
    out
}

fn blame(lines: &[u32], key: &Value) -> Evidence {
    Evidence {
        blamed_lines: lines.to_vec(),
        key: Some(key.to_string()),
        ..Evidence::default()
    }
}

fn secs(ns: u64) -> String {
    SimTime { ns }.to_string()
}

/// `reads-see-written-values`.
pub struct ReadsSeeWrittenValues;

impl Invariant for ReadsSeeWrittenValues {
    fn name(&self) -> &'static str {
        "reads-see-written-values"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, records: &RunRecords<'_>) -> Outcome {
        self.judge(records).0
    }
    fn judge(&self, records: &RunRecords<'_>) -> (Outcome, Evidence) {
        let all = ops(records.history);
        for r in all.iter().filter(|o| !o.write) {
            let Some(done) = r.ok_ns else { continue };
            if r.value.is_null() {
                continue;
            }
            let written = all
                .iter()
                .any(|w| w.write && w.key == r.key && w.value == r.value && w.invoke_ns <= done);
            if !written {
                let m = format!(
                    "read of {} at {} returned {}, which no write of that key wrote",
                    r.key,
                    secs(r.invoke_ns),
                    r.value
                );
                return (Outcome::Fail(m), blame(&[r.line], &r.key));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `bounded-staleness` (every client's writes, with the declared slack) or `read-your-writes`
/// (a client's own writes, with none).
pub struct BoundedStaleness {
    /// The declared bound, in ns.
    pub bound_ns: u64,
    /// Only a client's own writes count.
    pub own_writes: bool,
}

impl Invariant for BoundedStaleness {
    fn name(&self) -> &'static str {
        if self.own_writes {
            "read-your-writes"
        } else {
            "bounded-staleness"
        }
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, records: &RunRecords<'_>) -> Outcome {
        self.judge(records).0
    }
    fn judge(&self, records: &RunRecords<'_>) -> (Outcome, Evidence) {
        let all = ops(records.history);
        let mut by_key: BTreeMap<String, Vec<&Op>> = BTreeMap::new();
        for o in &all {
            by_key.entry(o.key.to_string()).or_default().push(o);
        }
        for ops in by_key.values() {
            if let Some(found) = self.stale_read(ops) {
                return found;
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

impl BoundedStaleness {
    /// The first read of one key that missed a write it was promised.
    fn stale_read(&self, ops: &[&Op]) -> Option<(Outcome, Evidence)> {
        let writes: Vec<&&Op> = ops.iter().filter(|o| o.write).collect();
        for r in ops.iter().filter(|o| !o.write && o.ok_ns.is_some()) {
            // The write whose value the read returned (`None`: it read "absent").
            let seen = writes
                .iter()
                .find(|w| !r.value.is_null() && w.value == r.value);
            for w in &writes {
                let Some(w_done) = w.ok_ns else { continue };
                if self.own_writes && w.process != r.process {
                    continue;
                }
                if r.invoke_ns <= w_done.saturating_add(self.bound_ns) {
                    continue;
                }
                if seen.is_some_and(|s| s.value == w.value) {
                    continue;
                }
                // Older: what it read was written by a write that completed before `w` began
                // (or nothing had been written).
                let older = match seen {
                    None => true,
                    Some(s) => s.ok_ns.is_some_and(|done| done < w.invoke_ns),
                };
                if older {
                    let m = format!(
                        "read of {} invoked at {} returned {}, but write {} had completed at {} \
                         (bound {} ms)",
                        r.key,
                        secs(r.invoke_ns),
                        r.value,
                        w.value,
                        secs(w_done),
                        self.bound_ns / 1_000_000
                    );
                    let mut lines = vec![r.line, w.line];
                    lines.extend(seen.map(|s| s.line));
                    return Some((Outcome::Fail(m), blame(&lines, &r.key)));
                }
            }
        }
        None
    }
}

/// `cache-matches-store` (eventually).
pub struct CacheMatchesStore {
    /// How long after the store settles a cache node may still hold another value, in ns.
    pub settle_ns: u64,
}

/// What one cache node holds, by key: the value and the index of the fill's record.
type Held = BTreeMap<String, (Value, usize)>;

impl Invariant for CacheMatchesStore {
    fn name(&self) -> &'static str {
        "cache-matches-store"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, records: &RunRecords<'_>) -> Outcome {
        self.judge(records).0
    }
    fn judge(&self, records: &RunRecords<'_>) -> (Outcome, Evidence) {
        if records.liveness_ms == 0 {
            let why = "no liveness phase to judge convergence in".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let end_ns = records
            .heal_at
            .ns
            .saturating_add(records.liveness_ms.saturating_mul(1_000_000));
        let held = cache_contents(records);
        let store = store_values(records);
        for (node, entries) in &held {
            for (key, (value, filled_at)) in entries {
                let Some((final_value, since_ns)) = store.get(key) else {
                    continue;
                };
                let settled = end_ns.saturating_sub(*since_ns) > self.settle_ns;
                if value != final_value && settled {
                    let m = format!(
                        "at the end cache node n{} holds {key} = {value}, but the store has \
                         held {final_value} since {}",
                        node.0,
                        secs(*since_ns)
                    );
                    // The fill that put the stale value there.
                    let evidence = Evidence {
                        blamed_events: vec![*filled_at],
                        key: Some(Value::from(key.as_str()).to_string()),
                        ..Evidence::default()
                    };
                    return (Outcome::Fail(m), evidence);
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// What each cache node holds at the end of the run, from its observations (a crash or a new
/// life empties it first).
fn cache_contents(records: &RunRecords<'_>) -> BTreeMap<NodeId, Held> {
    let mut held: BTreeMap<NodeId, Held> = BTreeMap::new();
    for (i, r) in records.events.iter().enumerate() {
        match &r.event {
            Event::Crash { node, .. } => {
                held.remove(node);
            }
            Event::Observe {
                node, label, value, ..
            } => {
                let key = value.get("key").and_then(Value::as_str).map(str::to_string);
                let table = held.entry(*node).or_default();
                match (label.as_str(), key) {
                    ("cache/start", _) => table.clear(),
                    ("cache/fill", Some(k)) => {
                        let v = value.get("value").cloned().unwrap_or(Value::Null);
                        table.insert(k, (v, i));
                    }
                    ("cache/drop", Some(k)) => {
                        table.remove(&k);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    held
}

/// The store's final value of each key and since when it has held it: the value most store
/// replicas last reported, from the first report of it in that final run.
fn store_values(records: &RunRecords<'_>) -> BTreeMap<String, (Value, u64)> {
    // Per replica, per key: (value, since).
    let mut last: BTreeMap<(String, NodeId), (Value, u64)> = BTreeMap::new();
    for (t, node, value) in observations(records.events, "cache/store-value") {
        let Some(key) = value.get("key").and_then(Value::as_str) else {
            continue;
        };
        let v = value.get("value").cloned().unwrap_or(Value::Null);
        let entry = last
            .entry((key.to_string(), node))
            .or_insert((v.clone(), t.ns));
        if entry.0 != v {
            *entry = (v, t.ns);
        }
    }
    let mut votes: BTreeMap<String, Vec<(Value, u64)>> = BTreeMap::new();
    for ((key, _), got) in last {
        votes.entry(key).or_default().push(got);
    }
    let mut out = BTreeMap::new();
    for (key, reports) in votes {
        // The value most replicas report (ties: the later one), since its earliest report.
        let mut best: Option<(usize, Value, u64)> = None;
        for (v, _) in &reports {
            let holders: Vec<u64> = reports
                .iter()
                .filter(|(w, _)| w == v)
                .map(|r| r.1)
                .collect();
            let since = holders.iter().copied().min().unwrap_or(0);
            if best.as_ref().is_none_or(|(n, _, _)| holders.len() > *n) {
                best = Some((holders.len(), v.clone(), since));
            }
        }
        if let Some((_, v, since)) = best {
            out.insert(key, (v, since));
        }
    }
    out
}

/// The cache tier's invariants under these options.
pub fn all(opts: &CacheOptions) -> Vec<Box<dyn Invariant>> {
    let bound_ns = opts.staleness_bound_ms.saturating_mul(1_000_000);
    let settle = opts.wait_out() + opts.sweep() * 2;
    vec![
        Box::new(ReadsSeeWrittenValues),
        Box::new(BoundedStaleness {
            bound_ns,
            own_writes: false,
        }),
        Box::new(BoundedStaleness {
            bound_ns: 0,
            own_writes: true,
        }),
        Box::new(CacheMatchesStore {
            settle_ns: u64::try_from(settle.as_nanos()).unwrap_or(u64::MAX),
        }),
    ]
}

/// What a bare history supports: every check but the one that needs the event log.
pub fn history_checks(opts: &CacheOptions, history: &History) -> Vec<crate::invariants::Verdict> {
    use crate::counters::Counters;
    let (counters, expect) = (Counters::default(), BTreeMap::new());
    let records = RunRecords {
        history,
        events: &[],
        counters: &counters,
        events_overflowed: false,
        heal_at: SimTime { ns: 0 },
        liveness_ms: 0,
        clients: 0,
        expect: &expect,
        scheduled: &[],
    };
    all(opts)
        .into_iter()
        .filter(|i| i.tag() == Tag::Always)
        .map(|i| crate::invariants::Verdict {
            invariant: i.name(),
            tag: i.tag(),
            outcome: i.check(&records),
        })
        .collect()
}
