//! `Val`: a JSON value in a form the search can hash and compare cheaply.
//!
//! `serde_json::Value` implements neither `Hash` nor cheap `Clone`; model states are cloned and
//! hashed on every search step. Integers that fit `i64` and strings get their own variants (the
//! common cases); everything else (floats, big integers, arrays, objects) is kept as canonical
//! JSON text, so two values are equal iff their JSON is equal (object keys are sorted by
//! `serde_json`'s default map). Strings are reference-counted: cloning a state never copies one.

use serde_json::Value;
use std::fmt;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
/// A model value (a register's content, a value read), hashable and cheap to clone.
pub enum Val {
    /// JSON `null`.
    Null,
    /// A JSON boolean.
    Bool(bool),
    /// A JSON integer that fits `i64`.
    Int(i64),
    /// A JSON string (shared, never copied when a state is cloned).
    Str(Rc<str>),
    /// Canonical JSON text of any other value.
    Json(Rc<str>),
}

impl Val {
    /// The value of a JSON value.
    pub fn from_json(value: &Value) -> Val {
        match value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::String(s) => Val::Str(Rc::from(s.as_str())),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Json(Rc::from(n.to_string())),
            },
            other => Val::Json(Rc::from(other.to_string())),
        }
    }

    /// An absent JSON field reads as `null`.
    pub fn from_opt(value: Option<&Value>) -> Val {
        value.map_or(Val::Null, Val::from_json)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Val {
    /// Renders as JSON, so descriptions read like the history file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Str(s) => write!(f, "{}", Value::String(s.to_string())),
            Val::Json(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_json_gives_equal_vals() {
        assert_eq!(Val::from_json(&json!(3)), Val::Int(3));
        assert_ne!(Val::from_json(&json!(3)), Val::from_json(&json!("3")));
        assert_ne!(Val::from_json(&json!(null)), Val::from_json(&json!("")));
        let a: Value = serde_json::from_str(r#"{"b":1,"a":[1,2]}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a":[1,2],"b":1}"#).expect("json");
        assert_eq!(Val::from_json(&a), Val::from_json(&b));
        assert_eq!(
            Val::from_json(&json!(u64::MAX)).to_string(),
            u64::MAX.to_string()
        );
        assert_eq!(Val::from_json(&json!("x\"y")).to_string(), r#""x\"y""#);
    }
}
