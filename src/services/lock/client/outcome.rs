//! How a lock operation ends: the Raft client core's answers followed to a grant, a hand-back,
//! a renewal's verdict or an honest unknown, and the queue a client that gave up must leave.

use super::{Held, Kind, LockClient, Op, Step, done, each_server};
use crate::client::{ClientCtx, Next};
use crate::history::OpType;
use crate::services::lock::machine::{LockOp, LockResult};
use crate::services::lock::wire::LockRequest;
use crate::services::replicated::Request;
use crate::time::LocalInstant;
use rand::Rng;
use serde_json::json;

impl LockClient {
    /// Follows what the Raft client core says next, noting when a new session number goes out.
    pub(super) fn raft_next(
        &mut self,
        cx: &mut ClientCtx<'_>,
        next: Next<Request<LockOp>>,
    ) -> Next<LockRequest> {
        if let (Some(cur), Some(req)) = (&mut self.op, self.raft.in_flight())
            && req.seq != cur.seq
        {
            cur.seq = req.seq;
            cur.asked_at = cx.local.mono;
        }
        if self.current_step() == Some(Step::Cancel)
            && matches!(next, Next::Done(_) | Next::Unknown)
        {
            // Left the queue, or could not tell: either way on to the acquire (a waiter left
            // behind is skipped by the leader in time).
            self.raft.workload_mut().output = None;
            self.leave = None;
            return self.advance(cx);
        }
        match next {
            Next::Send { to, req } => Next::Send {
                to,
                req: LockRequest::Raft(req),
            },
            Next::SendAfter { after, to, req } => Next::SendAfter {
                after,
                to,
                req: LockRequest::Raft(req),
            },
            Next::Done(_) => match self.raft.workload_mut().output.take() {
                Some(out) => self.raft_done(cx, out),
                None => self.finish_unknown(),
            },
            Next::Unknown => self.finish_unknown(),
        }
    }

    /// The Raft step of the operation got its answer.
    pub(super) fn raft_done(
        &mut self,
        cx: &mut ClientCtx<'_>,
        out: LockResult,
    ) -> Next<LockRequest> {
        let Some(cur) = self.op.take() else {
            return Next::Unknown;
        };
        let now = cx.local.mono;
        match (cur.kind, out) {
            (Kind::Acquire, LockResult::Granted { token, .. }) => {
                let lapse = cur.asked_at.saturating_add(self.usable());
                let cur = Op {
                    token: Some(token),
                    ..cur
                };
                self.grant(cx, cur, lapse)
            }
            (Kind::Acquire, _) => {
                // Anything but a grant (or a queue place, which the core asks again about)
                // is a server answering out of protocol.
                self.op = Some(cur);
                self.finish_unknown()
            }
            (Kind::AcquireReturn, _) => done(OpType::Fail, None),
            (Kind::Renew, LockResult::Renewed) => {
                let lapse = cur.asked_at.saturating_add(self.usable());
                let room = lapse.saturating_since(now).saturating_sub(self.guard());
                if room < self.guard() {
                    // Renewed, but too late to use: given up like a lost lease.
                    self.held = None;
                    return done(OpType::Ok, Some(json!(false)));
                }
                let hold = room.mul_f64(cx.rng.random_range(0.0..1.0));
                if let Some(h) = &mut self.held {
                    h.lapse = lapse;
                    h.hold_end = now.saturating_add(hold);
                }
                done(OpType::Ok, Some(json!(true)))
            }
            (Kind::Renew, _) => {
                // The service no longer has it: the lease was lost while the renewal was on
                // its way (it was asked for while the lease was still valid).
                self.held = None;
                done(OpType::Ok, Some(json!(false)))
            }
            (Kind::Release, _) => {
                self.held = None;
                done(OpType::Ok, None)
            }
        }
    }

    /// A grant arrived: hold it, or hand it back when too little of it is left to use.
    pub(super) fn grant(
        &mut self,
        cx: &mut ClientCtx<'_>,
        cur: Op,
        lapse: LocalInstant,
    ) -> Next<LockRequest> {
        let now = cx.local.mono;
        let room = lapse.saturating_since(now).saturating_sub(self.guard());
        if room < self.guard() {
            return self.hand_back(cx, cur);
        }
        let renew = !self.redlock && Self::permille(cx, self.opts.renew_permille);
        let to_end = Self::permille(cx, self.opts.hold_to_end_permille);
        let hold = if to_end && !renew {
            room
        } else {
            room.mul_f64(cx.rng.random_range(0.0..1.0))
        };
        self.grants += 1;
        self.held = Some(Held {
            name: cur.name,
            token: cur.token,
            lease_id: format!("c{}#{}", self.client.0, self.grants),
            owner: cur.owner,
            lapse,
            hold_end: now.saturating_add(hold),
            renew,
            lost: false,
        });
        done(OpType::Ok, cur.token.map(|t| json!(t)))
    }

    /// Gives back a grant too late to use (or a Redlock minority), within the acquire, which
    /// then reads `fail`: the pair took no effect.
    pub(super) fn hand_back(&mut self, cx: &mut ClientCtx<'_>, cur: Op) -> Next<LockRequest> {
        let steps = if self.redlock {
            // As Redlock says: unlock every instance, also those that seemed not to grant.
            each_server(cx.nodes, Step::RedDel)
        } else {
            vec![Step::Raft]
        };
        self.op = Some(Op {
            kind: Kind::AcquireReturn,
            steps,
            at: 0,
            ..cur
        });
        self.send_step(cx)
    }

    /// The operation's outcome cannot be known. A renewal whose outcome is unknown is given up:
    /// the client stops using the lease and says so (`ok false`, the lease lost), since a
    /// lease it will never release must read as ended for the checker.
    pub(super) fn finish_unknown(&mut self) -> Next<LockRequest> {
        let op = self.op.take();
        match op.as_ref().map(|o| o.kind) {
            Some(Kind::Renew) => {
                self.held = None;
                return done(OpType::Ok, Some(json!(false)));
            }
            Some(Kind::Release) => self.held = None,
            Some(Kind::Acquire) => self.gave_up(op),
            Some(Kind::AcquireReturn) | None => {}
        }
        Next::Unknown
    }

    /// An acquire ended without a grant: if it was waiting in a queue, leave it.
    pub(super) fn gave_up(&mut self, op: Option<Op>) {
        let queued = std::mem::take(&mut self.raft.workload_mut().queued);
        if let (true, Some(op)) = (queued, op) {
            self.leave = Some(op.name);
        }
    }
}
