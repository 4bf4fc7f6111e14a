//! The leader's view of its followers ([`Followers`]): per follower, how far their logs agree,
//! what is in flight, how the leader talks to it (probe, stream, or snapshot), and what it
//! acknowledged. Replication and reads update a follower's entry; elections only start or
//! forget the whole view, through the two methods that say so.

use super::types::SnapshotMeta;
use crate::ids::NodeId;
use std::collections::{BTreeMap, VecDeque};

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

/// The leader's view of every follower; empty unless leading.
#[derive(Debug, Clone, Default)]
pub(crate) struct Followers(BTreeMap<NodeId, Progress>);

impl Followers {
    /// A new leader's view: every peer probed from `next_index` (just after its last entry).
    pub fn start_term(&mut self, peers: &[NodeId], next_index: u64) {
        assert!(next_index >= 1, "the first index is 1");
        self.0 = peers
            .iter()
            .map(|&p| (p, Progress::new(next_index)))
            .collect();
    }

    /// Not leading (any more): the view is gone.
    pub fn forget(&mut self) {
        self.0.clear();
    }

    pub fn get(&self, peer: &NodeId) -> Option<&Progress> {
        self.0.get(peer)
    }

    pub fn get_mut(&mut self, peer: &NodeId) -> Option<&mut Progress> {
        self.0.get_mut(peer)
    }

    /// CheckQuorum: whether a majority (the leader, `quorum` of the cluster, included) was
    /// heard from since the last check; starts the next period either way.
    pub fn heard_from_quorum(&mut self, quorum: usize) -> bool {
        let active = 1 + self.0.values().filter(|p| p.active).count();
        for p in self.0.values_mut() {
            p.active = false;
        }
        active >= quorum
    }

    /// The highest index a majority stores, the leader's own `persisted` index included.
    pub fn quorum_match(&self, persisted: u64, quorum: usize) -> u64 {
        quorum_value(self.0.values().map(|p| p.match_index), persisted, quorum)
    }

    /// The highest heartbeat round a majority acknowledged, the leader's own `sent` included.
    pub fn quorum_round(&self, sent: u64, quorum: usize) -> u64 {
        quorum_value(self.0.values().map(|p| p.acked_round), sent, quorum)
    }
}

/// The `quorum`-th highest of `values` and `own`.
fn quorum_value(values: impl Iterator<Item = u64>, own: u64, quorum: usize) -> u64 {
    let mut all: Vec<u64> = values.collect();
    all.push(own);
    assert!(
        (1..=all.len()).contains(&quorum),
        "a quorum of {quorum} among {} replicas",
        all.len()
    );
    all.sort_unstable_by(|a, b| b.cmp(a));
    all[quorum - 1]
}
