//! Backends: what makes a world run. Each implements the node environment for services, the
//! client environment for workers, and a driver the runner steps.
//!
//! - `turmoil` (default): every node is a turmoil host with its own single-threaded runtime;
//!   plain `cargo test`.
//! - madsim (`cargo simtest`) and real tokio sockets are later work; the seams they need are
//!   [`crate::node::env::NodeEnv`], [`crate::client::ClientEnv`] and [`SimDriver`].

pub mod real;
pub mod turmoil;

use crate::ids::NodeId;
use crate::time::SimTime;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DriverError {
    #[error("simulation failed at {at}: {message}")]
    Sim { at: SimTime, message: String },
}

/// What the runner and the nemesis need from a simulator.
pub trait SimDriver {
    /// True simulated time.
    fn now(&self) -> SimTime;
    /// Advances time by one step, running every host.
    fn step(&mut self) -> Result<(), DriverError>;
    /// Kills a node's process (its tasks are dropped; the world handles the disk).
    fn crash(&mut self, node: NodeId);
    /// Starts a crashed node's software again.
    fn restart(&mut self, node: NodeId);
}
