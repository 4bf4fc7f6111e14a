//! Messages between ID-generator nodes. With static worker ids there are none; with leased
//! worker ids, generators ask the lock servers for leases and the lock servers replicate.

use crate::node::service::Message;
use crate::services::lock::api::{Answer, Call, ServerMsg};
use serde::{Deserialize, Serialize};

/// A message between nodes of an ID-generator cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdgenMsg {
    /// Between lock servers: the Raft protocol.
    Raft(ServerMsg),
    /// A generator's request to a lock server (a client request carried as a node message).
    Lease {
        /// Which attempt it is: the reply echoes it.
        req_id: u64,
        /// The request.
        req: Call,
    },
    /// A lock server's answer to `Lease`.
    LeaseReply {
        /// The attempt answered.
        req_id: u64,
        /// The answer.
        resp: Answer,
    },
}

impl Message for IdgenMsg {
    fn label(&self) -> &'static str {
        match self {
            IdgenMsg::Raft(m) => Message::label(m),
            IdgenMsg::Lease { .. } => "idgen/lease",
            IdgenMsg::LeaseReply { .. } => "idgen/lease-reply",
        }
    }
}
