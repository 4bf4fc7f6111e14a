//! A crawler's line to the crawl state: one call in flight at a time (the replicated layer's
//! session numbers are sequential), the rest queued, at most one per host and purpose. Leader
//! discovery, redirects and retries under the same session number, as the replicated layer's
//! client core does, over node messages.

use super::machine::{CrawlOp, CrawlResult};
use super::msg::CrawlMsg;
use crate::ids::NodeId;
use crate::node::service::{Ctx, Service, TimerId};
use crate::services::replicated::{Rejection, Request, Response};
use crate::time::LocalInstant;
use rand::Rng;
use std::collections::VecDeque;
use std::time::Duration;

/// Resend the call in flight (its attempt timed out, or its back-off ended).
pub const CALL_TIMER: TimerId = TimerId(11);

/// A call answered: what it was, when it was first sent, and what the crawl state said.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The operation.
    pub op: CrawlOp,
    /// When it was first sent (a lease it renews counts from no earlier).
    pub asked: LocalInstant,
    /// The answer.
    pub result: CrawlResult,
}

#[derive(Debug, Clone)]
struct InFlight {
    req: Request<CrawlOp>,
    target: NodeId,
    asked: LocalInstant,
    backing_off: bool,
}

/// The call line.
#[derive(Debug)]
pub struct Calls {
    session: u64,
    seq: u64,
    replicas: u32,
    attempt_timeout_ms: u64,
    backoff_ms: u64,
    leader: Option<NodeId>,
    queue: VecDeque<CrawlOp>,
    in_flight: Option<InFlight>,
}

impl Calls {
    /// A line under session `session`.
    pub fn new(session: u64, replicas: u32, attempt_timeout_ms: u64, backoff_ms: u64) -> Self {
        Calls {
            session,
            seq: 0,
            replicas: replicas.max(1),
            attempt_timeout_ms,
            backoff_ms,
            leader: None,
            queue: VecDeque::new(),
            in_flight: None,
        }
    }

    /// Queued or in flight: an operation like `op` (same kind, same host).
    pub fn has(&self, same: impl Fn(&CrawlOp) -> bool) -> bool {
        self.queue.iter().any(&same) || self.in_flight.as_ref().is_some_and(|c| same(&c.req.op))
    }

    /// Queues `op` (sent at once if the line is free).
    pub fn push<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>, op: CrawlOp) {
        self.queue.push_back(op);
        self.send_next(ctx);
    }

    fn send_next<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        if self.in_flight.is_some() {
            return;
        }
        let Some(op) = self.queue.pop_front() else {
            return;
        };
        self.seq += 1;
        let target = match self.leader {
            Some(l) => l,
            None => NodeId(ctx.rng().random_range(0..self.replicas)),
        };
        let req = Request {
            client_id: self.session,
            seq: self.seq,
            op,
        };
        ctx.send(target, CrawlMsg::Call(req.clone()));
        ctx.set_timer(CALL_TIMER, Duration::from_millis(self.attempt_timeout_ms));
        self.in_flight = Some(InFlight {
            req,
            target,
            asked: ctx.now().mono,
            backing_off: false,
        });
    }

    /// A replica answered call `seq`: the call's outcome, once it has one.
    pub fn on_answer<S: Service<Msg = CrawlMsg>>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        from: NodeId,
        seq: u64,
        resp: Response<CrawlResult>,
    ) -> Option<Answered> {
        let call = self.in_flight.as_mut()?;
        if call.req.seq != seq || from != call.target {
            return None;
        }
        match resp {
            Response::Done(result) => {
                self.leader = Some(from);
                let call = self.in_flight.take()?;
                ctx.cancel_timer(CALL_TIMER);
                self.send_next(ctx);
                Some(Answered {
                    op: call.req.op,
                    asked: call.asked,
                    result,
                })
            }
            Response::Rejected(Rejection::NotLeader { hint: Some(h) })
                if h != from && h.0 < self.replicas =>
            {
                self.leader = Some(h);
                call.target = h;
                ctx.send(h, CrawlMsg::Call(call.req.clone()));
                ctx.set_timer(CALL_TIMER, Duration::from_millis(self.attempt_timeout_ms));
                None
            }
            Response::Rejected(Rejection::Forbidden) => {
                // Never applied: drop it (its host's owner loop asks again).
                self.in_flight = None;
                ctx.cancel_timer(CALL_TIMER);
                ctx.note("crawler/call-forbidden", serde_json::Value::Null);
                self.send_next(ctx);
                None
            }
            Response::Rejected(_) | Response::Unknown => {
                self.leader = None;
                call.target = NodeId((from.0 + 1) % self.replicas);
                call.backing_off = true;
                ctx.set_timer(CALL_TIMER, Duration::from_millis(self.backoff_ms));
                None
            }
        }
    }

    /// The attempt timed out, or its back-off ended: send it again (same session number).
    pub fn on_timer<S: Service<Msg = CrawlMsg>>(&mut self, ctx: &mut Ctx<'_, S>) {
        let Some(call) = &mut self.in_flight else {
            return;
        };
        if !call.backing_off {
            self.leader = None;
            call.target = NodeId((call.target.0 + 1) % self.replicas);
        }
        call.backing_off = false;
        ctx.send(call.target, CrawlMsg::Call(call.req.clone()));
        ctx.set_timer(CALL_TIMER, Duration::from_millis(self.attempt_timeout_ms));
    }
}
