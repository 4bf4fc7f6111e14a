//! Register histories laid out in continuous time, the way a real cluster's look: each client
//! issues operations back to back after an exponentially distributed pause, and each operation
//! takes effect an exponentially distributed time after its call and completes an exponentially
//! distributed time after that. Unlike `histories::generate` (random moves of fixed slots), a few
//! operations run long and overlap many others. Values are drawn from a wide range, as in
//! Jepsen's etcd logs. Linearizable by construction; same config, same history.

use crate::history::{History, HistoryEvent, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedConfig {
    pub clients: u32,
    pub ops: u32,
    /// Writes draw from `0..values`.
    pub values: u32,
    /// Share of writes that time out (`info`); half of them take effect.
    pub info_percent: u32,
    pub seed: u64,
}

impl TimedConfig {
    pub fn new(clients: u32, ops: u32, seed: u64) -> Self {
        TimedConfig {
            clients,
            ops,
            values: 100,
            info_percent: 0,
            seed,
        }
    }
}

/// Mean pause between a client's operations, and mean time from call to effect and from effect
/// to completion (arbitrary units; only the ratios matter).
const PAUSE_MEAN: f64 = 0.2;
const LATENCY_MEAN: f64 = 1.0;

struct Op {
    process: u64,
    write: Option<i64>,
    read: Option<Value>,
    call: f64,
    effect: Option<f64>,
    done: f64,
    timed_out: bool,
}

pub fn timed_register_history(config: &TimedConfig) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let clients = config.clients.max(1) as usize;
    let mut exp = |mean: f64| -mean * (1.0 - rng.random::<f64>()).ln();
    let mut free_at = vec![0.0f64; clients];
    let mut process_of: Vec<u64> = (0..clients as u64).collect();
    let mut ops = Vec::with_capacity(config.ops as usize);
    let mut draws = ChaCha8Rng::seed_from_u64(config.seed ^ 0x9e37_79b9_7f4a_7c15);
    for i in 0..config.ops as usize {
        let client = i % clients;
        let call = free_at[client] + exp(PAUSE_MEAN);
        let effect = call + exp(LATENCY_MEAN);
        let done = effect + exp(LATENCY_MEAN);
        free_at[client] = done;
        let write = draws
            .random_bool(0.5)
            .then(|| i64::from(draws.random_range(0..config.values.max(1))));
        let timed_out = write.is_some() && draws.random_range(0..100) < config.info_percent;
        let applies = !timed_out || draws.random_bool(0.5);
        ops.push(Op {
            process: process_of[client],
            write,
            read: None,
            call,
            effect: applies.then_some(effect),
            done,
            timed_out,
        });
        if timed_out {
            // Jepsen: a process whose operation timed out is replaced by a fresh one.
            process_of[client] += clients as u64;
        }
    }
    let mut by_effect: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].effect.is_some())
        .collect();
    by_effect.sort_by(|&a, &b| ops[a].effect.partial_cmp(&ops[b].effect).expect("finite"));
    let mut value = Value::Null;
    for i in by_effect {
        match ops[i].write {
            Some(v) => value = json!(v),
            None => ops[i].read = Some(value.clone()),
        }
    }
    let mut events: Vec<(f64, bool, HistoryEvent)> = Vec::with_capacity(2 * ops.len());
    for op in &ops {
        let event = |kind, value| HistoryEvent {
            process: Process::Int(op.process),
            kind,
            f: if op.write.is_some() { "write" } else { "read" }.to_string(),
            key: None,
            value,
            time: None,
        };
        let written = op.write.map(|v| json!(v));
        events.push((op.call, false, event(OpType::Invoke, written.clone())));
        let completion = match (op.timed_out, op.write) {
            (true, _) => event(OpType::Info, None),
            (false, Some(_)) => event(OpType::Ok, written),
            (false, None) => event(OpType::Ok, op.read.clone()),
        };
        events.push((op.done, true, completion));
    }
    events.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite").then(a.1.cmp(&b.1)));
    let mut history = History::default();
    for (_, _, event) in events {
        history.push(event);
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_config_same_history_and_every_op_completes_or_times_out() {
        let config = TimedConfig {
            info_percent: 10,
            ..TimedConfig::new(4, 200, 3)
        };
        let a = timed_register_history(&config);
        assert_eq!(a, timed_register_history(&config));
        assert_eq!(a.events.len(), 400);
        let infos = a.events.iter().filter(|e| e.kind == OpType::Info).count();
        assert!(infos > 0 && infos < 40, "{infos} timeouts");
    }
}
