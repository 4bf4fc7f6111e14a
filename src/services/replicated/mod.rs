//! A replicated service on the Raft core: the node (a [`Service`](crate::node::service::Service)
//! that drives [`RaftCore`](super::raft::RaftCore) exactly as its `Ready` contract says), the
//! replicated state (the application's [`StateMachine`] plus client sessions for exactly-once
//! retries), the client core (leader discovery, redirects, retries with the same session
//! sequence number) and the Raft invariants checked from the event log.
//!
//! The KV store and the lock service are each a [`StateMachine`] plus a workload; everything
//! else is here, once.

mod client;
pub mod invariants;
mod invariants_raft;
#[cfg(test)]
mod invariants_raft_tests;
mod log_summary;
mod node;
mod routing;
mod sessions;
mod sketch;
mod state;

pub use client::{ClientOp, ClientOptions, ReplicatedClient, Workload};
pub use node::{HostBugs, NodeConfig, ReplicatedNode};
pub use routing::Routing;
pub use sessions::{Applied, SessionOptions, Sessions};
pub use state::{Replicated, RestoreError};

use crate::ids::NodeId;
use crate::node::service::Message;
use crate::time::{LocalInstant, LocalNow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// The application a replicated service runs: deterministic, pure, snapshot-able.
pub trait StateMachine: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static {
    /// A client's operation (a write goes through the log; a read does not).
    type Op: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static;
    /// What an operation returns.
    type Output: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static;
    /// Prefix of event-log labels (`kv`, `lock`).
    const LABEL: &'static str;

    /// An empty application.
    fn empty() -> Self;
    /// True for operations that only read: served through ReadIndex (or a lease), never logged.
    fn is_read(op: &Self::Op) -> bool;
    /// Serves a read.
    fn read(&self, op: &Self::Op) -> Self::Output;
    /// Applies a write, at a log index (the same on every replica).
    fn apply(&mut self, index: u64, op: &Self::Op) -> Self::Output;
    /// Applies a write that `session` proposed ([`SYSTEM_SESSION`]: the leader's duties). The
    /// session is the one the replicated layer deduplicated the request under, not anything
    /// the operation claims about itself: a machine whose operations belong to their proposer
    /// (a lease to the session that acquired it) checks that here. The default ignores it.
    fn apply_from(&mut self, index: u64, _session: u64, op: &Self::Op) -> Self::Output {
        self.apply(index, op)
    }
    /// The key that decides which replication group owns the operation (`None`: any group).
    fn route_key(_op: &Self::Op) -> Option<&str> {
        None
    }

    /// What only the leader keeps for its duties (which lease it has timed since when); `()`
    /// for a machine without duties. Never replicated: a new leader starts afresh.
    type Duties: Debug + 'static;
    /// What duties are configured with (a drift bound, say).
    type DutyConfig: Clone + Debug + 'static;
    /// Fresh duties for a node that just became leader: it times everything from now, which is
    /// never earlier than the old leader did.
    fn duties(cfg: &Self::DutyConfig) -> Self::Duties;
    /// The operations the leader proposes now (under the system session, bypassing client
    /// sessions), and when to ask again (on the monotonic clock). Both clocks are given: leases
    /// are timed on the monotonic one, calendar work ("run at T") on the wall clock.
    fn leader_duties(&self, duties: &mut Self::Duties, now: LocalNow) -> DutyPlan<Self::Op>;
    /// The machine's abstract state, added to the replica's Raft dimensions in coverage runs
    /// (see [`crate::node::sketch`]): a lock's holders × waiters × lease phase, say. Default:
    /// nothing beyond Raft's.
    fn sketch(&self, _now: LocalNow, _sketch: &mut crate::node::sketch::Sketch) {}
}

/// What a leader's duties ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct DutyPlan<Op> {
    /// Propose these now.
    pub propose: Vec<Op>,
    /// Ask again when the leader's monotonic clock reads this (`None`: only on the next input).
    pub next_at: Option<LocalInstant>,
}

impl<Op> Default for DutyPlan<Op> {
    fn default() -> Self {
        DutyPlan {
            propose: Vec::new(),
            next_at: None,
        }
    }
}

/// Checks what every replicated service's options share: the client's attempt timeout and the
/// session table's room for this many clients (fields named as in the service's table).
pub fn validate_common(
    client: &ClientOptions,
    sessions: &SessionOptions,
    shape: &crate::plugin::Shape,
) -> Result<(), crate::plugin::OptionError> {
    use crate::plugin::OptionError;
    if client.attempt_timeout_ms == 0 {
        return Err(OptionError::new("attempt_timeout_ms", "must be at least 1"));
    }
    if sessions.sessions_max < shape.clients as usize * 2 {
        return Err(OptionError::new(
            "sessions_max",
            format!(
                "{} is too small for {} clients (keep it at least twice the client count)",
                sessions.sessions_max, shape.clients
            ),
        ));
    }
    Ok(())
}

/// The session id of operations the leader proposes itself; client sessions start at 1.
pub const SYSTEM_SESSION: u64 = 0;

/// What goes into the replicated log: an operation with the client session that sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logged<Op> {
    /// The client's session id.
    pub client_id: u64,
    /// The session's request number (writes only; 1 for the first, increasing).
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request<Op> {
    /// The client's session id.
    pub client_id: u64,
    /// The session's request number for a write (a retry carries the same); 0 for a read.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// Why an attempt was definitely not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rejection {
    /// This node does not lead; `hint` is who it thinks does.
    NotLeader {
        /// The leader as this node knows it.
        hint: Option<NodeId>,
    },
    /// Too many requests in flight, or the request is too large for the log.
    Overloaded,
    /// The node found its durable state damaged and serves nothing.
    Unavailable,
    /// A request no client may make (it claims the leader's own session): never applied.
    Forbidden,
}

/// A node's answer to one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response<O> {
    /// Applied (or read): the output.
    Done(O),
    /// This attempt was not applied.
    Rejected(Rejection),
    /// The node lost track of the attempt (it stopped leading, or the session was evicted or
    /// superseded): it may or may not have been applied. Retry with the same session.
    Unknown,
}

impl<Op: Clone + Debug + Serialize + DeserializeOwned + 'static> Message for Request<Op> {
    fn label(&self) -> &'static str {
        "replicated/request"
    }
}

impl<O: Clone + Debug + Serialize + DeserializeOwned + 'static> Message for Response<O> {
    fn label(&self) -> &'static str {
        match self {
            Response::Done(_) => "replicated/done",
            Response::Rejected(_) => "replicated/rejected",
            Response::Unknown => "replicated/unknown",
        }
    }
}

impl<C: crate::services::raft::Command> Message for crate::services::raft::RaftMsg<C> {
    fn label(&self) -> &'static str {
        crate::services::raft::RaftMsg::label(self)
    }
}

/// BUGGIFY: the reply to an applied write is never sent (the client times out and retries
/// with the same session sequence number).
pub const DROP_REPLY: &str = "buggify/drop-reply";
/// BUGGIFY: a heartbeat from the leader does not reset the follower's election timer.
pub const SPURIOUS_ELECTION_TIMEOUT: &str = "buggify/spurious-election-timeout";
/// The BUGGIFY points of every service on this layer.
pub const BUGGIFY_POINTS: &[&str] = &[DROP_REPLY, SPURIOUS_ELECTION_TIMEOUT];
