//! The job queue's promises, judged from the records in true simulated time:
//!
//! - `effect-exactly-once` (always): each job (by name: `c3-7`, `slot-5`) has at most one
//!   effect applied at the sink, and none that no producer asked for;
//! - `acked-enqueue-not-lost` (eventually): every enqueue acknowledged `ok` before the middle
//!   of the liveness phase (and at least [`settle_ms`] before its end) has its effect at the
//!   sink by the end of the run (a job enqueued to run later: if acknowledged that early plus
//!   its delay and `at_slack_ms`);
//! - `one-worker-at-a-time` (always): once a worker holds a later lease of a job
//!   (`jobs/lease`), no worker acts (`jobs/act`: sends the effect) on an earlier one — a worker
//!   acts only while it believes its lease good, so this is "no two workers act on one job at
//!   once" (what the fence would stop at the sink is still a broken promise of the lease);
//! - `slot-fires-once` (always): no schedule slot has two effects;
//! - `slots-none-skipped` (eventually): every slot up to the highest one applied before that
//!   cutoff has its effect by the end, and slots fired after healing.
//!
//! Each verdict blames the records that break it: the sink's effects, the leases and acts, or
//! the history line of the lost enqueue.

use super::options::JobsOptions;
use crate::history::{History, OpType};
use crate::invariants::{
    Evidence, Invariant, Outcome, RunRecords, Tag, Verdict, observations_indexed,
};
use crate::time::SimTime;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every job invariant.
pub fn all(opts: &JobsOptions) -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(EffectExactlyOnce),
        Box::new(AckedEnqueueNotLost {
            settle_ms: settle_ms(opts),
            at_slack_ms: opts.at_slack_ms,
        }),
        Box::new(OneWorkerAtATime),
        Box::new(SlotFiresOnce),
        Box::new(SlotsNoneSkipped {
            every_ms: opts.every_ms,
            settle_ms: settle_ms(opts),
        }),
    ]
}

/// What a bare history supports: nothing of the sink's side is in it, so no verdict.
pub fn history_checks(_opts: &JobsOptions, _history: &History) -> Vec<Verdict> {
    Vec::new()
}

/// One effect the sink applied.
#[derive(Debug, Clone)]
struct Applied {
    record: usize,
    at: SimTime,
    name: String,
    slot: Option<u64>,
    worker: u64,
    token: u64,
}

fn applied(r: &RunRecords<'_>) -> Vec<Applied> {
    observations_indexed(r.events, "jobs/effect")
        .filter(|(_, _, _, v)| v.get("outcome").and_then(Value::as_str) == Some("applied"))
        .map(|(record, at, _, v)| Applied {
            record,
            at,
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            slot: v.get("slot").and_then(Value::as_u64),
            worker: v.get("worker").and_then(Value::as_u64).unwrap_or(0),
            token: v.get("token").and_then(Value::as_u64).unwrap_or(0),
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

/// One job as its producer asked for it.
#[derive(Debug, Clone, Copy)]
struct Asked {
    /// 1-based history line of the first invocation.
    line: u32,
    /// When the first `ok` came, if any.
    ok_ns: Option<u64>,
    /// For a job to run later: the delay the producer asked for.
    delay_ms: Option<u64>,
}

/// The names producers enqueued, and how.
fn enqueues(history: &History) -> BTreeMap<String, Asked> {
    let mut open: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let mut out: BTreeMap<String, Asked> = BTreeMap::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.f != "enqueue" {
            continue;
        }
        let process = format!("{:?}", e.process);
        match e.kind {
            OpType::Invoke => {
                let name = e
                    .key
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
                let delay_ms = e
                    .value
                    .as_ref()
                    .and_then(|v| v.get("delay_ms"))
                    .and_then(Value::as_u64);
                out.entry(name.clone()).or_insert(Asked {
                    line,
                    ok_ns: None,
                    delay_ms,
                });
                open.insert(process, (name, line));
            }
            OpType::Ok => {
                if let Some((name, _)) = open.remove(&process)
                    && let Some(entry) = out.get_mut(&name)
                    && entry.ok_ns.is_none()
                {
                    entry.ok_ns = Some(e.time.unwrap_or(0));
                }
            }
            OpType::Fail | OpType::Info => {
                open.remove(&process);
            }
        }
    }
    out
}

/// What must have taken effect by the end of the run: whatever was acknowledged before this
/// cutoff — the middle of the liveness phase, or `settle_ms` before its end if that is earlier
/// (a job acknowledged just before the end has had no time to run). `None`: no liveness phase.
fn cutoff(r: &RunRecords<'_>, settle_ms: u64) -> Option<u64> {
    if r.liveness_ms == 0 {
        return None;
    }
    let liveness_ns = r.liveness_ms.saturating_mul(1_000_000);
    let end = r.heal_at.ns.saturating_add(liveness_ns);
    let middle = r.heal_at.ns.saturating_add(liveness_ns / 2);
    Some(middle.min(end.saturating_sub(settle_ms.saturating_mul(1_000_000))))
}

/// How long a job takes to run once everything is healed, at most: a lease that was lost runs
/// out on the leader (twice, for a redelivery that is lost too), the work and the finishing,
/// and a second for an election and the calls.
pub fn settle_ms(opts: &JobsOptions) -> u64 {
    let expiry = opts.duties(false).expiry_ms();
    2 * expiry + opts.work_ms + opts.finish_ms + 1000
}

/// `effect-exactly-once`.
pub struct EffectExactlyOnce;

impl Invariant for EffectExactlyOnce {
    fn name(&self) -> &'static str {
        "effect-exactly-once"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames both effects of the job (or the one no producer asked for).
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let asked = enqueues(r.history);
        let mut first: BTreeMap<&str, &Applied> = BTreeMap::new();
        let all = applied(r);
        for a in &all {
            if a.slot.is_none() && !a.name.starts_with("slot-") && !asked.contains_key(&a.name) {
                let m = format!(
                    "the sink applied {} at {} (worker n{}), which no producer enqueued",
                    a.name, a.at, a.worker
                );
                return (
                    Outcome::Fail(m),
                    blaming(&a.name, vec![a.record], Vec::new()),
                );
            }
            if let Some(prev) = first.get(a.name.as_str()) {
                let m = format!(
                    "job {}'s effect was applied twice: at {} (worker n{}, token {}) and at {} \
                     (worker n{}, token {})",
                    a.name, prev.at, prev.worker, prev.token, a.at, a.worker, a.token
                );
                let lines = asked.get(&a.name).map(|a| vec![a.line]).unwrap_or_default();
                return (
                    Outcome::Fail(m),
                    blaming(&a.name, vec![prev.record, a.record], lines),
                );
            }
            first.insert(&a.name, a);
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `acked-enqueue-not-lost`.
pub struct AckedEnqueueNotLost {
    /// See [`settle_ms`].
    pub settle_ms: u64,
    /// How late past its time a job enqueued to run later may run (see the option).
    pub at_slack_ms: u64,
}

impl Invariant for AckedEnqueueNotLost {
    fn name(&self) -> &'static str {
        "acked-enqueue-not-lost"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the enqueue whose job never took effect.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let Some(cutoff_ns) = cutoff(r, self.settle_ms) else {
            let why = "no liveness phase to judge delivery in".into();
            return (Outcome::Unknown(why), Evidence::default());
        };
        if r.events_overflowed {
            let why = "the event log overflowed: the sink's effects are incomplete".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let done: BTreeSet<String> = applied(r).into_iter().map(|a| a.name).collect();
        for (name, asked) in enqueues(r.history) {
            // A job to run later must have come due (by the producer's clock, with the slack
            // for the leader's) before the cutoff too.
            let wait_ns = asked.delay_ms.map_or(0, |d| {
                d.saturating_add(self.at_slack_ms).saturating_mul(1_000_000)
            });
            let Some(ok_ns) = asked
                .ok_ns
                .filter(|&t| t.saturating_add(wait_ns) <= cutoff_ns)
            else {
                continue;
            };
            if !done.contains(&name) {
                let later = asked
                    .delay_ms
                    .map(|d| format!(" to run {d} ms later"))
                    .unwrap_or_default();
                let m = format!(
                    "job {name} was enqueued ok{later} at {} but its effect never reached the sink",
                    SimTime { ns: ok_ns }
                );
                return (
                    Outcome::Fail(m),
                    blaming(&name, Vec::new(), vec![asked.line]),
                );
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `one-worker-at-a-time`.
pub struct OneWorkerAtATime;

impl Invariant for OneWorkerAtATime {
    fn name(&self) -> &'static str {
        "one-worker-at-a-time"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the later lease and the act on the earlier one that followed it.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        // Job → (token, worker, record, when) of the latest lease seen so far.
        let mut latest: BTreeMap<u64, (u64, u64, usize, SimTime)> = BTreeMap::new();
        let field = |v: &Value, f: &str| v.get(f).and_then(Value::as_u64).unwrap_or(0);
        let mut records: Vec<(usize, SimTime, bool, &Value)> =
            observations_indexed(r.events, "jobs/lease")
                .map(|(i, t, _, v)| (i, t, true, v))
                .chain(
                    observations_indexed(r.events, "jobs/act").map(|(i, t, _, v)| (i, t, false, v)),
                )
                .collect();
        records.sort_by_key(|(i, ..)| *i);
        for (i, at, lease, v) in records {
            let (job, token, worker) = (field(v, "job"), field(v, "token"), field(v, "worker"));
            if lease {
                let e = latest.entry(job).or_insert((token, worker, i, at));
                if token >= e.0 {
                    *e = (token, worker, i, at);
                }
                continue;
            }
            if let Some(&(t, w, rec, lease_at)) = latest.get(&job)
                && t > token
            {
                let m = format!(
                    "worker n{worker} acted on job {job} under token {token} at {at}, after worker \
                     n{w} had leased it again with token {t} at {lease_at}"
                );
                return (
                    Outcome::Fail(m),
                    blaming(&format!("job {job}"), vec![rec, i], Vec::new()),
                );
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `slot-fires-once`.
pub struct SlotFiresOnce;

impl Invariant for SlotFiresOnce {
    fn name(&self) -> &'static str {
        "slot-fires-once"
    }
    fn tag(&self) -> Tag {
        Tag::Always
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames both effects of the slot.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let mut first: BTreeMap<u64, Applied> = BTreeMap::new();
        for a in applied(r) {
            let Some(slot) = a.slot else { continue };
            if let Some(prev) = first.get(&slot) {
                let m = format!(
                    "schedule slot {slot} fired twice: at {} (worker n{}) and at {} (worker n{})",
                    prev.at, prev.worker, a.at, a.worker
                );
                return (
                    Outcome::Fail(m),
                    blaming(&a.name, vec![prev.record, a.record], Vec::new()),
                );
            }
            first.insert(slot, a);
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `slots-none-skipped`.
pub struct SlotsNoneSkipped {
    /// The schedule's period (0: no schedule, nothing to judge).
    pub every_ms: u64,
    /// See [`settle_ms`].
    pub settle_ms: u64,
}

impl Invariant for SlotsNoneSkipped {
    fn name(&self) -> &'static str {
        "slots-none-skipped"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the effect of the highest slot below which one is missing.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        if self.every_ms == 0 {
            return (Outcome::Pass, Evidence::default());
        }
        let Some(cutoff_ns) = cutoff(r, self.settle_ms) else {
            let why = "no liveness phase to judge the schedule in".into();
            return (Outcome::Unknown(why), Evidence::default());
        };
        if r.events_overflowed {
            let why = "the event log overflowed: the sink's effects are incomplete".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let all = applied(r);
        let slots: BTreeSet<u64> = all.iter().filter_map(|a| a.slot).collect();
        let top = all
            .iter()
            .filter(|a| a.at.ns <= cutoff_ns)
            .filter_map(|a| a.slot.map(|s| (s, a.record)))
            .max();
        if let Some((top, record)) = top {
            let below = slots.range(1..=top).count() as u64;
            if below < top {
                let mut missing = 1;
                for s in slots.range(1..=top) {
                    if *s != missing {
                        break;
                    }
                    missing += 1;
                }
                let m = format!(
                    "schedule slot {missing} never fired, though slot {top} did (before the middle \
                     of the liveness phase)"
                );
                return (
                    Outcome::Fail(m),
                    blaming(&format!("slot-{top}"), vec![record], Vec::new()),
                );
            }
        }
        // A liveness phase long enough for a few periods must see the schedule go on.
        if r.liveness_ms >= self.every_ms.saturating_mul(4) {
            let after_heal = all
                .iter()
                .any(|a| a.slot.is_some() && a.at.ns >= r.heal_at.ns);
            if !after_heal {
                let m = format!(
                    "no schedule slot fired in the {} ms after healing (every {} ms)",
                    r.liveness_ms, self.every_ms
                );
                return (Outcome::Fail(m), Evidence::default());
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}
