//! The KV store's planted bugs: classic replication mistakes, each a switch in the host, the
//! Raft core or the sessions.

use crate::bugs::{Bug, BugSet};
use crate::services::raft::RaftBugs;
use crate::services::replicated::HostBugs;

/// The leader answers reads locally without confirming it still leads.
pub const STALE_READ: Bug = Bug::new(
    "kv-stale-read",
    "the leader answers reads locally without confirming it still leads",
);
/// Votes and appends are acknowledged before they are synced.
pub const ACK_BEFORE_FSYNC: Bug = Bug::new(
    "kv-ack-before-fsync",
    "acknowledges and votes before the log or vote is synced",
);
/// The vote lives only in memory.
pub const VOTE_NOT_PERSISTED: Bug = Bug::new(
    "kv-vote-not-persisted",
    "the vote lives only in memory, so a restarted node can vote twice in a term",
);
/// The leader commits an earlier term's entry by counting replicas (Raft Figure 8).
pub const COMMIT_OLD_TERM: Bug = Bug::new(
    "kv-commit-old-term",
    "the leader commits an entry of an earlier term by counting replicas (Figure 8)",
);
/// Retried writes are applied twice.
pub const NO_DEDUP: Bug = Bug::new(
    "kv-no-dedup",
    "client sessions ignored: a retried write is applied twice",
);
/// Lease reads trust the local clock with no skew margin.
pub const LEASE_READ_NO_DRIFT_BOUND: Bug = Bug::new(
    "kv-lease-read-no-drift-bound",
    "lease reads trust the local clock with no drift margin",
);
/// A follower truncates its log on a delayed AppendEntries whose entries it already has.
pub const TRUNCATE_ON_STALE_APPEND: Bug = Bug::new(
    "kv-truncate-on-stale-append",
    "a follower truncates its log on a delayed AppendEntries whose entries it already has",
);

/// Recovery reads log records without verifying their checksums: a corrupt entry is applied.
pub const IGNORE_CHECKSUM: Bug = Bug::new(
    "kv-ignore-checksum",
    "log checksums are not verified at recovery: a corrupt entry is applied",
);

/// Votes are granted without the election restriction (§5.4.1).
pub const VOTE_IGNORES_LOG: Bug = Bug::new(
    "kv-vote-ignores-log",
    "grants votes without the §5.4.1 up-to-date check: a stale candidate can win and overwrite committed entries",
);

/// Every planted bug of the KV store.
pub const ALL: &[Bug] = &[
    STALE_READ,
    ACK_BEFORE_FSYNC,
    VOTE_NOT_PERSISTED,
    COMMIT_OLD_TERM,
    NO_DEDUP,
    LEASE_READ_NO_DRIFT_BOUND,
    TRUNCATE_ON_STALE_APPEND,
    IGNORE_CHECKSUM,
    VOTE_IGNORES_LOG,
];

/// What the run's bugs switch on in the host and the Raft core.
pub fn host_bugs(bugs: &BugSet) -> HostBugs {
    let on = |b: Bug| bugs.contains(&b);
    HostBugs {
        raft: RaftBugs {
            commit_old_term: on(COMMIT_OLD_TERM),
            truncate_on_stale_append: on(TRUNCATE_ON_STALE_APPEND),
            vote_not_persisted: on(VOTE_NOT_PERSISTED),
            lease_read_no_drift_bound: on(LEASE_READ_NO_DRIFT_BOUND),
            host_acks_before_fsync: on(ACK_BEFORE_FSYNC),
            vote_ignores_log: on(VOTE_IGNORES_LOG),
        },
        ack_before_fsync: on(ACK_BEFORE_FSYNC),
        stale_read: on(STALE_READ),
        no_dedup: on(NO_DEDUP),
        ignore_checksum: on(IGNORE_CHECKSUM),
    }
}
