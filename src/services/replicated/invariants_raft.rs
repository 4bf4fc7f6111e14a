//! Raft's log properties (Figure 3 of the paper) judged on `raft/log` summaries (see
//! `log_summary.rs`) and `raft/commit` observations:
//!
//! - `leader-completeness` (always): a leader's log, the moment it wins term `T`, holds every
//!   entry a leader of an earlier term committed — at its index, with its term (or it lies at
//!   or below the winner's snapshot, which holds only committed entries). Judged before the
//!   new leader can overwrite anything, so a stale leader is caught when it wins, not when a
//!   replica later applies a different entry. Commits recorded after the win count too: the
//!   majority that stored the entry acknowledged it before any of them voted in term `T`;
//! - `log-matching` (always): two logs that hold an entry with the same index and term agree
//!   on every entry before it. Logs are compared through their term boundaries, any two
//!   summaries of a group at any two times (an (index, term) names one entry for good: one
//!   leader per term, which appends each index once). Identity is by term, not payload: two
//!   entries of one term at one index with different commands are not seen here — that takes
//!   two leaders in a term (`one-leader-per-term`) or a corrupt entry (`same-entry-per-index`
//!   sees its effect once applied);
//! - `leader-append-only` (always): while a node leads a term (one incarnation), each summary
//!   it records extends the previous one: nothing truncated at or below the last index it
//!   had, no entry's term changed. Compaction is not deletion: entries at or below a snapshot
//!   are compared no further.

use crate::event::{Event, EventRecord};
use crate::ids::{Incarnation, NodeId};
use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One `raft/log` observation.
#[derive(Debug, Clone)]
pub(super) struct LogSummary {
    pub record: usize,
    pub at: SimTime,
    pub node: NodeId,
    pub incarnation: Incarnation,
    pub group: u64,
    /// The node's current term when recorded.
    pub term: u64,
    pub leader: bool,
    /// Recorded as it won the election of `term`.
    pub won: bool,
    /// (index, term) of the snapshot's last entry; (0, 0) without one.
    pub snapshot: (u64, u64),
    /// (first_index, term) of each run of one term's entries after the snapshot.
    pub runs: Vec<(u64, u64)>,
    pub last: u64,
    /// The index a truncation in the same step removed entries from.
    pub cut: Option<u64>,
}

/// What a summary says is at `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// An entry of this term (the snapshot's last entry counts).
    Term(u64),
    /// Below the snapshot: compacted, not known.
    Compacted,
    /// Past the last entry.
    Absent,
}

impl LogSummary {
    pub(super) fn slot(&self, index: u64) -> Slot {
        let (snap_index, snap_term) = self.snapshot;
        if index < snap_index {
            return Slot::Compacted;
        }
        if index == snap_index {
            return Slot::Term(snap_term);
        }
        if index > self.last {
            return Slot::Absent;
        }
        // Runs start right after the snapshot (checked when parsed), so one holds `index`.
        let at = self.runs.partition_point(|&(first, _)| first <= index);
        match at.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some(&(_, term)) => Slot::Term(term),
            None => Slot::Absent,
        }
    }

    fn parse(record: usize, rec: &EventRecord) -> Option<Result<LogSummary, String>> {
        let Event::Observe {
            node,
            incarnation,
            label,
            value,
        } = &rec.event
        else {
            return None;
        };
        if label != "raft/log" {
            return None;
        }
        let at = rec.time_ns;
        let malformed = || format!("malformed raft/log record at {at}: {value}");
        Some(parse_fields(value).ok_or_else(malformed).and_then(
            |(group, term, leader, won, snapshot, runs, last, cut)| {
                let summary = LogSummary {
                    record,
                    at,
                    node: *node,
                    incarnation: *incarnation,
                    group,
                    term,
                    leader,
                    won,
                    snapshot,
                    runs,
                    last,
                    cut,
                };
                if summary.well_formed() {
                    Ok(summary)
                } else {
                    Err(malformed())
                }
            },
        ))
    }

    /// Runs start right after the snapshot, strictly increase, and end by the last index.
    fn well_formed(&self) -> bool {
        let (snap_index, _) = self.snapshot;
        let increasing = self.runs.windows(2).all(|w| w[0].0 < w[1].0);
        match (self.runs.first(), self.runs.last()) {
            (Some(&(first, _)), Some(&(last_first, _))) => {
                increasing && first == snap_index + 1 && last_first <= self.last
            }
            _ => self.last == snap_index,
        }
    }
}

type Fields = (
    u64,
    u64,
    bool,
    bool,
    (u64, u64),
    Vec<(u64, u64)>,
    u64,
    Option<u64>,
);

fn parse_fields(v: &Value) -> Option<Fields> {
    let u = |name: &str| v.get(name).and_then(Value::as_u64);
    let b = |name: &str| v.get(name).and_then(Value::as_bool);
    let pair = |p: &Value| -> Option<(u64, u64)> {
        let p = p.as_array()?;
        match p.as_slice() {
            [a, b] => Some((a.as_u64()?, b.as_u64()?)),
            _ => None,
        }
    };
    let runs = v
        .get("runs")?
        .as_array()?
        .iter()
        .map(pair)
        .collect::<Option<Vec<_>>>()?;
    let cut = match v.get("cut") {
        None | Some(Value::Null) => None,
        Some(c) => Some(c.as_u64()?),
    };
    Some((
        u("group")?,
        u("term")?,
        b("leader")?,
        b("won")?,
        pair(v.get("snapshot")?)?,
        runs,
        u("last")?,
        cut,
    ))
}

/// Every `raft/log` summary, in event order; `Err` on a malformed one.
pub(super) fn summaries(events: &[EventRecord]) -> Result<Vec<LogSummary>, String> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, rec)| LogSummary::parse(i, rec))
        .collect()
}

fn blaming(records: Vec<usize>) -> Evidence {
    Evidence {
        blamed_events: records,
        ..Evidence::default()
    }
}

fn show(slot: Slot) -> String {
    match slot {
        Slot::Term(t) => format!("an entry of term {t}"),
        Slot::Compacted => "a compacted entry".into(),
        Slot::Absent => "no entry".into(),
    }
}

/// One `raft/commit` observation.
struct Commit {
    record: usize,
    at: SimTime,
    node: NodeId,
    group: u64,
    /// The committing leader's term.
    term: u64,
    index: u64,
    entry_term: u64,
}

fn commits(events: &[EventRecord]) -> Result<Vec<Commit>, String> {
    crate::invariants::observations_indexed(events, "raft/commit")
        .map(|(record, at, node, v)| {
            let u = |name: &str| v.get(name).and_then(Value::as_u64);
            match (u("group"), u("term"), u("index"), u("entry_term")) {
                (Some(group), Some(term), Some(index), Some(entry_term)) => Ok(Commit {
                    record,
                    at,
                    node,
                    group,
                    term,
                    index,
                    entry_term,
                }),
                _ => Err(format!("malformed raft/commit record at {at}: {v}")),
            }
        })
        .collect()
}

pub(super) struct LeaderCompleteness;

impl Invariant for LeaderCompleteness {
    fn name(&self) -> &'static str {
        "leader-completeness"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the commit and the winner's summary.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let (logs, commits) = match (summaries(r.events), commits(r.events)) {
            (Ok(l), Ok(c)) => (l, c),
            (Err(e), _) | (_, Err(e)) => return (Outcome::Unknown(e), Evidence::default()),
        };
        // Per group, per index: the commits there (one per committing leader term is enough).
        let mut by_group: BTreeMap<u64, BTreeMap<(u64, u64), &Commit>> = BTreeMap::new();
        for c in &commits {
            by_group
                .entry(c.group)
                .or_default()
                .entry((c.index, c.term))
                .or_insert(c);
        }
        for w in logs.iter().filter(|l| l.won) {
            let Some(group_commits) = by_group.get(&w.group) else {
                continue;
            };
            for c in group_commits.values().filter(|c| c.term < w.term) {
                let slot = w.slot(c.index);
                if slot == Slot::Compacted || slot == Slot::Term(c.entry_term) {
                    continue;
                }
                let outcome = Outcome::Fail(format!(
                    "group {}: {} won term {} at {} holding {} at index {}, where {} (leader of term {}) committed an entry of term {} at {}",
                    w.group,
                    w.node,
                    w.term,
                    w.at,
                    match slot {
                        Slot::Term(t) if t == w.term =>
                            format!("only its own new entry (term {t})"),
                        other => show(other),
                    },
                    c.index,
                    c.node,
                    c.term,
                    c.entry_term,
                    c.at
                ));
                return (outcome, blaming(vec![c.record, w.record]));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// Where two logs disagree below an entry they share: `(shared_index, differing_index)`.
pub(super) fn mismatch(a: &LogSummary, b: &LogSummary) -> Option<(u64, u64)> {
    let lo = a.snapshot.0.max(b.snapshot.0);
    let hi = a.last.min(b.last);
    if lo > hi {
        return None;
    }
    // Both logs' terms are constant between consecutive boundaries.
    let mut bounds: BTreeSet<u64> = BTreeSet::from([lo]);
    for &(first, _) in a.runs.iter().chain(&b.runs) {
        if first > lo && first <= hi {
            bounds.insert(first);
        }
    }
    let mut first_differing = None;
    let mut last_shared = None;
    let starts: Vec<u64> = bounds.into_iter().collect();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(hi, |next| next - 1);
        if a.slot(start) == b.slot(start) {
            last_shared = Some(end);
        } else if first_differing.is_none() {
            first_differing = Some(start);
        }
    }
    match (last_shared, first_differing) {
        (Some(shared), Some(differing)) if shared > differing => Some((shared, differing)),
        _ => None,
    }
}

pub(super) struct LogMatching;

impl Invariant for LogMatching {
    fn name(&self) -> &'static str {
        "log-matching"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two summaries.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let logs = match summaries(r.events) {
            Ok(l) => l,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        // Identical logs need comparing once: keep the first summary of each.
        type Content<'a> = (u64, (u64, u64), &'a [(u64, u64)], u64);
        let mut distinct: BTreeMap<Content<'_>, &LogSummary> = BTreeMap::new();
        for l in &logs {
            distinct
                .entry((l.group, l.snapshot, l.runs.as_slice(), l.last))
                .or_insert(l);
        }
        let mut by_group: BTreeMap<u64, Vec<&LogSummary>> = BTreeMap::new();
        for l in distinct.into_values() {
            by_group.entry(l.group).or_default().push(l);
        }
        for (group, logs) in by_group {
            for (i, a) in logs.iter().enumerate() {
                for b in &logs[i + 1..] {
                    let Some((shared, differing)) = mismatch(a, b) else {
                        continue;
                    };
                    let outcome = Outcome::Fail(format!(
                        "group {group}: {}'s log at {} and {}'s at {} both hold an entry of term {} at index {}, \
                         but at index {} one has {} and the other {}",
                        a.node,
                        a.at,
                        b.node,
                        b.at,
                        match a.slot(shared) {
                            Slot::Term(t) => t,
                            _ => 0,
                        },
                        shared,
                        differing,
                        show(a.slot(differing)),
                        show(b.slot(differing))
                    ));
                    return (outcome, blaming(vec![a.record, b.record]));
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// How `next`, recorded later in the same leadership, fails to extend `prev`.
pub(super) fn shrinks(prev: &LogSummary, next: &LogSummary) -> Option<String> {
    if let Some(cut) = next.cut.filter(|&c| c <= prev.last) {
        return Some(format!(
            "truncated its log from index {cut} (it ended at {})",
            prev.last
        ));
    }
    if next.last < prev.last {
        return Some(format!(
            "its log ends at {} after ending at {}",
            next.last, prev.last
        ));
    }
    // Terms are constant between boundaries, so comparing at each boundary is exact.
    let from = prev.snapshot.0.max(next.snapshot.0);
    let boundaries = prev.runs.iter().chain(&next.runs).map(|&(first, _)| first);
    std::iter::once(from)
        .chain(boundaries.filter(|&i| i > from && i <= prev.last))
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .find(|&i| i <= prev.last && next.slot(i) != prev.slot(i))
        .map(|i| {
            format!(
                "held {} at index {}, then {}",
                show(prev.slot(i)),
                i,
                show(next.slot(i))
            )
        })
}

pub(super) struct LeaderAppendOnly;

impl Invariant for LeaderAppendOnly {
    fn name(&self) -> &'static str {
        "leader-append-only"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }

    /// Blames the two summaries of the leadership.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let logs = match summaries(r.events) {
            Ok(l) => l,
            Err(e) => return (Outcome::Unknown(e), Evidence::default()),
        };
        type Leadership = (u64, NodeId, Incarnation, u64);
        let mut previous: BTreeMap<Leadership, &LogSummary> = BTreeMap::new();
        for next in logs.iter().filter(|l| l.leader) {
            let key = (next.group, next.node, next.incarnation, next.term);
            if let Some(prev) = previous.insert(key, next)
                && let Some(why) = shrinks(prev, next)
            {
                let outcome = Outcome::Fail(format!(
                    "group {}: {} leading term {} {why} (between {} and {})",
                    next.group, next.node, next.term, prev.at, next.at
                ));
                return (outcome, blaming(vec![prev.record, next.record]));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}
