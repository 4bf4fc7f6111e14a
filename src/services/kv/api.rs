//! The KV store's front door for other services: a KV replica to run as one role of another
//! service's nodes, and the language it speaks. A service that keeps its source of truth in a
//! KV store it runs itself (the cache tier) needs this and nothing of how the store is built —
//! its replicated node's configuration and its bugs' hooks stay behind this module.

pub use super::command::{KvOp, KvResult};
pub use super::options::KvOptions;
pub use crate::services::replicated::Rejection;

use super::bugs;
use super::state::KvMachine;
use crate::ids::NodeId;
use crate::invariants::Invariant;
use crate::node::service::{AfterSyncFailure, Ctx, Output, ReplyTo, Service, TimerId};
use crate::services::raft::RaftMsg;
use crate::services::replicated::{self, Logged, NodeConfig, ReplicatedNode, Request, Response};

/// What KV replicas send one another: the Raft protocol over the KV log.
pub type ServerMsg = RaftMsg<Logged<KvOp>>;
/// A call to a KV replica: one [`KvOp`] under the caller's session and sequence number (0 for a
/// read; a retried write carries the same number, so it is applied once).
pub type Call = Request<KvOp>;
/// A KV replica's answer to a [`Call`].
pub type Answer = Response<KvResult>;

/// One KV replica. Run it as a role of a bigger service's node through `Ctx::nest`, with the
/// KV replicas as its cluster (one replication group: no sharding inside).
#[derive(Debug)]
pub struct KvServer(Box<ReplicatedNode<KvMachine>>);

impl KvServer {
    /// The value of `key` as this replica has applied the log: `None` while it cannot serve
    /// (damaged storage), `Some(None)` when the key is absent. For observations, never for
    /// answering clients (a replica's applied state may lag the group's).
    pub fn applied_value(&self, key: &str) -> Option<Option<&str>> {
        self.0.machine().map(|m| m.get(key))
    }

    /// Runs a handler of the replica with this server's identity and outputs.
    fn inner<R>(
        ctx: &mut Ctx<'_, KvServer>,
        f: impl FnOnce(&mut Ctx<'_, ReplicatedNode<KvMachine>>) -> R,
    ) -> R {
        let info = ctx.info();
        ctx.nest(
            info,
            f,
            |to, msg| Output::Send { to, msg },
            |to, resp| Output::Reply { to, resp },
        )
    }
}

impl Service for KvServer {
    type Msg = ServerMsg;
    type Request = Call;
    type Response = Answer;
    type Config = KvOptions;

    fn start(opts: &KvOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        let cfg = replica_config(opts);
        KvServer(Box::new(Self::inner(ctx, |inner| {
            ReplicatedNode::start(&cfg, inner)
        })))
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: ServerMsg) {
        Self::inner(ctx, |inner| self.0.on_message(inner, from, msg));
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: ReplyTo, req: Call) {
        Self::inner(ctx, |inner| self.0.on_request(inner, from, req));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: TimerId) {
        Self::inner(ctx, |inner| self.0.on_timer(inner, timer));
    }

    fn on_sync_failed(&mut self, ctx: &mut Ctx<'_, Self>) -> AfterSyncFailure {
        Self::inner(ctx, |inner| self.0.on_sync_failed(inner))
    }

    fn sketch(&self, now: crate::time::LocalNow, sketch: &mut crate::node::sketch::Sketch) {
        self.0.sketch(now, sketch);
    }
}

/// The replica's configuration: the KV store's own, with its planted bugs' hooks (a run that
/// switches on a `kv-*` bug gets it in the replicas another service runs, too).
fn replica_config(opts: &KvOptions) -> NodeConfig<KvMachine> {
    NodeConfig {
        raft: opts.raft(),
        routing: opts.routing(),
        sessions: opts.sessions(),
        bugs: bugs::host_bugs,
        duties: (),
    }
}

/// The invariants of the replicas' Raft group (elections, entries, convergence), judged from
/// what the replicas record, as for the KV store itself.
pub fn replica_invariants() -> Vec<Box<dyn Invariant>> {
    replicated::invariants::all()
}

/// The BUGGIFY points the replicas pass.
pub const BUGGIFY_POINTS: &[&str] = replicated::BUGGIFY_POINTS;
