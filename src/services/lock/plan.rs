//! The lock client's requests to the Raft lock service go through the replicated layer's
//! client core (leader discovery, redirects, retries under one session number); this is the
//! workload it runs: the one operation the lock client planned, and its output kept for it.

use super::machine::{LockMachine, LockOp, LockResult};
use crate::client::{ClientCtx, Completion, OpDescription};
use crate::history::OpType;
use crate::services::replicated::{ClientOp, Workload};

/// The operation the lock client wants next, and what the last one returned.
#[derive(Debug, Default)]
pub struct Plan {
    /// Taken by the next `begin`.
    pub next: Option<LockOp>,
    /// The output of the operation that just completed.
    pub output: Option<LockResult>,
    /// The acquire in flight was answered "queued" (so a client giving it up must leave the
    /// queue). Cleared by the lock client when it plans an acquire.
    pub queued: bool,
}

impl Workload for Plan {
    type Machine = LockMachine;

    fn next(&mut self, _cx: &mut ClientCtx<'_>) -> ClientOp<LockOp> {
        // The lock client always plans before it begins; the fallback changes nothing.
        ClientOp {
            op: self.next.take().unwrap_or(LockOp::Renew {
                name: String::new(),
                token: 0,
                mark: 0,
            }),
            describe: OpDescription {
                f: "lock",
                key: None,
                value: None,
            },
        }
    }

    fn complete(&mut self, _op: &LockOp, output: &LockResult) -> Completion {
        self.output = Some(output.clone());
        Completion {
            op_type: OpType::Ok,
            value: None,
        }
    }

    fn again(&mut self, op: &LockOp, output: &LockResult) -> Option<LockOp> {
        // A waiter asks again whether its turn has come (it keeps its place in the queue).
        match (op, output) {
            (
                LockOp::Acquire {
                    name,
                    client,
                    lease_ms,
                    attempt,
                },
                LockResult::Queued { .. },
            ) => {
                self.queued = true;
                Some(LockOp::Acquire {
                    name: name.clone(),
                    client: *client,
                    lease_ms: *lease_ms,
                    attempt: attempt + 1,
                })
            }
            _ => None,
        }
    }
}
