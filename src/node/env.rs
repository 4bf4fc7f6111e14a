//! The node environment: what a backend (turmoil, madsim, real tokio) provides to the node host
//! loop. Services never see this trait; the host loop translates between it and a service's
//! sans-IO core.

use crate::disk::{Storage, StorageError};
use crate::event::Event;
use crate::ids::{Addr, Incarnation};
use crate::node::sketch::Sketch;
use crate::time::{LocalInstant, LocalNow};
use serde_json::value::RawValue;
use std::future::Future;

/// A message handed to a node by its transport, header decoded, body still raw.
#[derive(Debug)]
pub struct Inbound {
    /// The sender.
    pub from: Addr,
    /// The message id (unique within a run).
    pub msg_id: u64,
    /// The body.
    pub body: Box<RawValue>,
}

/// Everything the node host needs from the machine it runs on.
#[allow(async_fn_in_trait)] // single-threaded runtimes: the futures need not be Send
pub trait NodeEnv {
    /// This node's address.
    fn me(&self) -> Addr;
    /// Reads the local clocks (skewed, under simulation).
    fn now(&self) -> LocalNow;
    /// Sleeps until the local monotonic clock reads `deadline`, or less: callers re-check the
    /// clock and sleep again, so a backend may wake early (e.g. to follow a drift change).
    fn sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static;
    /// The next inbound message (after transport faults have had their say).
    async fn recv(&mut self) -> Inbound;
    /// Sends an encoded body; the backend wraps it in an envelope with a fresh message id.
    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue);
    /// Runs `f` with the node's disk.
    fn with_storage<R>(&mut self, f: impl FnOnce(&mut dyn Storage) -> R) -> R;
    /// Makes every write so far durable; returns once the sync has completed.
    async fn sync(&mut self) -> Result<(), StorageError>;
    /// Returns at once unless the node is paused; then returns when it is resumed.
    async fn wait_while_paused(&mut self);
    /// Records a node-side event (the event log under simulation, tracing on real machines).
    fn record(&mut self, event: Event);
    /// An operator should hear this (the service cannot serve, or is stopping): real
    /// machines warn on stderr. The event log has it as a note already.
    fn alert(&mut self, _label: &'static str, _value: &serde_json::Value) {}
    /// The node's software starts again on the same machine after stopping itself (a failed
    /// sync): same disk, same clocks, a new incarnation, which this returns.
    fn restarted(&mut self) -> Incarnation;
    /// True when this run collects abstract states (guided exploration): only then does the
    /// host ask the service for a [`Sketch`] after each handler.
    fn sketches_wanted(&self) -> bool {
        false
    }
    /// Records the node's abstract state after a handler.
    fn record_sketch(&mut self, _sketch: Sketch) {}
}
