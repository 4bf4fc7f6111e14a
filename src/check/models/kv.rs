//! `kv`: a key-value store, one register per `key` (Porcupine's kv tests, our KV store).
//!
//! Operations are the `register` ones — `read`/`get`, `write`/`put`, `cas` — plus `append` (string
//! concatenation; the invocation's `value` must be a string; appending to `null` appends to the
//! empty string, and appending to a non-string is impossible) and `delete` (sets `null`). Every
//! operation needs a `key` (on the invocation or the completion). Keys are independent, so each
//! key is its own partition. `--initial` is every key's initial value (default `null`; Porcupine's
//! tests, where an unwritten key reads `""`, need `--initial '""'`).

use super::super::model::{Model, OpView, key_partition};
use super::super::value::Val;
use super::register::{
    RegisterOp, describe_value_op, parse_value_op, requires_value, sets_value, step_value,
};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Kv {
    pub initial: Val,
}

impl Kv {
    pub fn new(initial: Option<&Value>) -> Self {
        Kv {
            initial: Val::from_opt(initial),
        }
    }
}

impl Model for Kv {
    type Op = RegisterOp;
    type State = Val;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn parse(&self, op: &OpView<'_>) -> Result<RegisterOp, String> {
        if op.key.is_none() {
            return Err("a kv operation needs a `key`".to_string());
        }
        parse_value_op(op)
    }

    fn partition(&self, op: &OpView<'_>) -> Option<String> {
        key_partition(op)
    }

    fn init(&self) -> Val {
        self.initial.clone()
    }

    fn step(&self, state: &Val, op: &RegisterOp) -> Option<Val> {
        step_value(state, op)
    }

    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn requires(&self, op: &RegisterOp) -> Option<Val> {
        requires_value(op)
    }

    fn sets(&self, op: &RegisterOp) -> Option<Val> {
        sets_value(op)
    }

    fn is_blind_write(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Write(_) | RegisterOp::Delete)
    }

    fn describe_op(&self, op: &RegisterOp) -> String {
        describe_value_op(op)
    }

    fn describe_state(&self, state: &Val) -> String {
        state.to_string()
    }
}
