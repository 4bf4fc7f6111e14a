//! The job queue's planted bugs: the classic background-job mistakes, each one switch in the
//! replicas' host ([`host_bugs`]), the worker ([`super::worker`]), the sink ([`super::sink`]) or
//! the producer ([`super::client`]).

use crate::bugs::{Bug, BugSet};
use crate::services::raft::RaftBugs;
use crate::services::replicated::HostBugs;

/// Enqueues (and every other write) are acknowledged before the log entry is synced.
pub const ACK_BEFORE_DURABLE: Bug = Bug::new(
    "jobs-ack-before-durable",
    "an enqueue is acknowledged before its log entry is synced: a crash loses an acknowledged job",
);
/// The sink applies every effect it is sent: a redelivered job's effect lands twice.
pub const NO_IDEMPOTENCY_KEY: Bug = Bug::new(
    "jobs-no-idempotency-key",
    "the effect sink does not deduplicate by idempotency key: a redelivered job's effect is applied twice",
);
/// The worker judges its visibility lease on its wall clock, with no drift margin.
pub const VISIBILITY_WALL_CLOCK: Bug = Bug::new(
    "jobs-visibility-wall-clock",
    "a worker judges its visibility lease on its wall clock: a clock stepped back keeps it working on a redelivered job",
);
/// Every worker node runs the schedule by its own wall clock.
pub const CRON_EVERY_NODE: Bug = Bug::new(
    "jobs-cron-every-node",
    "every worker node fires each schedule slot when its own wall clock says so (no claim through the log)",
);
/// The worker deletes (acks) the job before performing it: at-most-once.
pub const DELETE_BEFORE_EXECUTE: Bug = Bug::new(
    "jobs-delete-before-execute",
    "a worker acknowledges a job before performing it: a worker crash loses the job",
);
/// A producer retrying an enqueue whose outcome it never learned uses a fresh key.
pub const RETRY_NEW_KEY: Bug = Bug::new(
    "jobs-retry-new-key",
    "a producer retries an enqueue it got no answer to under a fresh idempotency key: the job runs twice",
);

/// Every planted bug of the job queue.
pub const ALL: &[Bug] = &[
    ACK_BEFORE_DURABLE,
    NO_IDEMPOTENCY_KEY,
    VISIBILITY_WALL_CLOCK,
    CRON_EVERY_NODE,
    DELETE_BEFORE_EXECUTE,
    RETRY_NEW_KEY,
];

/// What the run's bugs switch on in the replicated host and the Raft core.
pub fn host_bugs(bugs: &BugSet) -> HostBugs {
    let early = bugs.contains(&ACK_BEFORE_DURABLE);
    HostBugs {
        raft: RaftBugs {
            host_acks_before_fsync: early,
            ..RaftBugs::default()
        },
        ack_before_fsync: early,
        stale_read: false,
        no_dedup: false,
        ignore_checksum: false,
    }
}
