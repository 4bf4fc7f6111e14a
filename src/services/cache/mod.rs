//! A look-aside cache tier in front of the replicated KV store (issue 21, part 1).
//!
//! Node layout: the first `store_nodes` nodes run the KV store's replicas (through its front
//! door, `kv::api`: the source of truth); the others are cache nodes, each owning the keys the
//! consistent-hash ring gives it. Clients read through the cache (hit, or miss → read the store
//! → fill under the miss's lease) and write to the store, then invalidate.
//!
//! What makes it correct (and what the planted bugs take away):
//! - fills are guarded by leases (Facebook memcache): a miss hands out a token, an
//!   invalidation revokes it, a fill is accepted only with the key's live token;
//! - the writer invalidates *after* the store acknowledged, and reports its write done only
//!   once the invalidation is acknowledged or every older copy has expired;
//! - TTLs are judged on the cache node's monotonic clock, counted from the fill;
//! - a restarted cache node starts cold; a node cut off keeps only entries younger than their
//!   TTL, which a writer that could not reach it has waited out.

pub mod bugs;
mod client;
pub mod invariants;
mod msg;
mod node;
mod options;
mod table;
#[cfg(test)]
mod tests;

pub use client::CacheClient;
pub use msg::{CacheMsg, CacheRequest, CacheResponse, Refusal};
pub use node::CacheNode;
pub use options::CacheOptions;
pub use table::{Limits, Lookup, Table, TableBugs};

use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::plugin::knobs::Knob;
use crate::plugin::{OptionError, ServiceSpec, Shape};
use crate::services::kv::api;

/// The cache tier's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheService;

impl ServiceSpec for CacheService {
    const NAME: &'static str = "cache";
    const ABOUT: &'static str = "look-aside cache tier (leases, TTLs, consistent hashing) in front of the replicated KV store";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BUGGIFY_POINTS: &'static [&'static str] = api::BUGGIFY_POINTS;
    // Its store nodes are KV replicas: the replicated layer's notes are its too.
    const NOTES: &'static [&'static str] = &[
        "cache/refused-peer",
        "cache/fill-refused",
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
    ];
    type Options = CacheOptions;
    type Server = CacheNode;
    type Client = CacheClient;

    fn validate(opts: &CacheOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &CacheOptions, _shape: &Shape) -> CacheOptions {
        opts.clone()
    }

    fn client(opts: &CacheOptions, shape: &Shape, client: ClientId, bugs: &BugSet) -> CacheClient {
        CacheClient::new(opts, shape.clients, client, bugs)
    }

    fn invariants(opts: &CacheOptions) -> Vec<Box<dyn Invariant>> {
        let mut all = invariants::all(opts);
        // The store's Raft group, checked like any other.
        all.extend(api::replica_invariants());
        all
    }

    fn history_checks(opts: &CacheOptions, history: &History) -> Vec<Verdict> {
        invariants::history_checks(opts, history)
    }

    fn knobs() -> Vec<Knob<CacheOptions>> {
        vec![
            Knob {
                name: "ttl_ms",
                min: 50,
                max: 2000,
                set: |o, v| o.ttl_ms = v,
            },
            Knob {
                name: "lease_ms",
                min: 20,
                max: 500,
                set: |o, v| o.lease_ms = v,
            },
        ]
    }
}
