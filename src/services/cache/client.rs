//! The client core: an application server using the cache look-aside.
//!
//! - read: ask the key's cache node (by the consistent-hash ring over cache nodes); on a hit,
//!   done; on a miss, read the store and, with the miss's lease, fill the cache. A cache node
//!   that does not answer is skipped: read the store, fill nothing.
//! - write: write the store (one session, a retry carries the same sequence number), then
//!   invalidate the key's cache node. The write is reported done once the invalidation is
//!   acknowledged — or, when the cache node cannot be reached, once the writer has waited out
//!   every copy an older fill could have left (`CacheOptions::wait_out`, on its own clock).
//!   Either way, no older copy can be served when the write completes: that is the promise.
//!
//! History: `read` (ok value = the value read, `null` if absent), `write` (value = what was
//! written, unique per write); every line carries the key.

use super::bugs;
use super::msg::{CacheRequest, CacheResponse};
use super::options::CacheOptions;
use crate::bugs::BugSet;
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::{ClientId, NodeId};
use crate::services::kv::api::{Answer, Call, KvOp, KvResult, Rejection};
use crate::services::ring::Ring;
use crate::time::LocalInstant;
use rand::Rng;
use serde_json::json;
use std::time::Duration;

use super::node::CacheNode;

/// Where the current operation is.
#[derive(Debug, Clone)]
enum Step {
    /// Asked the cache node.
    Lookup { key: String },
    /// Reading the store; with a lease, fill afterwards.
    StoreRead { key: String, token: Option<u64> },
    /// Filling; the read's value is already known.
    Fill { value: Option<String> },
    /// Writing the store; `invalidated` when the (buggy) writer invalidated first.
    StoreWrite {
        key: String,
        call: Call,
        invalidated: bool,
    },
    /// Invalidating; `acked_at` is when the store acknowledged the write (none yet when the
    /// buggy writer invalidates first).
    Invalidate {
        key: String,
        call: Call,
        acked_at: Option<LocalInstant>,
    },
}

/// One client.
#[derive(Debug)]
pub struct CacheClient {
    client: ClientId,
    opts: CacheOptions,
    invalidate_first: bool,
    /// This client only reads.
    read_only: bool,
    /// The run's first client id: 0 under simulation; on real sockets a random number that
    /// names the run and its keys (`k3@<run>`), so a second `load` on a cluster that holds the
    /// first one's values starts from keys nobody has written (as the KV store's clients do).
    run: u32,
    ring: Option<Ring>,
    session: u64,
    seq: u64,
    writes: u64,
    /// The store node believed to lead.
    leader: Option<NodeId>,
    step: Option<Step>,
    /// Where the current attempt went.
    target: NodeId,
}

impl CacheClient {
    /// Client `client` of a tier with these options, under the run's bugs.
    pub fn new(opts: &CacheOptions, clients: u32, client: ClientId, bugs: &BugSet) -> Self {
        // Client ids are consecutive from the run's first: modulo the count they number 0..n.
        let index = client.0 % clients.max(1);
        CacheClient {
            read_only: index >= clients.saturating_sub(opts.read_only_clients),
            run: client.0.saturating_sub(index),
            client,
            opts: opts.clone(),
            invalidate_first: bugs.contains(&bugs::INVALIDATE_BEFORE_WRITE),
            ring: None,
            session: u64::from(client.0) + 1,
            seq: 0,
            writes: 0,
            leader: None,
            step: None,
            target: NodeId(0),
        }
    }

    fn stores<'a>(&self, cx: &ClientCtx<'a>) -> &'a [NodeId] {
        let n = (self.opts.store_nodes as usize).min(cx.nodes.len());
        &cx.nodes[..n]
    }

    /// The cache node of `key`: the ring over the cache nodes' indices.
    fn cache_of(&mut self, cx: &ClientCtx<'_>, key: &str) -> Option<NodeId> {
        let caches = cx.nodes.get(self.opts.store_nodes as usize..)?;
        if self.ring.is_none() {
            let groups: Vec<u32> = (0..caches.len() as u32).collect();
            self.ring = Ring::new(&groups, 64).ok();
        }
        let g = self.ring.as_ref()?.group_of(key)?;
        caches.get(g as usize).copied()
    }

    /// The store node to try: the known leader, else one at random.
    fn store_node(&self, cx: &mut ClientCtx<'_>) -> NodeId {
        if let Some(l) = self.leader {
            return l;
        }
        let stores = self.stores(cx);
        let i = cx.rng.random_range(0..stores.len().max(1));
        stores.get(i).copied().unwrap_or(NodeId(0))
    }

    /// Forgets the leader and picks the next store node after `not`.
    fn next_store(&mut self, cx: &ClientCtx<'_>, not: Option<NodeId>) -> NodeId {
        self.leader = None;
        let stores = self.stores(cx);
        let at = not.and_then(|n| stores.iter().position(|&s| s == n));
        let i = at.map_or(0, |i| (i + 1) % stores.len().max(1));
        stores.get(i).copied().unwrap_or(NodeId(0))
    }

    fn backoff(&self) -> Duration {
        Duration::from_millis(self.opts.backoff_ms)
    }

    fn draw_key(&self, cx: &mut ClientCtx<'_>) -> String {
        let hot = cx.rng.random_range(0..1000) < self.opts.hot_key_permille;
        let i = if hot {
            0
        } else {
            cx.rng.random_range(0..self.opts.keys)
        };
        match self.run {
            0 => format!("k{i}"),
            run => format!("k{i}@{run}"),
        }
    }

    /// Sends `req` to `to` (after the back-off when `later`), as the current attempt.
    fn send(&mut self, to: NodeId, req: CacheRequest, later: bool) -> Next<CacheRequest> {
        self.target = to;
        if later {
            Next::SendAfter {
                after: self.backoff(),
                to,
                req,
            }
        } else {
            Next::Send { to, req }
        }
    }

    /// The current step's request, to send again.
    fn current_request(&self) -> Option<CacheRequest> {
        Some(match self.step.as_ref()? {
            Step::Lookup { key } => CacheRequest::Get { key: key.clone() },
            Step::StoreRead { key, .. } => CacheRequest::Store(self.read_call(key)),
            Step::StoreWrite { call, .. } => CacheRequest::Store(call.clone()),
            Step::Invalidate { key, .. } => CacheRequest::Invalidate { key: key.clone() },
            Step::Fill { .. } => return None,
        })
    }

    /// A read of `key` under this client's session (reads carry no sequence number).
    fn read_call(&self, key: &str) -> Call {
        Call {
            client_id: self.session,
            seq: 0,
            op: KvOp::Get {
                key: key.to_string(),
            },
        }
    }

    /// Moves to reading the store.
    fn read_store(
        &mut self,
        cx: &mut ClientCtx<'_>,
        key: String,
        token: Option<u64>,
    ) -> Next<CacheRequest> {
        let req = CacheRequest::Store(self.read_call(&key));
        self.step = Some(Step::StoreRead { key, token });
        let to = self.store_node(cx);
        self.send(to, req, false)
    }

    /// Moves to invalidating `key` (after the store write, or before it under the bug).
    fn invalidate(
        &mut self,
        cx: &mut ClientCtx<'_>,
        key: String,
        call: Call,
        acked_at: Option<LocalInstant>,
    ) -> Next<CacheRequest> {
        let Some(cache) = self.cache_of(cx, &key) else {
            return ok(None);
        };
        let req = CacheRequest::Invalidate { key: key.clone() };
        self.step = Some(Step::Invalidate {
            key,
            call,
            acked_at,
        });
        self.send(cache, req, false)
    }

    /// Moves to writing the store.
    fn write_store(
        &mut self,
        cx: &mut ClientCtx<'_>,
        key: String,
        call: Call,
        invalidated: bool,
    ) -> Next<CacheRequest> {
        let req = CacheRequest::Store(call.clone());
        self.step = Some(Step::StoreWrite {
            key,
            call,
            invalidated,
        });
        let to = self.store_node(cx);
        self.send(to, req, false)
    }

    /// A store node's answer that is not the output: follow the redirect or try another.
    fn redirect(&mut self, cx: &ClientCtx<'_>, answer: &Answer) -> Next<CacheRequest> {
        let Some(req) = self.current_request() else {
            return Next::Unknown;
        };
        match answer {
            Answer::Rejected(Rejection::NotLeader { hint: Some(h) })
                if self.stores(cx).contains(h) && *h != self.target =>
            {
                self.leader = Some(*h);
                self.send(*h, req, false)
            }
            Answer::Unknown => {
                let to = self.target;
                self.send(to, req, true)
            }
            _ => {
                let to = self.next_store(cx, Some(self.target));
                self.send(to, req, true)
            }
        }
    }
}

impl ClientLogic<CacheNode> for CacheClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, CacheRequest, NodeId) {
        let key = self.draw_key(cx);
        let read = cx.rng.random_range(0..1000) < self.opts.read_permille || self.read_only;
        let desc = |f, value| OpDescription {
            f,
            key: Some(json!(key)),
            value,
        };
        let (d, next) = if read {
            let d = desc("read", None);
            match self.cache_of(cx, &key) {
                Some(cache) => {
                    self.step = Some(Step::Lookup { key: key.clone() });
                    (d, self.send(cache, CacheRequest::Get { key }, false))
                }
                None => (d, self.read_store(cx, key, None)),
            }
        } else {
            self.writes += 1;
            self.seq += 1;
            let value = format!("c{}-{}", self.client.0, self.writes);
            let d = desc("write", Some(json!(value)));
            let call = Call {
                client_id: self.session,
                seq: self.seq,
                op: KvOp::Put {
                    key: key.clone(),
                    value,
                },
            };
            if self.invalidate_first {
                (d, self.invalidate(cx, key, call, None))
            } else {
                (d, self.write_store(cx, key, call, false))
            }
        };
        match next {
            Next::Send { to, req } | Next::SendAfter { to, req, .. } => (d, req, to),
            // Only when the tier has no cache node, which validation rules out: ask a store
            // node for nothing useful rather than panic.
            Next::Done(_) | Next::Unknown => {
                (d, CacheRequest::Get { key: String::new() }, NodeId(0))
            }
        }
    }

    fn attempt_timeout(&self, op_timeout: Duration) -> Duration {
        op_timeout.min(Duration::from_millis(self.opts.attempt_timeout_ms))
    }

    fn on_reply(&mut self, cx: &mut ClientCtx<'_>, resp: CacheResponse) -> Next<CacheRequest> {
        let Some(step) = self.step.clone() else {
            return Next::Unknown;
        };
        match (step, resp) {
            (Step::Lookup { .. }, CacheResponse::Hit { value }) => ok(Some(json!(value))),
            (Step::Lookup { key }, CacheResponse::Miss { token }) => {
                self.read_store(cx, key, token)
            }
            (Step::Lookup { key }, CacheResponse::Refused(_)) => self.read_store(cx, key, None),
            (
                Step::StoreRead { key, token },
                CacheResponse::Store(Answer::Done(KvResult::Value { value })),
            ) => {
                self.leader = Some(self.target);
                match (token, self.cache_of(cx, &key)) {
                    (Some(token), Some(cache)) => {
                        let req = CacheRequest::Fill {
                            key,
                            token,
                            value: value.clone(),
                        };
                        self.step = Some(Step::Fill { value });
                        self.send(cache, req, false)
                    }
                    _ => ok(Some(json!(value))),
                }
            }
            (Step::Fill { value }, _) => ok(Some(json!(value))),
            (
                Step::StoreWrite {
                    key,
                    call,
                    invalidated,
                },
                CacheResponse::Store(Answer::Done(KvResult::Done)),
            ) => {
                self.leader = Some(self.target);
                if invalidated {
                    ok(None)
                } else {
                    let now = cx.local.mono;
                    self.invalidate(cx, key, call, Some(now))
                }
            }
            (Step::StoreRead { .. } | Step::StoreWrite { .. }, CacheResponse::Store(answer))
                if !matches!(answer, Answer::Done(_)) =>
            {
                self.redirect(cx, &answer)
            }
            (
                Step::Invalidate {
                    key,
                    call,
                    acked_at,
                },
                CacheResponse::Invalidated,
            ) => match acked_at {
                Some(_) => ok(None),
                None => self.write_store(cx, key, call, true),
            },
            // A late answer to an earlier attempt of this operation: ask again.
            _ => match self.current_request() {
                Some(req) => {
                    let to = self.target;
                    self.send(to, req, true)
                }
                None => Next::Unknown,
            },
        }
    }

    fn on_timeout(&mut self, cx: &mut ClientCtx<'_>) -> Next<CacheRequest> {
        let Some(step) = self.step.clone() else {
            return Next::Unknown;
        };
        match step {
            // The cache node is unreachable: read the store, fill nothing.
            Step::Lookup { key } => self.read_store(cx, key, None),
            Step::Fill { value } => ok(Some(json!(value))),
            Step::StoreRead { .. } | Step::StoreWrite { .. } => {
                let Some(req) = self.current_request() else {
                    return Next::Unknown;
                };
                let to = self.next_store(cx, Some(self.target));
                self.send(to, req, false)
            }
            Step::Invalidate {
                key,
                call: _,
                acked_at: Some(at),
            } => {
                // Every older copy is gone by now, invalidated or not.
                if cx.local.mono >= at.saturating_add(self.opts.wait_out()) {
                    return ok(None);
                }
                let to = self.target;
                self.send(to, CacheRequest::Invalidate { key }, false)
            }
            // The buggy writer does not care whether its early invalidation landed.
            Step::Invalidate {
                key,
                call,
                acked_at: None,
            } => self.write_store(cx, key, call, true),
        }
    }
}

fn ok(value: Option<serde_json::Value>) -> Next<CacheRequest> {
    Next::Done(Completion {
        op_type: OpType::Ok,
        value,
    })
}
