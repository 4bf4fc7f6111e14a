//! Snowflake-style unique IDs: `timestamp | worker | sequence`, one generator per node, with
//! statically assigned worker ids (the node index) or, with `[idgen.leases]`, worker ids leased
//! from the Raft lock service running on the first nodes (see `lease.rs`).
//!
//! Guarantees: ids are unique, and the ids one node hands out strictly increase — also across
//! crashes, because the node persists (and fsyncs) a timestamp high-water mark `reserve_ms`
//! ahead of the ids it issues and never issues at or below it after a restart (checksummed, see
//! [`hwm`]: a torn last record is ignored, a corrupt one makes the node refuse for good rather
//! than risk a repeat; a failed write refuses the request, a failed sync restarts the node from
//! what the disk holds). When the wall
//! clock steps back, the node waits (up to `backwards_wait_ms_max`) or refuses; when a
//! millisecond's sequence is exhausted, it waits for the next millisecond.

pub mod bugs;
mod client;
mod config;
mod core;
pub mod hwm;
pub mod invariants;
mod layout;
mod lease;
#[cfg(test)]
mod lease_tests;
mod msg;
mod node;

pub use client::IdgenClient;
pub use config::{IdgenConfig, WorkerLeases};
pub use core::{IdGen, IdRequest, IdResponse, Refusal};
pub use layout::IdLayout;
pub use msg::IdgenMsg;
pub use node::IdgenNode;

use crate::bugs::Bug;
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::plugin::knobs::Knob;
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// The ID-generator benchmark: 5 nodes, 5 clients, 10 simulated seconds, no faults, no liveness
/// phase — the same workload as `fault-scenarios/idgen-calm.toml`.
const BENCH: &str = r#"
description = "benchmark: 5 ID-generator nodes, 5 clients, 10 simulated seconds"
service = "idgen"
nodes = 5
clients = 5
duration_ms = 10000
liveness_ms = 0

[workload]
think_ms_min = 0
think_ms_max = 10
timeout_ms = 200

[expect]
ops_ok_min = 0
"#;

/// The ID generator's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdgenService;

impl ServiceSpec for IdgenService {
    const NAME: &'static str = "idgen";
    const ABOUT: &'static str =
        "Snowflake-style unique ID generator (timestamp | worker | sequence)";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BENCH_SCENARIO: Option<&'static str> = Some(BENCH);
    // Its lease servers are replicas of the lock service: theirs are its points too.
    const BUGGIFY_POINTS: &'static [&'static str] = &[
        super::replicated::DROP_REPLY,
        super::replicated::SPURIOUS_ELECTION_TIMEOUT,
        SPURIOUS_WAIT,
        EAGER_RESERVE,
    ];
    // With leases its lease servers are lock-service replicas: the replicated layer's notes are its too.
    const NOTES: &'static [&'static str] = &[
        "idgen/clock-behind-wait",
        "idgen/clock-behind-refuse",
        "idgen/sequence-exhausted",
        "idgen/hwm-corrupt",
        "idgen/hwm-torn-tail",
        "idgen/state-unreadable",
        "idgen/state-unwritable",
        "idgen/unexpected-message",
        "idgen/worker",
        "idgen/worker-granted",
        "idgen/worker-lease-ignored",
        "idgen/worker-lease-lost",
        "idgen/lease-reply-from-elsewhere",
        "idgen/lease-reply-to-client",
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
    ];
    type Options = IdgenConfig;
    type Server = IdgenNode;
    type Client = IdgenClient;

    fn validate(opts: &IdgenConfig, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape.nodes)
    }

    fn server_config(opts: &IdgenConfig, _shape: &Shape) -> IdgenConfig {
        opts.clone()
    }

    fn client(
        opts: &IdgenConfig,
        _shape: &Shape,
        _client: ClientId,
        _bugs: &crate::bugs::BugSet,
    ) -> IdgenClient {
        IdgenClient {
            first_generator: opts.leases.as_ref().map_or(0, |l| l.servers as usize),
        }
    }

    fn invariants(opts: &IdgenConfig) -> Vec<Box<dyn Invariant>> {
        let mut all = invariants::all(IdLayout::of(opts));
        if opts.leases.is_some() {
            // The lock servers' Raft group, checked like any other.
            all.extend(super::replicated::invariants::all());
        }
        all
    }

    fn history_checks(_opts: &IdgenConfig, history: &History) -> Vec<Verdict> {
        invariants::history_only(history)
    }

    fn knobs() -> Vec<Knob<IdgenConfig>> {
        vec![
            // A window of 1 ms syncs before nearly every id; 2 s makes restarts wait long.
            Knob {
                name: "reserve_ms",
                min: 1,
                max: 2000,
                set: |o, v| o.reserve_ms = v,
            },
            Knob {
                name: "backwards_wait_ms_max",
                min: 0,
                max: 200,
                set: |o, v| o.backwards_wait_ms_max = v,
            },
        ]
    }
}

/// BUGGIFY: a request that could be served waits a millisecond first.
pub const SPURIOUS_WAIT: &str = "buggify/idgen-spurious-wait";
/// BUGGIFY: the high-water mark is persisted (and synced) for every millisecond, not once per
/// reservation window.
pub const EAGER_RESERVE: &str = "buggify/idgen-eager-reserve";
