//! `register`: a single read/write/compare-and-set register (Jepsen's and Knossos's
//! `cas-register`, etcd's register test).
//!
//! History conventions (the `key` field is ignored; use `kv` for many registers):
//! - `read` (alias `get`): the `ok` value is the value read. `null` is a legal value: it is what an
//!   unwritten register holds unless `--initial` says otherwise. An `ok` without `value` reads as
//!   `null`. The invocation's value is ignored.
//! - `write` (alias `put`): the invocation's value is written (if the invocation has no `value`
//!   field, the completion's is used).
//! - `cas`: value `[expected, new]`. `ok` = it swapped (legal only when the register held
//!   `expected`); `fail` = it did not (dropped like every `fail`); unknown = it swapped if it could.
//!
//! The initial value comes from `--initial` (JSON, default `null`).

use super::super::model::{Model, OpView};
use super::super::value::Val;
use serde_json::Value;
use std::rc::Rc;

/// Operations on one register value; `kv` adds `append` and `delete` per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// The value read; `None` when the outcome is unknown.
    Read(Option<Val>),
    Write(Val),
    Cas(Val, Val),
    /// String concatenation; appending to `null` appends to the empty string.
    Append(Rc<str>),
    /// Sets the value to `null`.
    Delete,
}

#[derive(Debug, Clone)]
pub struct Register {
    pub initial: Val,
}

impl Register {
    pub fn new(initial: Option<&Value>) -> Self {
        Register {
            initial: Val::from_opt(initial),
        }
    }
}

impl Model for Register {
    type Op = RegisterOp;
    type State = Val;

    fn name(&self) -> &'static str {
        "register"
    }

    fn parse(&self, op: &OpView<'_>) -> Result<RegisterOp, String> {
        match op.f {
            "append" | "delete" => Err(format!("`{}` is a kv operation; use --model kv", op.f)),
            _ => parse_value_op(op),
        }
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

/// Parses the operations shared by `register` and `kv`.
pub(crate) fn parse_value_op(op: &OpView<'_>) -> Result<RegisterOp, String> {
    let argument = op.input.or(op.output);
    match op.f {
        "read" | "get" => Ok(RegisterOp::Read(op.known.then(|| Val::from_opt(op.output)))),
        "write" | "put" => match argument {
            Some(value) => Ok(RegisterOp::Write(Val::from_json(value))),
            None => Err("a write needs a `value`".to_string()),
        },
        "cas" => match argument.and_then(Value::as_array).map(Vec::as_slice) {
            Some([expected, new]) => Ok(RegisterOp::Cas(
                Val::from_json(expected),
                Val::from_json(new),
            )),
            _ => Err(format!(
                "a cas needs `value` [expected, new], got {}",
                argument.map_or("nothing".to_string(), Value::to_string)
            )),
        },
        "append" => match argument {
            Some(Value::String(s)) => Ok(RegisterOp::Append(Rc::from(s.as_str()))),
            other => Err(format!(
                "an append needs a string `value`, got {}",
                other.map_or("nothing".to_string(), Value::to_string)
            )),
        },
        "delete" => Ok(RegisterOp::Delete),
        other => Err(format!(
            "unknown operation `{other}` (expected read/get, write/put, cas, append, delete)"
        )),
    }
}

pub(crate) fn step_value(state: &Val, op: &RegisterOp) -> Option<Val> {
    match op {
        RegisterOp::Read(None) => Some(state.clone()),
        RegisterOp::Read(Some(seen)) => (seen == state).then(|| state.clone()),
        RegisterOp::Write(value) => Some(value.clone()),
        RegisterOp::Cas(expected, new) => (expected == state).then(|| new.clone()),
        RegisterOp::Append(suffix) => match state {
            Val::Null => Some(Val::Str(suffix.clone())),
            Val::Str(prefix) => Some(Val::Str(Rc::from(format!("{prefix}{suffix}")))),
            _ => None,
        },
        RegisterOp::Delete => Some(Val::Null),
    }
}

pub(crate) fn requires_value(op: &RegisterOp) -> Option<Val> {
    match op {
        RegisterOp::Read(seen) => seen.clone(),
        RegisterOp::Cas(expected, _) => Some(expected.clone()),
        RegisterOp::Write(_) | RegisterOp::Append(_) | RegisterOp::Delete => None,
    }
}

/// An append's result depends on what it appends to, so it has none.
pub(crate) fn sets_value(op: &RegisterOp) -> Option<Val> {
    match op {
        RegisterOp::Write(value) | RegisterOp::Cas(_, value) => Some(value.clone()),
        RegisterOp::Delete => Some(Val::Null),
        RegisterOp::Read(_) | RegisterOp::Append(_) => None,
    }
}

pub(crate) fn describe_value_op(op: &RegisterOp) -> String {
    match op {
        RegisterOp::Read(Some(value)) => format!("read → {value}"),
        RegisterOp::Read(None) => "read → ?".to_string(),
        RegisterOp::Write(value) => format!("write({value})"),
        RegisterOp::Cas(expected, new) => format!("cas({expected}, {new})"),
        RegisterOp::Append(suffix) => format!("append({})", Val::Str(suffix.clone())),
        RegisterOp::Delete => "delete".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view<'a>(f: &'a str, input: Option<&'a Value>, output: Option<&'a Value>) -> OpView<'a> {
        OpView {
            f,
            key: None,
            input,
            output,
            known: true,
        }
    }

    #[test]
    fn semantics() {
        let r = Register::new(None);
        let one = json!(1);
        let cas = json!([1, 2]);
        let null = json!(null);
        let read_null = r.parse(&view("read", None, Some(&null))).expect("op");
        let read_absent = r.parse(&view("read", None, None)).expect("op");
        assert_eq!(read_null, read_absent, "an absent read value reads as null");
        assert_eq!(r.step(&r.init(), &read_null), Some(Val::Null));
        let write = r.parse(&view("write", Some(&one), None)).expect("op");
        let after = r.step(&r.init(), &write).expect("write is always legal");
        assert_eq!(r.step(&after, &read_null), None);
        let cas = r.parse(&view("cas", Some(&cas), None)).expect("op");
        assert_eq!(r.step(&after, &cas), Some(Val::Int(2)));
        assert_eq!(r.step(&Val::Null, &cas), None);
        assert!(r.parse(&view("cas", Some(&one), None)).is_err());
        assert!(r.parse(&view("append", Some(&one), None)).is_err());
        assert!(r.parse(&view("incr", None, None)).is_err());
    }

    #[test]
    fn append_to_null_is_append_to_empty_string() {
        let a = RegisterOp::Append(Rc::from("x"));
        let once = step_value(&Val::Null, &a).expect("legal");
        assert_eq!(once, Val::Str(Rc::from("x")));
        assert_eq!(step_value(&once, &a), Some(Val::Str(Rc::from("xx"))));
        assert_eq!(step_value(&Val::Int(1), &a), None);
    }
}
