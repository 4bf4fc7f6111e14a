//! A polite web crawler over a simulated web (issue 22, part 2).
//!
//! Node layout: the first `replicas` nodes run the crawl state's replicas (the shared
//! replicated layer with [`machine::CrawlMachine`]), the next `crawlers` nodes are crawlers,
//! the last `hosts` nodes are the web's hosts. Clients submit seed URLs. The frontier is
//! partitioned by host: each host is crawled by the one crawler that owns it, the one the
//! consistent-hash ring over the crawlers prefers while it is up, another once its lease runs
//! out. Hosts record every request they receive; politeness, duplicates, completeness and
//! robots are judged from those records.
//!
//! What makes it correct (and what the planted bugs take away):
//! - a host is owned under a lease with a fencing token from the crawl state; the owner acts
//!   only while its monotonic clock says the lease is good, which ends before the leader (on
//!   its own monotonic clock, with a drift bound) can give the host to another;
//! - politeness is the owner's: it waits the crawl delay (stretched by the drift bound) after
//!   each response or fetch timeout, and a new owner waits a crawl delay and a fetch timeout
//!   before its first request, so the old owner's last request is out of the way;
//! - the frontier and the seen-set are replicated (durable on a majority): a URL leaves the
//!   frontier only when its owner reports it fetched, with the links it found, before the
//!   owner fetches the next;
//! - URLs are normalised before they are deduplicated.

pub mod bugs;
mod calls;
mod client;
mod host;
pub mod invariants;
mod machine;
mod msg;
mod node;
mod options;
mod owner;
#[cfg(test)]
mod tests;
pub mod web;

pub use client::CrawlClient;
pub use machine::{CrawlMachine, CrawlOp, CrawlResult, Pending};
pub use msg::{CrawlMsg, CrawlRequest, CrawlResponse};
pub use node::CrawlNode;
pub use options::CrawlerOptions;

use crate::bugs::{Bug, BugSet};
use crate::history::History;
use crate::ids::ClientId;
use crate::invariants::{Invariant, Verdict};
use crate::plugin::knobs::Knob;
use crate::plugin::{OptionError, ServiceSpec, Shape};

/// The crawler's plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrawlerService;

impl ServiceSpec for CrawlerService {
    const NAME: &'static str = "crawler";
    const ABOUT: &'static str = "polite web crawler: host ownership by lease and fencing token, replicated frontier and seen-set, normalised URLs, a simulated web";
    const BUGS: &'static [Bug] = bugs::ALL;
    const BUGGIFY_POINTS: &'static [&'static str] = crate::services::replicated::BUGGIFY_POINTS;
    // Its frontier replicas run the replicated layer: those notes are its too.
    const NOTES: &'static [&'static str] = &[
        "crawler/call-forbidden",
        "crawler/fetch-timeout",
        "crawler/handover",
        "crawler/lease-lapsed",
        "crawler/not-owner",
        "crawler/ring-moved",
        "crawler/unexpected-message",
        "raft/storage-failed",
        "raft/torn-tail-truncated",
        "raft/refused-message",
        "raft/compact-refused",
        "raft/refusing-to-serve",
        "raft/snapshot-installed",
        "replicated/duty-not-proposed",
    ];
    type Options = CrawlerOptions;
    type Server = CrawlNode;
    type Client = CrawlClient;

    fn validate(opts: &CrawlerOptions, shape: &Shape) -> Result<(), OptionError> {
        opts.validate(shape)
    }

    fn server_config(opts: &CrawlerOptions, _shape: &Shape) -> CrawlerOptions {
        opts.clone()
    }

    fn client(
        opts: &CrawlerOptions,
        _shape: &Shape,
        client: ClientId,
        _bugs: &BugSet,
    ) -> CrawlClient {
        CrawlClient::new(opts, client)
    }

    fn invariants(opts: &CrawlerOptions) -> Vec<Box<dyn Invariant>> {
        let mut all = invariants::all(opts);
        all.extend(crate::services::replicated::invariants::all());
        all
    }

    fn history_checks(opts: &CrawlerOptions, history: &History) -> Vec<Verdict> {
        invariants::history_checks(opts, history)
    }

    fn knobs() -> Vec<Knob<CrawlerOptions>> {
        let mut knobs = crate::raft_knobs!(CrawlerOptions);
        knobs.push(Knob {
            name: "lease_ms",
            min: 300,
            max: 800,
            set: |o, v| o.lease_ms = v,
        });
        knobs
    }
}
