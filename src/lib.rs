//! faultlab — deterministic simulation testing for distributed services.
//!
//! Layers (data flows down, nothing flows back up): the CLI, `sim-tests/` and `ci/` drive the
//! [`runner`], which builds a world from a scenario and a seed, applies the [`nemesis`],
//! collects the event log and the history, and calls the [`invariants`] and the linearizability
//! [`check`]er. Services ([`services`]) see only the node environment ([`node`]); backends
//! ([`backend`]) implement it. See `../shared/DESIGN.md` for the full picture.

#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod buggify;
pub mod bugs;
pub mod canon;
pub mod check;
pub mod cli;
pub mod client;
pub mod clock;
pub mod counters;
pub mod disk;
pub mod event;
pub mod fault;
pub mod history;
pub mod ids;
pub mod invariants;
pub mod nemesis;
pub mod net;
pub mod node;
pub mod plugin;
pub mod prelude;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod services;
pub mod shrink;
pub mod testing;
pub mod time;
pub mod trace;
pub mod world;

pub use plugin::{Registry, ServiceSpec};
/// The RNG crate the seeded [`rng::DetRng`] implements: draw with `faultlab::rand::Rng` without
/// matching faultlab's `rand` version in your own `Cargo.toml`.
pub use rand;
/// The JSON values operations are recorded with (`OpDescription`, `Completion`, observations).
pub use serde_json;
pub use testing::Sim;
