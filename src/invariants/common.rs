//! Invariants every run gets: the scenario's faults did something, the system made progress
//! once they stopped, and the records are complete.

use super::{Invariant, Outcome, RunRecords, Tag};
use crate::history::{OpType, Process};
use std::collections::BTreeSet;

pub(super) fn all() -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(FaultsObservable),
        Box::new(ProgressAfterHeal),
        Box::new(RecordsComplete),
    ]
}

/// Every expectation in the scenario's `[expect]` table was met.
struct FaultsObservable;

impl Invariant for FaultsObservable {
    fn name(&self) -> &'static str {
        "faults-observable"
    }

    fn tag(&self) -> Tag {
        Tag::Sometimes
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        let e = &r.scenario.expect;
        let s = r.stats;
        let checks = [
            (
                "dropped_messages",
                s.dropped_messages(),
                e.dropped_messages_min,
            ),
            (
                "duplicated_messages",
                s.duplicated,
                e.duplicated_messages_min,
            ),
            ("delayed_messages", s.delayed, e.delayed_messages_min),
            ("crashes", s.crashes, e.crashes_min),
            ("restarts", s.restarts, e.restarts_min),
            ("pauses", s.pauses, e.pauses_min),
            (
                "clock_jumps_backward",
                s.clock_jumps_backward,
                e.clock_jumps_backward_min,
            ),
            (
                "clock_jumps_forward",
                s.clock_jumps_forward,
                e.clock_jumps_forward_min,
            ),
            ("partitions", s.partitions, e.partitions_min),
            (
                "unsynced_bytes_lost",
                s.unsynced_bytes_lost,
                e.unsynced_bytes_lost_min,
            ),
            ("ops_ok", s.ops_ok, e.ops_ok_min),
            ("ops_info", s.ops_info, e.ops_info_min),
        ];
        let short: Vec<String> = checks
            .iter()
            .filter(|(_, got, min)| got < min)
            .map(|(name, got, min)| format!("{name} = {got}, expected at least {min}"))
            .collect();
        if short.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(short.join("; "))
        }
    }
}

/// Once every fault is healed, every client completes at least one operation.
struct ProgressAfterHeal;

impl Invariant for ProgressAfterHeal {
    fn name(&self) -> &'static str {
        "progress-after-heal"
    }

    fn tag(&self) -> Tag {
        Tag::Eventually
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        if r.scenario.liveness_ms == 0 {
            return Outcome::Unknown("the scenario has no liveness phase (liveness_ms = 0)".into());
        }
        let clients = u64::from(r.scenario.clients);
        let mut progressed = BTreeSet::new();
        for ev in &r.history.events {
            let after_heal = ev.time.is_some_and(|t| t >= r.heal_at.ns);
            if let (OpType::Ok, Process::Int(p), true) = (ev.kind, &ev.process, after_heal) {
                progressed.insert(p % clients);
            }
        }
        let stuck: Vec<String> = (0..clients)
            .filter(|c| !progressed.contains(c))
            .map(|c| format!("c{c}"))
            .collect();
        if stuck.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "no operation completed after everything healed at {} by client(s) {}",
                r.heal_at,
                stuck.join(", ")
            ))
        }
    }
}

/// The event log did not overflow its bound, so the other invariants saw everything.
struct RecordsComplete;

impl Invariant for RecordsComplete {
    fn name(&self) -> &'static str {
        "records-complete"
    }

    fn tag(&self) -> Tag {
        Tag::Always
    }

    fn check(&self, r: &RunRecords<'_>) -> Outcome {
        if r.events_overflowed {
            Outcome::Unknown(format!(
                "the event log hit its bound of {} records",
                r.events.len()
            ))
        } else {
            Outcome::Pass
        }
    }
}
