//! What runs on each node of a lock cluster: a lock server (a replica of the Raft lock
//! service, or a Redlock server under `--bug lock-redlock`) on every node but the last, and
//! the protected resource on the last. One [`Service`] type, so the harness and the real-socket
//! backend see one service; the replica is the shared `replicated` layer's node, run through
//! [`nested`] with the servers as its cluster.

use super::api::LockServer;
use super::bugs;
use super::machine::LockOp;
use super::options::LockOptions;
use super::redlock::RedlockServer;
use super::resource::{ASK_EVERY_MS, Pending, Resource};
use super::wire::{LockMsg, LockRequest, LockResponse, WriteReq, WriteResp};
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::replicated::Request;
use serde_json::json;
use std::time::Duration;

/// The resource's timer: ask the servers again about tokens waiting for confirmation.
const CONFIRM_TIMER: TimerId = TimerId(7);

/// One node of a lock cluster.
#[derive(Debug)]
pub enum LockNode {
    /// A replica of the Raft lock service.
    Replica {
        /// The replica.
        node: LockServer,
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

/// Runs a handler of the replica with a context whose cluster is the lock servers.
fn nested<R>(
    ctx: &mut Ctx<'_, LockNode>,
    info: &NodeInfo,
    f: impl FnOnce(&mut Ctx<'_, LockServer>) -> R,
) -> R {
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send {
            to,
            msg: LockMsg::Raft(msg),
        },
        |to, resp| Output::Reply {
            to,
            resp: LockResponse::Raft(resp),
        },
    )
}

impl Service for LockNode {
    type Msg = LockMsg;
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
        let node = nested(ctx, &info, |inner| LockServer::start(opts, inner));
        LockNode::Replica {
            node,
            release_any_owner: info.bugs.contains(&bugs::RELEASE_ANY_OWNER),
            info,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg) {
        match (self, msg) {
            (LockNode::Replica { node, info, .. }, LockMsg::Raft(m)) => {
                nested(ctx, info, |inner| node.on_message(inner, from, m));
            }
            (LockNode::Replica { node, .. }, LockMsg::ConfirmToken { lock, .. })
                if from == LockOptions::resource(&ctx.info().cluster) =>
            {
                // As far as this replica has applied the log; nothing while it cannot serve.
                if let Some(granted_max) = node.granted_max(&lock) {
                    ctx.send(from, LockMsg::TokenGranted { lock, granted_max });
                }
            }
            (LockNode::Resource(resource), LockMsg::TokenGranted { lock, granted_max })
                if LockOptions::servers(&ctx.info().cluster).contains(&from) =>
            {
                for p in resource.confirm(&lock, granted_max) {
                    resource_write(ctx, resource, p.from, &p.req);
                }
            }
            _ => ctx.note("lock/unexpected-message", json!(from.0)),
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
                if !resource.needs_confirmation(&req) {
                    resource_write(ctx, resource, from, &req);
                    return;
                }
                let asking = resource.has_pending();
                if !resource.hold(from, req.clone()) {
                    let step = req.step;
                    ctx.reply(from, LockResponse::Write(WriteResp::Unavailable { step }));
                    return;
                }
                ask_servers(ctx, &req.lock, req.token.unwrap_or(0));
                if !asking {
                    ctx.set_timer(CONFIRM_TIMER, Duration::from_millis(ASK_EVERY_MS));
                }
            }
            (_, _) => ctx.reply(from, LockResponse::WrongNode),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            LockNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_timer(inner, timer));
            }
            LockNode::Resource(resource) if timer == CONFIRM_TIMER => {
                let (given_up, ask) = resource.tick();
                for Pending { from, req, .. } in given_up {
                    let out = resource.refuse_unconfirmed(&req);
                    if let Some(v) = out.observed {
                        ctx.observe("lock/write", v);
                    }
                    ctx.reply(from, LockResponse::Write(out.resp));
                }
                for (lock, token) in ask {
                    ask_servers(ctx, &lock, token);
                }
                if resource.has_pending() {
                    ctx.set_timer(CONFIRM_TIMER, Duration::from_millis(ASK_EVERY_MS));
                }
            }
            LockNode::Resource(_) | LockNode::Redlock(_) => {}
        }
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        match self {
            LockNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_sync_failed(inner))
            }
            // The fence it failed to persist may be gone: only the disk knows what it holds.
            LockNode::Resource(_) => AfterSyncFailure::Restart,
            // Redlock servers keep nothing on disk, so no sync of theirs can fail.
            LockNode::Redlock(_) => AfterSyncFailure::Restart,
        }
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        // The Redlock servers and the resource have no protocol state worth steering by.
        if let LockNode::Replica { node, .. } = self {
            node.sketch(now, sketch);
        }
    }
}

/// Asks every lock server whether `token` of `lock` was granted.
fn ask_servers(ctx: &mut Ctx<'_, LockNode>, lock: &str, token: u64) {
    let servers = LockOptions::servers(&ctx.info().cluster).to_vec();
    for s in servers {
        let msg = LockMsg::ConfirmToken {
            lock: lock.to_string(),
            token,
        };
        ctx.send(s, msg);
    }
}

/// The resource takes (or fences off) one write and answers it.
fn resource_write(
    ctx: &mut Ctx<'_, LockNode>,
    resource: &mut Resource,
    from: ReplyTo,
    req: &WriteReq,
) {
    let done = resource.write(ctx.storage(), req);
    // A write that raises the fence takes effect once the fence is durable: if the sync fails,
    // the host drops what follows it, this record included, and the restarted resource has
    // never seen the token (lock-swarm-2 seed 43 recorded such a lost write as accepted).
    if done.sync {
        ctx.sync();
    }
    if let Some(v) = done.observed {
        ctx.observe("lock/write", v);
    }
    ctx.reply(from, LockResponse::Write(done.resp));
}
