//! The KV store's replicated state machine: string keys and values, plus client sessions for
//! exactly-once application of retried commands.
//!
//! Pure: commands come in already ordered by the replication log (`apply(index, cmd)`), results
//! go out as values; the whole state snapshots to deterministic bytes and restores from them.
//! This module never does I/O and never knows how the log is replicated.

mod command;
mod state;

pub use command::{KvCommand, KvOp, KvResult};
pub use state::{KvError, KvOptions, KvState};

#[cfg(test)]
mod tests;
