//! A worker node: lease the oldest visible job, do its work, perform its effect at the sink,
//! finish up, acknowledge — in a loop. It talks to the replicas as a client of the replicated
//! layer would (leader discovery, redirects, retries under one session number), over node
//! messages.
//!
//! A worker acts on a lease only while its own monotonic clock says the lease is good:
//! `visibility_ms × (1 − drift bound) − guard_ms` from when it asked, which ends before the
//! leader can expire it (the leader counts `visibility_ms × (1 + bound)` from when it saw the
//! lease). The check and the effect's send happen in one handler, so no pause falls between
//! them; a late effect (the network held it) is stopped at the sink by the key or the token.
//!
//! Records (`observe`): `jobs/lease` when a lease arrives, `jobs/act` each time it sends an
//! effect (the moment it acts on its belief that the lease is good).

use super::bugs;
use super::machine::{JobOp, JobResult, slot_name};
use super::msg::{Effect, EffectOutcome, JobsMsg};
use super::options::JobsOptions;
use crate::ids::NodeId;
use crate::node::service::{Ctx, Service, TimerId};
use crate::services::replicated::{Rejection, Request, Response};
use crate::time::LocalInstant;
use rand::Rng;
use serde_json::json;
use std::time::Duration;

/// Resend the call in flight (its attempt timed out, or its back-off ended).
pub const CALL_TIMER: TimerId = TimerId(11);
/// The worker's next step (poll, work done, finish done, effect unanswered).
pub const STEP_TIMER: TimerId = TimerId(12);
/// The planted bug's per-node cron.
pub const CRON_TIMER: TimerId = TimerId(13);

/// The per-node cron's session is this far above the worker's own.
const CRON_SESSION_OFFSET: u64 = 50_000;

/// The call in flight.
#[derive(Debug, Clone)]
struct Call {
    req: Request<JobOp>,
    target: NodeId,
    /// When this session number was first sent (a lease counts from here).
    asked_mono: LocalInstant,
    asked_wall_ms: i64,
    /// Waiting out a back-off: the timer sends, rather than moving on.
    backing_off: bool,
}

/// The job this worker holds.
#[derive(Debug, Clone)]
struct Held {
    id: u64,
    name: String,
    key: String,
    slot: Option<u64>,
    token: u64,
    /// When it must stop acting on the lease, by its monotonic clock.
    deadline: LocalInstant,
    /// The same by its wall clock, with no margin (the planted bug's judgement).
    wall_deadline_ms: i64,
    /// Acknowledged already (the planted bug `jobs-delete-before-execute`).
    acked: bool,
}

/// Where the worker is in its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting to ask for a job.
    Idle,
    /// Asking for a lease.
    Leasing,
    /// Doing the job's work.
    Working,
    /// Waiting for the sink.
    Effecting,
    /// Finishing up after the effect.
    Finishing,
    /// Acknowledging.
    Acking,
}

/// A worker.
#[derive(Debug)]
pub struct Worker {
    opts: JobsOptions,
    session: u64,
    seq: u64,
    leader: Option<NodeId>,
    call: Option<Call>,
    held: Option<Held>,
    phase: Phase,
    wall_lease: bool,
    delete_first: bool,
    cron: bool,
    cron_seq: u64,
    cron_last_slot: u64,
}

impl Worker {
    /// A worker (re)starting: a fresh session, no job.
    pub fn start<S: Service<Msg = JobsMsg>>(opts: &JobsOptions, ctx: &mut Ctx<'_, S>) -> Worker {
        let info = ctx.info();
        let mut w = Worker {
            opts: opts.clone(),
            session: JobsOptions::worker_session(info.node, info.incarnation.0),
            seq: 0,
            leader: None,
            call: None,
            held: None,
            phase: Phase::Idle,
            wall_lease: ctx.bug(bugs::VISIBILITY_WALL_CLOCK),
            delete_first: ctx.bug(bugs::DELETE_BEFORE_EXECUTE),
            cron: ctx.bug(bugs::CRON_EVERY_NODE) && opts.every_ms > 0,
            cron_seq: 0,
            cron_last_slot: 0,
        };
        if w.cron {
            ctx.set_timer(CRON_TIMER, Duration::from_millis(w.opts.every_ms));
        }
        w.lease(ctx);
        w
    }

    fn random_replica<S: Service>(&self, ctx: &mut Ctx<'_, S>) -> NodeId {
        NodeId(ctx.rng().random_range(0..self.opts.replicas))
    }

    /// Starts a call under a new session number.
    fn call<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>, op: JobOp) {
        self.seq += 1;
        let target = match self.leader {
            Some(l) => l,
            None => self.random_replica(ctx),
        };
        let now = ctx.now();
        let req = Request {
            client_id: self.session,
            seq: self.seq,
            op,
        };
        ctx.send(target, JobsMsg::Call(req.clone()));
        ctx.set_timer(
            CALL_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
        self.call = Some(Call {
            req,
            target,
            asked_mono: now.mono,
            asked_wall_ms: now.wall.as_unix_ms(),
            backing_off: false,
        });
    }

    fn lease<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        self.held = None;
        self.phase = Phase::Leasing;
        self.call(ctx, JobOp::Lease);
    }

    fn idle<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        self.held = None;
        self.phase = Phase::Idle;
        ctx.set_timer(STEP_TIMER, Duration::from_millis(self.opts.poll_ms));
    }

    /// A replica answered call `seq`.
    pub fn on_answer<S: Service<Msg = JobsMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        seq: u64,
        resp: Response<JobResult>,
    ) {
        let Some(call) = &mut self.call else { return };
        if call.req.seq != seq || call.req.client_id != self.session || from != call.target {
            return;
        }
        match resp {
            Response::Done(out) => {
                self.leader = Some(from);
                let call = self.call.take();
                ctx.cancel_timer(CALL_TIMER);
                if let Some(call) = call {
                    self.done(ctx, call, out);
                }
            }
            Response::Rejected(Rejection::NotLeader { hint })
                if hint.is_some_and(|h| h != from && h.0 < self.opts.replicas) =>
            {
                let h = hint.unwrap_or(from);
                self.leader = Some(h);
                call.target = h;
                ctx.send(h, JobsMsg::Call(call.req.clone()));
                ctx.set_timer(
                    CALL_TIMER,
                    Duration::from_millis(self.opts.attempt_timeout_ms),
                );
            }
            Response::Rejected(Rejection::Forbidden) => {
                // Never applied; start over.
                self.call = None;
                ctx.cancel_timer(CALL_TIMER);
                self.idle(ctx);
            }
            Response::Rejected(_) | Response::Unknown => {
                self.leader = None;
                call.target = next_replica(from, self.opts.replicas);
                call.backing_off = true;
                ctx.set_timer(CALL_TIMER, Duration::from_millis(self.opts.backoff_ms));
            }
        }
    }

    /// A call got its output.
    fn done<S: Service<Msg = JobsMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        call: Call,
        out: JobResult,
    ) {
        match (&call.req.op, out) {
            (
                JobOp::Lease,
                JobResult::Leased {
                    id,
                    name,
                    key,
                    slot,
                    token,
                },
            ) => {
                let usable = Duration::from_millis(self.opts.usable_ms());
                let me = ctx.node().0;
                ctx.observe(
                    "jobs/lease",
                    json!({"job": id, "token": token, "worker": me}),
                );
                self.held = Some(Held {
                    id,
                    name,
                    key,
                    slot,
                    token,
                    deadline: call.asked_mono.saturating_add(usable),
                    wall_deadline_ms: call
                        .asked_wall_ms
                        .saturating_add(i64::try_from(self.opts.visibility_ms).unwrap_or(i64::MAX)),
                    acked: false,
                });
                if self.delete_first {
                    // The planted bug: delete the job first, then perform it.
                    self.phase = Phase::Acking;
                    self.call(ctx, JobOp::Ack { id, token });
                } else {
                    self.phase = Phase::Working;
                    ctx.set_timer(STEP_TIMER, Duration::from_millis(self.opts.work_ms));
                }
            }
            (JobOp::Lease, _) => self.idle(ctx),
            (JobOp::Ack { .. }, _) => match &mut self.held {
                Some(h) if self.delete_first && !h.acked => {
                    h.acked = true;
                    self.phase = Phase::Working;
                    ctx.set_timer(STEP_TIMER, Duration::from_millis(self.opts.work_ms));
                }
                _ => self.lease(ctx),
            },
            (_, _) => self.idle(ctx),
        }
    }

    /// The call's attempt timed out, or its back-off ended.
    pub fn on_call_timer<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        let Some(call) = &mut self.call else { return };
        if !call.backing_off {
            self.leader = None;
            call.target = next_replica(call.target, self.opts.replicas);
        }
        call.backing_off = false;
        ctx.send(call.target, JobsMsg::Call(call.req.clone()));
        ctx.set_timer(
            CALL_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
    }

    /// The step timer: poll again, the work is done, the finishing is done, or the sink did
    /// not answer.
    pub fn on_step_timer<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        match self.phase {
            Phase::Idle => self.lease(ctx),
            Phase::Working | Phase::Effecting => self.act(ctx),
            Phase::Finishing => match self.held.clone() {
                Some(h) if !h.acked => {
                    self.phase = Phase::Acking;
                    self.call(
                        ctx,
                        JobOp::Ack {
                            id: h.id,
                            token: h.token,
                        },
                    );
                }
                _ => self.lease(ctx),
            },
            Phase::Leasing | Phase::Acking => {}
        }
    }

    /// Performs the job's effect at the sink if the lease is still good by this worker's clock.
    fn act<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        let Some(h) = &self.held else {
            return self.lease(ctx);
        };
        let now = ctx.now();
        let good = if self.wall_lease && !h.acked {
            now.wall.as_unix_ms() < h.wall_deadline_ms
        } else {
            // A job deleted first (the at-most-once bug) is performed whatever the lease says.
            h.acked || now.mono < h.deadline
        };
        if !good {
            ctx.note("jobs/lease-lapsed", json!({"job": h.id, "token": h.token}));
            return self.lease(ctx);
        }
        let me = ctx.node().0;
        ctx.observe(
            "jobs/act",
            json!({"job": h.id, "token": h.token, "worker": me}),
        );
        let effect = Effect {
            job: h.id,
            name: h.name.clone(),
            key: h.key.clone(),
            slot: h.slot,
            token: h.token,
        };
        ctx.send(self.opts.sink(), JobsMsg::Effect(effect));
        self.phase = Phase::Effecting;
        ctx.set_timer(
            STEP_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
    }

    /// The sink answered.
    pub fn on_effect_done<S: Service<Msg = JobsMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        job: u64,
        token: u64,
        outcome: EffectOutcome,
    ) {
        let Some(h) = &self.held else { return };
        if from != self.opts.sink()
            || self.phase != Phase::Effecting
            || h.id != job
            || h.token != token
        {
            return;
        }
        match outcome {
            EffectOutcome::Applied | EffectOutcome::Duplicate => {
                self.phase = Phase::Finishing;
                ctx.set_timer(STEP_TIMER, Duration::from_millis(self.opts.finish_ms));
            }
            // The lease is over (or the sink cannot take it): the job comes back in time.
            EffectOutcome::Fenced | EffectOutcome::Refused => self.idle(ctx),
        }
    }

    /// The planted bug's cron: fire the slot this node's wall clock is in, if it has not yet.
    pub fn on_cron_timer<S: Service<Msg = JobsMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        let every = self.opts.every_ms.max(1);
        let slot = u64::try_from(ctx.now().wall.as_unix_ms()).unwrap_or(0) / every;
        if slot > self.cron_last_slot {
            self.cron_last_slot = slot;
            self.cron_seq += 1;
            let name = slot_name(slot);
            let me = ctx.node().0;
            let req = Request {
                client_id: self.session + CRON_SESSION_OFFSET,
                seq: self.cron_seq,
                op: JobOp::Enqueue {
                    key: format!("{name}@n{me}"),
                    name,
                    at_unix_ms: None,
                },
            };
            let to = match self.leader {
                Some(l) => l,
                None => self.random_replica(ctx),
            };
            ctx.send(to, JobsMsg::Call(req));
        }
        ctx.set_timer(CRON_TIMER, Duration::from_millis(every));
    }
}

/// The replica after `n`, round robin.
fn next_replica(n: NodeId, replicas: u32) -> NodeId {
    NodeId((n.0 + 1) % replicas.max(1))
}
