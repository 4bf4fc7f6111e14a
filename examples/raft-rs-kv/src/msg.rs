//! What travels: raft-rs messages between nodes (protobuf bytes inside faultlab's JSON
//! envelope), client requests and replies.

use crate::machine::{KvOp, KvOutput};
use faultlab::prelude::{Message, NodeId};
use protobuf::Message as PbMessage;
use raft::eraftpb::{self, MessageType};
use serde::{Deserialize, Serialize};

/// A raft-rs message between nodes: its type (for the event log's label) and its protobuf
/// encoding, in hex (faultlab's envelopes are JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftKvMsg {
    /// The raft message type, as protobuf numbers it.
    pub t: i32,
    /// The protobuf bytes, hex.
    pub pb: String,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(format!("not a hex digit: {c:#04x}")),
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    b.chunks_exact(2)
        .map(|p| Ok((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

impl RaftKvMsg {
    /// Wraps a raft message.
    pub fn encode(m: &eraftpb::Message) -> Result<Self, String> {
        let bytes = m.write_to_bytes().map_err(|e| e.to_string())?;
        Ok(RaftKvMsg {
            t: m.get_msg_type() as i32,
            pb: hex(&bytes),
        })
    }

    /// The raft message, or why these bytes are not one.
    pub fn decode(&self) -> Result<eraftpb::Message, String> {
        let bytes = unhex(&self.pb)?;
        eraftpb::Message::parse_from_bytes(&bytes).map_err(|e| e.to_string())
    }
}

impl Message for RaftKvMsg {
    fn label(&self) -> &'static str {
        use MessageType::*;
        let t = <MessageType as protobuf::ProtobufEnum>::from_i32(self.t);
        match t {
            Some(MsgAppend) => "raft/append",
            Some(MsgAppendResponse) => "raft/append-resp",
            Some(MsgRequestVote) => "raft/vote",
            Some(MsgRequestVoteResponse) => "raft/vote-resp",
            Some(MsgRequestPreVote) => "raft/prevote",
            Some(MsgRequestPreVoteResponse) => "raft/prevote-resp",
            Some(MsgSnapshot) => "raft/snapshot",
            Some(MsgHeartbeat) => "raft/heartbeat",
            Some(MsgHeartbeatResponse) => "raft/heartbeat-resp",
            Some(MsgTimeoutNow) => "raft/timeout-now",
            Some(_) => "raft/other",
            None => "raft/unknown",
        }
    }
}

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRequest {
    /// The client's session id.
    pub client_id: u64,
    /// The session's request number for a write (a retry carries the same); 0 for a read.
    pub seq: u64,
    /// What to do.
    pub op: KvOp,
}

/// A node's answer to one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KvResponse {
    /// Applied (or read): the output.
    Done(KvOutput),
    /// This node does not lead (`hint`: who it thinks does); the attempt was not applied.
    NotLeader {
        /// The leader as this node knows it.
        hint: Option<NodeId>,
    },
    /// The node lost track of the attempt (it stopped leading, or the session moved on): it
    /// may or may not have been applied.
    Unknown,
    /// The node refuses to serve (its durable state is damaged); not applied.
    Unavailable,
}

impl Message for KvRequest {
    fn label(&self) -> &'static str {
        match self.op {
            KvOp::Get { .. } => "kv/get",
            KvOp::Put { .. } => "kv/put",
            KvOp::Cas { .. } => "kv/cas",
            KvOp::Append { .. } => "kv/append",
        }
    }
}

impl Message for KvResponse {
    fn label(&self) -> &'static str {
        match self {
            KvResponse::Done(_) => "kv/done",
            KvResponse::NotLeader { .. } => "kv/not-leader",
            KvResponse::Unknown => "kv/unknown",
            KvResponse::Unavailable => "kv/unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_messages_round_trip_and_garbage_is_an_error() {
        let mut m = eraftpb::Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        m.from = 1;
        m.to = 2;
        m.term = 7;
        m.commit = 42;
        let w = RaftKvMsg::encode(&m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.label(), "raft/heartbeat");
        assert_eq!(w.decode(), Ok(m));
        for pb in ["zz", "abc", "ffffffffffff", "0a"] {
            let bad = RaftKvMsg {
                t: 999,
                pb: pb.into(),
            };
            assert!(bad.decode().is_err(), "{pb} decoded");
            assert_eq!(bad.label(), "raft/unknown");
        }
    }
}
