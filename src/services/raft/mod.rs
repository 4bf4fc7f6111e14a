//! A sans-IO Raft core (etcd-raft style) and its durable log format.
//!
//! The core never does I/O, never reads a clock and draws randomness only from the `DetRng`
//! its caller passes in. A host drives one [`RaftCore`] per replica:
//!
//! - at start: [`store::load`] the durable state (a [`store::StoreError::Corrupt`] means
//!   refuse to serve, never start afresh), restore the application from
//!   `recovered.snapshot.data` (empty at index 0: a fresh application), then
//!   [`RaftCore::new`];
//! - on every input — a peer message ([`RaftCore::step`]), a client command
//!   ([`RaftCore::propose`]), a read ([`RaftCore::read_index`]) or the timer
//!   ([`RaftCore::on_time`]) — then call [`RaftCore::ready`] and handle the [`Ready`]
//!   completely, in the order its docs give: persist, sync, send, restore, apply, serve reads,
//!   compact;
//! - keep exactly one timer, at [`RaftCore::next_deadline`] (re-read it after every input).
//!
//! Membership is fixed. Time is the node's local monotonic clock ([`LocalInstant`]); the only
//! clock assumption is the lease's drift bound ([`LeaseConfig`]).
//!
//! Planted bugs ([`RaftBugs`]) turn off the protocol assertions they would trip, so the
//! harness's invariants — not a panic — catch them.
//!
//! [`LocalInstant`]: crate::time::LocalInstant

mod campaign;
mod config;
mod core;
mod election;
mod incoming;
mod log;
mod msg;
mod progress;
mod read_index;
mod reads;
mod ready;
mod replication;
mod snapshot;
mod standing;
pub mod store;
mod timers;
mod types;

pub use config::{LeaseConfig, MESSAGE_BYTES_MAX, RaftBugs, RaftConfig};
pub use core::{CompactError, RaftCore, RequestError};
pub use msg::{APPEND_ENTRIES_MAX, RaftMsg, RejectHint, SNAPSHOT_BYTES_MAX, TERM_INDEX_MAX};
pub use ready::{ReadState, ReadVia, Ready, ReadySnapshot};
pub use types::{
    Command, Entry, HardState, LeaderChange, Payload, Recovered, Role, Snapshot, SnapshotMeta,
};

#[cfg(test)]
mod tests;
