//! The lock service's planted bugs, and one design flaw switched on the same way
//! (`lock-redlock`).

use crate::bugs::{Bug, BugSet};
use crate::services::raft::RaftBugs;
use crate::services::replicated::HostBugs;

/// The resource accepts any write, whatever its token.
pub const NO_FENCING: Bug = Bug::new(
    "lock-no-fencing",
    "the protected resource ignores fencing tokens",
);
/// The client times its lease on its own clock with no drift margin.
pub const CLIENT_CLOCK_LEASE: Bug = Bug::new(
    "lock-client-clock-lease",
    "the client trusts its own clock for its lease, with no drift margin",
);
/// Release without an owner check.
pub const RELEASE_ANY_OWNER: Bug = Bug::new(
    "lock-release-any-owner",
    "release frees the lock whoever holds it (no owner check)",
);
/// Grants are acknowledged before the log is synced.
pub const GRANT_BEFORE_FSYNC: Bug = Bug::new(
    "lock-grant-before-fsync",
    "grants (and votes, appends) are acknowledged before they are synced",
);
/// A new leader restarts token numbering.
pub const TOKEN_REUSE_AFTER_FAILOVER: Bug = Bug::new(
    "lock-token-reuse-after-failover",
    "a new leader restarts fencing-token numbering",
);
/// Redlock: independent servers with TTLs on their wall clocks, a majority vote, no fencing.
pub const REDLOCK: Bug = Bug::new(
    "lock-redlock",
    "design flaw: Redlock-style independent servers (wall-clock TTLs, majority, no consensus, no tokens)",
);

/// Every planted bug of the lock service.
pub const ALL: &[Bug] = &[
    NO_FENCING,
    CLIENT_CLOCK_LEASE,
    RELEASE_ANY_OWNER,
    GRANT_BEFORE_FSYNC,
    TOKEN_REUSE_AFTER_FAILOVER,
    REDLOCK,
];

/// What the run's bugs switch on in the replicated host and the Raft core.
pub fn host_bugs(bugs: &BugSet) -> HostBugs {
    let grant_before_fsync = bugs.contains(&GRANT_BEFORE_FSYNC);
    HostBugs {
        raft: RaftBugs {
            host_acks_before_fsync: grant_before_fsync,
            ..RaftBugs::default()
        },
        ack_before_fsync: grant_before_fsync,
        stale_read: false,
        no_dedup: false,
        ignore_checksum: false,
    }
}
