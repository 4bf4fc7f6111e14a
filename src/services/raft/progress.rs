//! The leader's view of one follower: how far their logs agree, what is in flight, and how
//! the leader talks to it (probe, stream, or snapshot). Owned by replication; elections only
//! clear it.

use super::types::SnapshotMeta;
use std::collections::VecDeque;

/// Batches a leader sends to one follower ahead of its acknowledgements.
pub(crate) const INFLIGHT_MAX: usize = 8;

/// How the leader currently talks to one follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Looking for the point where the logs agree: one AppendEntries at a time.
    Probe {
        /// Waiting for an answer (or the next heartbeat) before sending again.
        paused: bool,
    },
    /// Logs agree up to `match_index`: stream batches, up to `INFLIGHT_MAX` unacknowledged.
    Replicate,
    /// The follower needs entries we compacted: send this snapshot, chunk by chunk.
    Snapshot {
        /// The snapshot being sent.
        meta: SnapshotMeta,
        /// The offset of the next chunk.
        offset: u64,
    },
}

/// The leader's view of one follower.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    pub match_index: u64,
    pub next_index: u64,
    pub mode: Mode,
    /// Last index of each batch sent and not yet acknowledged (Replicate mode).
    pub inflight: VecDeque<u64>,
    /// Highest heartbeat round it acknowledged in this term.
    pub acked_round: u64,
    /// Heard from since the last CheckQuorum.
    pub active: bool,
}

impl Progress {
    pub fn new(next_index: u64) -> Self {
        Progress {
            match_index: 0,
            next_index,
            mode: Mode::Probe { paused: false },
            inflight: VecDeque::new(),
            acked_round: 0,
            active: false,
        }
    }

    /// Whether the follower should get a batch now: a probe that is not waiting, or a stream
    /// with room in flight — and something to send up to `last_index`.
    pub fn wants_append(&self, last_index: u64) -> bool {
        let room = match self.mode {
            Mode::Probe { paused } => !paused,
            Mode::Replicate => self.inflight.len() < INFLIGHT_MAX,
            Mode::Snapshot { .. } => false,
        };
        room && self.next_index <= last_index
    }
}
