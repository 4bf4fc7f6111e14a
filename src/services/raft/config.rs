//! Raft options (every default stated here) and the planted-bug switches.

use std::time::Duration;

/// Largest datagram a Raft message may become once JSON-encoded. Every bound below is checked
/// against it with room for the envelope.
pub const MESSAGE_BYTES_MAX: usize = 60 * 1024;

/// Room left for the message envelope (variant, terms, indexes) around entries or a chunk.
const ENVELOPE_BYTES: usize = 4 * 1024;

/// Leader leases: reads served from the leader's local state without a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Bound on the rate difference of any node's monotonic clock from true time, in parts per
    /// million. The lease is `election_timeout_ms_min * (1e6 - drift) / (1e6 + drift)`, so it
    /// ends, in true time, before any follower's election timer (which runs at most that much
    /// faster) can let another leader be elected. Must be below 1,000,000. Default 10,000 (1%).
    pub drift_bound_ppm: u32,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            drift_bound_ppm: 10_000,
        }
    }
}

/// Options of one Raft group; all replicas must use the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// Lower bound of the randomized election timeout. Default 150.
    pub election_timeout_ms_min: u64,
    /// Upper bound (exclusive) of the randomized election timeout. Default 300.
    pub election_timeout_ms_max: u64,
    /// Interval between leader heartbeats (which also retransmit unacknowledged entries).
    /// Default 50.
    pub heartbeat_ms: u64,
    /// Most entries in one AppendEntries message. Default 64.
    pub append_entries_max: usize,
    /// Most JSON-encoded entry bytes in one AppendEntries message; also the largest command
    /// `propose` accepts. Default 32 KiB.
    pub append_bytes_max: usize,
    /// Snapshot bytes per InstallSnapshot chunk (sent hex-encoded, so twice as large on the
    /// wire). Default 16 KiB.
    pub snapshot_chunk_bytes: usize,
    /// Applied entries kept in the log before `Ready::snapshot_wanted` asks the host for a
    /// snapshot. Default 1000.
    pub compact_after_entries: u64,
    /// Most entries a leader holds beyond its commit index; further proposals are refused as
    /// overloaded. Default 1024.
    pub uncommitted_entries_max: u64,
    /// Most read requests waiting for confirmation or application. Default 1024.
    pub reads_pending_max: usize,
    /// PreVote (thesis §9.6): a node asks whether it could win before bumping its term, so a
    /// rejoining partitioned node cannot depose a healthy leader. Default true.
    pub pre_vote: bool,
    /// CheckQuorum: a leader that has not heard from a majority within an election timeout
    /// steps down; nodes that heard from a live leader within the minimum election timeout
    /// ignore vote requests. Default true.
    pub check_quorum: bool,
    /// Leader leases for reads; `None` (the default): every read takes a ReadIndex round.
    pub lease_read: Option<LeaseConfig>,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 300,
            heartbeat_ms: 50,
            append_entries_max: 64,
            append_bytes_max: 32 * 1024,
            snapshot_chunk_bytes: 16 * 1024,
            compact_after_entries: 1000,
            uncommitted_entries_max: 1024,
            reads_pending_max: 1024,
            pre_vote: true,
            check_quorum: true,
            lease_read: None,
        }
    }
}

impl RaftConfig {
    /// Checks the options; on error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.election_timeout_ms_min == 0 {
            return Err(("election_timeout_ms_min", "must be at least 1".into()));
        }
        if self.election_timeout_ms_max <= self.election_timeout_ms_min {
            return Err((
                "election_timeout_ms_max",
                format!(
                    "must exceed election_timeout_ms_min ({}), got {}",
                    self.election_timeout_ms_min, self.election_timeout_ms_max
                ),
            ));
        }
        if self.heartbeat_ms == 0 || self.heartbeat_ms * 2 > self.election_timeout_ms_min {
            return Err((
                "heartbeat_ms",
                format!(
                    "must be 1..={} (half the minimum election timeout), got {}",
                    self.election_timeout_ms_min / 2,
                    self.heartbeat_ms
                ),
            ));
        }
        if self.append_entries_max == 0 {
            return Err(("append_entries_max", "must be at least 1".into()));
        }
        let payload_max = MESSAGE_BYTES_MAX - ENVELOPE_BYTES;
        if !(1..=payload_max).contains(&self.append_bytes_max) {
            return Err((
                "append_bytes_max",
                format!("must be 1..={payload_max}, got {}", self.append_bytes_max),
            ));
        }
        if !(1..=payload_max / 2).contains(&self.snapshot_chunk_bytes) {
            return Err((
                "snapshot_chunk_bytes",
                format!(
                    "must be 1..={} (chunks travel hex-encoded), got {}",
                    payload_max / 2,
                    self.snapshot_chunk_bytes
                ),
            ));
        }
        let positive = [
            ("compact_after_entries", self.compact_after_entries),
            ("uncommitted_entries_max", self.uncommitted_entries_max),
            ("reads_pending_max", self.reads_pending_max as u64),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err((field, "must be at least 1".into()));
            }
        }
        if let Some(lease) = self.lease_read
            && lease.drift_bound_ppm >= 1_000_000
        {
            return Err((
                "lease_read.drift_bound_ppm",
                format!("must be below 1000000, got {}", lease.drift_bound_ppm),
            ));
        }
        Ok(())
    }

    pub(crate) fn election_min(&self) -> Duration {
        Duration::from_millis(self.election_timeout_ms_min)
    }

    pub(crate) fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
}

/// Planted bugs in the Raft core: classic mistakes the harness must catch. All off by default.
///
/// The "ack before fsync" bug lives in the host, which sends
/// [`Ready::messages`](super::Ready) before making the rest of the `Ready` durable; its flag
/// here only tells the core to expect the consequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RaftBugs {
    /// A leader commits an entry of an earlier term by counting replicas (Raft Figure 8).
    pub commit_old_term: bool,
    /// A follower truncates its log after a delayed AppendEntries whose entries it already
    /// has, losing later entries it acknowledged.
    pub truncate_on_stale_append: bool,
    /// The vote is kept in memory only: `Ready::hard_state` never carries it, so a restarted
    /// node can vote twice in one term.
    pub vote_not_persisted: bool,
    /// Lease reads trust the local clock with no drift margin: the lease is the full minimum
    /// election timeout.
    pub lease_read_no_drift_bound: bool,
    /// The host sends `Ready::messages` before the rest of the `Ready` is durable ("ack
    /// before fsync"). The core's logic ignores this flag; setting it only turns off the
    /// protocol assertions such a host can trip (a vote forgotten in a crash makes two leaders
    /// in one term), so the harness's invariants report the damage instead of a panic.
    pub host_acks_before_fsync: bool,
    /// Votes (and pre-votes) are granted without the election restriction (§5.4.1): a
    /// candidate whose log lacks committed entries can win and overwrite them.
    pub vote_ignores_log: bool,
}

impl RaftBugs {
    /// Whether any bug is planted: protocol assertions that such a bug (here or on a peer)
    /// could trip are turned off, so the harness's invariants catch it instead of a panic.
    pub fn any(&self) -> bool {
        self.commit_old_term
            || self.truncate_on_stale_append
            || self.vote_not_persisted
            || self.lease_read_no_drift_bound
            || self.host_acks_before_fsync
            || self.vote_ignores_log
    }
}

/// Raft's tunables, for services whose options carry them under the same names. The maximum
/// election timeout is drawn first so the minimum can fit below it, and the heartbeat last.
#[macro_export]
macro_rules! raft_knobs {
    ($opts:ty) => {
        vec![
            $crate::plugin::knobs::Knob::<$opts> {
                name: "election_timeout_ms_max",
                min: 200,
                max: 600,
                set: |o, v| o.election_timeout_ms_max = v,
            },
            $crate::plugin::knobs::Knob::<$opts> {
                name: "election_timeout_ms_min",
                min: 80,
                max: 300,
                set: |o, v| o.election_timeout_ms_min = v,
            },
            $crate::plugin::knobs::Knob::<$opts> {
                name: "heartbeat_ms",
                min: 5,
                max: 60,
                set: |o, v| o.heartbeat_ms = v,
            },
            // 2 entries: a snapshot nearly every apply, so followers catch up by snapshot.
            $crate::plugin::knobs::Knob::<$opts> {
                name: "compact_after_entries",
                min: 2,
                max: 2000,
                set: |o, v| o.compact_after_entries = v,
            },
        ]
    };
}
