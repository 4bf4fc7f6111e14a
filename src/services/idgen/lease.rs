//! A generator's worker-id lease: the client side of the lock service, run inside the node.
//!
//! A generator queues for lock `worker-K` (K = its index among generators, modulo the pool;
//! after losing a lease it moves on to the next K), renews it every `renew_every_ms`, and may use
//! the worker id while (a) the lease is still valid by its own monotonic clock — counted from
//! when it asked, shortened by the drift bound and a guard — and (b) the timestamp is above the
//! lock's mark when granted (the floor) and at most the mark its last acknowledged renewal set
//! (the ceiling). (b) alone keeps ids unique across holders whatever the clocks do: a renewal is
//! applied only while its holder holds the lock, so the next holder's floor is above every
//! timestamp the previous one could use. (a) keeps an old holder from going on after the
//! service gave its worker id away.
//!
//! Requests are retried with the same session sequence number (the replicated layer applies a
//! write at most once), redirected by `NotLeader` hints, and matched to replies by a request id.

use super::IdGen;
use super::config::WorkerLeases;
use super::msg::IdgenMsg;
use crate::ids::NodeId;
use crate::node::service::{Ctx, TimerId};
use crate::services::lock::api::{LockOp, LockResult};
use crate::services::replicated::{Rejection, Request, Response};
use crate::time::LocalInstant;
use serde_json::json;
use std::time::Duration;

/// Fires for an attempt's timeout, or the end of a back-off.
pub(super) const LEASE_TIMER: TimerId = TimerId(2);
/// Fires when the held lease is due for renewal.
pub(super) const RENEW_TIMER: TimerId = TimerId(3);

/// What a generator may do with its worker id now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Usable {
    /// The worker id.
    pub worker: u64,
    /// The grant's fencing token: a new one means a new holding.
    pub token: u64,
    /// Timestamps must be above this.
    pub floor: u64,
    /// Timestamps must be at most this.
    pub ceiling: u64,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    worker: u64,
    token: u64,
    valid_until: LocalInstant,
    floor: u64,
    ceiling: u64,
}

#[derive(Debug)]
struct InFlight {
    req_id: u64,
    req: Request<LockOp>,
    target: NodeId,
    /// When the first attempt of this request went out: the service applies it no earlier,
    /// so a lease it grants or renews runs from no earlier either.
    asked_at: Option<LocalInstant>,
    /// Backing off: the next attempt goes out when `LEASE_TIMER` fires.
    backing_off: bool,
}

/// A generator's lease on a worker id.
#[derive(Debug)]
pub(super) struct WorkerLease {
    opts: WorkerLeases,
    servers: Vec<NodeId>,
    pool: u64,
    /// The replicated layer's session id (and the lock's client id): one per incarnation, so
    /// a restarted generator never reuses sequence numbers.
    session: u64,
    seq: u64,
    attempt: u64,
    next_req_id: u64,
    /// The worker id wanted or held.
    want: u64,
    leader: Option<NodeId>,
    rr: usize,
    held: Option<Held>,
    in_flight: Option<InFlight>,
    /// The planted bug `idgen-worker-lease-ignored`: once granted, the worker id is used for
    /// good.
    ignore_expiry: bool,
}

impl WorkerLease {
    /// The lease of generator `generator` (its index among generators).
    pub(super) fn new(
        opts: &WorkerLeases,
        servers: Vec<NodeId>,
        pool: u32,
        generator: u32,
        session: u64,
        ignore_expiry: bool,
    ) -> Self {
        let pool = u64::from(pool.max(1));
        WorkerLease {
            opts: opts.clone(),
            rr: generator as usize % servers.len().max(1),
            servers,
            pool,
            session,
            seq: 0,
            attempt: 0,
            next_req_id: 0,
            want: u64::from(generator) % pool,
            leader: None,
            held: None,
            in_flight: None,
            ignore_expiry,
        }
    }

    /// The worker id as far as it may be used at `now`.
    pub(super) fn usable(&self, now: LocalInstant) -> Option<Usable> {
        let h = self.held?;
        if self.ignore_expiry {
            return Some(Usable {
                worker: h.worker,
                token: h.token,
                floor: h.floor,
                ceiling: u64::MAX,
            });
        }
        (now < h.valid_until).then_some(Usable {
            worker: h.worker,
            token: h.token,
            floor: h.floor,
            ceiling: h.ceiling,
        })
    }

    /// Starts hunting for a worker id.
    pub(super) fn start(&mut self, ctx: &mut Ctx<'_, IdGen>) {
        self.acquire(ctx);
    }

    /// Renews at once if nothing is in flight (ids are waiting for a higher ceiling).
    pub(super) fn renew_soon(&mut self, ctx: &mut Ctx<'_, IdGen>, now_ts: u64) {
        if self.in_flight.is_none() && self.held.is_some() {
            self.renew(ctx, now_ts);
        }
    }

    /// A timer of the lease fired. `now_ts` is the wall clock as an id timestamp.
    pub(super) fn on_timer(&mut self, ctx: &mut Ctx<'_, IdGen>, timer: TimerId, now_ts: u64) {
        if timer == RENEW_TIMER {
            self.renew_soon(ctx, now_ts);
        } else if timer == LEASE_TIMER
            && let Some(f) = &mut self.in_flight
        {
            if !f.backing_off {
                // The attempt timed out: the next goes to another server.
                self.leader = None;
                f.target = next_server(&self.servers, &mut self.rr, f.target);
            }
            self.send_attempt(ctx);
        }
    }

    /// A lock server answered attempt `req_id`.
    pub(super) fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, IdGen>,
        from: NodeId,
        req_id: u64,
        resp: Response<LockResult>,
        now_ts: u64,
    ) {
        let Some(f) = &mut self.in_flight else {
            return;
        };
        if f.req_id != req_id || f.backing_off {
            return; // a late or duplicated answer to an earlier attempt
        }
        if from != f.target {
            // Only the server asked answers an attempt: a grant "from" anyone else (another
            // generator, a stranger) would hand out a worker id nobody granted.
            ctx.note("idgen/lease-reply-from-elsewhere", json!(from.0));
            return;
        }
        match resp {
            Response::Rejected(Rejection::NotLeader { hint }) => {
                self.leader = hint.filter(|h| self.servers.contains(h));
                match self.leader {
                    Some(l) if l != f.target => {
                        f.target = l;
                        self.send_attempt(ctx);
                    }
                    _ => {
                        f.target = next_server(&self.servers, &mut self.rr, f.target);
                        self.back_off(ctx);
                    }
                }
            }
            // (Forbidden never answers a generator, whose session is never the leader's.)
            Response::Rejected(
                Rejection::Overloaded | Rejection::Unavailable | Rejection::Forbidden,
            )
            | Response::Unknown => {
                // Not applied, or maybe applied: the same request (same sequence number)
                // goes again, to another server.
                self.leader = None;
                f.target = next_server(&self.servers, &mut self.rr, f.target);
                self.back_off(ctx);
            }
            Response::Done(out) => {
                self.leader = Some(from);
                let Some(done) = self.in_flight.take() else {
                    return;
                };
                ctx.cancel_timer(LEASE_TIMER);
                self.done(ctx, done, out, now_ts);
            }
        }
    }

    fn done(&mut self, ctx: &mut Ctx<'_, IdGen>, f: InFlight, out: LockResult, now_ts: u64) {
        let usable = Duration::from_millis(self.opts.usable_ms());
        let asked_at = f.asked_at.unwrap_or(ctx.now().mono);
        match (&f.req.op, out) {
            (
                LockOp::Acquire { attempt, .. },
                LockResult::Granted {
                    token,
                    attempt: a,
                    mark,
                },
            ) if a == *attempt => {
                let held = Held {
                    worker: self.want,
                    token,
                    valid_until: asked_at.saturating_add(usable),
                    floor: mark,
                    ceiling: mark,
                };
                self.held = Some(held);
                ctx.note(
                    "idgen/worker-granted",
                    json!({"worker": held.worker, "token": token, "mark": mark}),
                );
                // Nothing may be issued until a renewal has reserved timestamps above the floor.
                self.renew(ctx, now_ts);
            }
            (LockOp::Acquire { .. }, _) => {
                // Queued (or an answer that does not grant): ask again after the back-off.
                self.acquire_later(ctx);
            }
            (LockOp::Renew { mark, .. }, LockResult::Renewed) => {
                if let Some(h) = &mut self.held {
                    h.valid_until = asked_at.saturating_add(usable);
                    h.ceiling = h.ceiling.max(*mark);
                }
                ctx.set_timer(
                    RENEW_TIMER,
                    Duration::from_millis(self.opts.renew_every_ms()),
                );
            }
            (LockOp::Renew { .. }, _) => {
                let Some(h) = self.held else { return };
                if self.ignore_expiry {
                    // The planted bug: the worker id stays in use; renewing stops.
                    ctx.note("idgen/worker-lease-ignored", json!({"worker": h.worker}));
                    return;
                }
                ctx.note("idgen/worker-lease-lost", json!({"worker": h.worker}));
                self.held = None;
                // Someone else has it now: try the next worker id.
                self.want = (self.want + 1) % self.pool;
                self.acquire_later(ctx);
            }
            _ => {}
        }
    }

    fn acquire(&mut self, ctx: &mut Ctx<'_, IdGen>) {
        self.attempt += 1;
        let op = LockOp::Acquire {
            name: format!("worker-{}", self.want),
            client: self.session,
            lease_ms: self.opts.lease_ms,
            attempt: self.attempt,
        };
        self.begin(ctx, op, false);
    }

    fn acquire_later(&mut self, ctx: &mut Ctx<'_, IdGen>) {
        self.attempt += 1;
        let op = LockOp::Acquire {
            name: format!("worker-{}", self.want),
            client: self.session,
            lease_ms: self.opts.lease_ms,
            attempt: self.attempt,
        };
        self.begin(ctx, op, true);
    }

    fn renew(&mut self, ctx: &mut Ctx<'_, IdGen>, now_ts: u64) {
        let Some(h) = self.held else { return };
        let mark = now_ts.max(h.floor).saturating_add(self.opts.mark_ahead_ms);
        let op = LockOp::Renew {
            name: format!("worker-{}", h.worker),
            token: h.token,
            mark,
        };
        self.begin(ctx, op, false);
    }

    /// A new request (a new sequence number); sent now, or after the back-off.
    fn begin(&mut self, ctx: &mut Ctx<'_, IdGen>, op: LockOp, later: bool) {
        self.seq += 1;
        let target = self
            .leader
            .unwrap_or_else(|| next_server(&self.servers, &mut self.rr, NodeId(u32::MAX)));
        self.in_flight = Some(InFlight {
            req_id: 0,
            req: Request {
                client_id: self.session,
                seq: self.seq,
                op,
            },
            target,
            asked_at: None,
            backing_off: false,
        });
        if later {
            self.back_off(ctx);
        } else {
            self.send_attempt(ctx);
        }
    }

    fn back_off(&mut self, ctx: &mut Ctx<'_, IdGen>) {
        if let Some(f) = &mut self.in_flight {
            f.backing_off = true;
            ctx.set_timer(LEASE_TIMER, Duration::from_millis(self.opts.backoff_ms));
        }
    }

    fn send_attempt(&mut self, ctx: &mut Ctx<'_, IdGen>) {
        let Some(f) = &mut self.in_flight else { return };
        self.next_req_id += 1;
        f.req_id = self.next_req_id;
        f.asked_at.get_or_insert(ctx.now().mono);
        f.backing_off = false;
        let msg = IdgenMsg::Lease {
            req_id: f.req_id,
            req: f.req.clone(),
        };
        ctx.send(f.target, msg);
        ctx.set_timer(
            LEASE_TIMER,
            Duration::from_millis(self.opts.attempt_timeout_ms),
        );
    }
}

/// The server after `after` in round-robin order (or the round robin's next).
fn next_server(servers: &[NodeId], rr: &mut usize, after: NodeId) -> NodeId {
    if servers.is_empty() {
        return after;
    }
    if let Some(i) = servers.iter().position(|s| *s == after) {
        *rr = (i + 1) % servers.len();
    }
    let s = servers[*rr % servers.len()];
    *rr = (*rr + 1) % servers.len();
    s
}
