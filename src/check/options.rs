//! What to check against and how much effort to spend. Every default is documented here.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Steps (model steps plus backtracks) all partitions together may take before the verdict is
/// `unknown`. What it costs in time is measured by `faultlab bench check` (README, "Checker
/// benchmark"); real histories need far fewer.
pub const BUDGET_STEPS_DEFAULT: u64 = 50_000_000;

/// Memo-table memory all partitions together may hold before the verdict is `unknown`.
pub const MEMORY_BYTES_MAX_DEFAULT: u64 = 256 * 1024 * 1024;

/// What to check against and how much effort to spend on one history.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Search steps all partitions together may take before the verdict is `unknown`
    /// (deterministic: the same history and budget always give the same verdict).
    pub budget_steps: u64,
    /// Memo-table bytes all partitions together may hold before the verdict is `unknown`.
    pub memory_bytes_max: u64,
    /// Wall-clock seconds the search may take before the verdict is `unknown`; `None` = no
    /// limit. Checked between slices of at most 65,536 steps (milliseconds), so a check ends
    /// within a few percent of the limit. Unlike the step budget this depends on the machine.
    pub timeout_s: Option<f64>,
    /// The initial value of the register (or of every key, for `kv`); `None` = `null`.
    pub initial: Option<Value>,
    /// What an `ok` read of `null` means for `register` and `kv`.
    pub read_nil: ReadNil,
    /// How operations of unknown outcome are placed (the default races both ways).
    pub strategy: SearchStrategy,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            budget_steps: BUDGET_STEPS_DEFAULT,
            memory_bytes_max: MEMORY_BYTES_MAX_DEFAULT,
            timeout_s: None,
            initial: None,
            read_nil: ReadNil::Value,
            strategy: SearchStrategy::Race,
        }
    }
}

/// What an `ok` read that returned `null` (or no value) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadNil {
    /// `null` is a value like any other: the register held `null` (JSON Lines default).
    Value,
    /// The read told nothing: it matches any state (Knossos's convention, the EDN default).
    Any,
}

impl ReadNil {
    /// The `--read-nil` name: `value` or `any`.
    pub fn name(self) -> &'static str {
        match self {
            ReadNil::Value => "value",
            ReadNil::Any => "any",
        }
    }
}

impl FromStr for ReadNil {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "value" => Ok(ReadNil::Value),
            "any" => Ok(ReadNil::Any),
            other => Err(format!(
                "unknown read-nil rule `{other}` (expected value, any)"
            )),
        }
    }
}

/// How the search places operations of unknown outcome (`info`, never completed). Every
/// strategy is exact; they differ only in speed, so the default races them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchStrategy {
    /// Both placements below take slices in turn under the one budget; the first decisive
    /// answer wins. Never worse than twice the faster one's steps.
    Race,
    /// Just in time: only as the minimal sets that make a completed operation legal (with a
    /// cheap relaxed pass first, which refutes most violations).
    JustInTime,
    /// As calls whose return lies at +∞ (Porcupine's way), tried before completed candidates.
    AtInfinity,
}

/// The built-in models, by their `--model` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelKind {
    /// `register` (alias `cas-register`): one read/write/cas register.
    Register,
    /// `kv`: a register per key, plus `append` and `delete`.
    Kv,
    /// `mutex`: one lock without owners or tokens (per key).
    Mutex,
    /// `lock`: a lease lock with fencing tokens (per key).
    Lock,
    /// `idgen`: unique, real-time-ordered ids (decided by a sweep).
    Idgen,
}

impl ModelKind {
    /// Every built-in model, in `--model` help order.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Register,
        ModelKind::Kv,
        ModelKind::Mutex,
        ModelKind::Lock,
        ModelKind::Idgen,
    ];

    /// The `--model` name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::Kv => "kv",
            ModelKind::Mutex => "mutex",
            ModelKind::Lock => "lock",
            ModelKind::Idgen => "idgen",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    /// Accepts the names above, plus `cas-register` (Knossos's name for `register`).
    fn from_str(name: &str) -> Result<Self, String> {
        if name == "cas-register" {
            return Ok(ModelKind::Register);
        }
        ModelKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown model `{name}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
