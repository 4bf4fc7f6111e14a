//! MapReduce's promises, judged from the records in true simulated time:
//!
//! - `output-equals-sequential` (always): whatever a partition's final name holds (each
//!   `mr/final` the store records when it changes) and whatever a client read as committed
//!   equals the sequential computation of that partition — no lost, duplicated or partial
//!   records;
//! - `partition-committed-once` (always): each partition's final name is bound to one attempt
//!   only, ever;
//! - `no-map-output-skipped` (always): each committed partition reduced every map's output,
//!   each once;
//! - `jobs-complete` (eventually): every job submitted `ok` before the middle of the liveness
//!   phase (and at least [`settle_ms`] before its end) has every partition committed by the end;
//! - `lost-map-output-recomputed` (eventually): a map output lost with its worker (the worker
//!   crashed after writing it, its job not yet complete) is written again by a later attempt,
//!   unless the job completes without it; never silently skipped.
//!
//! Each verdict blames the records that break it: the store's `mr/final` record of the bad
//! output, the client's read, the submit that never completed, or the lost map's write and
//! the crash that lost it.

use super::corpus::{self, Counts};
use super::options::MrOptions;
use crate::history::{History, OpType};
use crate::invariants::{
    Evidence, Invariant, Outcome, RunRecords, Tag, Verdict, observations_indexed,
};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every MapReduce invariant.
pub fn all(opts: &MrOptions) -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(OutputEqualsSequential { opts: opts.clone() }),
        Box::new(PartitionCommittedOnce),
        Box::new(NoMapOutputSkipped { maps: opts.maps }),
        Box::new(JobsComplete { opts: opts.clone() }),
        Box::new(LostMapOutputRecomputed { opts: opts.clone() }),
    ]
}

/// What a bare history supports: every read's committed partitions against the sequential
/// computation.
pub fn history_checks(opts: &MrOptions, history: &History) -> Vec<Verdict> {
    let outcome = match bad_read(opts, history) {
        Some((_, m)) => Outcome::Fail(m),
        None => Outcome::Pass,
    };
    vec![Verdict {
        invariant: "read-equals-sequential",
        tag: Tag::Always,
        outcome,
    }]
}

/// How long a job takes once everything is healed, at most: a dead worker declared dead, its
/// maps run again, the reduces, and a second for the messages.
pub fn settle_ms(opts: &MrOptions) -> u64 {
    opts.worker_timeout_ms + opts.backup_after_ms + 2 * (opts.map_ms + opts.reduce_ms) + 1000
}

/// One `mr/final` record.
#[derive(Debug, Clone)]
struct Final {
    record: usize,
    at: SimTime,
    job: String,
    part: u32,
    attempt: u64,
    counts: Counts,
    inputs: Option<Vec<(u32, u64)>>,
}

fn finals(r: &RunRecords<'_>) -> Vec<Final> {
    observations_indexed(r.events, "mr/final")
        .map(|(record, at, _, v)| Final {
            record,
            at,
            job: v
                .get("job")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            part: v.get("part").and_then(Value::as_u64).unwrap_or(0) as u32,
            attempt: v.get("attempt").and_then(Value::as_u64).unwrap_or(0),
            counts: v
                .get("counts")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default(),
            inputs: v
                .get("inputs")
                .and_then(|c| serde_json::from_value(c.clone()).ok()),
        })
        .collect()
}

fn blaming(key: &str, events: Vec<usize>, lines: Vec<u32>) -> Evidence {
    Evidence {
        blamed_events: events,
        blamed_lines: lines,
        key: serde_json::to_string(key).ok(),
        ..Evidence::default()
    }
}

/// How two outputs differ, in a few words.
fn diff(got: &Counts, want: &Counts) -> String {
    let words: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let mut out = Vec::new();
    for w in words {
        let (g, x) = (
            got.get(w).copied().unwrap_or(0),
            want.get(w).copied().unwrap_or(0),
        );
        if g != x {
            out.push(format!("{w}: {g} (want {x})"));
        }
    }
    out.truncate(4);
    out.join(", ")
}

/// The first read whose committed output is wrong: (1-based invoke line, message).
fn bad_read(opts: &MrOptions, history: &History) -> Option<(u32, String)> {
    let mut open: BTreeMap<String, (String, u32)> = BTreeMap::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.f != "read" {
            continue;
        }
        let process = format!("{:?}", e.process);
        match e.kind {
            OpType::Invoke => {
                let job = e
                    .key
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                open.insert(process, (job, u32::try_from(i + 1).unwrap_or(u32::MAX)));
            }
            OpType::Ok => {
                let Some((job, line)) = open.remove(&process) else {
                    continue;
                };
                let parts: BTreeMap<u32, Counts> = e
                    .value
                    .as_ref()
                    .and_then(|v| v.get("parts"))
                    .and_then(|p| serde_json::from_value(p.clone()).ok())
                    .unwrap_or_default();
                for (part, got) in parts {
                    let want = corpus::expected(opts, &job, part);
                    if got != want {
                        let m = format!(
                            "a read of job {job} returned partition {part} as committed with \
                             output that is not the sequential computation's ({})",
                            diff(&got, &want)
                        );
                        return Some((line, m));
                    }
                }
            }
            OpType::Fail | OpType::Info => {
                open.remove(&process);
            }
        }
    }
    None
}

/// `output-equals-sequential`.
pub struct OutputEqualsSequential {
    /// The corpus and the partitioning.
    pub opts: MrOptions,
}

impl Invariant for OutputEqualsSequential {
    fn name(&self) -> &'static str {
        "output-equals-sequential"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the store's record of the wrong output, or the read that returned it.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        for f in finals(r) {
            let want = corpus::expected(&self.opts, &f.job, f.part);
            if f.counts != want {
                let m = format!(
                    "partition {} of job {} was final at {} holding attempt {}'s output, which is \
                     not the sequential computation's ({})",
                    f.part,
                    f.job,
                    f.at,
                    f.attempt,
                    diff(&f.counts, &want)
                );
                return (
                    Outcome::Fail(m),
                    blaming(&f.job, vec![f.record], Vec::new()),
                );
            }
        }
        if let Some((line, m)) = bad_read(&self.opts, r.history) {
            return (Outcome::Fail(m), blaming("", Vec::new(), vec![line]));
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `partition-committed-once`.
pub struct PartitionCommittedOnce;

impl Invariant for PartitionCommittedOnce {
    fn name(&self) -> &'static str {
        "partition-committed-once"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames both commits.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut first: BTreeMap<(String, u32), Final> = BTreeMap::new();
        for f in finals(r) {
            let key = (f.job.clone(), f.part);
            if let Some(prev) = first.get(&key) {
                if prev.attempt != f.attempt {
                    let m = format!(
                        "partition {} of job {} was committed twice: by attempt {} at {} and by \
                         attempt {} at {}",
                        f.part, f.job, prev.attempt, prev.at, f.attempt, f.at
                    );
                    let ev = blaming(&f.job, vec![prev.record, f.record], Vec::new());
                    return (Outcome::Fail(m), ev);
                }
                continue;
            }
            first.insert(key, f);
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `no-map-output-skipped`.
pub struct NoMapOutputSkipped {
    /// Maps per job.
    pub maps: u32,
}

impl Invariant for NoMapOutputSkipped {
    fn name(&self) -> &'static str {
        "no-map-output-skipped"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the commit that reduced too few (or too many) map outputs.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        for f in finals(r) {
            let Some(inputs) = &f.inputs else { continue };
            let maps: Vec<u32> = inputs.iter().map(|(m, _)| *m).collect();
            let want: Vec<u32> = (0..self.maps).collect();
            let mut sorted = maps.clone();
            sorted.sort_unstable();
            if sorted != want {
                let m = format!(
                    "partition {} of job {} was committed (attempt {}, at {}) from map outputs \
                     {maps:?}, not from each of the {} maps once",
                    f.part, f.job, f.attempt, f.at, self.maps
                );
                return (
                    Outcome::Fail(m),
                    blaming(&f.job, vec![f.record], Vec::new()),
                );
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// When every partition of each job was first final.
fn completions(r: &RunRecords<'_>, reduces: u32) -> BTreeMap<String, SimTime> {
    let mut parts: BTreeMap<String, BTreeMap<u32, SimTime>> = BTreeMap::new();
    for f in finals(r) {
        parts
            .entry(f.job)
            .or_default()
            .entry(f.part)
            .or_insert(f.at);
    }
    parts
        .into_iter()
        .filter(|(_, p)| p.len() as u32 >= reduces)
        .filter_map(|(job, p)| p.values().max().map(|t| (job, *t)))
        .collect()
}

/// What must be complete by the end: whatever was submitted before this cutoff.
fn cutoff(r: &RunRecords<'_>, settle_ms: u64) -> Option<u64> {
    if r.liveness_ms == 0 {
        return None;
    }
    let liveness_ns = r.liveness_ms.saturating_mul(1_000_000);
    let end = r.heal_at.ns.saturating_add(liveness_ns);
    let middle = r.heal_at.ns.saturating_add(liveness_ns / 2);
    Some(middle.min(end.saturating_sub(settle_ms.saturating_mul(1_000_000))))
}

#[path = "invariants_liveness.rs"]
mod liveness;
pub use liveness::{JobsComplete, LostMapOutputRecomputed};
