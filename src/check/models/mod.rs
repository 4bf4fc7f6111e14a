//! The built-in models. Each file documents the history conventions it expects.

pub mod kv;
pub mod lock;
pub mod mutex;
pub mod register;

pub use lock::Lock;
pub use mutex::Mutex;
pub use register::Register;

use serde_json::Value;

/// An integer JSON value as `i64`, for tokens and ids.
pub(crate) fn as_integer(value: &Value) -> Option<i64> {
    value.as_i64()
}
