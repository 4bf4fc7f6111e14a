//! Named invariants over a run's records (history, event log, counters). Invariants consume
//! records only: they never import a service, so the data contract (e.g. how a reply body
//! reads) is all they share with one.
//!
//! Tags, after Antithesis/stateright: `always` must hold at every point of every run;
//! `eventually` must hold once faults stop (liveness); `sometimes` must have happened at least
//! once (coverage — a fault that never fired makes a run prove nothing).

mod common;
pub mod idgen;

use crate::event::EventRecord;
use crate::history::History;
use crate::runner::stats::RunStats;
use crate::scenario::Scenario;
use crate::services::ServiceKind;
use crate::time::SimTime;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    Always,
    Sometimes,
    Eventually,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail(String),
    /// Could not be decided (e.g. a checker budget ran out). Never counted as a pass.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub invariant: &'static str,
    pub tag: Tag,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Verdict {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail(_))
    }
}

/// What an invariant may look at.
pub struct RunRecords<'a> {
    pub scenario: &'a Scenario,
    pub history: &'a History,
    pub events: &'a [EventRecord],
    pub stats: &'a RunStats,
    pub events_overflowed: bool,
    /// When the liveness phase began (everything healed).
    pub heal_at: SimTime,
}

pub trait Invariant {
    fn name(&self) -> &'static str;
    fn tag(&self) -> Tag;
    fn check(&self, records: &RunRecords<'_>) -> Outcome;
}

/// The invariants that apply to a run of `service`: the service's own, then the common ones.
pub fn for_service(service: ServiceKind) -> Vec<Box<dyn Invariant>> {
    let mut all: Vec<Box<dyn Invariant>> = match service {
        ServiceKind::Idgen => idgen::all(),
    };
    all.extend(common::all());
    all
}

pub fn check_all(invariants: &[Box<dyn Invariant>], records: &RunRecords<'_>) -> Vec<Verdict> {
    invariants
        .iter()
        .map(|inv| Verdict {
            invariant: inv.name(),
            tag: inv.tag(),
            outcome: inv.check(records),
        })
        .collect()
}

/// The checks a bare history supports (runs on real machines have no event log).
pub fn check_history_only(service: ServiceKind, history: &History) -> Vec<Verdict> {
    match service {
        ServiceKind::Idgen => {
            vec![Verdict {
                invariant: "unique-ids",
                tag: Tag::Always,
                outcome: idgen::unique_in_history(history),
            }]
        }
    }
}
