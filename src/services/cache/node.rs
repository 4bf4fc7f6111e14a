//! What runs on each node of a cache tier: on the first `store_nodes` nodes a replica of the
//! KV store (the source of truth, reached only through `kv::api`), on the others a cache node.
//!
//! Facts the invariants check are recorded with `ctx.observe`:
//! - cache nodes: `cache/start` (a new life, with what it holds), `cache/fill` (an entry
//!   installed), `cache/drop` (an entry invalidated, expired or evicted);
//! - store nodes: `cache/store-value` (a watched key's value changed in this replica's applied
//!   state), so the invariants know what the store holds without asking it.

use super::bugs;
use super::msg::{CacheMsg, CacheRequest, CacheResponse, Refusal};
use super::options::CacheOptions;
use super::table::{Limits, Lookup, Table, TableBugs};
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::kv::api::KvServer;
use serde_json::json;
use std::collections::BTreeMap;

/// The sweep timer of a cache node (a store replica's timers are its own).
const SWEEP: TimerId = TimerId(1);
/// Where the planted warm restart keeps a cache node's entries.
const SAVED_FILE: &str = "cache.entries";

/// One node of a cache tier.
#[derive(Debug)]
pub enum CacheNode {
    /// A KV replica.
    Store(Box<StoreRole>),
    /// A cache node.
    Cache(CacheRole),
}

/// A KV replica, with the values it last reported.
#[derive(Debug)]
pub struct StoreRole {
    server: KvServer,
    /// Its identity with the store replicas as its cluster.
    info: NodeInfo,
    /// The watched keys' values as last observed (`None` inside: absent).
    reported: BTreeMap<String, Option<String>>,
}

/// A cache node.
#[derive(Debug)]
pub struct CacheRole {
    table: Table,
    key_bytes_max: usize,
    value_bytes_max: usize,
    sweep: std::time::Duration,
    warm_restart: bool,
}

/// The keys clients use, which store replicas report on.
pub fn keys(opts: &CacheOptions) -> Vec<String> {
    (0..opts.keys).map(|i| format!("k{i}")).collect()
}

impl Service for CacheNode {
    type Msg = CacheMsg;
    type Request = CacheRequest;
    type Response = CacheResponse;
    type Config = CacheOptions;

    fn start(opts: &CacheOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        let stores = ctx.info().cluster.iter().take(opts.store_nodes as usize);
        let stores: Vec<NodeId> = stores.copied().collect();
        if !stores.contains(&ctx.node()) {
            return CacheNode::Cache(CacheRole::start(opts, ctx));
        }
        let info = NodeInfo {
            cluster: stores,
            ..ctx.info().clone()
        };
        let server = ctx.nest(
            &info,
            |inner| KvServer::start(&opts.store, inner),
            send,
            reply,
        );
        let reported = keys(opts).into_iter().map(|k| (k, None)).collect();
        let mut role = StoreRole {
            server,
            info,
            reported,
        };
        role.report(ctx);
        CacheNode::Store(Box::new(role))
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: CacheMsg) {
        let CacheMsg::Store(m) = msg;
        match self {
            // Only a replica may speak Raft to a replica: anyone else is refused here, before
            // the core sees it.
            CacheNode::Store(s) if s.info.cluster.contains(&from) => {
                s.run(ctx, |server, inner| server.on_message(inner, from, m));
            }
            CacheNode::Store(_) | CacheNode::Cache(_) => {
                ctx.note("cache/refused-peer", json!(from.0));
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: CacheRequest) {
        match (self, req) {
            (CacheNode::Store(s), CacheRequest::Store(call)) => {
                s.run(ctx, |server, inner| server.on_request(inner, from, call));
            }
            (CacheNode::Cache(_), CacheRequest::Store(_)) | (CacheNode::Store(_), _) => {
                ctx.reply(from, CacheResponse::Refused(Refusal::WrongRole));
            }
            (CacheNode::Cache(c), req) => c.serve(ctx, from, req),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        match self {
            CacheNode::Store(s) => s.run(ctx, |server, inner| server.on_timer(inner, timer)),
            CacheNode::Cache(c) => c.on_sweep(ctx),
        }
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        match self {
            CacheNode::Store(s) => s.run(ctx, |server, inner| server.on_sync_failed(inner)),
            // Only the planted warm restart syncs on a cache node; losing that save is harmless.
            CacheNode::Cache(_) => AfterSyncFailure::Continue,
        }
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        match self {
            CacheNode::Store(s) => s.server.sketch(now, sketch),
            CacheNode::Cache(c) => {
                sketch
                    .dim("cache", 1)
                    .count("entries", c.table.len() as u64)
                    .count("leases", c.table.leases() as u64);
            }
        }
    }
}

impl CacheNode {
    /// A cache node's entries and leases (`None` on a store node): for tests of its bounds.
    #[cfg(test)]
    pub(super) fn table_sizes(&self) -> Option<(usize, usize)> {
        match self {
            CacheNode::Cache(c) => Some((c.table.len(), c.table.leases())),
            CacheNode::Store(_) => None,
        }
    }
}

/// A replica's Raft messages go out wrapped.
fn send(to: NodeId, msg: <KvServer as Service>::Msg) -> Output<CacheNode> {
    Output::Send {
        to,
        msg: CacheMsg::Store(msg),
    }
}

/// A replica's answers go to the client that called.
fn reply(to: ReplyTo, resp: <KvServer as Service>::Response) -> Output<CacheNode> {
    Output::Reply {
        to,
        resp: CacheResponse::Store(resp),
    }
}

impl StoreRole {
    /// Runs a handler of the replica as a member of the store group, then reports what changed.
    fn run<R>(
        &mut self,
        ctx: &mut Ctx<'_, CacheNode>,
        f: impl FnOnce(&mut KvServer, &mut Ctx<'_, KvServer>) -> R,
    ) -> R {
        let server = &mut self.server;
        let r = ctx.nest(&self.info, |inner| f(server, inner), send, reply);
        self.report(ctx);
        r
    }

    /// Observes every watched key whose applied value changed since the last report (the
    /// watched keys are the few clients use, so this is a short loop).
    fn report(&mut self, ctx: &mut Ctx<'_, CacheNode>) {
        for (key, last) in &mut self.reported {
            let Some(now) = self.server.applied_value(key) else {
                return;
            };
            if last.as_deref() != now {
                *last = now.map(str::to_string);
                ctx.observe("cache/store-value", json!({"key": key, "value": now}));
            }
        }
    }
}

impl CacheRole {
    fn start(opts: &CacheOptions, ctx: &mut Ctx<'_, CacheNode>) -> Self {
        let limits = Limits {
            ttl: std::time::Duration::from_millis(opts.ttl_ms),
            lease: std::time::Duration::from_millis(opts.lease_ms),
            entries_max: opts.entries_max,
            leases_max: opts.leases_max,
        };
        let table_bugs = TableBugs {
            fill_without_lease: ctx.bug(bugs::FILL_WITHOUT_LEASE),
            ttl_wall_clock: ctx.bug(bugs::TTL_WALL_CLOCK),
            ttl_refresh_on_hit: ctx.bug(bugs::TTL_REFRESH_ON_HIT),
        };
        let incarnation = ctx.info().incarnation.0;
        let mut role = CacheRole {
            table: Table::new(limits, table_bugs, incarnation),
            key_bytes_max: opts.key_bytes_max,
            value_bytes_max: opts.value_bytes_max,
            sweep: opts.sweep(),
            warm_restart: ctx.bug(bugs::REJOIN_SERVES_STALE),
        };
        // A new life starts cold: what the old one held may have been invalidated while this
        // node was down. (The planted bug reloads it, with TTLs counted from now.)
        if role.warm_restart {
            let saved = ctx.storage().read(SAVED_FILE).ok().flatten();
            let saved: Vec<(String, Option<String>)> = saved
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let now = ctx.now();
            role.table.load(saved, now);
            for (key, value) in role.table.contents() {
                ctx.observe("cache/fill", json!({"key": key, "value": value}));
            }
        }
        ctx.observe("cache/start", json!({"entries": role.table.len()}));
        ctx.set_timer(SWEEP, role.sweep);
        role
    }

    fn serve(&mut self, ctx: &mut Ctx<'_, CacheNode>, from: ReplyTo, req: CacheRequest) {
        let now = ctx.now();
        let resp = match req {
            CacheRequest::Get { key } if key.len() <= self.key_bytes_max => {
                let (found, dropped) = self.table.get(&key, now);
                if dropped {
                    ctx.observe("cache/drop", json!({"key": key, "why": "expired"}));
                }
                match found {
                    Lookup::Hit(value) => CacheResponse::Hit { value },
                    Lookup::Miss(token) => CacheResponse::Miss { token },
                }
            }
            CacheRequest::Fill { key, token, value }
                if key.len() <= self.key_bytes_max
                    && value
                        .as_ref()
                        .is_none_or(|v| v.len() <= self.value_bytes_max) =>
            {
                let (accepted, evicted) = self.table.fill(&key, token, value.clone(), now);
                if let Some(gone) = evicted {
                    ctx.observe("cache/drop", json!({"key": gone, "why": "evicted"}));
                }
                if accepted {
                    ctx.observe("cache/fill", json!({"key": key, "value": value}));
                } else {
                    // The lease was revoked by an invalidation, expired, or never ours: the
                    // path that keeps a slow reader's old value out.
                    ctx.note("cache/fill-refused", json!(key));
                }
                CacheResponse::Filled { accepted }
            }
            CacheRequest::Invalidate { key } if key.len() <= self.key_bytes_max => {
                if self.table.invalidate(&key) {
                    ctx.observe("cache/drop", json!({"key": key, "why": "invalidated"}));
                }
                CacheResponse::Invalidated
            }
            CacheRequest::Store(_) => CacheResponse::Refused(Refusal::WrongRole),
            // Larger than this node takes: refused, never stored (peers cannot grow the table).
            CacheRequest::Get { .. }
            | CacheRequest::Fill { .. }
            | CacheRequest::Invalidate { .. } => CacheResponse::Refused(Refusal::TooLarge),
        };
        ctx.reply(from, resp);
    }

    fn on_sweep(&mut self, ctx: &mut Ctx<'_, CacheNode>) {
        ctx.set_timer(SWEEP, self.sweep);
        for key in self.table.sweep(ctx.now()) {
            ctx.observe("cache/drop", json!({"key": key, "why": "expired"}));
        }
        if self.warm_restart {
            // The planted warm restart: save what is held, durably, for the next life.
            let bytes = serde_json::to_vec(&self.table.contents()).unwrap_or_default();
            if ctx.storage().write(SAVED_FILE, &bytes).is_ok() {
                ctx.sync();
            }
        }
    }
}
