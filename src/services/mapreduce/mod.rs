//! MapReduce (issue 22, part 1): a coordinator and workers in the classic design of Dean and
//! Ghemawat's 2004 paper, running a word count over a corpus generated from each job's name.
//!
//! Node layout: `n0` is the coordinator, the next `workers` nodes are workers, the last node is
//! the output store. Clients submit jobs to the coordinator and read their committed output
//! from the store.
//!
//! What makes it correct (and what the planted bugs take away):
//! - map outputs are partitioned by a hash every worker agrees on;
//! - reduces start only when every map is done, and read every map's output;
//! - a reduce writes to a temp file named for its attempt and the coordinator has the store
//!   rename the first finished attempt's file to the final name — atomically, once: later
//!   attempts are fenced by attempt id;
//! - a finished map whose worker died or restarted (its disk's scratch data gone), or whose
//!   output a reducer could not fetch, is run again;
//! - the coordinator's progress (maps done and where, grants, commits) is durable, synced
//!   before it is acted on: persisted state on its own disk rather than replication on the
//!   Raft core, because the paper's master is one process that checkpoints, because a
//!   coordinator that is down only delays the job (workers and the store wait), and because
//!   it is what gives `mr-coordinator-state-in-memory` its meaning.

pub mod bugs;
mod client;
mod coordinator;
pub mod corpus;
pub mod invariants;
mod msg;
mod node;
mod options;
mod state;
mod store;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_invariants;
mod worker;

pub use client::MrClient;
pub use msg::{Input, MrMsg, MrRequest, MrResponse, Report, Task};
pub use node::MrNode;
pub use options::MrOptions;

use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::plugin::knobs::Knob;
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// MapReduce's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct MapReduceService;

impl ServiceSpec for MapReduceService {
    const NAME: &'static str = "mapreduce";
    const ABOUT: &'static str = "MapReduce word count: a coordinator with durable progress, workers with scratch disks, an output store with atomic rename, re-execution and backup tasks";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BUG_PREFIX: &'static str = "mr";
    const NOTES: &'static [&'static str] = &[
        "mr/backup",
        "mr/rerun-lost-maps",
        "mr/worker-restarted",
        "mr/worker-dead",
        "mr/fenced",
        "mr/fetch-failed",
        "mr/fetch-unreachable",
        "mr/map-output-missing",
        "mr/map-write-failed",
        "mr/chunk-write-failed",
        "mr/rename-refused",
        "mr/unexpected-message",
        "mr/coordinator-refusing",
        "mr/store-refusing",
    ];
    type Options = MrOptions;
    type Server = MrNode;
    type Client = MrClient;

    fn validate(opts: &MrOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &MrOptions, _shape: &Shape) -> MrOptions {
        opts.clone()
    }

    fn client(opts: &MrOptions, _shape: &Shape, client: ClientId, _bugs: &BugSet) -> MrClient {
        MrClient::new(opts, client)
    }

    fn invariants(opts: &MrOptions) -> Vec<Box<dyn Invariant>> {
        invariants::all(opts)
    }

    fn history_checks(opts: &MrOptions, history: &History) -> Vec<Verdict> {
        invariants::history_checks(opts, history)
    }

    fn knobs() -> Vec<Knob<MrOptions>> {
        vec![
            Knob {
                name: "heartbeat_ms",
                min: 20,
                max: 100,
                set: |o, v| o.heartbeat_ms = v,
            },
            Knob {
                name: "backup_after_ms",
                min: 100,
                max: 600,
                set: |o, v| o.backup_after_ms = v,
            },
        ]
    }
}
