//! `mutex`: one lock without owners or tokens (Knossos's mutex model).
//!
//! History conventions: `acquire` (alias `lock`) is legal iff unlocked; `release` (alias `unlock`)
//! is legal iff locked. Values are ignored (Jepsen clients often return `true`). Operations with a
//! `key` are partitioned by it (one mutex per key).

use super::super::model::{Model, OpView, key_partition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// A mutex operation.
pub enum MutexOp {
    /// `acquire` / `lock`: legal iff free.
    Acquire,
    /// `release` / `unlock`: legal iff held.
    Release,
}

#[derive(Debug, Clone, Copy, Default)]
/// The `mutex` model (see the module docs).
pub struct Mutex;

impl Model for Mutex {
    type Op = MutexOp;
    /// True while held.
    type State = bool;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn parse(&self, op: &OpView<'_>) -> Result<MutexOp, String> {
        match op.f {
            "acquire" | "lock" => Ok(MutexOp::Acquire),
            "release" | "unlock" => Ok(MutexOp::Release),
            other => Err(format!(
                "unknown operation `{other}` (expected acquire/lock, release/unlock)"
            )),
        }
    }

    fn partition(&self, op: &OpView<'_>) -> Option<String> {
        key_partition(op)
    }

    fn init(&self) -> bool {
        false
    }

    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn requires(&self, op: &MutexOp) -> Option<bool> {
        Some(matches!(op, MutexOp::Release))
    }

    fn sets(&self, op: &MutexOp) -> Option<bool> {
        Some(matches!(op, MutexOp::Acquire))
    }

    fn describe_op(&self, op: &MutexOp) -> String {
        match op {
            MutexOp::Acquire => "acquire".to_string(),
            MutexOp::Release => "release".to_string(),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.to_string()
    }
}
