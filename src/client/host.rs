//! The generic client host: runs a service's [`ClientLogic`] against a [`ClientEnv`], one
//! logical operation at a time, and records each in the history.

use super::{ClientConfig, ClientCtx, ClientEnv, ClientLogic, Completion, Next};
use crate::history::{OpRecord, OpType};
use crate::ids::{Addr, NodeId};
use crate::net::envelope::{Body, decode_body, encode_body};
use crate::node::service::{Message, Service};
use crate::rng::DetRng;
use crate::time::SimTime;
use rand::Rng;
use std::time::Duration;

type ServiceBody<S> = Body<<S as Service>::Msg, <S as Service>::Request, <S as Service>::Response>;

/// Bound on attempts within one logical operation, so a core that keeps redirecting cannot
/// spin; reaching it counts as reaching the deadline.
pub const ATTEMPTS_MAX: u32 = 256;

/// Runs one client until the run says stop.
pub async fn run_client<S, L, E>(mut env: E, mut logic: L, cfg: ClientConfig, mut rng: DetRng)
where
    S: Service,
    L: ClientLogic<S>,
    E: ClientEnv,
{
    assert!(!cfg.nodes.is_empty(), "a client needs at least one node");
    assert!(
        cfg.think_ms_min <= cfg.think_ms_max,
        "think bounds reversed"
    );
    let me = env.me();
    let mut process = u64::from(me.0);
    let mut req_id = 0u64;
    loop {
        let think = rng.random_range(cfg.think_ms_min..=cfg.think_ms_max);
        env.sleep(Duration::from_millis(think)).await;
        if env.should_stop() && !logic.must_go_on() {
            return;
        }
        let mut cx = ClientCtx {
            client: me,
            local: env.local_now(),
            nodes: &cfg.nodes,
            rng: &mut rng,
        };
        if let Some(until) = logic.hold_until(&mut cx) {
            while env.local_now().mono < until {
                env.local_sleep_until(until).await;
            }
            cx = ClientCtx {
                client: me,
                local: env.local_now(),
                nodes: &cfg.nodes,
                rng: &mut rng,
            };
        }
        let (d, req, to) = logic.begin(&mut cx);
        let record = |op_type, value| OpRecord {
            client: me,
            process,
            op_type,
            f: d.f,
            key: d.key.clone(),
            value,
        };
        env.record(record(OpType::Invoke, d.value.clone()));
        let op = Operation {
            first_req_id: req_id + 1,
            deadline: env
                .now()
                .saturating_add(Duration::from_millis(cfg.timeout_ms)),
            op_timeout: Duration::from_millis(cfg.timeout_ms),
        };
        let ending = op
            .run::<S, L, E>(
                &mut env,
                &mut logic,
                &cfg.nodes,
                &mut rng,
                &mut req_id,
                req,
                to,
            )
            .await;
        match ending {
            Some(c) => {
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

/// One logical operation in flight.
struct Operation {
    /// Replies to any attempt from this request id on belong to this operation.
    first_req_id: u64,
    deadline: SimTime,
    op_timeout: Duration,
}

impl Operation {
    /// Sends attempts until the logic has a definite answer (`Some`) or gives up (`None`).
    #[allow(clippy::too_many_arguments)]
    async fn run<S, L, E>(
        &self,
        env: &mut E,
        logic: &mut L,
        nodes: &[NodeId],
        rng: &mut DetRng,
        req_id: &mut u64,
        mut req: S::Request,
        mut to: NodeId,
    ) -> Option<Completion>
    where
        S: Service,
        L: ClientLogic<S>,
        E: ClientEnv,
    {
        let me = env.me();
        let mut wait = Duration::ZERO;
        // Every attempt's request, by request id from `first_req_id`: a reply names the
        // attempt it answers, and the logic says whether an answer to that request is news.
        let mut sent: Vec<S::Request> = Vec::new();
        for _ in 0..ATTEMPTS_MAX {
            if !wait.is_zero() {
                let left = self.deadline.saturating_since(env.now());
                env.sleep(wait.min(left)).await;
                if env.now() >= self.deadline {
                    // Out of time before sending again: the logic decides from what it knows.
                    break;
                }
            }
            *req_id += 1;
            send_request::<S, E>(env, to, *req_id, &req);
            sent.push(req.clone());
            let attempt_end = env
                .now()
                .saturating_add(logic.attempt_timeout(self.op_timeout))
                .min(self.deadline);
            let reply = self
                .await_reply::<S, L, E>(env, logic, &sent, *req_id, attempt_end)
                .await;
            let mut cx = ClientCtx {
                client: me,
                local: env.local_now(),
                nodes,
                rng,
            };
            let next = match reply {
                Some(resp) => logic.on_reply(&mut cx, resp),
                // Sent and not answered: whether its own timeout or the operation's deadline
                // ended the wait, it may have been applied, and the logic hears of it as a
                // timeout before it is asked (at the deadline) whether the operation can
                // still be a definite failure. Skipping this for a deadline-cut attempt
                // recorded writes that may have been applied as `fail`.
                None => logic.on_timeout(&mut cx),
            };
            let expired = env.now() >= self.deadline;
            match next {
                Next::Done(c) => return Some(c),
                Next::Unknown => return None,
                Next::Send { .. } | Next::SendAfter { .. } if expired => {
                    return match logic.on_deadline(&mut cx) {
                        Next::Done(c) => Some(c),
                        Next::Send { .. } | Next::SendAfter { .. } | Next::Unknown => None,
                    };
                }
                Next::Send { to: t, req: r } => (to, req, wait) = (t, r, Duration::ZERO),
                Next::SendAfter {
                    after,
                    to: t,
                    req: r,
                } => (to, req, wait) = (t, r, after),
            }
        }
        let mut cx = ClientCtx {
            client: me,
            local: env.local_now(),
            nodes,
            rng,
        };
        match logic.on_deadline(&mut cx) {
            Next::Done(c) => Some(c),
            Next::Send { .. } | Next::SendAfter { .. } | Next::Unknown => None,
        }
    }

    /// Waits for a reply to any attempt of this operation until `until`; replies to earlier
    /// operations are stale and ignored, and so are replies to requests of this operation the
    /// logic no longer awaits (`sent`: each attempt's request, from `first_req_id` on).
    async fn await_reply<S: Service, L: ClientLogic<S>, E: ClientEnv>(
        &self,
        env: &mut E,
        logic: &L,
        sent: &[S::Request],
        last_req_id: u64,
        until: SimTime,
    ) -> Option<S::Response> {
        let mine = self.first_req_id..=last_req_id;
        loop {
            let left = until.saturating_since(env.now());
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
                Ok(Body::Reply { req_id, resp }) if mine.contains(&req_id) => {
                    let at = usize::try_from(req_id - self.first_req_id).unwrap_or(usize::MAX);
                    if sent.get(at).is_none_or(|answered| logic.awaits(answered)) {
                        return Some(resp);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(client = %env.me(), error = %e, "undecodable reply"),
            }
        }
    }
}

fn send_request<S: Service, E: ClientEnv>(env: &mut E, to: NodeId, req_id: u64, req: &S::Request) {
    let label = req.label();
    let body: ServiceBody<S> = Body::Request {
        req_id,
        req: req.clone(),
    };
    // Request types are plain data; one JSON cannot encode is a bug in the service.
    let raw = encode_body(&body).expect("service request types must encode as JSON");
    env.send(Addr::Node(to), label, &raw);
}
