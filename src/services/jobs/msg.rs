//! What the nodes of a job cluster and its producers say to one another.

use super::machine::{JobOp, JobResult};
use crate::node::service::Message;
use crate::services::raft::RaftMsg;
use crate::services::replicated::{Logged, Request, Response};
use serde::{Deserialize, Serialize};

/// A worker's effect, sent to the sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The job.
    pub job: u64,
    /// What it does.
    pub name: String,
    /// Its idempotency key.
    pub key: String,
    /// The schedule slot it runs.
    pub slot: Option<u64>,
    /// The worker's lease token.
    pub token: u64,
}

/// The sink's answer to an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EffectOutcome {
    /// Applied now.
    Applied,
    /// Its key was applied before: nothing done, the job's effect is in place.
    Duplicate,
    /// A later lease of the job has reached the sink: this worker's lease is over.
    Fenced,
    /// The sink cannot trust its state (or the effect is malformed): nothing done.
    Refused,
}

/// Between the nodes of a job cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobsMsg {
    /// Between replicas: the Raft protocol.
    Raft(RaftMsg<Logged<JobOp>>),
    /// Worker → replica: a queue operation under the worker's session.
    Call(Request<JobOp>),
    /// Replica → worker: the answer to the call with this session number.
    Answer {
        /// The call's session number.
        seq: u64,
        /// The answer.
        resp: Response<JobResult>,
    },
    /// Worker → sink.
    Effect(Effect),
    /// Sink → worker.
    EffectDone {
        /// The job.
        job: u64,
        /// The token the effect carried.
        token: u64,
        /// What the sink did.
        outcome: EffectOutcome,
    },
}

impl Message for JobsMsg {
    fn label(&self) -> &'static str {
        match self {
            JobsMsg::Raft(m) => Message::label(m),
            JobsMsg::Call(_) => "jobs/call",
            JobsMsg::Answer { .. } => "jobs/answer",
            JobsMsg::Effect(_) => "jobs/effect",
            JobsMsg::EffectDone { .. } => "jobs/effect-done",
        }
    }
}

/// A producer's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobsRequest {
    /// To a replica.
    Call(Request<JobOp>),
}

/// The answer to a producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobsResponse {
    /// From a replica.
    Call(Response<JobResult>),
    /// The node takes no producer requests (a worker, the sink), or not this one.
    WrongNode,
}

impl Message for JobsRequest {
    fn label(&self) -> &'static str {
        "jobs/enqueue"
    }
}

impl Message for JobsResponse {
    fn label(&self) -> &'static str {
        match self {
            JobsResponse::Call(r) => r.label(),
            JobsResponse::WrongNode => "jobs/wrong-node",
        }
    }
}
