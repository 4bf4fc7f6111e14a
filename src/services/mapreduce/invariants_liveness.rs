//! The two liveness invariants of MapReduce (split from `invariants.rs` to keep files short).

use super::{blaming, completions, cutoff, settle_ms};
use crate::event::Event;
use crate::history::OpType;
use crate::invariants::{Evidence, Invariant, Outcome, RunRecords, Tag, observations_indexed};
use crate::services::mapreduce::options::MrOptions;
use crate::time::SimTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// `jobs-complete`.
pub struct JobsComplete {
    /// The options (settle time, partitions).
    pub opts: MrOptions,
}

impl Invariant for JobsComplete {
    fn name(&self) -> &'static str {
        "jobs-complete"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the submit of the job that never completed.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let Some(cutoff_ns) = cutoff(r, settle_ms(&self.opts)) else {
            let why = "no liveness phase to judge completion in".into();
            return (Outcome::Unknown(why), Evidence::default());
        };
        if r.events_overflowed {
            let why = "the event log overflowed: the store's commits are incomplete".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let done = completions(r, self.opts.reduces);
        let mut open: BTreeMap<String, (String, u32)> = BTreeMap::new();
        for (i, e) in r.history.events.iter().enumerate() {
            if e.f != "submit" {
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
                    let at = e.time.unwrap_or(u64::MAX);
                    if at <= cutoff_ns && !done.contains_key(&job) {
                        let m = format!(
                            "job {job} was submitted ok at {} but not every partition of it was \
                             committed by the end of the run",
                            SimTime { ns: at }
                        );
                        return (Outcome::Fail(m), blaming(&job, Vec::new(), vec![line]));
                    }
                }
                OpType::Fail | OpType::Info => {
                    open.remove(&process);
                }
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}

/// `lost-map-output-recomputed`.
pub struct LostMapOutputRecomputed {
    /// The options (settle time, partitions).
    pub opts: MrOptions,
}

/// One `mr/map-written` record: (record, when, job, map, worker).
type Written = (usize, SimTime, String, u64, u64);

impl Invariant for LostMapOutputRecomputed {
    fn name(&self) -> &'static str {
        "lost-map-output-recomputed"
    }
    fn tag(&self) -> Tag {
        Tag::Eventually
    }
    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        self.judge(r).0
    }
    /// Blames the lost map's write and the crash that lost it.
    fn judge(&self, r: &RunRecords<'_>) -> (Outcome, Evidence) {
        let Some(cutoff_ns) = cutoff(r, settle_ms(&self.opts)) else {
            let why = "no liveness phase to judge recomputation in".into();
            return (Outcome::Unknown(why), Evidence::default());
        };
        if r.events_overflowed {
            let why = "the event log overflowed: the map writes are incomplete".into();
            return (Outcome::Unknown(why), Evidence::default());
        }
        let done = completions(r, self.opts.reduces);
        let field = |v: &Value, f: &str| v.get(f).and_then(Value::as_u64).unwrap_or(0);
        let written: Vec<Written> = observations_indexed(r.events, "mr/map-written")
            .map(|(i, at, _, v)| {
                let job = v
                    .get("job")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                (i, at, job, field(v, "map"), field(v, "worker"))
            })
            .collect();
        for (ci, rec) in r.events.iter().enumerate() {
            let Event::Crash { node, .. } = &rec.event else {
                continue;
            };
            let t = rec.time_ns;
            if t.ns > cutoff_ns {
                continue;
            }
            let lost = written
                .iter()
                .filter(|(_, at, _, _, w)| *w == u64::from(node.0) && *at < t);
            for (wi, at, job, map, _) in lost {
                if done.get(job).is_some_and(|d| *d <= t) {
                    continue;
                }
                let again = written
                    .iter()
                    .any(|(_, a2, j2, m2, _)| j2 == job && m2 == map && *a2 > t);
                if again || done.contains_key(job) {
                    continue;
                }
                let m = format!(
                    "map {map} of job {job}, written by n{} at {at}, was lost when n{} crashed at \
                     {t}; it was never written again and the job never completed",
                    node.0, node.0
                );
                return (Outcome::Fail(m), blaming(job, vec![*wi, ci], Vec::new()));
            }
        }
        (Outcome::Pass, Evidence::default())
    }
}
