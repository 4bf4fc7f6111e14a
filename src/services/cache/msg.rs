//! What the nodes of a cache tier say: store replicas speak Raft among themselves; clients ask
//! cache nodes to look up, fill and invalidate entries, and store nodes to read and write.

use crate::node::service::Message;
use crate::services::kv::api::{Answer, Call, ServerMsg};
use serde::{Deserialize, Serialize};

/// A message between nodes: only the store replicas talk to one another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMsg {
    /// Between store replicas: the Raft protocol.
    Store(ServerMsg),
}

impl Message for CacheMsg {
    fn label(&self) -> &'static str {
        match self {
            CacheMsg::Store(m) => Message::label(m),
        }
    }
}

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheRequest {
    /// To a cache node: the entry of `key`, or a miss (with a lease to fill it, if free).
    Get {
        /// The key.
        key: String,
    },
    /// To a cache node: install what the store said `key` holds, under the lease of a miss.
    Fill {
        /// The key.
        key: String,
        /// The lease the miss handed out.
        token: u64,
        /// The value read from the store (`None`: absent).
        value: Option<String>,
    },
    /// To a cache node: drop `key`'s entry and revoke its lease (the store changed).
    Invalidate {
        /// The key.
        key: String,
    },
    /// To a store node: a KV call.
    Store(Call),
}

/// Why a node would not serve a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// A cache request sent to a store node, or a store call to a cache node.
    WrongRole,
    /// A key or value larger than the node takes.
    TooLarge,
}

/// A node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheResponse {
    /// `Get`: the cached value (`None`: the store said the key is absent).
    Hit {
        /// The value.
        value: Option<String>,
    },
    /// `Get`: not cached. With a token, the caller may fill; without, someone else holds the
    /// key's lease (or the lease table is full): read the store, do not fill.
    Miss {
        /// The lease, if granted.
        token: Option<u64>,
    },
    /// `Fill`: whether the entry was installed.
    Filled {
        /// True when the lease was good.
        accepted: bool,
    },
    /// `Invalidate`: the entry and the key's lease are gone.
    Invalidated,
    /// A store node's answer to a `Store` call.
    Store(Answer),
    /// Not served.
    Refused(Refusal),
}

impl Message for CacheRequest {
    fn label(&self) -> &'static str {
        match self {
            CacheRequest::Get { .. } => "cache/get",
            CacheRequest::Fill { .. } => "cache/fill",
            CacheRequest::Invalidate { .. } => "cache/invalidate",
            CacheRequest::Store(_) => "cache/store-call",
        }
    }
}

impl Message for CacheResponse {
    fn label(&self) -> &'static str {
        match self {
            CacheResponse::Hit { .. } => "cache/hit",
            CacheResponse::Miss { .. } => "cache/miss",
            CacheResponse::Filled { .. } => "cache/filled",
            CacheResponse::Invalidated => "cache/invalidated",
            CacheResponse::Store(a) => Message::label(a),
            CacheResponse::Refused(_) => "cache/refused",
        }
    }
}
