//! `kv`: a key-value store, one register per `key` (Porcupine's kv tests, our KV store).
//!
//! Operations are the `register` ones — `read`/`get`, `write`/`put`, `cas` — with the same
//! semantics (the one implementation is [`Register`], built with [`Register::keyed`]), plus
//! `append` (string concatenation; the invocation's `value` must be a string; appending to `null`
//! appends to the empty string, and appending to a non-string is impossible) and `delete` (sets
//! `null`). Every operation needs a `key` (on the invocation or the completion). Keys are
//! independent, so each key is its own partition. `--initial` is every key's initial value
//! (default `null`; Porcupine's tests, where an unwritten key reads `""`, need `--initial '""'`).

use super::super::options::ReadNil;
use super::register::Register;
use serde_json::Value;

/// The `kv` model: [`Register::keyed`].
pub fn new(initial: Option<&Value>, read_nil: ReadNil) -> Register {
    Register::keyed(initial, read_nil)
}
