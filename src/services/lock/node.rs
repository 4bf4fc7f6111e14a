//! What runs on each node of a lock cluster: a lock server (a replica of the Raft lock
//! service, or a Redlock server under `--bug lock-redlock`) on every node but the last, and
//! the protected resource on the last. One [`Service`] type, so the harness and the real-socket
//! backend see one service; the replica is the shared `replicated` layer's node, run through
//! [`nested`] with the servers as its cluster.

use super::bugs;
use super::machine::LockMachine;
use super::machine::LockOp;
use super::options::LockOptions;
use super::redlock::RedlockServer;
use super::resource::Resource;
use super::wire::{LockRequest, LockResponse};
use crate::ids::NodeId;
use crate::node::service::{Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::raft::RaftMsg;
use crate::services::replicated::{Logged, NodeConfig, ReplicatedNode, Request};
use serde_json::json;

/// One node of a lock cluster.
#[derive(Debug)]
pub enum LockNode {
    /// A replica of the Raft lock service.
    Replica {
        /// The replica (boxed: far larger than the other roles).
        node: Box<ReplicatedNode<LockMachine>>,
        /// Who it is, with the lock servers as its cluster.
        info: NodeInfo,
        /// The planted bug `lock-release-any-owner`.
        release_any_owner: bool,
    },
    /// An independent Redlock server.
    Redlock(RedlockServer),
    /// The protected resource.
    Resource(Resource),
}

/// The replica's configuration under this run's bugs.
pub(crate) fn replica_config(opts: &LockOptions, info: &NodeInfo) -> NodeConfig<LockMachine> {
    NodeConfig {
        raft: opts.raft(),
        routing: opts.routing(),
        sessions: opts.sessions(),
        bugs: bugs::host_bugs,
        duties: opts.duties(info.bugs.contains(&bugs::TOKEN_REUSE_AFTER_FAILOVER)),
    }
}

/// Runs a handler of the replica with a context whose cluster is the lock servers.
fn nested<R>(
    ctx: &mut Ctx<'_, LockNode>,
    info: &NodeInfo,
    f: impl FnOnce(&mut Ctx<'_, ReplicatedNode<LockMachine>>) -> R,
) -> R {
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send { to, msg },
        |to, resp| Output::Reply {
            to,
            resp: LockResponse::Raft(resp),
        },
    )
}

impl Service for LockNode {
    type Msg = RaftMsg<Logged<LockOp>>;
    type Request = LockRequest;
    type Response = LockResponse;
    type Config = LockOptions;

    fn start(opts: &LockOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        let cluster = &ctx.info().cluster;
        if ctx.node() == LockOptions::resource(cluster) {
            let fencing = !ctx.bug(bugs::NO_FENCING);
            let (resource, problem) = Resource::start(ctx.storage(), fencing);
            if let Some(problem) = problem {
                ctx.alert("resource/refusing-to-serve", json!(problem));
            }
            return LockNode::Resource(resource);
        }
        if ctx.bug(bugs::REDLOCK) {
            return LockNode::Redlock(RedlockServer::default());
        }
        let info = NodeInfo {
            cluster: LockOptions::servers(cluster).to_vec(),
            ..ctx.info().clone()
        };
        let cfg = replica_config(opts, &info);
        let node = Box::new(nested(ctx, &info, |inner| {
            ReplicatedNode::start(&cfg, inner)
        }));
        LockNode::Replica {
            node,
            release_any_owner: info.bugs.contains(&bugs::RELEASE_ANY_OWNER),
            info,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg) {
        if let LockNode::Replica { node, info, .. } = self {
            nested(ctx, info, |inner| node.on_message(inner, from, msg));
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: LockRequest) {
        match (self, req) {
            (
                LockNode::Replica {
                    node,
                    info,
                    release_any_owner,
                },
                LockRequest::Raft(mut req),
            ) => {
                if !req.op.from_client() {
                    ctx.reply(from, LockResponse::WrongNode);
                    return;
                }
                if *release_any_owner && let LockOp::Release { name, .. } = &req.op {
                    // The planted bug: the handler drops the owner check.
                    req = Request {
                        op: LockOp::ReleaseAnyOwner { name: name.clone() },
                        ..req
                    };
                }
                nested(ctx, info, |inner| node.on_request(inner, from, req));
            }
            (LockNode::Redlock(server), LockRequest::Redlock(req)) => {
                let resp = server.handle(ctx.now().wall, &req);
                let me = ctx.node();
                ctx.reply(from, LockResponse::Redlock { from: me, resp });
            }
            (LockNode::Resource(resource), LockRequest::Write(req)) => {
                let done = resource.write(ctx.storage(), &req);
                if let Some(v) = done.observed {
                    ctx.observe("lock/write", v);
                }
                if done.sync {
                    ctx.sync();
                }
                ctx.reply(from, LockResponse::Write(done.resp));
            }
            (_, _) => ctx.reply(from, LockResponse::WrongNode),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        if let LockNode::Replica { node, info, .. } = self {
            nested(ctx, info, |inner| node.on_timer(inner, timer));
        }
    }
}
