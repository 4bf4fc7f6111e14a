//! Counters of what happened in a run, computed from the event log (never counted on the side,
//! so they cannot disagree with it).

use crate::event::{DropCause, Event, EventRecord};
use crate::fault::FaultAction;
use crate::history::OpType;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunStats {
    pub events: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub dropped_partition: u64,
    pub dropped_loss: u64,
    pub dropped_node_down: u64,
    pub dropped_inbox_full: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub garbage: u64,
    pub faults_applied: u64,
    pub faults_skipped: u64,
    pub partitions: u64,
    pub crashes: u64,
    pub restarts: u64,
    pub pauses: u64,
    pub clock_jumps_backward: u64,
    pub clock_jumps_forward: u64,
    pub drift_changes: u64,
    pub unsynced_bytes_lost: u64,
    pub syncs: u64,
    pub timers_fired: u64,
    pub ops_invoked: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    /// How often each service note was made (coverage of rare paths).
    pub notes: BTreeMap<String, u64>,
}

impl RunStats {
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_partition
            + self.dropped_loss
            + self.dropped_node_down
            + self.dropped_inbox_full
    }

    pub fn from_events(records: &[EventRecord]) -> Self {
        let mut s = RunStats {
            events: records.len() as u64,
            ..RunStats::default()
        };
        for r in records {
            s.count(&r.event);
        }
        s
    }

    fn count(&mut self, e: &Event) {
        match e {
            Event::Send { .. } => self.messages_sent += 1,
            Event::Deliver { .. } => self.messages_delivered += 1,
            Event::Drop { cause, .. } => match cause {
                DropCause::Partition | DropCause::PartitionInFlight => self.dropped_partition += 1,
                DropCause::Loss => self.dropped_loss += 1,
                DropCause::NodeDown => self.dropped_node_down += 1,
                DropCause::InboxFull => self.dropped_inbox_full += 1,
            },
            Event::Duplicate { .. } => self.duplicated += 1,
            Event::Delay { .. } => self.delayed += 1,
            Event::Garbage { .. } => self.garbage += 1,
            Event::Fault { action } => {
                self.faults_applied += 1;
                match action {
                    FaultAction::Partition { .. } => self.partitions += 1,
                    FaultAction::Pause { .. } => self.pauses += 1,
                    FaultAction::Restart { .. } => self.restarts += 1,
                    FaultAction::ClockDrift { .. } => self.drift_changes += 1,
                    _ => {}
                }
            }
            Event::FaultSkipped { .. } => self.faults_skipped += 1,
            Event::ClockStep { delta_ns, .. } => match delta_ns.signum() {
                -1 => self.clock_jumps_backward += 1,
                1 => self.clock_jumps_forward += 1,
                _ => {}
            },
            Event::Crash {
                unsynced_bytes_lost,
                ..
            } => {
                self.crashes += 1;
                self.unsynced_bytes_lost += unsynced_bytes_lost;
            }
            Event::Sync { .. } => self.syncs += 1,
            Event::Timer { .. } => self.timers_fired += 1,
            Event::Note { label, .. } => *self.notes.entry(label.clone()).or_default() += 1,
            Event::ClientOp { op_type, .. } => match op_type {
                OpType::Invoke => self.ops_invoked += 1,
                OpType::Ok => self.ops_ok += 1,
                OpType::Fail => self.ops_fail += 1,
                OpType::Info => self.ops_info += 1,
            },
            Event::Start { .. } | Event::Reply { .. } | Event::HealAll => {}
        }
    }
}
