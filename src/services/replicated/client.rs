//! The client core of a replicated service: finds the leader of the key's group, follows
//! `NotLeader { hint }` redirects, retries on timeout with the same session sequence number
//! (so a write is applied at most once), backs off while no leader is known, and decides what
//! an operation's outcome is: `ok`/`fail` only when it knows, `info` otherwise — never a guess.

use super::routing::Routing;
use super::{Rejection, ReplicatedNode, Request, Response, StateMachine};
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use crate::services::ring::{GroupId, Ring};
use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

/// One operation a workload draws, and how it reads in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOp<Op> {
    /// The operation.
    pub op: Op,
    /// Its history line.
    pub describe: OpDescription,
}

/// What the clients of a replicated service ask, and how answers read in the history.
pub trait Workload: 'static {
    /// The service's state machine.
    type Machine: StateMachine;
    /// Draws the next operation.
    fn next(&mut self, cx: &mut ClientCtx<'_>) -> ClientOp<<Self::Machine as StateMachine>::Op>;
    /// How an output reads in the history (`ok`, or `fail` for an operation that took no effect,
    /// such as a compare-and-set that did not swap).
    fn complete(
        &mut self,
        op: &<Self::Machine as StateMachine>::Op,
        output: &<Self::Machine as StateMachine>::Output,
    ) -> Completion;
    /// Asked first when an operation got its output: `Some(op)` to go on within the same
    /// logical operation with another request, under a new sequence number, after the
    /// back-off (a lock waiter asking again whether its turn has come).
    fn again(
        &mut self,
        _op: &<Self::Machine as StateMachine>::Op,
        _output: &<Self::Machine as StateMachine>::Output,
    ) -> Option<<Self::Machine as StateMachine>::Op> {
        None
    }
    /// False when `output` cannot be the answer to `op` (a replica answering out of
    /// protocol): the request is asked again. Late answers to an earlier request of the same
    /// logical operation never come here — the client host drops them by the request each
    /// reply answers ([`ClientLogic::awaits`]).
    fn answers(
        &self,
        _op: &<Self::Machine as StateMachine>::Op,
        _output: &<Self::Machine as StateMachine>::Output,
    ) -> bool {
        true
    }
}

/// How patient a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// One attempt waits this long for its reply before trying another node.
    pub attempt_timeout_ms: u64,
    /// Wait this long before retrying when no leader is known.
    pub backoff_ms: u64,
    /// How nodes form groups and keys map to them.
    pub routing: Routing,
}

/// The operation in flight.
#[derive(Debug)]
struct Current<Op> {
    req: Request<Op>,
    group: GroupId,
    target: NodeId,
    /// Some attempt may have been applied (it timed out, or its node lost track of it).
    maybe_applied: bool,
}

/// One client of a replicated service.
#[derive(Debug)]
pub struct ReplicatedClient<W: Workload> {
    workload: W,
    options: ClientOptions,
    /// Session id: unique per client in a run.
    session: u64,
    /// Last write sequence number used, per group: each group keeps its own session table,
    /// so each sees this client's writes numbered 1, 2, 3, ... without gaps at the start.
    seq: BTreeMap<GroupId, u64>,
    ring: Option<Ring>,
    leaders: BTreeMap<GroupId, NodeId>,
    current: Option<Current<<W::Machine as StateMachine>::Op>>,
}

impl<W: Workload> ReplicatedClient<W> {
    /// The client `client` running `workload`.
    pub fn new(workload: W, options: ClientOptions, client: ClientId) -> Self {
        ReplicatedClient {
            workload,
            options,
            session: u64::from(client.0) + 1,
            seq: BTreeMap::new(),
            ring: options.routing.ring(),
            leaders: BTreeMap::new(),
            current: None,
        }
    }

    /// The request in flight (its session sequence number tells a new request from a retry).
    pub fn in_flight(&self) -> Option<&Request<<W::Machine as StateMachine>::Op>> {
        self.current.as_ref().map(|c| &c.req)
    }

    /// True when `answered` is the request in flight (a retry of it included): its answer is
    /// news. For a core wrapped in another service's client ([`ClientLogic::awaits`]).
    pub fn awaits_answer_to(&self, answered: &Request<<W::Machine as StateMachine>::Op>) -> bool {
        self.current.as_ref().is_some_and(|cur| {
            answered.client_id == cur.req.client_id && answered.seq == cur.req.seq
        })
    }

    /// The workload.
    pub fn workload_mut(&mut self) -> &mut W {
        &mut self.workload
    }

    /// A node of `group` other than `not` (round robin from it), or any when there is one.
    fn another(&self, cx: &mut ClientCtx<'_>, group: GroupId, not: NodeId) -> NodeId {
        let members = self.options.routing.members(group, cx.nodes);
        let at = members.iter().position(|&n| n == not);
        match at {
            Some(i) if members.len() > 1 => members[(i + 1) % members.len()],
            _ => members
                .get(cx.rng.random_range(0..members.len().max(1)))
                .copied()
                .unwrap_or(not),
        }
    }

    fn resend(
        &mut self,
        to: NodeId,
        backoff: bool,
    ) -> Next<Request<<W::Machine as StateMachine>::Op>> {
        let Some(cur) = &mut self.current else {
            return Next::Unknown;
        };
        cur.target = to;
        let req = cur.req.clone();
        if backoff {
            Next::SendAfter {
                after: Duration::from_millis(self.options.backoff_ms),
                to,
                req,
            }
        } else {
            Next::Send { to, req }
        }
    }
}

impl<W: Workload> ClientLogic<ReplicatedNode<W::Machine>> for ReplicatedClient<W> {
    fn begin(
        &mut self,
        cx: &mut ClientCtx<'_>,
    ) -> (
        OpDescription,
        Request<<W::Machine as StateMachine>::Op>,
        NodeId,
    ) {
        let drawn = self.workload.next(cx);
        let group = Routing::group_of_key(self.ring.as_ref(), W::Machine::route_key(&drawn.op));
        // Only writes are numbered: a read is never logged, so it must not open a session.
        let seq = if W::Machine::is_read(&drawn.op) {
            0
        } else {
            let seq = self.seq.entry(group).or_default();
            *seq += 1;
            *seq
        };
        let members = self.options.routing.members(group, cx.nodes);
        let target = match self.leaders.get(&group) {
            Some(&leader) => leader,
            None => members[cx.rng.random_range(0..members.len())],
        };
        let req = Request {
            client_id: self.session,
            seq,
            op: drawn.op,
        };
        self.current = Some(Current {
            req: req.clone(),
            group,
            target,
            maybe_applied: false,
        });
        (drawn.describe, req, target)
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.options.attempt_timeout_ms).min(op_timeout)
    }

    fn on_reply(
        &mut self,
        cx: &mut ClientCtx<'_>,
        resp: Response<<W::Machine as StateMachine>::Output>,
    ) -> Next<Request<<W::Machine as StateMachine>::Op>> {
        let Some(cur) = &mut self.current else {
            return Next::Unknown;
        };
        let (group, target) = (cur.group, cur.target);
        match resp {
            Response::Done(output) if !self.workload.answers(&cur.req.op, &output) => {
                // Ask again for the answer to this request (the session returns it).
                self.resend(target, false)
            }
            Response::Done(output) => {
                self.leaders.insert(group, target);
                if let Some(op) = self.workload.again(&cur.req.op, &output) {
                    let seq = self.seq.entry(group).or_default();
                    *seq += 1;
                    cur.req = Request {
                        client_id: self.session,
                        seq: *seq,
                        op,
                    };
                    // The earlier request had an answer: nothing of it is in doubt.
                    cur.maybe_applied = false;
                    return self.resend(target, true);
                }
                let done = self.workload.complete(&cur.req.op, &output);
                self.current = None;
                Next::Done(done)
            }
            Response::Rejected(Rejection::NotLeader { hint }) => {
                self.leaders.remove(&group);
                let members = self.options.routing.members(group, cx.nodes);
                match hint.filter(|h| *h != target && members.contains(h)) {
                    Some(leader) => {
                        self.leaders.insert(group, leader);
                        self.resend(leader, false)
                    }
                    None => {
                        let next = self.another(cx, group, target);
                        self.resend(next, true)
                    }
                }
            }
            Response::Rejected(Rejection::Overloaded) => self.resend(target, true),
            Response::Rejected(Rejection::Forbidden) => {
                // This attempt was refused outright; an earlier one may still have applied.
                let maybe = cur.maybe_applied;
                self.current = None;
                if maybe {
                    Next::Unknown
                } else {
                    Next::Done(Completion {
                        op_type: OpType::Fail,
                        value: None,
                    })
                }
            }
            Response::Rejected(Rejection::Unavailable) => {
                let next = self.another(cx, group, target);
                self.resend(next, false)
            }
            Response::Unknown => {
                cur.maybe_applied = true;
                self.leaders.remove(&group);
                let next = self.another(cx, group, target);
                self.resend(next, true)
            }
        }
    }

    /// An answer to an earlier request of this operation (one it has since followed with a
    /// new request under a new sequence number) says nothing of the current one: not its
    /// output, not that it was refused or may have been applied.
    fn awaits(&self, answered: &Request<<W::Machine as StateMachine>::Op>) -> bool {
        self.awaits_answer_to(answered)
    }

    fn on_timeout(
        &mut self,
        cx: &mut ClientCtx<'_>,
    ) -> Next<Request<<W::Machine as StateMachine>::Op>> {
        let Some(cur) = &mut self.current else {
            return Next::Unknown;
        };
        cur.maybe_applied = true;
        let (group, target) = (cur.group, cur.target);
        self.leaders.remove(&group);
        let next = self.another(cx, group, target);
        self.resend(next, false)
    }

    fn on_deadline(
        &mut self,
        _cx: &mut ClientCtx<'_>,
    ) -> Next<Request<<W::Machine as StateMachine>::Op>> {
        let Some(cur) = self.current.take() else {
            return Next::Unknown;
        };
        // A read never takes effect, and a write none of whose attempts can have been applied
        // did not either: both are definite failures. Anything else is unknown.
        if W::Machine::is_read(&cur.req.op) || !cur.maybe_applied {
            Next::Done(Completion {
                op_type: OpType::Fail,
                value: None,
            })
        } else {
            Next::Unknown
        }
    }
}
