//! What runs on each node of a job cluster: a replica of the Raft queue on the first
//! `replicas` nodes, a worker on the next `workers`, the effect sink on the last. One
//! [`Service`] type, so the harness and the real-socket backend see one service; the replica
//! is the shared `replicated` layer's node, run through `Ctx::nest` with the replicas as its
//! cluster. Workers reach a replica with node messages: the replica takes a worker's call as a
//! client request whose answer goes back as a message.
//!
//! Every message and request is checked against who may send it: Raft only between replicas,
//! calls only from workers under their own sessions, effects only from workers, producers may
//! only enqueue. Anything else is dropped with a note, never applied.

use super::bugs;
use super::machine::{JobOp, JobsMachine};
use super::msg::{JobsMsg, JobsRequest, JobsResponse};
use super::options::{JobsOptions, Role, WORKER_SESSION_BASE};
use super::sink::Sink;
use super::worker::{CALL_TIMER, CRON_TIMER, STEP_TIMER, Worker};
use crate::ids::{Addr, NodeId};
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::replicated::{NodeConfig, Rejection, ReplicatedNode, Response};
use serde_json::json;

/// One node of a job cluster.
#[derive(Debug)]
pub enum JobsNode {
    /// A replica of the queue.
    Replica {
        /// The replica.
        node: Box<ReplicatedNode<JobsMachine>>,
        /// Who it is, with the replicas as its cluster.
        info: NodeInfo,
        /// The options.
        opts: Box<JobsOptions>,
    },
    /// A worker.
    Worker(Box<Worker>),
    /// The effect sink.
    Sink {
        /// The sink.
        sink: Sink,
        /// The options.
        opts: Box<JobsOptions>,
    },
}

/// Runs a handler of the replica with a context whose cluster is the replicas; its answers to
/// workers go back as messages, to producers as replies.
fn nested<R>(
    ctx: &mut Ctx<'_, JobsNode>,
    info: &NodeInfo,
    f: impl FnOnce(&mut Ctx<'_, ReplicatedNode<JobsMachine>>) -> R,
) -> R {
    ctx.nest(
        info,
        f,
        |to, msg| Output::Send {
            to,
            msg: JobsMsg::Raft(msg),
        },
        |to, resp| match to.to {
            Addr::Node(worker) => Output::Send {
                to: worker,
                msg: JobsMsg::Answer {
                    seq: to.req_id,
                    resp,
                },
            },
            Addr::Client(_) => Output::Reply {
                to,
                resp: JobsResponse::Call(resp),
            },
        },
    )
}

/// The replica's configuration under this run's bugs.
fn replica_config(opts: &JobsOptions, info: &NodeInfo) -> NodeConfig<JobsMachine> {
    NodeConfig {
        raft: opts.raft(),
        routing: opts.routing(),
        sessions: opts.sessions(),
        bugs: bugs::host_bugs,
        duties: opts.duties(info.bugs.contains(&bugs::CRON_EVERY_NODE)),
    }
}

impl Service for JobsNode {
    type Msg = JobsMsg;
    type Request = JobsRequest;
    type Response = JobsResponse;
    type Config = JobsOptions;

    fn start(opts: &JobsOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        match opts.role(ctx.node()) {
            Role::Replica => {
                let info = NodeInfo {
                    cluster: opts.replica_ids(),
                    ..ctx.info().clone()
                };
                let cfg = replica_config(opts, &info);
                let node = nested(ctx, &info, |inner| ReplicatedNode::start(&cfg, inner));
                JobsNode::Replica {
                    node: Box::new(node),
                    info,
                    opts: Box::new(opts.clone()),
                }
            }
            Role::Worker => JobsNode::Worker(Box::new(Worker::start(opts, ctx))),
            Role::Sink => {
                let dedup = !ctx.bug(bugs::NO_IDEMPOTENCY_KEY);
                let (sink, problem) = Sink::start(ctx.storage(), dedup, opts.key_bytes_max);
                if let Some(problem) = problem {
                    ctx.alert("jobs/sink-refusing", json!(problem));
                }
                JobsNode::Sink {
                    sink,
                    opts: Box::new(opts.clone()),
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: JobsMsg) {
        match (self, msg) {
            (JobsNode::Replica { node, info, opts }, JobsMsg::Raft(m))
                if opts.role(from) == Role::Replica =>
            {
                nested(ctx, info, |inner| node.on_message(inner, from, m));
            }
            (JobsNode::Replica { node, info, opts }, JobsMsg::Call(req))
                if opts.role(from) == Role::Worker
                    && JobsOptions::is_worker_session(from, req.client_id)
                    && req.op.from_worker()
                    && op_fits(&req.op, opts.key_bytes_max) =>
            {
                let reply_to = ReplyTo {
                    to: Addr::Node(from),
                    req_id: req.seq,
                };
                nested(ctx, info, |inner| node.on_request(inner, reply_to, req));
            }
            (JobsNode::Worker(w), JobsMsg::Answer { seq, resp }) => {
                w.on_answer(ctx, from, seq, resp);
            }
            (
                JobsNode::Worker(w),
                JobsMsg::EffectDone {
                    job,
                    token,
                    outcome,
                },
            ) => {
                w.on_effect_done(ctx, from, job, token, outcome);
            }
            (JobsNode::Sink { sink, opts }, JobsMsg::Effect(e))
                if opts.role(from) == Role::Worker =>
            {
                let done = sink.effect(ctx.storage(), from.0, &e);
                // The effect counts once it is durable: a failed sync drops what follows it,
                // this record included, and the restarted sink has never applied it.
                if done.sync {
                    ctx.sync();
                }
                ctx.observe("jobs/effect", done.observed);
                ctx.send(
                    from,
                    JobsMsg::EffectDone {
                        job: e.job,
                        token: e.token,
                        outcome: done.outcome,
                    },
                );
            }
            (_, m) => ctx.note(
                "jobs/unexpected-message",
                json!({"from": from.0, "label": crate::node::service::Message::label(&m)}),
            ),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: JobsRequest) {
        match (self, req) {
            (JobsNode::Replica { node, info, opts }, JobsRequest::Call(req)) => {
                let producer = matches!(from.to, Addr::Client(_))
                    && req.client_id < WORKER_SESSION_BASE
                    && req.op.from_producer()
                    && op_fits(&req.op, opts.key_bytes_max);
                if !producer {
                    ctx.reply(
                        from,
                        JobsResponse::Call(Response::Rejected(Rejection::Forbidden)),
                    );
                    return;
                }
                nested(ctx, info, |inner| node.on_request(inner, from, req));
            }
            (_, _) => ctx.reply(from, JobsResponse::WrongNode),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            JobsNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_timer(inner, timer));
            }
            JobsNode::Worker(w) => match timer {
                CALL_TIMER => w.on_call_timer(ctx),
                STEP_TIMER => w.on_step_timer(ctx),
                CRON_TIMER => w.on_cron_timer(ctx),
                _ => {}
            },
            JobsNode::Sink { .. } => {}
        }
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        match self {
            JobsNode::Replica { node, info, .. } => {
                nested(ctx, info, |inner| node.on_sync_failed(inner))
            }
            // What it failed to persist may be gone: only the disk knows what it applied.
            JobsNode::Sink { .. } | JobsNode::Worker(_) => AfterSyncFailure::Restart,
        }
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        if let JobsNode::Replica { node, .. } = self {
            node.sketch(now, sketch);
        }
    }
}

/// True when an operation's strings are within the bound (a replica never logs an oversized
/// key, which every replica would then carry and snapshot).
fn op_fits(op: &JobOp, key_bytes_max: usize) -> bool {
    match op {
        JobOp::Enqueue { key, name, .. } => {
            key.len() <= key_bytes_max && name.len() <= key_bytes_max
        }
        _ => true,
    }
}
