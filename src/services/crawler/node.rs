//! What runs on each node of a crawl cluster: a replica of the crawl state on the first
//! `replicas` nodes, a crawler on the next `crawlers`, a web host on the last `hosts`. One
//! [`Service`] type, so the harness and the real-socket backend see one service; the replica is
//! the shared `replicated` layer's node, run through `Ctx::nest` with the replicas as its
//! cluster. Crawlers reach a replica with node messages: the replica takes a crawler's call as
//! a client request whose answer goes back as a message.
//!
//! Every message and request is checked against who may send it: Raft only between replicas,
//! calls only from crawlers under their own sessions and within the bounds, fetches only from
//! crawlers, clients may only seed. Anything else is dropped with a note, never applied.

use super::bugs;
use super::calls::CALL_TIMER;
use super::host::WebHost;
use super::machine::{CrawlMachine, CrawlOp};
use super::msg::{CrawlMsg, CrawlRequest, CrawlResponse};
use super::options::{CRAWLER_SESSION_BASE, CrawlerOptions, Role};
use super::owner::{CLAIM_TIMER, Crawler, HOST_TIMER_BASE, PING_TIMER};
use crate::ids::{Addr, NodeId};
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::replicated::{NodeConfig, Rejection, ReplicatedNode, Response};
use serde_json::json;

/// One node of a crawl cluster.
#[derive(Debug)]
pub enum CrawlNode {
    /// A replica of the crawl state.
    Replica {
        /// The replica.
        node: Box<ReplicatedNode<CrawlMachine>>,
        /// Who it is, with the replicas as its cluster.
        info: NodeInfo,
        /// The options.
        opts: Box<CrawlerOptions>,
    },
    /// A crawler.
    Crawler(Box<Crawler>),
    /// A web host.
    Host(Box<WebHost>),
}

/// Runs a handler of the replica with a context whose cluster is the replicas; its answers to
/// crawlers go back as messages, to clients as replies.
fn nested<R>(
    ctx: &mut Ctx<'_, CrawlNode>,
    info: &NodeInfo,
    f: impl FnOnce(&mut Ctx<'_, ReplicatedNode<CrawlMachine>>) -> R,
) -> R {
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send {
            to,
            msg: CrawlMsg::Raft(msg),
        },
        |to, resp| match to.to {
            Addr::Node(crawler) => Output::Send {
                to: crawler,
                msg: CrawlMsg::Answer {
                    seq: to.req_id,
                    resp,
                },
            },
            Addr::Client(_) => Output::Reply {
                to,
                resp: CrawlResponse::Call(resp),
            },
        },
    )
}

/// True when an operation is within the bounds (a replica never logs an oversized URL or
/// link list, which every replica would then carry and snapshot) and names real hosts.
pub fn op_fits(op: &CrawlOp, opts: &CrawlerOptions) -> bool {
    let url_ok = |host: u32, url: &str| host < opts.hosts && url.len() <= opts.url_bytes_max;
    match op {
        CrawlOp::Seed { host, url } => url_ok(*host, url),
        CrawlOp::Claim { host, .. } | CrawlOp::Renew { host, .. } => *host < opts.hosts,
        CrawlOp::Fetched {
            host,
            links,
            robots,
            ..
        } => {
            *host < opts.hosts
                && links.len() <= opts.links_max
                && links.iter().all(|(h, u)| url_ok(*h, u))
                && robots.as_ref().is_none_or(|r| {
                    r.disallow.len() <= opts.links_max
                        && r.disallow.iter().all(|d| d.len() <= opts.url_bytes_max)
                })
        }
        CrawlOp::Expire { .. } => false,
    }
}

impl Service for CrawlNode {
    type Msg = CrawlMsg;
    type Request = CrawlRequest;
    type Response = CrawlResponse;
    type Config = CrawlerOptions;

    fn start(opts: &CrawlerOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        match opts.role(ctx.node()) {
            Role::Replica => {
                let info = NodeInfo {
                    cluster: opts.replica_ids(),
                    ..ctx.info().clone()
                };
                let cfg = NodeConfig {
                    raft: opts.raft(),
                    routing: opts.routing(),
                    sessions: opts.sessions(),
                    bugs: bugs::host_bugs,
                    duties: opts.duties(),
                };
                let node = nested(ctx, &info, |inner| ReplicatedNode::start(&cfg, inner));
                CrawlNode::Replica {
                    node: Box::new(node),
                    info,
                    opts: Box::new(opts.clone()),
                }
            }
            Role::Crawler => CrawlNode::Crawler(Box::new(Crawler::start(opts, ctx))),
            Role::Host(h) => CrawlNode::Host(Box::new(WebHost::new(opts, h))),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: CrawlMsg) {
        match (self, msg) {
            (CrawlNode::Replica { node, info, opts }, CrawlMsg::Raft(m))
                if opts.role(from) == Role::Replica =>
            {
                nested(ctx, info, |inner| node.on_message(inner, from, m));
            }
            (CrawlNode::Replica { node, info, opts }, CrawlMsg::Call(req))
                if opts.role(from) == Role::Crawler
                    && CrawlerOptions::is_crawler_session(from, req.client_id)
                    && !matches!(req.op, CrawlOp::Seed { .. })
                    && op_fits(&req.op, opts) =>
            {
                let reply_to = ReplyTo {
                    to: Addr::Node(from),
                    req_id: req.seq,
                };
                nested(ctx, info, |inner| node.on_request(inner, reply_to, req));
            }
            (CrawlNode::Crawler(c), CrawlMsg::Answer { seq, resp }) => {
                c.on_answer(ctx, from, seq, resp);
            }
            (CrawlNode::Crawler(c), CrawlMsg::Page { fetch, served }) => {
                c.on_page(ctx, from, fetch, served);
            }
            (CrawlNode::Crawler(c), CrawlMsg::Ping) => c.on_ping(ctx, from),
            (CrawlNode::Host(h), CrawlMsg::Fetch { url, token, fetch }) if h.takes(&url) => {
                h.on_fetch(ctx, from, &url, token, fetch);
            }
            (_, m) => ctx.note(
                "crawler/unexpected-message",
                json!({"from": from.0, "label": crate::node::service::Message::label(&m)}),
            ),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: CrawlRequest) {
        match (self, req) {
            (CrawlNode::Replica { node, info, opts }, CrawlRequest::Call(req)) => {
                let client = matches!(from.to, Addr::Client(_))
                    && req.client_id < CRAWLER_SESSION_BASE
                    && matches!(req.op, CrawlOp::Seed { .. })
                    && op_fits(&req.op, opts);
                if !client {
                    ctx.reply(
                        from,
                        CrawlResponse::Call(Response::Rejected(Rejection::Forbidden)),
                    );
                    return;
                }
                nested(ctx, info, |inner| node.on_request(inner, from, req));
            }
            (_, _) => ctx.reply(from, CrawlResponse::WrongNode),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            CrawlNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_timer(inner, timer));
            }
            CrawlNode::Crawler(c) => match timer {
                CALL_TIMER => c.on_call_timer(ctx),
                CLAIM_TIMER => c.on_claim_timer(ctx),
                PING_TIMER => c.on_ping_timer(ctx),
                TimerId(t) if t >= HOST_TIMER_BASE => {
                    if let Ok(h) = u32::try_from(t - HOST_TIMER_BASE) {
                        c.on_host_timer(ctx, h);
                    }
                }
                _ => {}
            },
            CrawlNode::Host(h) => h.on_timer(ctx, timer),
        }
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        match self {
            CrawlNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_sync_failed(inner))
            }
            // Neither keeps anything on disk.
            CrawlNode::Crawler(_) | CrawlNode::Host(_) => AfterSyncFailure::Restart,
        }
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        if let CrawlNode::Replica { node, .. } = self {
            node.sketch(now, sketch);
        }
    }
}
