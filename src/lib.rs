//! faultlab — deterministic simulation testing for distributed services.
//!
//! Layers (data flows down, nothing flows back up): the CLI ([`cli`]), `sim-tests/`, the test
//! builder ([`testing`]) and `ci/` drive the [`runner`], which builds a world from a scenario
//! and a seed, applies the [`nemesis`], collects the event log and the history, and calls the
//! [`invariants`] and the linearizability [`check`]er. Services see only the node environment
//! ([`node`]); backends ([`backend`]) implement it. The README's "Architecture" section has
//! the full picture (its module map, the host loop, the determinism rules).
//!
//! # Testing your own service
//!
//! Write it against [`prelude`] (a sans-IO [`node::service::Service`], a sans-IO
//! [`client::ClientLogic`], a [`plugin::ServiceSpec`] tying them to options, planted bugs and
//! invariants), register it, and use any of these — each works for every registered service,
//! on both simulators:
//!
//! | | |
//! |---|---|
//! | the whole command line | [`cli::main_with`]`(Registry::new().with::<MyService>())` |
//! | a sweep from `cargo test` | [`Sim`]`::<MyService>::new()...run().assert_pass()` |
//! | a scenario file | [`Registry::load_scenario`], [`Registry::parse_scenario`] |
//! | one seed | [`runner::run_seed`] |
//! | many seeds, in parallel | [`runner::sweep::sweep`] |
//! | a seed's records and `report.html` | [`report::write_run_dir`] |
//! | a smaller failing scenario | [`shrink::shrink`] |
//! | the same seed twice, compared | [`runner::determinism::check_determinism`] |
//! | seeds to catch a planted bug | [`bench::bugs::hunt`] |
//!
//! The built-in services are registered the same way ([`Registry::builtin`]).

#![warn(missing_docs)]

pub mod audit;
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
pub mod explore;
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
