//! What runs on each node of a MapReduce cluster: the coordinator on `n0`, a worker on each of
//! the next `workers` nodes, the output store on the last. One [`Service`] type, so the harness
//! and the real-socket backend see one service.
//!
//! Every message and request is checked against who may send it: heartbeats and reports only
//! from workers to the coordinator, assignments only from the coordinator, fetches between
//! workers, chunks from workers to the store, renames only from the coordinator. Anything else
//! is dropped with a note, never acted on.

use super::bugs;
use super::coordinator::{Coordinator, TICK_TIMER};
use super::msg::{MrMsg, MrRequest, MrResponse, job_ok};
use super::options::{COORDINATOR, MrOptions, Role};
use super::store::{ChunkOutcome, Store};
use super::worker::{CHUNK_TIMER, FETCH_TIMER, FetchReply, HEARTBEAT_TIMER, WORK_TIMER, Worker};
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, Message, ReplyTo, Service, TimerId};
use serde_json::json;

/// One node of a MapReduce cluster.
#[derive(Debug)]
pub enum MrNode {
    /// The coordinator.
    Coordinator(Box<Coordinator>),
    /// A worker.
    Worker(Box<Worker>),
    /// The output store.
    Store {
        /// The store.
        store: Box<Store>,
        /// The options.
        opts: Box<MrOptions>,
    },
}

impl Service for MrNode {
    type Msg = MrMsg;
    type Request = MrRequest;
    type Response = MrResponse;
    type Config = MrOptions;

    fn start(opts: &MrOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        match opts.role(ctx.node()) {
            Role::Coordinator => MrNode::Coordinator(Box::new(Coordinator::start(opts, ctx))),
            Role::Worker => MrNode::Worker(Box::new(Worker::start(opts, ctx))),
            Role::Store => {
                let in_place = ctx.bug(bugs::NON_ATOMIC_COMMIT);
                let (store, problem) = Store::start(ctx.storage(), opts, in_place);
                if let Some(problem) = problem {
                    ctx.alert("mr/store-refusing", json!(problem));
                }
                MrNode::Store {
                    store: Box::new(store),
                    opts: Box::new(opts.clone()),
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: MrMsg) {
        let label = msg.label();
        match (self, msg) {
            (
                MrNode::Coordinator(c),
                MrMsg::Heartbeat {
                    incarnation,
                    running,
                    report,
                },
            ) if c.is_worker(from) => c.on_heartbeat(ctx, from.0, incarnation, running, report),
            (
                MrNode::Coordinator(c),
                MrMsg::RenameReply {
                    job,
                    part,
                    attempt,
                    ok,
                },
            ) if c.is_store(from) => c.on_rename_reply(ctx, &job, part, attempt, ok),
            (MrNode::Worker(w), MrMsg::Assign(task)) if from == COORDINATOR => {
                w.on_assign(ctx, task);
            }
            (MrNode::Worker(w), MrMsg::ReportAck { attempt }) if from == COORDINATOR => {
                w.on_report_ack(ctx, attempt);
            }
            (
                MrNode::Worker(w),
                MrMsg::Fetch {
                    job,
                    map,
                    map_attempt,
                    part,
                },
            ) if w.is_worker(from) => w.on_fetch(ctx, from, job, map, map_attempt, part),
            (
                MrNode::Worker(w),
                MrMsg::FetchReply {
                    job,
                    map,
                    map_attempt,
                    part,
                    counts,
                },
            ) if w.is_worker(from) => {
                let reply = FetchReply {
                    job,
                    map,
                    map_attempt,
                    part,
                    counts,
                };
                w.on_fetch_reply(ctx, from, reply);
            }
            (MrNode::Worker(w), MrMsg::ChunkAck { attempt, index, .. }) if w.is_store(from) => {
                w.on_chunk_ack(ctx, attempt, index);
            }
            (
                MrNode::Store { store, opts },
                MrMsg::Chunk {
                    job,
                    part,
                    attempt,
                    index,
                    records,
                },
            ) if opts.role(from) == Role::Worker && job_ok(&job, opts.job_bytes_max) => {
                match store.chunk(ctx.storage(), &job, part, attempt, index, &records) {
                    ChunkOutcome::Ack {
                        sync: _,
                        final_changed,
                    } => {
                        // Always: a resent chunk answered while the first copy's sync is still
                        // under way must not be acknowledged before it is durable.
                        ctx.sync();
                        if let Some(fact) = final_changed {
                            ctx.observe("mr/final", fact);
                        }
                        let ack = MrMsg::ChunkAck {
                            job,
                            part,
                            attempt,
                            index,
                        };
                        ctx.send(from, ack);
                    }
                    ChunkOutcome::Ignore => {}
                    ChunkOutcome::Failed(e) => ctx.note("mr/chunk-write-failed", json!(e)),
                }
            }
            (
                MrNode::Store { store, opts },
                MrMsg::Rename {
                    job,
                    part,
                    attempt,
                    records,
                    inputs,
                },
            ) if from == COORDINATOR
                && job_ok(&job, opts.job_bytes_max)
                && inputs.len() <= opts.maps as usize =>
            {
                let done = store.rename(ctx.storage(), &job, part, attempt, records, &inputs);
                let ok = match done {
                    Ok(Some(fact)) => {
                        // The rename counts once the manifest is durable.
                        ctx.sync();
                        ctx.observe("mr/final", fact);
                        true
                    }
                    Ok(None) => {
                        // Done before — perhaps by a duplicate of this very message whose sync
                        // is still under way: answer only once the binding is durable.
                        ctx.sync();
                        true
                    }
                    Err(why) => {
                        ctx.note(
                            "mr/rename-refused",
                            json!({"job": job, "part": part, "why": why}),
                        );
                        false
                    }
                };
                let reply = MrMsg::RenameReply {
                    job,
                    part,
                    attempt,
                    ok,
                };
                ctx.send(from, reply);
            }
            (_, _) => ctx.note(
                "mr/unexpected-message",
                json!({"from": from.0, "label": label}),
            ),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: MrRequest) {
        match (self, req) {
            (MrNode::Coordinator(c), MrRequest::Submit { job }) if c.job_ok(&job) => {
                c.on_submit(ctx, from, job);
            }
            (MrNode::Store { store, opts }, MrRequest::Read { job })
                if job_ok(&job, opts.job_bytes_max) =>
            {
                let resp = match store.read(ctx.storage(), &job) {
                    Some(parts) => MrResponse::Output { parts },
                    None => MrResponse::WrongNode,
                };
                ctx.reply(from, resp);
            }
            (_, _) => ctx.reply(from, MrResponse::WrongNode),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            MrNode::Coordinator(c) if timer == TICK_TIMER => c.on_tick(ctx),
            MrNode::Worker(w) => match timer {
                HEARTBEAT_TIMER => w.heartbeat(ctx),
                WORK_TIMER => w.on_work_timer(ctx),
                FETCH_TIMER => w.on_fetch_timer(ctx),
                CHUNK_TIMER => w.on_chunk_timer(ctx),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_sync_failed(&mut self, _ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        // What it failed to persist may be gone: only the disk knows what was granted or
        // renamed.
        AfterSyncFailure::Restart
    }

    fn sketch(&self, _now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        if let MrNode::Coordinator(c) = self {
            c.sketch(sketch);
        }
    }
}
