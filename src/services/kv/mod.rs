//! The replicated KV store: string keys and values on the Raft core, with client sessions for
//! exactly-once retries, linearizable reads (ReadIndex, or leases with a drift bound) and
//! keys sharded over replication groups by consistent hashing.
//!
//! The application is [`KvMachine`]; replication, sessions, the node, the client core and the
//! Raft invariants are the shared `replicated` layer's.

pub mod api;
pub mod bugs;
mod command;
pub mod invariants;
mod options;
mod state;
mod workload;

pub use command::{KvOp, KvResult};
pub use options::KvOptions;
pub use state::KvMachine;
pub use workload::KvWorkload;

use super::replicated::{self, NodeConfig, ReplicatedClient, ReplicatedNode};
use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Tag, Verdict};
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// The KV benchmark: 5 nodes, 5 clients, 10 simulated seconds, about 500 client operations
/// (each client thinks 80–120 ms between operations), no faults.
const BENCH: &str = r#"
description = "benchmark: 5 KV nodes, 5 clients, 10 simulated seconds, ~500 operations"
service = "kv"
nodes = 5
clients = 5
duration_ms = 10000
liveness_ms = 0

[workload]
think_ms_min = 80
think_ms_max = 120
timeout_ms = 1000

[expect]
ops_ok_min = 0
"#;

/// The KV store's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct KvService;

impl ServiceSpec for KvService {
    const NAME: &'static str = "kv";
    const ABOUT: &'static str =
        "replicated key-value store on Raft (sessions, ReadIndex/lease reads, sharding)";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BENCH_SCENARIO: Option<&'static str> = Some(BENCH);
    const BUGGIFY_POINTS: &'static [&'static str] = replicated::BUGGIFY_POINTS;
    // Its replicas' rare paths (the replicated layer's, alerts included: they are notes too).
    const NOTES: &'static [&'static str] = &[
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
    ];
    type Options = KvOptions;
    type Server = ReplicatedNode<KvMachine>;
    type Client = ReplicatedClient<KvWorkload>;

    fn validate(opts: &KvOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &KvOptions, _shape: &Shape) -> NodeConfig<KvMachine> {
        NodeConfig {
            raft: opts.raft(),
            routing: opts.routing(),
            sessions: opts.sessions(),
            bugs: bugs::host_bugs,
            duties: (),
        }
    }

    fn client(opts: &KvOptions, shape: &Shape, client: ClientId, _bugs: &BugSet) -> Self::Client {
        // Client ids are consecutive (0.. under simulation, from a random base on real
        // sockets): modulo the client count they number the clients 0..n either way.
        let index = client.0 % shape.clients.max(1);
        ReplicatedClient::new(KvWorkload::new(opts, client, index), opts.client(), client)
    }

    fn invariants(_opts: &KvOptions) -> Vec<Box<dyn Invariant>> {
        let mut all = replicated::invariants::all();
        all.push(Box::new(invariants::linearizable()));
        all
    }

    fn knobs() -> Vec<crate::plugin::knobs::Knob<KvOptions>> {
        let mut knobs = crate::raft_knobs!(KvOptions);
        knobs.push(crate::plugin::knobs::Knob {
            name: "append_entries_max",
            min: 1,
            max: 64,
            set: |o, v| o.append_entries_max = usize::try_from(v).unwrap_or(1),
        });
        knobs
    }

    fn history_checks(_opts: &KvOptions, history: &History) -> Vec<Verdict> {
        vec![Verdict {
            invariant: "linearizable",
            tag: Tag::Always,
            outcome: invariants::history_verdict(history),
        }]
    }
}

#[cfg(test)]
mod tests;
