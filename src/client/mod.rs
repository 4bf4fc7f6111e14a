//! Clients: Jepsen-style workers that run one logical operation at a time against the cluster
//! and record its invocation and completion in the history, at message boundaries — never
//! inside a node.
//!
//! A service's client side is a sans-IO core ([`ClientLogic`]): it draws the next operation,
//! says where to send each attempt, and reads each reply or timeout — a leader redirect, a
//! retry with the same request id, or the final answer. The generic host ([`host::run_client`])
//! carries that out against a [`ClientEnv`] (simulated or real) and records the *logical*
//! operation: `invoke`, then `ok` / `fail` (definitely not applied) or `info` (unknown: it
//! timed out — never guessed). After an `info` the worker continues as a fresh process, as
//! Jepsen does.

pub mod host;

use crate::history::{OpRecord, OpType};
use crate::ids::{Addr, ClientId, NodeId};
use crate::node::env::Inbound;
use crate::node::service::Service;
use crate::rng::DetRng;
use crate::time::{LocalInstant, LocalNow, SimTime};
use serde_json::Value;
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

/// How an operation appears in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDescription {
    /// The operation's name (`next`, `get`, `cas`, ...).
    pub f: &'static str,
    /// The key it is on, if the service has keys.
    pub key: Option<Value>,
    /// Its input (the value written, a cas `[expected, new]`), recorded on `invoke`.
    pub value: Option<Value>,
}

/// How a logical operation ended, for the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `ok`, or `fail` — the operation definitely did not take effect.
    pub op_type: OpType,
    /// The output to record (the value read, the id issued, ...).
    pub value: Option<Value>,
}

/// What the client host does next within one logical operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Next<Req> {
    /// Send (or resend) a request; a retry carries the same request content (same session
    /// sequence number), so the service can apply it at most once.
    Send {
        /// Where to.
        to: NodeId,
        /// What.
        req: Req,
    },
    /// Wait a little, then send (there is no leader to talk to yet: back off rather than spin).
    SendAfter {
        /// How long to wait first.
        after: Duration,
        /// Where to.
        to: NodeId,
        /// What.
        req: Req,
    },
    /// The operation is over with a definite answer.
    Done(Completion),
    /// The outcome cannot be known: recorded as `info`.
    Unknown,
}

/// What a client core may use while deciding.
pub struct ClientCtx<'a> {
    /// This client.
    pub client: ClientId,
    /// The client machine's clocks, read once for this decision (under simulation: the clocks
    /// of the node it sits next to, skew and all).
    pub local: LocalNow,
    /// The cluster's nodes.
    pub nodes: &'a [NodeId],
    /// The client's own seeded stream.
    pub rng: &'a mut DetRng,
}

/// The sans-IO client core of a service: one instance per client, kept across operations (so
/// it can remember the leader and number its requests).
pub trait ClientLogic<S: Service>: 'static {
    /// Draws the next logical operation: how it reads in the history, and its first request
    /// and destination.
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, S::Request, NodeId);
    /// How long one attempt waits for its reply before [`ClientLogic::on_timeout`]; the
    /// operation as a whole is bounded by the workload's `timeout_ms`.
    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        op_timeout
    }
    /// A reply to the current operation arrived (also a late one to an earlier attempt, unless
    /// [`ClientLogic::awaits`] turned it away).
    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: S::Response) -> Next<S::Request>;
    /// Whether a reply to `answered` — the request of one of the current operation's attempts
    /// (the transport echoes which) — is still news. A core that sends different requests
    /// within one operation (a new request after an answer, a cancel before asking again)
    /// returns false for a late answer to an earlier one: the host drops it and keeps waiting
    /// for the current attempt, so it neither reads as the current request's answer nor costs
    /// a resend. By default every reply is news.
    fn awaits(&self, answered: &S::Request) -> bool {
        let _ = answered;
        true
    }
    /// The current attempt got no reply in time — by its own timeout or because the
    /// operation's deadline cut it short. It was sent, so it may have taken effect.
    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<S::Request>;
    /// The operation's deadline passed (after [`ClientLogic::on_timeout`] for an attempt it
    /// cut short). `Unknown` unless the core knows none of its attempts can have taken effect:
    /// a definite `fail` claims exactly that.
    fn on_deadline(&mut self, _cx: &mut ClientCtx<'_>) -> Next<S::Request> {
        Next::Unknown
    }
    /// Asked before each operation, after the think time: wait until the client's own
    /// monotonic clock reads this first (a lock holder using its lease to the end). `None`:
    /// begin at once.
    fn hold_until(&mut self, _cx: &mut ClientCtx<'_>) -> Option<LocalInstant> {
        None
    }
    /// True while the client owes the service another operation before it may stop (a lock
    /// holder must release, or its history would show a lock held to the end).
    fn must_go_on(&self) -> bool {
        false
    }
}

/// What a backend gives a client.
#[allow(async_fn_in_trait)]
pub trait ClientEnv {
    /// This client.
    fn me(&self) -> ClientId;
    /// Time as the history records it (true simulated time under simulation).
    fn now(&self) -> SimTime;
    /// The client machine's own clocks (skewed under simulation).
    fn local_now(&self) -> LocalNow;
    /// Sleeps until the client's monotonic clock reads `deadline`, or less (callers re-check).
    fn local_sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static;
    /// Sleeps for `d` of client time.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static;
    /// The next message addressed to this client.
    async fn recv(&mut self) -> Inbound;
    /// Sends an encoded body.
    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue);
    /// Records one history line.
    fn record(&mut self, op: OpRecord);
    /// True once the run wants no new operations.
    fn should_stop(&self) -> bool;
}

/// How every client of a run behaves, whatever the service.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The cluster's nodes.
    pub nodes: Vec<NodeId>,
    /// Process ids advance by this after an `info` (the number of clients), so they stay unique.
    pub process_stride: u64,
    /// Pause between operations, drawn uniformly from `[min, max]`.
    pub think_ms_min: u64,
    /// See `think_ms_min`.
    pub think_ms_max: u64,
    /// A logical operation that has no definite answer after this long is recorded `info`.
    pub timeout_ms: u64,
}
