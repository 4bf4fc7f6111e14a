//! Seeded generators of histories that are linearizable by construction.
//!
//! Clients (one slot each) invoke operations; at a random later moment the operation takes effect
//! on a sequential reference object (its linearization point), and later still it completes. The
//! random choice of which slot moves next creates the real-time overlap. With probability
//! `unknown_percent` an operation "times out": it completes `info`, either before or after it took
//! effect, and (as in Jepsen) the slot continues under a new process id. Same config, same history.

use crate::history::{History, HistoryEvent, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// Concurrent clients.
    pub processes: u32,
    /// Operations in all.
    pub ops: u32,
    /// Keys for `kv` (ignored by the single-object workloads).
    pub keys: u32,
    /// Distinct values written (small = many equal values, like Jepsen's 0..4).
    pub values: u32,
    /// Percentage of operations that time out (`info`).
    pub unknown_percent: u32,
    /// The generator's seed.
    pub seed: u64,
}

impl GenConfig {
    /// One key, five values, no timeouts.
    pub fn new(processes: u32, ops: u32, seed: u64) -> Self {
        GenConfig {
            processes,
            ops,
            keys: 1,
            values: 5,
            unknown_percent: 0,
            seed,
        }
    }
}

/// One invocation a workload chose.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The operation's name.
    pub f: &'static str,
    /// Its key, if any.
    pub key: Option<Value>,
    /// Its input value, if any.
    pub input: Option<Value>,
}

/// How an operation ended on the reference object.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Took effect, with this output.
    Ok(Option<Value>),
    /// Did not take effect.
    Fail,
}

/// A sequential reference object and the operations clients ask of it.
pub trait Workload {
    /// The next call of client `slot`.
    fn invoke(&mut self, rng: &mut ChaCha8Rng, slot: usize) -> Call;
    /// Applies a call to the reference object (its linearization point).
    fn apply(&mut self, slot: usize, call: &Call) -> Applied;
}

/// How an operation will end: normally, or timing out before / after it takes effect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Completes,
    TimesOutBefore,
    TimesOutAfter,
}

enum Slot {
    Idle,
    Open {
        call: Call,
        applied: Option<Applied>,
        fate: Fate,
    },
}

/// Drives `workload` with `config.processes` clients for `config.ops` operations.
pub fn generate<W: Workload>(workload: &mut W, config: &GenConfig) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let slots_count = config.processes.max(1) as usize;
    let mut slots: Vec<Slot> = (0..slots_count).map(|_| Slot::Idle).collect();
    let mut process_of: Vec<u64> = (0..slots_count as u64).collect();
    let mut history = History::default();
    let (mut issued, mut open) = (0u32, 0usize);
    while issued < config.ops || open > 0 {
        let slot = rng.random_range(0..slots_count);
        let process = Process::Int(process_of[slot]);
        let emit = |history: &mut History, kind: OpType, call: &Call, value: Option<Value>| {
            history.push(HistoryEvent {
                process: process.clone(),
                kind,
                f: call.f.to_string(),
                key: call.key.clone(),
                value,
                time: None,
            });
        };
        match std::mem::replace(&mut slots[slot], Slot::Idle) {
            Slot::Idle if issued < config.ops => {
                let call = workload.invoke(&mut rng, slot);
                emit(&mut history, OpType::Invoke, &call, call.input.clone());
                let fate = match rng.random_range(0..100) < config.unknown_percent {
                    false => Fate::Completes,
                    true if rng.random_bool(0.5) => Fate::TimesOutBefore,
                    true => Fate::TimesOutAfter,
                };
                slots[slot] = Slot::Open {
                    call,
                    applied: None,
                    fate,
                };
                issued += 1;
                open += 1;
            }
            Slot::Idle => {}
            Slot::Open {
                call,
                applied,
                fate,
            } => {
                let applied = match applied {
                    // Times out before taking effect: it never will.
                    None if fate == Fate::TimesOutBefore => None,
                    None => {
                        let applied = workload.apply(slot, &call);
                        slots[slot] = Slot::Open {
                            call,
                            applied: Some(applied),
                            fate,
                        };
                        continue;
                    }
                    Some(applied) => Some(applied),
                };
                open -= 1;
                match applied {
                    _ if fate != Fate::Completes => {
                        emit(&mut history, OpType::Info, &call, None);
                        process_of[slot] += slots_count as u64;
                    }
                    Some(Applied::Ok(output)) => emit(&mut history, OpType::Ok, &call, output),
                    Some(Applied::Fail) | None => emit(&mut history, OpType::Fail, &call, None),
                }
            }
        }
    }
    history
}

/// A register with read / write / cas over `values` distinct integers (the etcd workload).
pub struct RegisterWorkload {
    /// The register's value.
    pub value: Value,
    /// Distinct values written.
    pub values: u32,
}

impl Workload for RegisterWorkload {
    fn invoke(&mut self, rng: &mut ChaCha8Rng, _slot: usize) -> Call {
        let v = |rng: &mut ChaCha8Rng| json!(rng.random_range(0..self.values.max(1)));
        let (f, input) = match rng.random_range(0..10) {
            0..4 => ("read", None),
            4..7 => ("write", Some(v(rng))),
            _ => ("cas", Some(json!([v(rng), v(rng)]))),
        };
        Call {
            f,
            key: None,
            input,
        }
    }

    fn apply(&mut self, _slot: usize, call: &Call) -> Applied {
        apply_value_op(&mut self.value, call)
    }
}

/// read / write / cas / append on one value (append concatenates strings, `null` as "").
fn apply_value_op(value: &mut Value, call: &Call) -> Applied {
    let input = call.input.clone().unwrap_or(Value::Null);
    match call.f {
        "read" | "get" => Applied::Ok(Some(value.clone())),
        "write" | "put" => {
            *value = input;
            Applied::Ok(None)
        }
        "cas" if input.get(0) == Some(value) => {
            *value = input.get(1).cloned().unwrap_or(Value::Null);
            Applied::Ok(None)
        }
        "append" => {
            let prefix = value.as_str().unwrap_or("");
            *value = json!(format!("{prefix}{}", input.as_str().unwrap_or("")));
            Applied::Ok(None)
        }
        _ => Applied::Fail,
    }
}

/// Many keys with get / put / append / cas (the Porcupine kv workload; keys start `null`).
pub struct KvWorkload {
    /// Each key's value.
    pub values: Vec<Value>,
    /// Writes so far (makes values unique).
    pub written: u64,
}

impl KvWorkload {
    /// `keys` keys, all `null`.
    pub fn new(keys: u32) -> Self {
        KvWorkload {
            values: vec![Value::Null; keys.max(1) as usize],
            written: 0,
        }
    }
}

impl Workload for KvWorkload {
    fn invoke(&mut self, rng: &mut ChaCha8Rng, slot: usize) -> Call {
        let key = rng.random_range(0..self.values.len());
        self.written += 1;
        let token = json!(format!("{slot}.{} ", self.written));
        let (f, input) = match rng.random_range(0..10) {
            0..4 => ("get", None),
            4..6 => ("put", Some(token)),
            6..9 => ("append", Some(token)),
            _ => {
                let current = self.values[key].clone();
                ("cas", Some(json!([current, token])))
            }
        };
        Call {
            f,
            key: Some(json!(format!("k{key}"))),
            input,
        }
    }

    fn apply(&mut self, _slot: usize, call: &Call) -> Applied {
        let index = call
            .key
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|k| k.trim_start_matches('k').parse::<usize>().ok())
            .unwrap_or(0);
        apply_value_op(&mut self.values[index], call)
    }
}

/// One lock; `tokens` decides between `mutex` (no values) and `lock` (fencing tokens).
pub struct LockWorkload {
    /// The client holding the lock.
    pub holder: Option<usize>,
    /// Grants carry fencing tokens.
    pub tokens: bool,
    /// The last token granted.
    pub token_last: i64,
    /// The holder's token.
    pub token_held: i64,
}

impl LockWorkload {
    /// A free lock.
    pub fn new(tokens: bool) -> Self {
        LockWorkload {
            holder: None,
            tokens,
            token_last: 0,
            token_held: 0,
        }
    }
}

impl Workload for LockWorkload {
    fn invoke(&mut self, _rng: &mut ChaCha8Rng, slot: usize) -> Call {
        if self.holder == Some(slot) {
            let input = self.tokens.then(|| json!(self.token_held));
            Call {
                f: "release",
                key: None,
                input,
            }
        } else {
            Call {
                f: "acquire",
                key: None,
                input: None,
            }
        }
    }

    fn apply(&mut self, slot: usize, call: &Call) -> Applied {
        match (call.f, self.holder) {
            ("acquire", None) => {
                self.holder = Some(slot);
                self.token_last += 1;
                self.token_held = self.token_last;
                Applied::Ok(self.tokens.then(|| json!(self.token_held)))
            }
            ("release", Some(holder)) if holder == slot => {
                self.holder = None;
                Applied::Ok(None)
            }
            _ => Applied::Fail,
        }
    }
}

/// An id generator: each `next` takes the next integer at its linearization point.
#[derive(Default)]
pub struct IdgenWorkload {
    /// The last id issued.
    pub last: u64,
}

impl Workload for IdgenWorkload {
    fn invoke(&mut self, _rng: &mut ChaCha8Rng, _slot: usize) -> Call {
        Call {
            f: "next",
            key: None,
            input: None,
        }
    }

    fn apply(&mut self, _slot: usize, _call: &Call) -> Applied {
        self.last += 1;
        Applied::Ok(Some(json!(self.last)))
    }
}

/// A register history (read / write / cas).
pub fn register_history(config: &GenConfig) -> History {
    let mut workload = RegisterWorkload {
        value: Value::Null,
        values: config.values,
    };
    generate(&mut workload, config)
}

/// A kv history (get / put / append / cas over `config.keys` keys).
pub fn kv_history(config: &GenConfig) -> History {
    generate(&mut KvWorkload::new(config.keys), config)
}
