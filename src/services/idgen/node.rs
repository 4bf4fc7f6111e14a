//! What runs on each node of an ID-generator cluster: a generator, or — with leased worker ids —
//! on the first nodes a replica of the Raft lock service the generators lease worker ids from.
//! The replica is the lock service's own, run with the lock servers as its cluster; generators'
//! requests reach it as node messages and its replies go back as node messages.

use super::config::IdgenConfig;
use super::core::{IdGen, IdRequest, IdResponse, Refusal};
use super::msg::IdgenMsg;
use crate::ids::{Addr, NodeId};
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::lock::api::LockServer;
use serde_json::json;

/// One node of an ID-generator cluster.
#[derive(Debug)]
pub enum IdgenNode {
    /// Generates ids (boxed: its lease makes it larger than a lock server's handle).
    Generator(Box<IdGen>),
    /// A lock server of the worker-id leases.
    LockServer {
        /// The lock server.
        node: LockServer,
        /// Who it is, with the lock servers as its cluster.
        info: NodeInfo,
    },
}

/// Runs a generator's handler (same identity, same outputs).
fn generator<R>(ctx: &mut Ctx<'_, IdgenNode>, f: impl FnOnce(&mut Ctx<'_, IdGen>) -> R) -> R {
    let info = ctx.info();
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send { to, msg },
        |to, resp| Output::Reply { to, resp },
    )
}

/// Runs a lock server's handler: Raft messages go out wrapped, replies to generators as
/// messages.
fn server<R>(
    ctx: &mut Ctx<'_, IdgenNode>,
    info: &NodeInfo,
    f: impl FnOnce(&mut Ctx<'_, LockServer>) -> R,
) -> R {
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send {
            to,
            msg: IdgenMsg::Raft(msg),
        },
        |to, resp| match to.to {
            Addr::Node(n) => Output::Send {
                to: n,
                msg: IdgenMsg::LeaseReply {
                    req_id: to.req_id,
                    resp,
                },
            },
            // Only generators send lock requests here.
            Addr::Client(c) => Output::Note {
                label: "idgen/lease-reply-to-client",
                value: json!(c.0),
            },
        },
    )
}

impl Service for IdgenNode {
    type Msg = IdgenMsg;
    type Request = IdRequest;
    type Response = IdResponse;
    type Config = IdgenConfig;

    fn start(cfg: &IdgenConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        if let Some(leases) = &cfg.leases {
            let servers = ctx.info().cluster.iter().take(leases.servers as usize);
            let servers: Vec<NodeId> = servers.copied().collect();
            if servers.contains(&ctx.node()) {
                let info = NodeInfo {
                    cluster: servers,
                    ..ctx.info().clone()
                };
                let opts = leases.lock_options();
                let node = server(ctx, &info, |inner| LockServer::start(&opts, inner));
                return IdgenNode::LockServer { node, info };
            }
        }
        IdgenNode::Generator(Box::new(generator(ctx, |inner| IdGen::start(cfg, inner))))
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: IdgenMsg) {
        match self {
            IdgenNode::Generator(g) => generator(ctx, |inner| g.on_message(inner, from, msg)),
            IdgenNode::LockServer { node, info } => match msg {
                IdgenMsg::Raft(m) => server(ctx, info, |inner| node.on_message(inner, from, m)),
                IdgenMsg::Lease { req_id, req } if req.op.from_client() => {
                    let reply = ReplyTo {
                        to: Addr::Node(from),
                        req_id,
                    };
                    server(ctx, info, |inner| node.on_request(inner, reply, req));
                }
                IdgenMsg::Lease { .. } | IdgenMsg::LeaseReply { .. } => {
                    ctx.note("idgen/unexpected-message", json!(from.0));
                }
            },
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: IdRequest) {
        match self {
            IdgenNode::Generator(g) => generator(ctx, |inner| g.on_request(inner, from, req)),
            IdgenNode::LockServer { .. } => {
                ctx.reply(from, IdResponse::Refused(Refusal::NotAGenerator));
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            IdgenNode::Generator(g) => generator(ctx, |inner| g.on_timer(inner, timer)),
            IdgenNode::LockServer { node, info } => {
                server(ctx, info, |inner| node.on_timer(inner, timer));
            }
        }
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        match self {
            IdgenNode::Generator(g) => generator(ctx, |inner| g.on_sync_failed(inner)),
            IdgenNode::LockServer { node, info } => {
                server(ctx, info, |inner| node.on_sync_failed(inner))
            }
        }
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        match self {
            IdgenNode::Generator(g) => g.sketch(now, sketch),
            IdgenNode::LockServer { node, .. } => node.sketch(now, sketch),
        }
    }
}
