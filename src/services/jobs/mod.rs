//! A durable background-job queue on the Raft core (issue 21, part 2).
//!
//! Node layout: the first `replicas` nodes run the queue's replicas (the shared replicated
//! layer with [`machine::JobsMachine`]), the next `workers` nodes are workers, the last node is
//! the effect sink. Clients are producers: they enqueue jobs under idempotency keys. Workers
//! lease the oldest visible job (a visibility timeout), do its work, perform its effect at the
//! sink, and acknowledge; a lease that runs out makes the job visible again (at-least-once
//! delivery). A schedule fires slot 1, 2, 3, ... every `every_ms`, each slot a job.
//!
//! What makes it correct (and what the planted bugs take away):
//! - an enqueue is acknowledged once its log entry is durable on a majority;
//! - the sink applies each idempotency key once and fences each job by lease token: exactly-once
//!   *effect* on top of at-least-once *delivery*;
//! - visibility timeouts are judged by the leader's monotonic clock with a drift bound, and a
//!   worker stops acting on a lease by its own monotonic clock before the leader can expire it;
//! - a job is deleted (acknowledged) only after its effect;
//! - the schedule's slots are claimed through the log: the leader proposes `Fire { slot }`, and
//!   only the slot after the last fired one counts, whoever leads and whatever the clocks say;
//! - a producer that never learned its enqueue's outcome retries under the same key.

pub mod bugs;
mod client;
pub mod invariants;
#[cfg(test)]
mod invariants_tests;
mod machine;
mod msg;
mod node;
mod options;
mod sink;
#[cfg(test)]
mod tests;
mod worker;

pub use client::JobsClient;
pub use machine::{JobOp, JobResult, JobsMachine};
pub use msg::{Effect, EffectOutcome, JobsMsg, JobsRequest, JobsResponse};
pub use node::JobsNode;
pub use options::JobsOptions;

use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::plugin::knobs::Knob;
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// The job queue's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsService;

impl ServiceSpec for JobsService {
    const NAME: &'static str = "jobs";
    const ABOUT: &'static str = "durable background-job queue on Raft: idempotency keys, visibility leases, an effect sink, a schedule claimed through the log";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BUGGIFY_POINTS: &'static [&'static str] = crate::services::replicated::BUGGIFY_POINTS;
    // Its queue replicas run the replicated layer: those notes are its too.
    const NOTES: &'static [&'static str] = &[
        "jobs/lease-lapsed",
        "jobs/unexpected-message",
        "jobs/sink-refusing",
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
    ];
    type Options = JobsOptions;
    type Server = JobsNode;
    type Client = JobsClient;

    fn validate(opts: &JobsOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &JobsOptions, _shape: &Shape) -> JobsOptions {
        opts.clone()
    }

    fn client(opts: &JobsOptions, _shape: &Shape, client: ClientId, bugs: &BugSet) -> JobsClient {
        JobsClient::new(opts, client, bugs)
    }

    fn invariants(opts: &JobsOptions) -> Vec<Box<dyn Invariant>> {
        let mut all = invariants::all(opts);
        all.extend(crate::services::replicated::invariants::all());
        all
    }

    fn history_checks(opts: &JobsOptions, history: &History) -> Vec<Verdict> {
        invariants::history_checks(opts, history)
    }

    fn knobs() -> Vec<Knob<JobsOptions>> {
        let mut knobs = crate::raft_knobs!(JobsOptions);
        knobs.push(Knob {
            name: "visibility_ms",
            min: 200,
            max: 1500,
            set: |o, v| o.visibility_ms = v,
        });
        knobs
    }
}
