//! What the nodes of a crawl cluster and its clients say to one another.

use super::machine::{CrawlOp, CrawlResult};
use super::web::Served;
use crate::node::service::Message;
use crate::services::raft::RaftMsg;
use crate::services::replicated::{Logged, Request, Response};
use serde::{Deserialize, Serialize};

/// Between the nodes of a crawl cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrawlMsg {
    /// Between replicas: the Raft protocol.
    Raft(RaftMsg<Logged<CrawlOp>>),
    /// Crawler → replica: a crawl-state operation under the crawler's session.
    Call(Request<CrawlOp>),
    /// Replica → crawler: the answer to the call with this session number.
    Answer {
        /// The call's session number.
        seq: u64,
        /// The answer.
        resp: Response<CrawlResult>,
    },
    /// Crawler → web host: an HTTP GET.
    Fetch {
        /// The URL as the crawler spells it.
        url: String,
        /// The crawler's fencing token for the host (recorded, not checked: politeness is
        /// judged from what hosts receive).
        token: u64,
        /// The request's number within the crawler's incarnation (a retry gets a new one).
        fetch: u64,
    },
    /// Web host → crawler: the response.
    Page {
        /// The request's number.
        fetch: u64,
        /// What the host answered.
        served: Served,
    },
    /// Crawler → crawler: "I am alive" (only the planted bug `crawler-politeness-per-node`
    /// decides ownership by who it hears from).
    Ping,
}

impl Message for CrawlMsg {
    fn label(&self) -> &'static str {
        match self {
            CrawlMsg::Raft(m) => Message::label(m),
            CrawlMsg::Call(_) => "crawler/call",
            CrawlMsg::Answer { .. } => "crawler/answer",
            CrawlMsg::Fetch { .. } => "crawler/fetch",
            CrawlMsg::Page { .. } => "crawler/page",
            CrawlMsg::Ping => "crawler/ping",
        }
    }
}

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrawlRequest {
    /// To a replica.
    Call(Request<CrawlOp>),
}

/// The answer to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrawlResponse {
    /// From a replica.
    Call(Response<CrawlResult>),
    /// The node takes no client requests (a crawler, a web host), or not this one.
    WrongNode,
}

impl Message for CrawlRequest {
    fn label(&self) -> &'static str {
        "crawler/seed"
    }
}

impl Message for CrawlResponse {
    fn label(&self) -> &'static str {
        match self {
            CrawlResponse::Call(r) => r.label(),
            CrawlResponse::WrongNode => "crawler/wrong-node",
        }
    }
}
