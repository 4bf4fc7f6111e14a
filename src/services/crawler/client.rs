//! The client: submits seed URLs through the replicated layer's client core, each spelled one
//! of the web's ways and normalised before it is sent (what a correct client does; the planted
//! bugs are the crawlers'). Client `c`'s `k`-th seed is page `(7c + 3k) mod pages` of host
//! `(c + k) mod hosts`.
//!
//! History: `seed` (key: the normalised URL; invoke value: the spelling; ok value: whether it
//! was new to the crawl).

use super::machine::{CrawlMachine, CrawlOp, CrawlResult};
use super::msg::{CrawlRequest, CrawlResponse};
use super::node::CrawlNode;
use super::options::CrawlerOptions;
use super::web;
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use crate::services::replicated::{ClientOp, ReplicatedClient, Request, Response, Workload};
use serde_json::json;
use std::time::Duration;

/// The seeder's plan: the seed it submits next (spelling, host, normalised URL).
#[derive(Debug, Default)]
pub struct Seeder {
    next: Option<(String, u32, String)>,
}

impl Workload for Seeder {
    type Machine = CrawlMachine;

    fn next(&mut self, _cx: &mut ClientCtx<'_>) -> ClientOp<CrawlOp> {
        // The client always plans before it begins; the fallback is an empty seed.
        let (raw, host, url) = self.next.take().unwrap_or_default();
        ClientOp {
            describe: OpDescription {
                f: "seed",
                key: Some(json!(url)),
                value: Some(json!(raw)),
            },
            op: CrawlOp::Seed { host, url },
        }
    }

    fn complete(&mut self, _op: &CrawlOp, output: &CrawlResult) -> Completion {
        match output {
            CrawlResult::Seeded { new } => Completion {
                op_type: OpType::Ok,
                value: Some(json!(new)),
            },
            // A replica answering out of protocol: it took no seed.
            _ => Completion {
                op_type: OpType::Fail,
                value: None,
            },
        }
    }

    fn answers(&self, _op: &CrawlOp, output: &CrawlResult) -> bool {
        matches!(output, CrawlResult::Seeded { .. })
    }
}

/// One client.
#[derive(Debug)]
pub struct CrawlClient {
    opts: CrawlerOptions,
    client: ClientId,
    raft: ReplicatedClient<Seeder>,
    seeds: u64,
}

impl CrawlClient {
    /// Client `client`.
    pub fn new(opts: &CrawlerOptions, client: ClientId) -> Self {
        CrawlClient {
            opts: opts.clone(),
            client,
            raft: ReplicatedClient::new(Seeder::default(), opts.client(), client),
            seeds: 0,
        }
    }

    /// Client `client`'s `k`-th seed: (spelling, host, normalised).
    pub fn seed(opts: &CrawlerOptions, client: u64, k: u64) -> (String, u32, String) {
        let hosts = u64::from(opts.hosts.max(1));
        let pages = u64::from(opts.pages_per_host.max(1));
        let host = u32::try_from((client + k) % hosts).unwrap_or(0);
        let path = format!("/p{}", (7 * client + 3 * k) % pages);
        let raw = web::spell(host, &path, k);
        let url = web::normalise(&raw, opts.hosts).unwrap_or_default();
        (raw, host, url)
    }

    fn sub<'b>(&self, cx: &'b mut ClientCtx<'_>) -> ClientCtx<'b> {
        let replicas = (self.opts.replicas as usize).min(cx.nodes.len());
        ClientCtx {
            client: cx.client,
            local: cx.local,
            nodes: &cx.nodes[..replicas],
            rng: &mut *cx.rng,
        }
    }
}

fn wrap(next: Next<Request<CrawlOp>>) -> Next<CrawlRequest> {
    match next {
        Next::Send { to, req } => Next::Send {
            to,
            req: CrawlRequest::Call(req),
        },
        Next::SendAfter { after, to, req } => Next::SendAfter {
            after,
            to,
            req: CrawlRequest::Call(req),
        },
        Next::Done(c) => Next::Done(c),
        Next::Unknown => Next::Unknown,
    }
}

impl ClientLogic<CrawlNode> for CrawlClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, CrawlRequest, NodeId) {
        let seed = Self::seed(&self.opts, u64::from(self.client.0), self.seeds);
        self.seeds += 1;
        self.raft.workload_mut().next = Some(seed);
        let mut sub = self.sub(cx);
        let (describe, req, to) = self.raft.begin(&mut sub);
        (describe, CrawlRequest::Call(req), to)
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.opts.attempt_timeout_ms).min(op_timeout)
    }

    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: CrawlResponse) -> Next<CrawlRequest> {
        let next = match resp {
            CrawlResponse::Call(r) => self.raft.on_reply(&mut self.sub(cx), r),
            // Only a replica answers like this if the layout is wrong: try another.
            CrawlResponse::WrongNode => self.raft.on_reply(&mut self.sub(cx), Response::Unknown),
        };
        wrap(next)
    }

    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<CrawlRequest> {
        wrap(self.raft.on_timeout(&mut self.sub(cx)))
    }

    fn on_deadline(&mut self, cx: &mut ClientCtx<'_>) -> Next<CrawlRequest> {
        wrap(self.raft.on_deadline(&mut self.sub(cx)))
    }
}
