//! The client core: finds the leader, follows `NotLeader { hint }` redirects, retries on
//! timeout with the same session sequence number (so a write is applied at most once), backs
//! off while no leader is known, and records each operation in the checker's `kv` format:
//! `ok`/`fail` only when it knows, `info` otherwise: a read that never got an answer is `fail`
//! (it took no effect), a write that never got one is `info`, a cas that did not swap `fail`.
//!
//! History: `read` (ok value = the value read, `null` when absent), `write` (value), `cas`
//! (value `[expected, new]`; `fail` when it did not swap), `append` (value = the suffix).
//! Values and suffixes are unique per client and write (`c3-17`, `c3.17;`), so a read shows
//! which writes it saw.

use crate::RaftKvOptions;
use crate::machine::{KvOp, KvOutput};
use crate::msg::{KvRequest, KvResponse};
use crate::node::RaftKvNode;
use faultlab::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// The operation in flight.
#[derive(Debug)]
struct Current {
    req: KvRequest,
    target: NodeId,
}

/// One client.
#[derive(Debug)]
pub struct KvClient {
    client: ClientId,
    session: u64,
    /// Last write sequence number used.
    seq: u64,
    /// Writes drawn so far (makes values unique).
    writes: u64,
    keys: u32,
    /// Cumulative weights of get, put, cas, append.
    cumulative: [u32; 4],
    read_only: bool,
    attempt_timeout_ms: u64,
    backoff_ms: u64,
    leader: Option<NodeId>,
    current: Option<Current>,
    /// The value this client last saw for each key (what its cas expects).
    seen: BTreeMap<String, Option<String>>,
}

impl KvClient {
    /// The client `client` of a cluster configured with `opts`.
    pub fn new(opts: &RaftKvOptions, client: ClientId) -> Self {
        let mut cumulative = [0; 4];
        let mut sum = 0;
        let weights = [
            opts.get_weight,
            opts.put_weight,
            opts.cas_weight,
            opts.append_weight,
        ];
        for (c, w) in cumulative.iter_mut().zip(weights) {
            sum += w;
            *c = sum;
        }
        KvClient {
            client,
            session: u64::from(client.0) + 1,
            seq: 0,
            writes: 0,
            keys: opts.keys,
            cumulative,
            read_only: client.0 < opts.read_only_clients,
            attempt_timeout_ms: opts.attempt_timeout_ms,
            backoff_ms: opts.backoff_ms,
            leader: None,
            current: None,
            seen: BTreeMap::new(),
        }
    }

    fn unique(&mut self, sep: &str) -> String {
        self.writes += 1;
        format!("c{}{sep}{}", self.client.0, self.writes)
    }

    /// A node other than `not` (the next one round the cluster).
    fn another(cx: &ClientCtx<'_>, not: NodeId) -> NodeId {
        let nodes = cx.nodes;
        match nodes.iter().position(|&n| n == not) {
            Some(i) if nodes.len() > 1 => nodes[(i + 1) % nodes.len()],
            _ => nodes.first().copied().unwrap_or(not),
        }
    }

    fn resend(&mut self, to: NodeId, backoff: bool) -> Next<KvRequest> {
        let Some(cur) = &mut self.current else {
            return Next::Unknown;
        };
        cur.target = to;
        let req = cur.req.clone();
        if backoff {
            Next::SendAfter {
                after: Duration::from_millis(self.backoff_ms),
                to,
                req,
            }
        } else {
            Next::Send { to, req }
        }
    }

    fn complete(&mut self, op: &KvOp, output: KvOutput) -> Completion {
        let ok = |value| Completion {
            op_type: OpType::Ok,
            value,
        };
        match (op, output) {
            (KvOp::Get { key }, KvOutput::Value { value }) => {
                self.seen.insert(key.clone(), value.clone());
                ok(Some(json!(value)))
            }
            (KvOp::Put { key, value }, KvOutput::Done) => {
                self.seen.insert(key.clone(), Some(value.clone()));
                ok(None)
            }
            (KvOp::Cas { key, new, .. }, KvOutput::Cas { swapped: true }) => {
                self.seen.insert(key.clone(), Some(new.clone()));
                ok(None)
            }
            // Did not swap: it took no effect.
            (KvOp::Cas { key, .. }, KvOutput::Cas { swapped: false }) => {
                self.seen.remove(key);
                Completion {
                    op_type: OpType::Fail,
                    value: None,
                }
            }
            (KvOp::Append { key, .. }, KvOutput::Done) => {
                self.seen.remove(key);
                ok(None)
            }
            // An output of another kind is a server bug: record something the checker rejects.
            (_, other) => ok(Some(json!({ "unexpected": format!("{other:?}") }))),
        }
    }
}

fn describe(f: &'static str, key: &str, value: Option<Value>) -> OpDescription {
    OpDescription {
        f,
        key: Some(json!(key)),
        value,
    }
}

impl ClientLogic<RaftKvNode> for KvClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, KvRequest, NodeId) {
        let key = format!("k{}", cx.rng.random_range(0..self.keys.max(1)));
        let total = self.cumulative[3].max(1);
        let pick = cx.rng.random_range(0..total);
        let kind = if self.read_only {
            0
        } else {
            self.cumulative.iter().position(|&c| pick < c).unwrap_or(0)
        };
        let (op, d) = match kind {
            0 => (KvOp::Get { key: key.clone() }, describe("read", &key, None)),
            1 => {
                let value = self.unique("-");
                let d = describe("write", &key, Some(json!(value)));
                (KvOp::Put { key, value }, d)
            }
            2 => {
                let expected = self.seen.get(&key).cloned().flatten();
                let new = self.unique("-");
                let d = describe("cas", &key, Some(json!([expected, new])));
                (KvOp::Cas { key, expected, new }, d)
            }
            _ => {
                let suffix = format!("{};", self.unique("."));
                let d = describe("append", &key, Some(json!(suffix)));
                (KvOp::Append { key, suffix }, d)
            }
        };
        // Only writes are numbered: a read is never logged.
        let seq = if op.is_read() {
            0
        } else {
            self.seq += 1;
            self.seq
        };
        let target = match self.leader {
            Some(l) => l,
            None => cx.nodes[cx.rng.random_range(0..cx.nodes.len())],
        };
        let req = KvRequest {
            client_id: self.session,
            seq,
            op,
        };
        self.current = Some(Current {
            req: req.clone(),
            target,
        });
        (d, req, target)
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        Duration::from_millis(self.attempt_timeout_ms).min(op_timeout)
    }

    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: KvResponse) -> Next<KvRequest> {
        let Some(cur) = &mut self.current else {
            return Next::Unknown;
        };
        let target = cur.target;
        match resp {
            KvResponse::Done(output) => {
                self.leader = Some(target);
                let op = cur.req.op.clone();
                self.current = None;
                Next::Done(self.complete(&op, output))
            }
            KvResponse::NotLeader { hint } => {
                self.leader = None;
                match hint.filter(|h| *h != target && cx.nodes.contains(h)) {
                    Some(leader) => {
                        self.leader = Some(leader);
                        self.resend(leader, false)
                    }
                    None => {
                        let next = Self::another(cx, target);
                        self.resend(next, true)
                    }
                }
            }
            KvResponse::Unknown => {
                self.leader = None;
                let next = Self::another(cx, target);
                self.resend(next, true)
            }
            KvResponse::Unavailable => {
                self.leader = None;
                let next = Self::another(cx, target);
                self.resend(next, false)
            }
        }
    }

    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<KvRequest> {
        let Some(cur) = &self.current else {
            return Next::Unknown;
        };
        let target = cur.target;
        self.leader = None;
        let next = Self::another(cx, target);
        self.resend(next, false)
    }

    fn on_deadline(&mut self, _cx: &mut ClientCtx<'_>) -> Next<KvRequest> {
        let Some(cur) = self.current.take() else {
            return Next::Unknown;
        };
        // A read never takes effect: a definite failure. A write always had an attempt sent
        // (the host may even call this with the last one still in flight, and the network may
        // have duplicated a request a node refused): it may have been applied — unknown.
        if cur.req.op.is_read() {
            Next::Done(Completion {
                op_type: OpType::Fail,
                value: None,
            })
        } else {
            Next::Unknown
        }
    }
}
