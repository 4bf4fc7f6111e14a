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

/// Every planted bug of the ID generator.
pub const ALL: &[Bug] = &[CLOCK_ROLLBACK, SEQUENCE_WRAP, RESTART_FORGETS];
