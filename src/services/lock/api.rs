//! The lock service's front door for other services: a lock server to run as one role of
//! another service's nodes, and the language it speaks. A service that takes leases from lock
//! servers it runs itself (the ID generator's leased worker ids) needs this and nothing of how
//! the lock service is built — its state machine, its replica's configuration, its bugs' hooks
//! stay behind this module.

pub use super::machine::{LockOp, LockResult};
pub use super::options::LockOptions;

use super::bugs;
use super::machine::LockMachine;
use crate::ids::NodeId;
use crate::node::service::{AfterSyncFailure, Ctx, NodeInfo, Output, ReplyTo, Service, TimerId};
use crate::services::raft::RaftMsg;
use crate::services::replicated::{Logged, NodeConfig, ReplicatedNode, Request, Response};

/// What lock servers send one another: the Raft protocol over the lock log.
pub type ServerMsg = RaftMsg<Logged<LockOp>>;
/// A call to a lock server: one [`LockOp`] under the caller's session and sequence number.
pub type Call = Request<LockOp>;
/// A lock server's answer to a [`Call`].
pub type Answer = Response<LockResult>;

/// One lock server: a replica of the Raft lock service. Run it as a role of a bigger
/// service's node through `Ctx::nest`, with the lock servers as its cluster.
#[derive(Debug)]
pub struct LockServer(Box<ReplicatedNode<LockMachine>>);

impl LockServer {
    /// The highest token this server has granted for `lock`, as far as it has applied the log;
    /// `None` while it cannot serve (it refuses over damaged storage).
    pub fn granted_max(&self, lock: &str) -> Option<u64> {
        let machine = self.0.machine()?;
        let next = machine.lock(lock).map_or(1, |l| l.next_token);
        Some(next.saturating_sub(1))
    }

    /// Runs a handler of the replica with this server's identity and outputs.
    fn inner<R>(
        ctx: &mut Ctx<'_, LockServer>,
        f: impl FnOnce(&mut Ctx<'_, ReplicatedNode<LockMachine>>) -> R,
    ) -> R {
        // Same identity and cluster: the info is borrowed for the context's lifetime, not cloned.
        let info = ctx.info();
        ctx.nest(
            info,
            f,
            |to, msg| Output::Send { to, msg },
            |to, resp| Output::Reply { to, resp },
        )
    }
}

impl Service for LockServer {
    type Msg = ServerMsg;
    type Request = Call;
    type Response = Answer;
    type Config = LockOptions;

    fn start(opts: &LockOptions, ctx: &mut Ctx<'_, Self>) -> Self {
        let cfg = replica_config(opts, ctx.info());
        LockServer(Box::new(Self::inner(ctx, |inner| {
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

/// The replica's configuration under this run's bugs.
fn replica_config(opts: &LockOptions, info: &NodeInfo) -> NodeConfig<LockMachine> {
    NodeConfig {
        raft: opts.raft(),
        routing: opts.routing(),
        sessions: opts.sessions(),
        bugs: bugs::host_bugs,
        duties: opts.duties(info.bugs.contains(&bugs::TOKEN_REUSE_AFTER_FAILOVER)),
    }
}
