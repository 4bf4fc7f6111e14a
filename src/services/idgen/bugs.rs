//! The ID generator's planted bugs.

use crate::bugs::Bug;

/// No guard when the wall clock steps backwards: ids repeat or go back.
pub const CLOCK_ROLLBACK: Bug = Bug::new(
    "idgen-clock-rollback",
    "no guard when the wall clock steps backwards",
);

/// The sequence wraps within one millisecond instead of waiting for the next.
pub const SEQUENCE_WRAP: Bug = Bug::new(
    "idgen-sequence-wrap",
    "sequence wraps within one millisecond",
);

/// The timestamp high-water mark is not persisted, so a restart with the clock behind repeats ids.
pub const RESTART_FORGETS: Bug = Bug::new(
    "idgen-restart-forgets",
    "timestamp high-water mark not persisted",
);

/// A failed sync of the high-water mark is ignored and the ids that waited for it are issued.
pub const ACK_AFTER_FAILED_SYNC: Bug = Bug::new(
    "idgen-ack-after-failed-sync",
    "a failed sync is ignored and the id is issued",
);

/// A corrupt high-water-mark file is read as empty: the node starts afresh.
pub const TRUST_CORRUPT_HWM: Bug = Bug::new(
    "idgen-trust-corrupt-hwm",
    "a corrupt high-water mark is read as a fresh start",
);

/// A failed high-water-mark write (no space) is ignored and the id is issued.
pub const IGNORE_WRITE_ERROR: Bug = Bug::new(
    "idgen-ignore-write-error",
    "a failed high-water-mark write (disk full) is ignored",
);

/// With leased worker ids: once granted, a worker id is used for good — a node paused past its
/// lease resumes and issues under a worker id the service has given to another node.
pub const WORKER_LEASE_IGNORED: Bug = Bug::new(
    "idgen-worker-lease-ignored",
    "a leased worker id is used after the lease ran out",
);

/// With leased worker ids: a new holder of a worker id starts from its own clock, not above
/// the timestamps the previous holder reserved in the lock's mark — so a holder whose clock is
/// behind repeats its predecessor's ids.
pub const LEASE_IGNORES_MARK: Bug = Bug::new(
    "idgen-lease-ignores-mark",
    "a new holder of a worker id ignores the previous holder's reserved timestamps",
);

/// Every planted bug of the ID generator.
pub const ALL: &[Bug] = &[
    CLOCK_ROLLBACK,
    SEQUENCE_WRAP,
    RESTART_FORGETS,
    ACK_AFTER_FAILED_SYNC,
    TRUST_CORRUPT_HWM,
    IGNORE_WRITE_ERROR,
    WORKER_LEASE_IGNORED,
    LEASE_IGNORES_MARK,
];
