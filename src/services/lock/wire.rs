//! What lock clients send to the nodes of a lock cluster and what they answer.

use super::machine::{LockOp, LockResult};
use crate::ids::NodeId;
use crate::node::service::Message;
use crate::services::raft::RaftMsg;
use crate::services::replicated::{Logged, Request, Response};
use serde::{Deserialize, Serialize};

/// A write to the protected resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteReq {
    /// The lock that protects what is written (the resource fences each lock's data apart).
    pub lock: String,
    /// The lease the writer believes it holds (`c3#5`: client 3's fifth grant).
    pub holder: String,
    /// Its fencing token (`None` under Redlock, which has none).
    pub token: Option<u64>,
    /// Which step of the holder's operation this is (echoed, so a late answer is recognised).
    pub step: u32,
}

/// The resource's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum WriteResp {
    /// Stored.
    Accepted {
        /// The request's step.
        step: u32,
    },
    /// The token is below one the resource already accepted.
    Rejected {
        /// The request's step.
        step: u32,
        /// The highest token accepted.
        max_token: u64,
    },
    /// The resource cannot trust its own state and takes no writes.
    Unavailable {
        /// The request's step.
        step: u32,
    },
}

impl WriteResp {
    /// The step it answers.
    pub fn step(&self) -> u32 {
        match self {
            WriteResp::Accepted { step }
            | WriteResp::Rejected { step, .. }
            | WriteResp::Unavailable { step } => *step,
        }
    }
}

/// A request to one Redlock server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum RedlockReq {
    /// Set the key to `owner` if it is absent or expired (`SET name owner NX PX ttl`).
    SetNx {
        /// The lock.
        name: String,
        /// A value unique to this acquisition.
        owner: String,
        /// Time to live.
        ttl_ms: u64,
    },
    /// Delete the key if `owner` holds it.
    Del {
        /// The lock.
        name: String,
        /// The acquisition's value.
        owner: String,
    },
}

/// A Redlock server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum RedlockResp {
    /// Whether the key was set.
    Set {
        /// Set.
        ok: bool,
    },
    /// Whether the key was deleted.
    Deleted {
        /// Deleted.
        ok: bool,
    },
}

/// Any request to a node of a lock cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockRequest {
    /// To the Raft lock service.
    Raft(Request<LockOp>),
    /// To a Redlock server.
    Redlock(RedlockReq),
    /// To the protected resource.
    Write(WriteReq),
}

/// Any answer of a node of a lock cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockResponse {
    /// From the Raft lock service.
    Raft(Response<LockResult>),
    /// From a Redlock server.
    Redlock {
        /// The server that answered (a late answer from an earlier server is recognised).
        from: NodeId,
        /// Its answer.
        resp: RedlockResp,
    },
    /// From the protected resource.
    Write(WriteResp),
    /// The node does not serve this kind of request (a request for the resource sent to a lock
    /// server, say).
    WrongNode,
}

impl Message for LockRequest {
    fn label(&self) -> &'static str {
        match self {
            LockRequest::Raft(_) => "lock/request",
            LockRequest::Redlock(_) => "redlock/request",
            LockRequest::Write(_) => "resource/write",
        }
    }
}

impl Message for LockResponse {
    fn label(&self) -> &'static str {
        match self {
            LockResponse::Raft(r) => r.label(),
            LockResponse::Redlock { .. } => "redlock/answer",
            LockResponse::Write(_) => "resource/answer",
            LockResponse::WrongNode => "lock/wrong-node",
        }
    }
}

/// Between the nodes of a lock cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMsg {
    /// Between lock servers: the Raft protocol.
    Raft(RaftMsg<Logged<LockOp>>),
    /// Resource → lock server: was `token` of `lock` granted?
    ConfirmToken {
        /// The lock.
        lock: String,
        /// The token a write carries.
        token: u64,
    },
    /// Lock server → resource: the highest token of `lock` it has granted (as far as it has
    /// applied the log: a lagging server answers low, the leader answers in full).
    TokenGranted {
        /// The lock.
        lock: String,
        /// Its highest granted token (0: none).
        granted_max: u64,
    },
}

impl Message for LockMsg {
    fn label(&self) -> &'static str {
        match self {
            LockMsg::Raft(m) => Message::label(m),
            LockMsg::ConfirmToken { .. } => "resource/confirm-token",
            LockMsg::TokenGranted { .. } => "lock/token-granted",
        }
    }
}
