//! The plug-in API: how a service — built in or written in another crate — becomes something
//! faultlab can run, judge, replay and shrink.
//!
//! A service is one [`ServiceSpec`]: its sans-IO server core ([`crate::node::service::Service`]),
//! its sans-IO client core ([`crate::client::ClientLogic`]), its options table (`[<name>]` in a
//! scenario), its planted bugs, its knobs and its invariants. A [`Registry`] holds the services
//! a program knows, by name; scenarios name one (`service = "name"`), and everything else —
//! runs, sweeps, `--bug`, knobs, the shrinker, the CLI ([`crate::cli::main_with`]) and the test
//! builder ([`crate::testing::Sim`]) — works for whatever is registered.
//!
//! The built-in services (`idgen`, `kv`, `lock`) go through exactly this path:
//! [`Registry::builtin`] is three calls of [`Registry::with`]. No harness module names them.
//!
//! This module must never import a service.

mod erased;
pub mod knobs;
mod options;
mod registry;

pub use erased::{DynService, OptionsRejected, SimRun};
pub use options::ServiceOptions;
pub use registry::{Registry, UnknownService};

use crate::bugs::{Bug, BugSet};
use crate::client::ClientLogic;
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::node::service::Service;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// The shape of the cluster a service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Server nodes.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
}

/// An invalid service option: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The field in the service's table.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl OptionError {
    /// An error on `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        OptionError {
            field,
            message: message.into(),
        }
    }
}

/// Everything faultlab needs to know about one service. Register it with
/// [`Registry::with`]; the blanket [`DynService`] does the rest.
///
/// ```ignore
/// impl ServiceSpec for MyService {
///     const NAME: &'static str = "pb";
///     const ABOUT: &'static str = "primary-backup register";
///     const BUGS: &'static [Bug] = &[ACK_BEFORE_REPLICATION];
///     type Options = PbOptions;   // `[pb]` in a scenario
///     type Server = PbNode;       // impl Service
///     type Client = PbClient;     // impl ClientLogic<PbNode>
///     // validate, server_config, client, invariants, history_checks
/// }
/// ```
pub trait ServiceSpec: 'static {
    /// The name in scenario files (`service = "..."`), on the command line and in its options
    /// table (`[name]`).
    const NAME: &'static str;
    /// One line: what the service is.
    const ABOUT: &'static str;
    /// Its planted bugs (names start with `BUG_PREFIX-`).
    const BUGS: &'static [Bug];
    /// What its planted bugs' names start with (before a `-`): its name unless it says
    /// otherwise (a long name may take a short prefix, as `mapreduce`'s bugs are `mr-...`).
    const BUG_PREFIX: &'static str = Self::NAME;
    /// A scenario `bench sim --preset NAME` times (TOML text: a calm, fault-free workload);
    /// `None` when the service has none.
    const BENCH_SCENARIO: Option<&'static str> = None;
    /// Its BUGGIFY points (the names it passes to `ctx.buggify`), so reports can list the
    /// ones active in a seed.
    const BUGGIFY_POINTS: &'static [&'static str] = &[];
    /// Every label it passes to `ctx.note` (its rare paths, not counting `buggify/...`), so
    /// `faultlab scenarios --coverage` can list the ones no shipped scenario reaches; a
    /// test fails when a service makes a note it does not declare.
    const NOTES: &'static [&'static str] = &[];
    /// Its options table, strict (`deny_unknown_fields`), every field defaulted.
    type Options: DeserializeOwned + Default + Clone + Debug + PartialEq + Send + Sync + 'static;
    /// The sans-IO core that runs on every node.
    type Server: Service;
    /// The sans-IO client core, one per client.
    type Client: ClientLogic<Self::Server>;

    /// Checks the options for a cluster of this shape.
    fn validate(opts: &Self::Options, shape: &Shape) -> Result<(), OptionError>;
    /// The configuration every node's core starts with.
    fn server_config(opts: &Self::Options, shape: &Shape) -> <Self::Server as Service>::Config;
    /// The client core of one client (a design flaw switched on like a planted bug, such as
    /// the lock service's Redlock variant, changes what clients do too).
    fn client(opts: &Self::Options, shape: &Shape, client: ClientId, bugs: &BugSet)
    -> Self::Client;
    /// The service's own invariants over a simulated run (the common ones — records complete,
    /// `[expect]` minimums, progress after heal, no panic — are added by the runner).
    fn invariants(opts: &Self::Options) -> Vec<Box<dyn Invariant>>;
    /// What a bare history supports (a run on real sockets has no event log).
    fn history_checks(opts: &Self::Options, history: &History) -> Vec<Verdict>;
    /// Its tunables with the ranges it promises to be correct in (`[randomize] knobs`).
    fn knobs() -> Vec<knobs::Knob<Self::Options>> {
        Vec::new()
    }
}
