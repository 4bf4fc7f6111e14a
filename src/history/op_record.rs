//! One history line as a client host hands it to the world (or to a real run's recorder),
//! before it gets its time stamp.

use super::OpType;
use crate::ids::ClientId;
use serde_json::Value;

/// One invocation or completion of a client operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OpRecord {
    /// The client (worker) that ran it.
    pub client: ClientId,
    /// The Jepsen process: the client's id, advanced by the client count after every `info`.
    pub process: u64,
    /// `invoke`, `ok`, `fail` or `info`.
    pub op_type: OpType,
    /// The operation's name (`next`, `get`, `acquire`, ...).
    pub f: &'static str,
    /// The key (lock name, ...) it is on, if the service has keys.
    pub key: Option<Value>,
    /// Input on `invoke`, output on `ok`.
    pub value: Option<Value>,
}
