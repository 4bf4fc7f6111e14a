//! The ID generator's client core: ask any node for the next id. Nodes are independent, so
//! there is no leader to find and nothing to retry: one attempt, and a timeout is `info`.

use super::{IdRequest, IdResponse, IdgenNode};
use crate::client::{ClientCtx, ClientLogic, Completion, Next, OpDescription};
use crate::history::OpType;
use crate::ids::NodeId;
use rand::Rng;
use serde_json::json;

/// One client of the ID generator.
#[derive(Debug, Clone, Default)]
pub struct IdgenClient {
    /// Nodes before this one are lock servers (leased worker ids), not generators.
    pub first_generator: usize,
}

impl ClientLogic<IdgenNode> for IdgenClient {
    fn begin(&mut self, cx: &mut ClientCtx<'_>) -> (OpDescription, IdRequest, NodeId) {
        let first = self.first_generator.min(cx.nodes.len().saturating_sub(1));
        let to = cx.nodes[cx.rng.random_range(first..cx.nodes.len())];
        let d = OpDescription {
            f: "next",
            key: None,
            value: None,
        };
        (d, IdRequest::Next, to)
    }

    fn on_reply(&mut self, _cx: &mut ClientCtx<'_>, resp: IdResponse) -> Next<IdRequest> {
        Next::Done(match resp {
            IdResponse::Id(id) => Completion {
                op_type: OpType::Ok,
                value: Some(json!(id)),
            },
            // A refusal issued no id.
            IdResponse::Refused(r) => Completion {
                op_type: OpType::Fail,
                value: Some(serde_json::to_value(r).unwrap_or(serde_json::Value::Null)),
            },
        })
    }

    fn on_timeout(&mut self, _cx: &mut ClientCtx<'_>) -> Next<IdRequest> {
        Next::Unknown
    }
}
