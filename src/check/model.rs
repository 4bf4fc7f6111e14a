//! The one extension point of the checker: a sequential specification.
//!
//! A model says how to read an operation out of the history (`parse`), which partition it belongs
//! to (`partition`, for P-compositionality), the initial state, and `step`: the state after the
//! operation, or `None`. Adding a data type costs a few dozen lines (see `models/mutex.rs`).
//!
//! `step` is called for two kinds of operations, and the model need not tell them apart:
//! - a completed (`ok`) operation: `None` means the output is impossible in that state;
//! - an operation of unknown outcome (`info`, or never completed), which `parse` received with
//!   `known == false` and no output: `None` means it cannot take effect in that state. The checker
//!   may also leave such an operation out entirely (it may never have taken effect), so a model
//!   must not treat it as a failure.

use serde_json::Value;
use std::fmt::Debug;
use std::hash::Hash;

/// An operation as the history records it, handed to [`Model::parse`].
#[derive(Debug, Clone, Copy)]
pub struct OpView<'a> {
    /// The operation's name (`read`, `acquire`, ...).
    pub f: &'a str,
    /// The operation's key, if any (from the invocation, else the completion).
    pub key: Option<&'a Value>,
    /// The invocation's `value` (`Some(Null)` = explicit null).
    pub input: Option<&'a Value>,
    /// The `ok` completion's `value`; always `None` when `known` is false.
    pub output: Option<&'a Value>,
    /// True for `ok` operations; false for unknown outcomes.
    pub known: bool,
}

/// A sequential specification the checker searches against.
pub trait Model {
    /// One parsed operation (input, and output when known). Two unknown-outcome operations that
    /// compare equal are interchangeable, which the search exploits.
    type Op: Clone + Eq + Hash + Debug;
    /// A state of the sequential object. Hashed and compared on every memoised step: keep it small and cheap to clone.
    type State: Clone + Eq + Hash + Debug;

    /// The `--model` name.
    fn name(&self) -> &'static str;

    /// Reads an operation; `Err` says what is wrong with it (the caller adds the line).
    fn parse(&self, op: &OpView<'_>) -> Result<Self::Op, String>;

    /// Operations with different partition names are checked independently. `None` = one
    /// partition for the whole history.
    fn partition(&self, _op: &OpView<'_>) -> Option<String> {
        None
    }

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op`, or `None` (see the module docs for what `None` means).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// True if `op` never changes the state: `step` returns the same state or `None`, in every
    /// state (a read). Such operations of unknown outcome are dropped before the search, and a
    /// legal one is linearized without trying alternatives. Getting this wrong gives wrong
    /// verdicts; the default `false` is always safe.
    fn is_read_only(&self, _op: &Self::Op) -> bool {
        false
    }

    /// The one state in which the completed `op` is legal, if there is one: a read of 3 needs 3,
    /// `cas(1, 2)` needs 1. With [`Model::sets`] it lets the search abandon a configuration as
    /// soon as a pending operation needs a state nothing left can produce. The default `None` is
    /// always safe; a wrong `Some` gives wrong verdicts.
    fn requires(&self, _op: &Self::Op) -> Option<Self::State> {
        None
    }

    /// The state `op` leaves whenever it is legal, if that is always the same one: `write(3)`
    /// leaves 3. Not asked of read-only operations. The default `None` ("could be anything")
    /// turns the pruning of [`Model::requires`] off for the partition.
    fn sets(&self, _op: &Self::Op) -> Option<Self::State> {
        None
    }

    /// True if `op` is legal in every state and always leaves the same one (a plain `write`):
    /// applying it after other operations reaches nothing it would not reach alone, which lets
    /// the search skip such chains of unknown-outcome operations. The default `false` is always
    /// safe; a wrong `true` gives wrong verdicts.
    fn is_blind_write(&self, _op: &Self::Op) -> bool {
        false
    }

    /// Whether operations without a fixed result ([`Model::sets`] is `None`, like `append`)
    /// could turn `from` into `to` (a string only grows by appends). With [`Model::requires`]
    /// on reads it prunes partitions that the `requires`/`sets` pruning cannot (it needs every
    /// result fixed). The default `None` ("no bound") turns this off and is always safe; a
    /// wrong `Some(false)` gives wrong verdicts.
    fn can_reach(&self, _from: &Self::State, _to: &Self::State) -> Option<bool> {
        None
    }

    /// How an operation reads in a counterexample, e.g. `read → 3`, `cas(1, 2)`.
    fn describe_op(&self, op: &Self::Op) -> String;

    /// How a state reads in a counterexample.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// The canonical text of a partition key (`"a"` and `1` are different keys).
pub fn key_partition(op: &OpView<'_>) -> Option<String> {
    op.key.map(Value::to_string)
}
