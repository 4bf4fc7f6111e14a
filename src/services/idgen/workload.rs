//! What ID-generator clients do: ask for the next id, again and again.

use super::{IdGen, IdRequest, IdResponse};
use crate::client::{Completion, OpDescription, Workload};
use crate::history::OpType;
use crate::rng::DetRng;
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct IdgenWorkload;

impl Workload<IdGen> for IdgenWorkload {
    fn generate(&mut self, _rng: &mut DetRng) -> IdRequest {
        IdRequest::Next
    }

    fn describe(&self, req: &IdRequest) -> OpDescription {
        match req {
            IdRequest::Next => OpDescription {
                f: "next",
                key: None,
                value: None,
            },
        }
    }

    fn complete(&self, _req: &IdRequest, resp: &IdResponse) -> Completion {
        match resp {
            IdResponse::Id(id) => Completion {
                op_type: OpType::Ok,
                value: Some(json!(id)),
            },
            IdResponse::Refused(r) => Completion {
                op_type: OpType::Fail,
                value: Some(serde_json::to_value(r).unwrap_or(serde_json::Value::Null)),
            },
        }
    }
}
