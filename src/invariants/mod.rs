//! Named invariants over a run's records (history, event log, counters), and the three-outcome
//! verdicts they give. Invariants consume records only: they never import a service (a service's
//! own invariants live in its folder and reach the runner through its plug-in) or the runner.
//!
//! Tags, after Antithesis/stateright: `always` must hold at every point of every run;
//! `eventually` must hold once faults stop (liveness); `sometimes` must have happened at least
//! once (coverage — a fault that never fired makes a run prove nothing).

mod common;
pub mod linearizable;

pub use common::common;

use crate::counters::{Counter, Counters};
use crate::event::EventRecord;
use crate::fault::FaultSpec;
use crate::history::History;
use crate::time::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;

/// When an invariant must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    /// At every point of every run (safety).
    Always,
    /// At least once (coverage).
    Sometimes,
    /// Once faults stop (liveness).
    Eventually,
}

/// The result of one check: pass, fail, or unknown — never a pass by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    /// It held.
    Pass,
    /// It was violated; the message says how.
    Fail(String),
    /// Could not be decided (a checker budget ran out, no liveness phase, ...). Never counted
    /// as a pass.
    Unknown(String),
}

impl Outcome {
    /// `pass`, `FAIL` or `unknown`: how reports print the status.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Unknown(_) => "unknown",
        }
    }

    /// The explanation (empty for a pass).
    pub fn message(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(m) | Outcome::Unknown(m) => m,
        }
    }
}

/// One invariant's outcome in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The invariant's name.
    pub invariant: &'static str,
    /// When it must hold.
    pub tag: Tag,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Verdict {
    /// True for a failure.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }

    /// True when it could not be decided.
    pub fn unknown(&self) -> bool {
        matches!(self.outcome, Outcome::Unknown(_))
    }
}

/// The overall outcome of a set of verdicts: fail beats unknown beats pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    /// Every verdict passed.
    Pass,
    /// None failed, at least one is unknown.
    Unknown,
    /// At least one failed.
    Fail,
}

impl Overall {
    /// The worst of `verdicts`.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Overall {
        verdicts
            .into_iter()
            .map(|v| match v.outcome {
                Outcome::Pass => Overall::Pass,
                Outcome::Unknown(_) => Overall::Unknown,
                Outcome::Fail(_) => Overall::Fail,
            })
            .max()
            .unwrap_or(Overall::Pass)
    }

    /// The process exit code for this outcome: 0 pass, 1 fail, 3 unknown (as `faultlab check`).
    pub fn exit_code(self) -> u8 {
        match self {
            Overall::Pass => 0,
            Overall::Fail => 1,
            Overall::Unknown => 3,
        }
    }
}

/// What an invariant may look at.
pub struct RunRecords<'a> {
    /// Client operations, in real-time order.
    pub history: &'a History,
    /// The event log, sorted by true time.
    pub events: &'a [EventRecord],
    /// Counters computed from the event log.
    pub counters: &'a Counters,
    /// True when the event log hit its bound (what the invariants saw is incomplete).
    pub events_overflowed: bool,
    /// When the liveness phase began (everything healed).
    pub heal_at: SimTime,
    /// Length of the liveness phase (0 = none).
    pub liveness_ms: u64,
    /// Concurrent clients.
    pub clients: u32,
    /// The scenario's `[expect]` minimums.
    pub expect: &'a BTreeMap<Counter, u64>,
    /// The faults the scenario schedules at fixed times.
    pub scheduled: &'a [FaultSpec],
}

/// A named check over a run.
pub trait Invariant {
    /// Its name, as reports print it.
    fn name(&self) -> &'static str;
    /// When it must hold.
    fn tag(&self) -> Tag;
    /// Judges one run.
    fn check(&self, records: &RunRecords<'_>) -> Outcome;
    /// Judges one run and says which operations are at fault (for reports that highlight
    /// them). The default blames none; an invariant that knows its culprits overrides it.
    fn judge(&self, records: &RunRecords<'_>) -> (Outcome, Evidence) {
        (self.check(records), Evidence::default())
    }
}

/// What a failed verdict blames, for reports to highlight: never part of the verdict's text,
/// the digest or the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// 1-based history lines of the invocations of the operations at fault.
    pub blamed_lines: Vec<u32>,
    /// 1-based history lines of the invocations of the longest linearizable prefix, in order
    /// (linearizability only).
    pub prefix_lines: Vec<u32>,
    /// Why, in words (the checker's explanation), when the verdict's message is not enough.
    pub explanation: String,
    /// The key the blamed operations are on (canonical JSON text), when they share one.
    pub key: Option<String>,
    /// Indices into the event log ([`RunRecords::events`]) of the records at fault, for
    /// invariants judged on the event log (a resource's writes, Raft's leaders, votes,
    /// entries): reports mark and zoom on them as they do on blamed operations.
    pub blamed_events: Vec<usize>,
}

impl Evidence {
    /// True when it blames nothing.
    pub fn is_empty(&self) -> bool {
        self.blamed_lines.is_empty()
            && self.prefix_lines.is_empty()
            && self.blamed_events.is_empty()
    }
}

/// Runs every invariant over the records.
pub fn check_all(invariants: &[Box<dyn Invariant>], records: &RunRecords<'_>) -> Vec<Verdict> {
    judge_all(invariants, records)
        .into_iter()
        .map(|(verdict, _)| verdict)
        .collect()
}

/// Runs every invariant over the records, keeping what each blames.
pub fn judge_all(
    invariants: &[Box<dyn Invariant>],
    records: &RunRecords<'_>,
) -> Vec<(Verdict, Evidence)> {
    invariants
        .iter()
        .map(|inv| {
            let (outcome, evidence) = inv.judge(records);
            let verdict = Verdict {
                invariant: inv.name(),
                tag: inv.tag(),
                outcome,
            };
            (verdict, evidence)
        })
        .collect()
}

/// The observations a service recorded under `label`: (time, node, fact), in event order.
pub fn observations<'a>(
    events: &'a [EventRecord],
    label: &'a str,
) -> impl Iterator<Item = (SimTime, crate::ids::NodeId, &'a serde_json::Value)> + 'a {
    events.iter().filter_map(move |r| match &r.event {
        crate::event::Event::Observe {
            node,
            label: l,
            value,
            ..
        } if l == label => Some((r.time_ns, *node, value)),
        _ => None,
    })
}

/// Like [`observations`], with each record's index in `events` (what
/// [`Evidence::blamed_events`] holds).
pub fn observations_indexed<'a>(
    events: &'a [EventRecord],
    label: &'a str,
) -> impl Iterator<Item = (usize, SimTime, crate::ids::NodeId, &'a serde_json::Value)> + 'a {
    events
        .iter()
        .enumerate()
        .filter_map(move |(i, r)| match &r.event {
            crate::event::Event::Observe {
                node,
                label: l,
                value,
                ..
            } if l == label => Some((i, r.time_ns, *node, value)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(outcome: Outcome) -> Verdict {
        Verdict {
            invariant: "x",
            tag: Tag::Always,
            outcome,
        }
    }

    #[test]
    fn fail_beats_unknown_beats_pass() {
        let pass = v(Outcome::Pass);
        let unknown = v(Outcome::Unknown("budget".into()));
        let fail = v(Outcome::Fail("dup".into()));
        assert_eq!(Overall::of([&pass]), Overall::Pass);
        assert_eq!(Overall::of([&pass, &unknown]), Overall::Unknown);
        assert_eq!(Overall::of([&unknown, &fail, &pass]), Overall::Fail);
        assert_eq!(Overall::Unknown.exit_code(), 3);
        assert_eq!(Overall::Fail.exit_code(), 1);
    }
}
