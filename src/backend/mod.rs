//! Backends: what makes a world run. A backend is one plug-in ([`Backend`]): only the code that
//! talks to a simulator (or to real sockets) lives under `backend/<name>`.
//!
//! - [`sim`] is shared by every simulated backend: the node and client environments (skewed
//!   clocks, pauses, fsync time, the simulated disk), the transport that puts every message
//!   through the network fault layer, and the software that runs on a node host. It needs only
//!   a [`sim::SimRuntime`] (time, sleep, spawn, datagram sockets) from the simulator.
//! - [`turmoil`] (default, `--backend turmoil`): every node is a turmoil host with its own
//!   single-threaded runtime, all stepped in fixed ticks; plain `cargo test`. Everyday use:
//!   tokio-compatible, nothing special to build.
//! - [`madsim`] (`--backend madsim`): event-driven — time jumps to the next timer or delivery,
//!   so cost follows events, not nodes × ticks — and, under `--cfg madsim`, it also makes the
//!   process's time, randomness and `HashMap` seeds deterministic, which audits dependencies
//!   for determinism leaks. Compiled only under `--cfg madsim` (`cargo simtest`, `cargo
//!   simbuild`); elsewhere it is a stand-in that says how to get it.
//! - [`real`]: the same services on real UDP sockets and a real disk (`faultlab serve/load`).
//!
//! Adding a simulated backend: a `SimRuntime`, a [`SimDriver`], an impl of [`Backend`], and one
//! variant of [`BackendKind`].

#[cfg(madsim)]
pub mod madsim;
#[cfg(not(madsim))]
#[path = "madsim_unavailable.rs"]
pub mod madsim;
pub mod real;
pub mod sim;
pub mod turmoil;

use crate::bugs::BugSet;
use crate::client::{ClientConfig, ClientLogic};
use crate::ids::{ClientId, NodeId};
use crate::node::service::Service;
use crate::rng::RunSeeds;
use crate::time::SimTime;
use crate::world::WorldState;
use serde::Serialize;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;
use thiserror::Error;

/// A simulator failed (not the system under test: the harness).
#[derive(Debug, Error)]
pub enum DriverError {
    /// The simulator reported an error.
    #[error("simulation failed at {at}: {message}")]
    Sim {
        /// True time of the failure.
        at: SimTime,
        /// What the simulator said.
        message: String,
    },
    /// The backend is not compiled into this build.
    #[error("the {backend} backend is not in this build: {how}")]
    Unavailable {
        /// The backend asked for.
        backend: BackendKind,
        /// How to get a build that has it.
        how: &'static str,
    },
}

/// What the runner and the nemesis need from a running simulation.
pub trait SimDriver {
    /// True simulated time.
    fn now(&self) -> SimTime;
    /// Runs the simulation until true time reaches `until` (at least; a stepped simulator may
    /// overshoot to its next step boundary). Event-driven simulators jump between events.
    fn run_until(&mut self, until: SimTime) -> Result<(), DriverError>;
    /// Kills a node's process: its tasks are dropped. What a crash does to the node's disk and
    /// state is the world's business ([`WorldState::crash`]).
    fn kill(&mut self, node: NodeId);
    /// Starts a killed node's software again.
    fn start(&mut self, node: NodeId);
}

/// The simulators faultlab can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// turmoil: one simulated host per node, stepped in fixed ticks (`network.tick_ms`).
    #[default]
    Turmoil,
    /// madsim: event-driven, one madsim node per node; needs a `--cfg madsim` build (`cargo
    /// simtest`, `cargo simbuild`). `network.tick_ms` does not apply.
    Madsim,
}

impl BackendKind {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Turmoil => "turmoil",
            BackendKind::Madsim => "madsim",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the hosts of one run need, shared by their software factories.
pub struct HostSetup<S: Service, C> {
    /// Every component's seed.
    pub seeds: RunSeeds,
    /// Cluster size.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
    /// What every node's core starts with.
    pub service_cfg: S::Config,
    /// Planted bugs switched on.
    pub bugs: BugSet,
    /// BUGGIFY, when the run has it.
    pub buggify: Option<crate::buggify::Buggify>,
    /// How clients behave.
    pub client: ClientConfig,
    /// Makes the client core of one client.
    pub make_client: Box<dyn Fn(ClientId) -> C>,
    /// Messages a node buffers while busy or paused.
    pub inbox_capacity: usize,
    /// How long a sync takes.
    pub fsync: Duration,
}

/// Simulator options taken from the scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The step of a stepped simulator.
    pub tick: Duration,
    /// Base one-way latency, lower bound.
    pub latency_min: Duration,
    /// Base one-way latency, upper bound.
    pub latency_max: Duration,
    /// What an unskewed wall clock reads at true time zero.
    pub epoch_unix_ns: i64,
    /// Longer than any run; a simulator may use it to stop runaway hosts.
    pub horizon: Duration,
}

/// A simulator faultlab can run services on.
pub trait Backend {
    /// The running simulation.
    type Driver: SimDriver;
    /// Builds a simulation of `setup`'s service over `world`.
    fn build<S, C>(
        setup: Rc<HostSetup<S, C>>,
        world: Rc<RefCell<WorldState>>,
        opts: &SimOptions,
    ) -> Result<Self::Driver, DriverError>
    where
        S: Service,
        C: ClientLogic<S>;
}
