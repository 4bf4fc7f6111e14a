//! Clients: Jepsen-style workers that issue one operation at a time against the cluster and
//! record each invocation and completion in the history, at message boundaries — never inside
//! a node. A timed-out operation is recorded as `info` (it may or may not have happened) and
//! the worker continues as a fresh process, as Jepsen does.

use crate::history::OpType;
use crate::ids::{Addr, ClientId, NodeId};
use crate::net::envelope::{Body, decode_body, encode_body};
use crate::node::env::Inbound;
use crate::node::service::{Message, Service};
use crate::rng::DetRng;
use crate::time::SimTime;
use rand::Rng;
use serde_json::Value;
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

/// How an operation appears in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDescription {
    pub f: &'static str,
    pub key: Option<Value>,
    pub value: Option<Value>,
}

/// What a response means for the history: `ok` or `fail` (definitely not applied), and the
/// value to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub op_type: OpType,
    pub value: Option<Value>,
}

/// What clients of a service ask, and how requests and responses read in the history.
pub trait Workload<S: Service>: 'static {
    fn generate(&mut self, rng: &mut DetRng) -> S::Request;
    fn describe(&self, req: &S::Request) -> OpDescription;
    fn complete(&self, req: &S::Request, resp: &S::Response) -> Completion;
}

/// One history line, as the client loop hands it to its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct OpRecord {
    pub client: ClientId,
    pub process: u64,
    pub op_type: OpType,
    pub f: &'static str,
    pub key: Option<Value>,
    pub value: Option<Value>,
}

/// What a backend gives a client.
#[allow(async_fn_in_trait)]
pub trait ClientEnv {
    fn me(&self) -> ClientId;
    /// Time as the history records it (true simulated time under simulation).
    fn now(&self) -> SimTime;
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static;
    async fn recv(&mut self) -> Inbound;
    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue);
    fn record(&mut self, op: OpRecord);
    /// True once the run wants no new operations.
    fn should_stop(&self) -> bool;
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub nodes: Vec<NodeId>,
    /// Process ids advance by this after an `info` (the number of clients), so they stay unique.
    pub process_stride: u64,
    pub think_ms_min: u64,
    pub think_ms_max: u64,
    pub timeout_ms: u64,
}

type ServiceBody<S> = Body<<S as Service>::Msg, <S as Service>::Request, <S as Service>::Response>;

/// Runs one client until the run says stop.
pub async fn run_client<S, W, E>(mut env: E, mut workload: W, cfg: ClientConfig, mut rng: DetRng)
where
    S: Service,
    W: Workload<S>,
    E: ClientEnv,
{
    assert!(!cfg.nodes.is_empty(), "a client needs at least one node");
    let me = env.me();
    let mut process = u64::from(me.0);
    let mut req_id = 0u64;
    loop {
        let think = rng.random_range(cfg.think_ms_min..=cfg.think_ms_max);
        env.sleep(Duration::from_millis(think)).await;
        if env.should_stop() {
            return;
        }
        let req = workload.generate(&mut rng);
        let target = cfg.nodes[rng.random_range(0..cfg.nodes.len())];
        req_id += 1;
        let d = workload.describe(&req);
        let record = |op_type, value| OpRecord {
            client: me,
            process,
            op_type,
            f: d.f,
            key: d.key.clone(),
            value,
        };
        env.record(record(OpType::Invoke, d.value.clone()));
        let label = req.label();
        let body: ServiceBody<S> = Body::Request {
            req_id,
            req: req.clone(),
        };
        // Request types are plain data; one JSON cannot encode is a bug in the service.
        let raw = encode_body(&body).expect("service request types must encode as JSON");
        env.send(Addr::Node(target), label, &raw);
        match await_reply::<S, E>(&mut env, req_id, Duration::from_millis(cfg.timeout_ms)).await {
            Some(resp) => {
                let c = workload.complete(&req, &resp);
                debug_assert!(matches!(c.op_type, OpType::Ok | OpType::Fail));
                env.record(record(c.op_type, c.value));
            }
            None => {
                env.record(record(OpType::Info, None));
                process += cfg.process_stride;
            }
        }
    }
}

/// Waits for the reply to `req_id`; stale replies to earlier, timed-out requests are ignored.
async fn await_reply<S: Service, E: ClientEnv>(
    env: &mut E,
    req_id: u64,
    timeout: Duration,
) -> Option<S::Response> {
    let deadline = env.now().saturating_add(timeout);
    loop {
        let left = deadline.saturating_since(env.now());
        if left.is_zero() {
            return None;
        }
        let sleep = env.sleep(left);
        let inbound = tokio::select! {
            biased;
            () = sleep => return None,
            inbound = env.recv() => inbound,
        };
        match decode_body::<ServiceBody<S>>(&inbound.body) {
            Ok(Body::Reply { req_id: got, resp }) if got == req_id => return Some(resp),
            Ok(_) => {}
            Err(e) => tracing::warn!(client = %env.me(), error = %e, "undecodable reply"),
        }
    }
}
