//! The one counter vocabulary: what happened in a run, counted from the event log (never on the
//! side, so counts cannot disagree with it). `[expect]` minimums (`<counter>_min`), run totals,
//! report tables and JSON all name counters from [`Counter`]; nothing else spells them.

use crate::disk::DiskEffect;
use crate::event::{DropCause, Event, EventRecord};
use crate::fault::{Fault, Stage};
use crate::history::OpType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;
use strum::{EnumCount, IntoStaticStr, VariantArray};

/// One thing a run counts. Serde and [`Counter::name`] give the same snake_case name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    IntoStaticStr,
    VariantArray,
    EnumCount,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Counter {
    /// Records in the event log.
    Events,
    /// Messages handed to the network (by nodes and clients).
    MessagesSent,
    /// Messages a node or client took from its inbox.
    MessagesDelivered,
    /// Messages that never arrived, for any reason (the sum of the four below).
    DroppedMessages,
    /// Dropped because a partition cut the link (at send time or in flight).
    DroppedPartition,
    /// Dropped by a loss rule.
    DroppedLoss,
    /// Dropped because the destination was down.
    DroppedNodeDown,
    /// Dropped because the destination's inbox was full (paused or overloaded).
    DroppedInboxFull,
    /// Messages delivered twice by a duplication rule.
    DuplicatedMessages,
    /// Messages held back by a delay rule (which reorders them).
    DelayedMessages,
    /// Messages whose bits a corruption rule flipped in flight (their receivers drop them:
    /// `garbage_messages`).
    CorruptedMessages,
    /// Bytes that arrived but did not decode as a message.
    GarbageMessages,
    /// Faults the nemesis applied.
    FaultsApplied,
    /// Planned faults that could not apply (e.g. restart of a node that is up).
    FaultsSkipped,
    /// Partitions applied.
    Partitions,
    /// Node crashes.
    Crashes,
    /// Node restarts after a crash.
    Restarts,
    /// Node pauses.
    Pauses,
    /// Wall-clock steps backwards (jumps, offset changes).
    ClockJumpsBackward,
    /// Wall-clock steps forwards.
    ClockJumpsForward,
    /// Clock drift changes.
    DriftChanges,
    /// Written bytes that a crash threw away because they were not yet synced.
    UnsyncedBytesLost,
    /// Completed disk syncs.
    Syncs,
    /// Service timers that fired.
    TimersFired,
    /// Client operations invoked.
    OpsInvoked,
    /// Client operations that completed `ok`.
    OpsOk,
    /// Client operations that definitely did not take effect (`fail`).
    OpsFail,
    /// Client operations with an unknown outcome (`info`: timed out).
    OpsInfo,
    /// Crashes that tore a file's unsynced writes (a sector-aligned prefix survived).
    DiskTornWrites,
    /// Bits flipped at rest by disk-corrupt.
    DiskCorruptions,
    /// Syncs that failed (EIO) and dropped their writes.
    DiskSyncsFailed,
    /// Syncs that reported success and persisted nothing.
    DiskSyncsLied,
    /// Writes refused for lack of space.
    DiskWritesFailed,
    /// Syncs slowed by disk-slow.
    DiskSlowSyncs,
    /// Nodes that stopped themselves and restarted from disk (a failed sync, a failed write).
    Halts,
}

/// When an `[expect]` minimum on a counter is judged for one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// In every seed: the counter comes from the workload, not from faults.
    EverySeed,
    /// In a seed that scheduled or applied a fault causing it ([`Counter::caused_by`]); a seed
    /// whose swarm never chose such a fault proves nothing either way.
    WhenCaused,
    /// Only over a sweep (reached in at least one seed): even a causing fault may not produce
    /// it (a crash with nothing unsynced loses no bytes).
    OverSweep,
}

impl Counter {
    /// Every counter, in report order.
    pub const ALL: &'static [Counter] = Counter::VARIANTS;

    /// Stable snake_case name; `[expect]` keys are this plus `_min`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// How a minimum on this counter is judged.
    pub fn judged(self) -> Judged {
        match self {
            Counter::Events
            | Counter::MessagesSent
            | Counter::MessagesDelivered
            | Counter::Syncs
            | Counter::TimersFired
            | Counter::OpsInvoked
            | Counter::OpsOk
            | Counter::OpsFail => Judged::EverySeed,
            Counter::UnsyncedBytesLost
            | Counter::DiskTornWrites
            | Counter::DiskSyncsFailed
            | Counter::DiskSyncsLied
            | Counter::DiskWritesFailed
            | Counter::DiskSlowSyncs
            | Counter::Halts
            | Counter::DroppedInboxFull
            | Counter::GarbageMessages
            | Counter::FaultsSkipped => Judged::OverSweep,
            _ => Judged::WhenCaused,
        }
    }

    /// True when `fault` (planned or applied) is one that produces this counter.
    pub fn caused_by<S: Stage>(self, fault: &Fault<S>) -> bool {
        let cuts_traffic = matches!(
            fault,
            Fault::Partition { .. } | Fault::NetLoss { .. } | Fault::Crash { .. }
        );
        match self {
            Counter::DroppedMessages | Counter::OpsInfo => {
                cuts_traffic || matches!(fault, Fault::Pause { .. })
            }
            Counter::DroppedPartition | Counter::Partitions => {
                matches!(fault, Fault::Partition { .. })
            }
            Counter::DroppedLoss => matches!(fault, Fault::NetLoss { .. }),
            Counter::DroppedNodeDown | Counter::Crashes => matches!(fault, Fault::Crash { .. }),
            Counter::Restarts => matches!(fault, Fault::Crash { .. } | Fault::Restart { .. }),
            Counter::DroppedInboxFull | Counter::Pauses => matches!(fault, Fault::Pause { .. }),
            Counter::DuplicatedMessages => matches!(fault, Fault::NetDuplicate { .. }),
            Counter::DelayedMessages => matches!(fault, Fault::NetDelay { .. }),
            Counter::CorruptedMessages => matches!(fault, Fault::NetCorrupt { .. }),
            Counter::ClockJumpsBackward => {
                matches!(fault, Fault::ClockJump { delta_ms, .. } if *delta_ms < 0)
            }
            Counter::ClockJumpsForward => {
                matches!(fault, Fault::ClockJump { delta_ms, .. } if *delta_ms > 0)
            }
            Counter::DriftChanges => matches!(fault, Fault::ClockDrift { .. }),
            Counter::UnsyncedBytesLost => matches!(fault, Fault::Crash { .. }),
            // Only an applied corruption has its bit drawn; a planned one may find no file.
            Counter::DiskCorruptions => matches!(fault, Fault::DiskCorrupt { bit: Some(_), .. }),
            Counter::DiskTornWrites => matches!(fault, Fault::DiskTornWrite { .. }),
            Counter::DiskSyncsFailed => matches!(fault, Fault::DiskFsyncFail { .. }),
            Counter::Halts => matches!(fault, Fault::DiskFsyncFail { .. } | Fault::DiskFull { .. }),
            Counter::DiskSyncsLied => matches!(fault, Fault::DiskLostSync { .. }),
            Counter::DiskWritesFailed => matches!(fault, Fault::DiskFull { .. }),
            Counter::DiskSlowSyncs => matches!(fault, Fault::DiskSlow { .. }),
            Counter::FaultsApplied | Counter::FaultsSkipped => true,
            Counter::Events
            | Counter::MessagesSent
            | Counter::MessagesDelivered
            | Counter::GarbageMessages
            | Counter::Syncs
            | Counter::TimersFired
            | Counter::OpsInvoked
            | Counter::OpsOk
            | Counter::OpsFail => false,
        }
    }

    /// Parses an `[expect]` key (`<counter>_min`).
    pub fn from_expect_key(key: &str) -> Option<Counter> {
        let name = key.strip_suffix("_min")?;
        Counter::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every counter of one run (or of a sweep, summed), plus how often each service note was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    values: [u64; Counter::COUNT],
    /// How often each service note was made (coverage of rare paths).
    pub notes: BTreeMap<String, u64>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            values: [0; Counter::COUNT],
            notes: BTreeMap::new(),
        }
    }
}

impl Index<Counter> for Counters {
    type Output = u64;

    fn index(&self, c: Counter) -> &u64 {
        &self.values[c as usize]
    }
}

impl Counters {
    /// Counts a run's event log.
    pub fn from_events(records: &[EventRecord]) -> Self {
        let mut s = Counters::default();
        s.add(Counter::Events, records.len() as u64);
        for r in records {
            s.count(&r.event);
        }
        debug_assert_eq!(
            s[Counter::DroppedMessages],
            s[Counter::DroppedPartition]
                + s[Counter::DroppedLoss]
                + s[Counter::DroppedNodeDown]
                + s[Counter::DroppedInboxFull]
        );
        s
    }

    /// Adds `n` to one counter.
    pub fn add(&mut self, c: Counter, n: u64) {
        self.values[c as usize] += n;
    }

    /// Adds every counter of `other` (sweep totals). Notes are not summed: a sweep counts in
    /// how many seeds a note was made, which the caller decides.
    pub fn add_all(&mut self, other: &Counters) {
        for (mine, theirs) in self.values.iter_mut().zip(other.values) {
            *mine += theirs;
        }
    }

    /// Every counter with its value, in [`Counter::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c, self[c]))
    }

    /// The counters as a JSON-friendly name → value map.
    pub fn to_map(&self) -> BTreeMap<&'static str, u64> {
        self.iter().map(|(c, v)| (c.name(), v)).collect()
    }

    fn count(&mut self, e: &Event) {
        use Counter as C;
        match e {
            Event::Send { .. } => self.add(C::MessagesSent, 1),
            Event::Deliver { .. } => self.add(C::MessagesDelivered, 1),
            Event::Drop { cause, .. } => {
                self.add(C::DroppedMessages, 1);
                self.add(
                    match cause {
                        DropCause::Partition | DropCause::PartitionInFlight => C::DroppedPartition,
                        DropCause::Loss => C::DroppedLoss,
                        DropCause::NodeDown => C::DroppedNodeDown,
                        DropCause::InboxFull => C::DroppedInboxFull,
                    },
                    1,
                );
            }
            Event::Duplicate { .. } => self.add(C::DuplicatedMessages, 1),
            Event::Delay { .. } => self.add(C::DelayedMessages, 1),
            Event::Corrupt { .. } => self.add(C::CorruptedMessages, 1),
            Event::Garbage { .. } => self.add(C::GarbageMessages, 1),
            Event::Fault { action } => {
                self.add(C::FaultsApplied, 1);
                match action {
                    Fault::Partition { .. } => self.add(C::Partitions, 1),
                    Fault::Pause { .. } => self.add(C::Pauses, 1),
                    Fault::Restart { .. } => self.add(C::Restarts, 1),
                    Fault::ClockDrift { .. } => self.add(C::DriftChanges, 1),
                    Fault::DiskCorrupt { .. } => self.add(C::DiskCorruptions, 1),
                    _ => {}
                }
            }
            Event::FaultSkipped { .. } => self.add(C::FaultsSkipped, 1),
            Event::ClockStep { delta_ns, .. } => match delta_ns.signum() {
                -1 => self.add(C::ClockJumpsBackward, 1),
                1 => self.add(C::ClockJumpsForward, 1),
                _ => {}
            },
            Event::Crash {
                unsynced_bytes_lost,
                ..
            } => {
                self.add(C::Crashes, 1);
                self.add(C::UnsyncedBytesLost, *unsynced_bytes_lost);
            }
            Event::Sync { .. } => self.add(C::Syncs, 1),
            Event::Timer { .. } => self.add(C::TimersFired, 1),
            Event::Note { label, .. } => *self.notes.entry(label.clone()).or_default() += 1,
            Event::ClientOp { op_type, .. } => self.add(
                match op_type {
                    OpType::Invoke => C::OpsInvoked,
                    OpType::Ok => C::OpsOk,
                    OpType::Fail => C::OpsFail,
                    OpType::Info => C::OpsInfo,
                },
                1,
            ),
            Event::Disk { effect, .. } => self.add(
                match effect {
                    DiskEffect::TornWrite { .. } => C::DiskTornWrites,
                    DiskEffect::SyncFailed { .. } => C::DiskSyncsFailed,
                    DiskEffect::SyncLied { .. } => C::DiskSyncsLied,
                    DiskEffect::WriteFailed { .. } => C::DiskWritesFailed,
                    DiskEffect::SlowSync { .. } => C::DiskSlowSyncs,
                },
                1,
            ),
            Event::Halt { .. } => self.add(C::Halts, 1),
            Event::Start { .. } | Event::Reply { .. } | Event::Observe { .. } | Event::HealAll => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_expect_keys_and_serde() {
        for &c in Counter::ALL {
            assert_eq!(Counter::from_expect_key(&format!("{c}_min")), Some(c));
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.name()))
            );
        }
        assert_eq!(Counter::from_expect_key("crashes"), None);
        assert_eq!(Counter::from_expect_key("crash_min"), None);
    }
}
