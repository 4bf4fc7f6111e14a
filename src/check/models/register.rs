//! `register`: a single read/write/compare-and-set register (Jepsen's and Knossos's
//! `cas-register`, etcd's register test) — and, keyed, the `kv` model (see [`super::kv`]): one
//! register semantics for both, so the two can never drift apart.
//!
//! History conventions (the `key` field is ignored; use `kv` for many registers):
//! - `read` (alias `get`): the `ok` value is the value read. `null` is a legal value: it is what an
//!   unwritten register holds unless `--initial` says otherwise. An `ok` without `value` reads as
//!   `null`. With [`ReadNil::Any`] (Knossos's convention, the default for EDN histories) an `ok`
//!   read of `null` says nothing and matches any state. The invocation's value is ignored.
//! - `write` (alias `put`): the invocation's value is written (if the invocation has no `value`
//!   field, the completion's is used).
//! - `cas`: value `[expected, new]`. `ok` = it swapped (legal only when the register held
//!   `expected`); `fail` = it did not (dropped like every `fail`); unknown = it swapped if it could.
//!
//! The initial value comes from `--initial` (JSON, default `null`).

use super::super::model::{Model, OpView, key_partition};
use super::super::options::ReadNil;
use super::super::value::Val;
use serde_json::Value;
use std::rc::Rc;

/// Operations on one register value; `kv` adds `append` and `delete` per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// The value read; `None` when it constrains nothing (unknown outcome, or a `null` read
    /// under [`ReadNil::Any`]).
    Read(Option<Val>),
    /// Sets the value.
    Write(Val),
    /// `cas(expected, new)`: legal only in `expected`, leaves `new`.
    Cas(Val, Val),
    /// String concatenation; appending to `null` appends to the empty string.
    Append(Rc<str>),
    /// Sets the value to `null`.
    Delete,
}

/// The `register` model, or (built with [`Register::keyed`]) the `kv` model.
#[derive(Debug, Clone)]
pub struct Register {
    /// The value before any write (of every key, for `kv`).
    pub initial: Val,
    /// What an `ok` read of `null` means.
    pub read_nil: ReadNil,
    /// `kv`: one register per `key`, with `append` and `delete`.
    keyed: bool,
}

impl Register {
    /// One register; `initial` = `None` means `null`.
    pub fn new(initial: Option<&Value>, read_nil: ReadNil) -> Self {
        Register {
            initial: Val::from_opt(initial),
            read_nil,
            keyed: false,
        }
    }

    /// One register per `key`, plus `append` and `delete`: the `kv` model.
    pub fn keyed(initial: Option<&Value>, read_nil: ReadNil) -> Self {
        Register {
            keyed: true,
            ..Register::new(initial, read_nil)
        }
    }
}

impl Model for Register {
    type Op = RegisterOp;
    type State = Val;

    fn name(&self) -> &'static str {
        if self.keyed { "kv" } else { "register" }
    }

    fn parse(&self, op: &OpView<'_>) -> Result<RegisterOp, String> {
        match op.f {
            "append" | "delete" if !self.keyed => {
                Err(format!("`{}` is a kv operation; use --model kv", op.f))
            }
            _ if self.keyed && op.key.is_none() => Err("a kv operation needs a `key`".to_string()),
            _ => parse_value_op(op, self.read_nil),
        }
    }

    fn partition(&self, op: &OpView<'_>) -> Option<String> {
        if self.keyed { key_partition(op) } else { None }
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
        match op {
            RegisterOp::Read(seen) => seen.clone(),
            RegisterOp::Cas(expected, _) => Some(expected.clone()),
            RegisterOp::Write(_) | RegisterOp::Append(_) | RegisterOp::Delete => None,
        }
    }

    /// An append's result depends on what it appends to, so it has none.
    fn sets(&self, op: &RegisterOp) -> Option<Val> {
        match op {
            RegisterOp::Write(value) | RegisterOp::Cas(_, value) => Some(value.clone()),
            RegisterOp::Delete => Some(Val::Null),
            RegisterOp::Read(_) | RegisterOp::Append(_) => None,
        }
    }

    /// Appends only grow a string (from `null`, from the empty string).
    fn can_reach(&self, from: &Val, to: &Val) -> Option<bool> {
        Some(match (from, to) {
            _ if from == to => true,
            (Val::Null, Val::Str(_)) => true,
            (Val::Str(prefix), Val::Str(whole)) => whole.starts_with(&**prefix),
            _ => false,
        })
    }

    fn is_blind_write(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Write(_) | RegisterOp::Delete)
    }

    fn describe_op(&self, op: &RegisterOp) -> String {
        match op {
            RegisterOp::Read(Some(value)) => format!("read → {value}"),
            RegisterOp::Read(None) => "read → any".to_string(),
            RegisterOp::Write(value) => format!("write({value})"),
            RegisterOp::Cas(expected, new) => format!("cas({expected}, {new})"),
            RegisterOp::Append(suffix) => format!("append({})", Val::Str(suffix.clone())),
            RegisterOp::Delete => "delete".to_string(),
        }
    }

    fn describe_state(&self, state: &Val) -> String {
        state.to_string()
    }
}

/// Parses an operation (`append` and `delete` are refused by the caller for `register`).
fn parse_value_op(op: &OpView<'_>, read_nil: ReadNil) -> Result<RegisterOp, String> {
    let argument = op.input.or(op.output);
    match op.f {
        "read" | "get" => {
            let nil = op.output.is_none_or(Value::is_null);
            let told = op.known && !(nil && read_nil == ReadNil::Any);
            Ok(RegisterOp::Read(told.then(|| Val::from_opt(op.output))))
        }
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

/// The register semantics: the state after `op`, or `None` if `op` is impossible in `state`.
fn step_value(state: &Val, op: &RegisterOp) -> Option<Val> {
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
        let r = Register::new(None, ReadNil::Value);
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
    fn under_knossos_rules_a_nil_read_matches_any_state() {
        let null = json!(null);
        let knossos = Register::new(Some(&json!(0)), ReadNil::Any);
        let read_nil = knossos.parse(&view("read", None, Some(&null))).expect("op");
        assert_eq!(read_nil, RegisterOp::Read(None));
        assert_eq!(knossos.step(&Val::Int(3), &read_nil), Some(Val::Int(3)));
        let exact = Register::new(Some(&json!(0)), ReadNil::Value);
        let read_nil = exact.parse(&view("read", None, Some(&null))).expect("op");
        assert_eq!(exact.step(&Val::Int(3), &read_nil), None);
        // Only `null` is special: a read of 1 still needs 1.
        let one = json!(1);
        let read_one = knossos.parse(&view("read", None, Some(&one))).expect("op");
        assert_eq!(knossos.step(&Val::Int(3), &read_one), None);
    }

    #[test]
    fn kv_is_the_keyed_register_with_append_and_delete() {
        let kv = Register::keyed(None, ReadNil::Value);
        let x = json!("x");
        let mut keyed = view("append", Some(&x), None);
        assert!(kv.parse(&keyed).is_err(), "a kv operation needs a key");
        keyed.key = Some(&x);
        assert_eq!(kv.parse(&keyed), Ok(RegisterOp::Append(Rc::from("x"))));
        assert_eq!(kv.partition(&keyed), Some("\"x\"".to_string()));
        assert_eq!(kv.name(), "kv");
        let register = Register::new(None, ReadNil::Value);
        assert!(register.parse(&keyed).is_err(), "append is a kv operation");
        assert_eq!(register.partition(&keyed), None, "the key is ignored");
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
