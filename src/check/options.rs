//! What to check against and how much effort to spend. Every default is documented here.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// Steps (model steps plus backtracks) all partitions together may take before the verdict is
/// `unknown`. About a second of search on one core; real histories need far fewer.
pub const BUDGET_STEPS_DEFAULT: u64 = 50_000_000;

/// Memo-table memory all partitions together may hold before the verdict is `unknown`.
pub const MEMORY_BYTES_MAX_DEFAULT: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    pub budget_steps: u64,
    pub memory_bytes_max: u64,
    /// The initial value of the register (or of every key, for `kv`); `None` = `null`.
    pub initial: Option<Value>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            budget_steps: BUDGET_STEPS_DEFAULT,
            memory_bytes_max: MEMORY_BYTES_MAX_DEFAULT,
            initial: None,
        }
    }
}

/// The built-in models, by their `--model` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelKind {
    Register,
    Kv,
    Mutex,
    Lock,
    Idgen,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Register,
        ModelKind::Kv,
        ModelKind::Mutex,
        ModelKind::Lock,
        ModelKind::Idgen,
    ];

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
