//! The cache tier's planted bugs: the classic look-aside cache mistakes, each one switch in the
//! cache node ([`super::table`], [`super::node`]) or the client ([`super::client`]).

use crate::bugs::Bug;

/// Fills are accepted without a lease: a slow reader's late fill re-installs a value the
/// store has since overwritten, after the writer's invalidation.
pub const FILL_WITHOUT_LEASE: Bug = Bug::new(
    "cache-fill-without-lease",
    "a fill is accepted without a valid lease: a slow reader's late fill re-installs a stale value",
);
/// The writer invalidates first and writes the store after: a reader in between refills the
/// old value.
pub const INVALIDATE_BEFORE_WRITE: Bug = Bug::new(
    "cache-invalidate-before-write",
    "the writer deletes the cached entry before writing the store: a reader refills the old value",
);
/// Entries expire by the node's wall clock: a clock stepped back keeps a stale entry alive.
pub const TTL_WALL_CLOCK: Bug = Bug::new(
    "cache-ttl-wall-clock",
    "TTLs are judged on the wall clock: a clock jump back keeps a stale entry alive",
);
/// A restarted node reloads what it held (a warm restart) and serves it with fresh TTLs.
pub const REJOIN_SERVES_STALE: Bug = Bug::new(
    "cache-rejoin-serves-stale",
    "a node back from a crash reloads and serves what it held, missing the invalidations sent meanwhile",
);
/// A hit extends the entry's life (sliding expiry): a hot key's stale entry never expires.
pub const TTL_REFRESH_ON_HIT: Bug = Bug::new(
    "cache-ttl-refresh-on-hit",
    "every hit restarts the entry's TTL (sliding expiry): a hot stale entry never expires",
);

/// Every planted bug of the cache tier.
pub const ALL: &[Bug] = &[
    FILL_WITHOUT_LEASE,
    INVALIDATE_BEFORE_WRITE,
    TTL_WALL_CLOCK,
    REJOIN_SERVES_STALE,
    TTL_REFRESH_ON_HIT,
];
