//! The lock service: leases with fencing tokens on the Raft core, a protected resource that
//! enforces the tokens, and — switched on like a planted bug — the Redlock design it is
//! compared with.
//!
//! Node layout: every node but the last runs a lock server, the last the resource. Clients
//! loop acquire → hold → check the lease → write to the resource with the token → release.

pub mod api;
pub mod bugs;
mod client;
pub mod invariants;
mod machine;
mod node;
mod options;
mod plan;
mod redlock;
mod resource;
mod wire;

pub use client::LockClient;
pub use machine::{LockOp, LockResult};
pub use node::LockNode;
pub use options::LockOptions;
pub use wire::{LockRequest, LockResponse, RedlockReq, RedlockResp, WriteReq, WriteResp};

use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Tag, Verdict};
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// The lock service's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockService;

impl ServiceSpec for LockService {
    const NAME: &'static str = "lock";
    const ABOUT: &'static str =
        "lease lock service with fencing tokens on Raft, a fenced resource, and Redlock to compare";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BUGGIFY_POINTS: &'static [&'static str] = crate::services::replicated::BUGGIFY_POINTS;
    // The replicated layer's, the resource's and a server's own.
    const NOTES: &'static [&'static str] = &[
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
        "lock/unexpected-message",
        "resource/refusing-to-serve",
    ];
    type Options = LockOptions;
    type Server = LockNode;
    type Client = LockClient;

    fn validate(opts: &LockOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &LockOptions, _shape: &Shape) -> LockOptions {
        opts.clone()
    }

    fn client(opts: &LockOptions, _shape: &Shape, client: ClientId, bugs: &BugSet) -> LockClient {
        LockClient::new(opts, client, bugs)
    }

    fn invariants(_opts: &LockOptions) -> Vec<Box<dyn Invariant>> {
        let mut all = invariants::all();
        all.extend(super::replicated::invariants::all());
        all
    }

    fn knobs() -> Vec<crate::plugin::knobs::Knob<LockOptions>> {
        crate::raft_knobs!(LockOptions)
    }

    fn history_checks(_opts: &LockOptions, history: &History) -> Vec<Verdict> {
        vec![Verdict {
            invariant: "linearizable",
            tag: Tag::Always,
            outcome: invariants::history_verdict(history),
        }]
    }
}

#[cfg(test)]
mod tests;
