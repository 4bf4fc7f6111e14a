//! MapReduce's planted bugs: the classic mistakes of a MapReduce implementation, each one switch
//! in the coordinator ([`super::coordinator`]), the worker ([`super::worker`]) or the output
//! store ([`super::store`]).

use crate::bugs::Bug;

/// Reduce output is written in place under its final name: readers see a partial file as final.
pub const NON_ATOMIC_COMMIT: Bug = Bug::new(
    "mr-non-atomic-commit",
    "a reduce writes its output in place under the final name (no temp file and rename): a partial file is read as final",
);
/// The coordinator lets every finished attempt of a reduce commit.
pub const DOUBLE_COMMIT: Bug = Bug::new(
    "mr-double-commit",
    "the coordinator lets every finished attempt of a reduce commit (no attempt fence): a backup and the original both commit",
);
/// A finished map whose worker died (or whose output a reducer could not fetch) is not re-run.
pub const FORGET_LOST_MAP_OUTPUT: Bug = Bug::new(
    "mr-forget-lost-map-output",
    "a finished map whose worker died, or whose output a reducer could not fetch, is not re-run: the job never completes",
);
/// Reduce tasks are handed out while maps are still running, with the outputs done so far.
pub const REDUCE_BEFORE_MAPS_DONE: Bug = Bug::new(
    "mr-reduce-before-maps-done",
    "reduce tasks start before every map is done and reduce only the map outputs finished so far",
);
/// The coordinator keeps its progress in memory only (the submitted jobs are durable).
pub const COORDINATOR_STATE_IN_MEMORY: Bug = Bug::new(
    "mr-coordinator-state-in-memory",
    "the coordinator keeps task progress and commit grants in memory: after a restart it re-runs and re-commits finished partitions",
);
/// Mappers partition keys with a per-process seeded hash (Python's hash randomization,
/// Rust's `RandomState`).
pub const RANDOM_PARTITION_HASH: Bug = Bug::new(
    "mr-random-partition-hash",
    "mappers partition words with a per-process seeded hash: one word lands in several reduce partitions, each with part of its count",
);

/// Every planted bug of MapReduce.
pub const ALL: &[Bug] = &[
    NON_ATOMIC_COMMIT,
    DOUBLE_COMMIT,
    FORGET_LOST_MAP_OUTPUT,
    REDUCE_BEFORE_MAPS_DONE,
    COORDINATOR_STATE_IN_MEMORY,
    RANDOM_PARTITION_HASH,
];
