//! The lock client: acquire → hold (on its own clock) → check the lease, write to the protected
//! resource with the token, release — in a loop, with holds that run to the lease's end, a
//! renewal now and then, and (when the scenario asks) a stall between two writes, the GC pause
//! of the classic fencing argument.
//!
//! History (the checker's `lock` model, one lock per `key`): `acquire` (ok value: the token;
//! none under Redlock), `renew` and `release` (value: the token). `release` is invoked at the
//! moment the client last checks its lease, so a lease that ran out while the holder was
//! stalled still reads as released within that operation; a release the service answers with
//! "not the holder" is the record of the lease's loss and reads `ok`. A grant that arrives too
//! late to use is handed back at once and the acquire reads `fail` (the pair took no effect).
//! After an acquire given up while queued, the client either still needs that lock and asks
//! again (keeping its place) or abandons it: then the first step of its next acquire leaves
//! that queue (`Cancel`). The cancel never ends a grant, so it needs no record of its own.

mod outcome;

use super::LockNode;
use super::bugs;
use super::machine::LockOp;
use super::options::LockOptions;
use super::plan::Plan;
use super::wire::{LockRequest, LockResponse, RedlockReq, RedlockResp, WriteReq, WriteResp};
use crate::bugs::BugSet;
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use crate::services::replicated::ReplicatedClient;
use crate::time::LocalInstant;
use rand::Rng;
use serde_json::json;
use std::time::Duration;

/// A lease this client holds.
#[derive(Debug, Clone)]
struct Held {
    name: String,
    /// The fencing token (none under Redlock).
    token: Option<u64>,
    /// `c3#5`: this client's fifth grant.
    lease_id: String,
    /// The Redlock value this client set on the servers.
    owner: String,
    /// When the client must stop using it, by its own monotonic clock.
    lapse: LocalInstant,
    /// When it means to release (or renew).
    hold_end: LocalInstant,
    /// A renewal is planned before the release.
    renew: bool,
    /// The service said this lease is gone (a renewal refused): release without writing.
    lost: bool,
}

/// One step of a multi-request operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A write to the resource.
    Write(u32),
    /// The request through the Raft client core.
    Raft,
    /// Before an acquire: leave the queue of a lock this client gave up waiting for.
    Cancel,
    /// `SET NX` at one Redlock server.
    RedSet(NodeId),
    /// `DEL` at one Redlock server.
    RedDel(NodeId),
}

/// What the operation in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Acquire,
    /// A grant arrived too late to use and is being handed back.
    AcquireReturn,
    Renew,
    Release,
}

#[derive(Debug)]
struct Op {
    kind: Kind,
    name: String,
    /// The Redlock value (unique per attempt), or the lease id for writes.
    owner: String,
    token: Option<u64>,
    steps: Vec<Step>,
    at: usize,
    /// Before the step after the first write, wait this long (the holder's stall).
    stall: Option<Duration>,
    /// The session number in flight, and when it was first sent (a lease counts from there).
    seq: u64,
    asked_at: LocalInstant,
    /// Redlock: servers that granted.
    granted: Vec<NodeId>,
}

/// One lock client.
#[derive(Debug)]
pub struct LockClient {
    opts: LockOptions,
    client: ClientId,
    session: u64,
    redlock: bool,
    /// The client keeps the drift margin (off: the planted bug `lock-client-clock-lease`).
    margin: bool,
    raft: ReplicatedClient<Plan>,
    grants: u64,
    attempts: u64,
    held: Option<Held>,
    op: Option<Op>,
    /// A lock whose queue this client gave up waiting in: it says so before its next acquire.
    leave: Option<String>,
}

/// The context with the lock servers as the nodes (the last node is the resource).
fn servers_ctx<'b>(cx: &'b mut ClientCtx<'_>) -> ClientCtx<'b> {
    ClientCtx {
        client: cx.client,
        local: cx.local,
        nodes: LockOptions::servers(cx.nodes),
        rng: &mut *cx.rng,
    }
}

/// One Redlock step per lock server.
fn each_server(nodes: &[NodeId], step: fn(NodeId) -> Step) -> Vec<Step> {
    LockOptions::servers(nodes)
        .iter()
        .map(|&n| step(n))
        .collect()
}

fn done(op_type: OpType, value: Option<serde_json::Value>) -> Next<LockRequest> {
    Next::Done(Completion { op_type, value })
}

fn describe(f: &'static str, name: &str, token: Option<u64>) -> OpDescription {
    OpDescription {
        f,
        key: Some(json!(name)),
        value: token.map(|t| json!(t)),
    }
}

impl LockClient {
    /// Client `client` under this run's bugs.
    pub fn new(opts: &LockOptions, client: ClientId, bugs: &BugSet) -> Self {
        LockClient {
            opts: opts.clone(),
            client,
            session: u64::from(client.0) + 1,
            redlock: bugs.contains(&bugs::REDLOCK),
            margin: !bugs.contains(&bugs::CLIENT_CLOCK_LEASE),
            raft: ReplicatedClient::new(Plan::default(), opts.client(), client),
            grants: 0,
            attempts: 0,
            held: None,
            op: None,
            leave: None,
        }
    }

    fn usable(&self) -> Duration {
        Duration::from_millis(self.opts.usable_ms(self.margin))
    }

    fn guard(&self) -> Duration {
        Duration::from_millis(self.opts.guard_ms)
    }

    fn permille(cx: &mut ClientCtx<'_>, p: u32) -> bool {
        cx.rng.random_range(0..1000) < p
    }

    /// The request of the current step, and where it goes.
    fn request(&mut self, cx: &mut ClientCtx<'_>) -> Option<(LockRequest, NodeId)> {
        let cur = self.op.as_ref()?;
        let step = *cur.steps.get(cur.at)?;
        let name = cur.name.clone();
        Some(match step {
            Step::Write(i) => {
                let held = self.held.as_ref()?;
                (
                    LockRequest::Write(WriteReq {
                        lock: held.name.clone(),
                        holder: held.lease_id.clone(),
                        token: held.token,
                        step: i,
                    }),
                    LockOptions::resource(cx.nodes),
                )
            }
            Step::RedSet(n) => (
                LockRequest::Redlock(RedlockReq::SetNx {
                    name,
                    owner: cur.owner.clone(),
                    ttl_ms: self.opts.lease_ms,
                }),
                n,
            ),
            Step::RedDel(n) => (
                LockRequest::Redlock(RedlockReq::Del {
                    name,
                    owner: cur.owner.clone(),
                }),
                n,
            ),
            Step::Cancel => {
                let op = LockOp::Cancel {
                    name: self.leave.clone()?,
                    client: self.session,
                };
                self.raft_request(cx, op)
            }
            Step::Raft => {
                let op = match (cur.kind, cur.token) {
                    (Kind::Acquire, _) => LockOp::Acquire {
                        name,
                        client: self.session,
                        lease_ms: self.opts.lease_ms,
                        attempt: 0,
                    },
                    (Kind::Renew, Some(token)) => LockOp::Renew {
                        name,
                        token,
                        mark: 0,
                    },
                    (Kind::Release | Kind::AcquireReturn, Some(token)) => {
                        LockOp::Release { name, token }
                    }
                    (_, None) => return None,
                };
                self.raft_request(cx, op)
            }
        })
    }

    /// Starts `op` through the Raft client core; the lease of a grant counts from here.
    fn raft_request(&mut self, cx: &mut ClientCtx<'_>, op: LockOp) -> (LockRequest, NodeId) {
        self.raft.workload_mut().next = Some(op);
        let mut sub = servers_ctx(cx);
        let (_, req, to) = self.raft.begin(&mut sub);
        if let Some(cur) = &mut self.op {
            cur.seq = req.seq;
            cur.asked_at = cx.local.mono;
        }
        (LockRequest::Raft(req), to)
    }

    /// Sends the current step (after the stall, if it is due before this one).
    fn send_step(&mut self, cx: &mut ClientCtx<'_>) -> Next<LockRequest> {
        let stall = self.op.as_mut().and_then(|cur| {
            let after_first_write = cur.at == 1 && cur.steps.first() == Some(&Step::Write(0));
            after_first_write.then(|| cur.stall.take()).flatten()
        });
        match (self.request(cx), stall) {
            (Some((req, to)), Some(after)) => Next::SendAfter { after, to, req },
            (Some((req, to)), None) => Next::Send { to, req },
            (None, _) => self.finish_unknown(),
        }
    }

    /// The current step is over: on to the next, or finish the operation.
    fn advance(&mut self, cx: &mut ClientCtx<'_>) -> Next<LockRequest> {
        let Some(cur) = &mut self.op else {
            return Next::Unknown;
        };
        cur.at += 1;
        if cur.at < cur.steps.len() {
            return self.send_step(cx);
        }
        let Some(cur) = self.op.take() else {
            return Next::Unknown;
        };
        match cur.kind {
            Kind::Acquire => {
                // Redlock: all servers asked.
                let servers = LockOptions::servers(cx.nodes).len();
                let lapse = cur.asked_at.saturating_add(self.usable());
                if cur.granted.len() > servers / 2 {
                    self.grant(cx, cur, lapse)
                } else {
                    self.hand_back(cx, cur)
                }
            }
            Kind::AcquireReturn => done(OpType::Fail, None),
            Kind::Release => {
                self.held = None;
                done(OpType::Ok, None)
            }
            // Renewals go through Raft only (Redlock clients do not renew).
            Kind::Renew => done(OpType::Fail, None),
        }
    }

    fn current_step(&self) -> Option<Step> {
        let cur = self.op.as_ref()?;
        cur.steps.get(cur.at).copied()
    }

    fn begin_op(
        &mut self,
        cx: &mut ClientCtx<'_>,
        op: Op,
        describe: OpDescription,
    ) -> (OpDescription, LockRequest, NodeId) {
        self.op = Some(op);
        match self.request(cx) {
            Some((req, to)) => (describe, req, to),
            // Cannot happen (every operation has a first step); a harmless ask keeps the host
            // going, and the reply ends the operation as unknown.
            None => {
                self.op = None;
                (
                    describe,
                    LockRequest::Write(WriteReq {
                        lock: String::new(),
                        holder: String::new(),
                        token: None,
                        step: u32::MAX,
                    }),
                    LockOptions::resource(cx.nodes),
                )
            }
        }
    }
}

impl ClientLogic<LockNode> for LockClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, LockRequest, NodeId) {
        let now = cx.local.mono;
        let fresh = |kind, name: String, owner: String, token, steps| Op {
            kind,
            name,
            owner,
            token,
            steps,
            at: 0,
            stall: None,
            seq: 0,
            asked_at: now,
            granted: Vec::new(),
        };
        match self.held.clone() {
            None => {
                let name = match self.leave.take() {
                    // Still needs the lock it gave up waiting for: keep the place in its queue.
                    Some(old) if Self::permille(cx, self.opts.wait_again_permille) => old,
                    left => {
                        self.leave = left;
                        format!("lock{}", cx.rng.random_range(0..self.opts.locks))
                    }
                };
                self.attempts += 1;
                let owner = format!("c{}a{}", self.client.0, self.attempts);
                if self.leave.as_ref() == Some(&name) {
                    // Drawn afresh, the same lock: its place is still good.
                    self.leave = None;
                }
                let steps = if self.redlock {
                    each_server(cx.nodes, Step::RedSet)
                } else if self.leave.is_some() {
                    vec![Step::Cancel, Step::Raft]
                } else {
                    vec![Step::Raft]
                };
                self.raft.workload_mut().queued = false;
                let d = describe("acquire", &name, None);
                self.begin_op(cx, fresh(Kind::Acquire, name, owner, None, steps), d)
            }
            Some(h) if h.renew && !h.lost && now < h.lapse => {
                if let Some(held) = &mut self.held {
                    held.renew = false;
                }
                let d = describe("renew", &h.name, h.token);
                let op = fresh(Kind::Renew, h.name, h.owner, h.token, vec![Step::Raft]);
                self.begin_op(cx, op, d)
            }
            Some(h) => {
                // The check: the lease is still ours by our clock. What follows it (a stall
                // included) cannot be made atomic with it; that is what fencing is for.
                let valid = now < h.lapse && !h.lost;
                let writes = if valid { self.opts.writes_per_hold } else { 0 };
                let mut steps: Vec<Step> = (0..writes).map(Step::Write).collect();
                if self.redlock {
                    steps.extend(each_server(cx.nodes, Step::RedDel));
                } else {
                    steps.push(Step::Raft);
                }
                let stall = (valid && Self::permille(cx, self.opts.stall_permille))
                    .then(|| Duration::from_millis(self.opts.stall_ms));
                let d = describe("release", &h.name, h.token);
                let mut op = fresh(Kind::Release, h.name, h.owner, h.token, steps);
                op.stall = stall;
                self.begin_op(cx, op, d)
            }
        }
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.opts.attempt_timeout_ms).min(op_timeout)
    }

    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: LockResponse) -> Next<LockRequest> {
        let Some(step) = self.current_step() else {
            return Next::Unknown;
        };
        match (step, resp) {
            (Step::Raft | Step::Cancel, LockResponse::Raft(r)) => {
                let next = self.raft.on_reply(&mut servers_ctx(cx), r);
                self.raft_next(cx, next)
            }
            (Step::Write(i), LockResponse::Write(w)) if w.step() == i => {
                if let WriteResp::Rejected { .. } = w {
                    // Fenced off: the lease is gone. Release without writing more.
                    if let Some(cur) = &mut self.op {
                        cur.steps.retain(|s| !matches!(s, Step::Write(_)));
                        cur.at = 0;
                        return self.send_step(cx);
                    }
                }
                self.advance(cx)
            }
            (
                Step::RedSet(n),
                LockResponse::Redlock {
                    from,
                    resp: RedlockResp::Set { ok },
                },
            ) if from == n => {
                if let (true, Some(cur)) = (ok, &mut self.op) {
                    cur.granted.push(n);
                }
                self.advance(cx)
            }
            (Step::RedDel(n), LockResponse::Redlock { from, .. }) if from == n => self.advance(cx),
            (Step::Raft | Step::Cancel, _) => {
                // A late answer to an earlier step: the core's attempt goes on as if timed out.
                let next = self.raft.on_timeout(&mut servers_ctx(cx));
                self.raft_next(cx, next)
            }
            // A late answer to an earlier step: ask the current one again.
            _ => self.send_step(cx),
        }
    }

    /// During a Raft step only an answer to the Raft request in flight is news: a late answer
    /// to an earlier request (a cancel, an earlier ask) or to an earlier write or Redlock step
    /// is dropped, rather than read as this request's answer or as a sign it may have been
    /// applied.
    fn awaits(&self, answered: &LockRequest) -> bool {
        match (self.current_step(), answered) {
            (Some(Step::Raft | Step::Cancel), LockRequest::Raft(req)) => {
                self.raft.awaits_answer_to(req)
            }
            (Some(Step::Raft | Step::Cancel), _) => false,
            _ => true,
        }
    }

    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<LockRequest> {
        match self.current_step() {
            Some(Step::Raft | Step::Cancel) => {
                let next = self.raft.on_timeout(&mut servers_ctx(cx));
                self.raft_next(cx, next)
            }
            // A write or a Redlock server that does not answer is given up.
            Some(_) => self.advance(cx),
            None => Next::Unknown,
        }
    }

    fn on_deadline(&mut self, cx: &mut ClientCtx<'_>) -> Next<LockRequest> {
        let kind = self.op.as_ref().map(|o| o.kind);
        if let (Some(Kind::Acquire), Some(Step::Cancel)) = (kind, self.current_step()) {
            // Still leaving the old queue: this acquire was never asked.
            self.op = None;
            self.leave = None;
            return done(OpType::Fail, None);
        }
        if let (Some(Kind::Acquire), Some(Step::Raft)) = (kind, self.current_step()) {
            // The core knows whether any attempt can have been granted.
            if let Next::Done(c) = self.raft.on_deadline(&mut servers_ctx(cx)) {
                let op = self.op.take();
                self.gave_up(op);
                return Next::Done(Completion {
                    op_type: OpType::Fail,
                    value: c.value,
                });
            }
        }
        self.finish_unknown()
    }

    fn hold_until(&mut self, _cx: &mut ClientCtx<'_>) -> Option<LocalInstant> {
        self.held.as_ref().map(|h| h.hold_end)
    }

    fn must_go_on(&self) -> bool {
        self.held.is_some()
    }
}
