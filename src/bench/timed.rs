//! Register histories laid out in continuous time, the way a real cluster's look: each client
//! issues operations back to back after an exponentially distributed pause, and each operation
//! takes effect an exponentially distributed time after its call and completes an exponentially
//! distributed time after that. Unlike `histories::generate` (random moves of fixed slots), a few
//! operations run long and overlap many others. By default values are drawn from a wide range
//! and there is no `cas`; [`TimedConfig::etcd`] gives Jepsen's etcd register workload (reads,
//! writes and cas in equal shares over values 0–4, a cas that does not match fails).
//! Linearizable by construction; same config, same history.

use crate::history::{History, HistoryEvent, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// The shape of a generated history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedConfig {
    /// Concurrent clients (each issues its operations one after another).
    pub clients: u32,
    /// Operations in all.
    pub ops: u32,
    /// Writes (and both cas arguments) draw from `0..values`.
    pub values: u32,
    /// Share of operations that are `cas`, in percent; the rest are half reads, half writes.
    pub cas_percent: u32,
    /// Share of writes and cas that time out (`info`); half of them take effect.
    pub info_percent: u32,
    /// Seed of every random draw.
    pub seed: u64,
}

impl TimedConfig {
    /// Reads and writes only, values 0–99, nothing times out.
    pub fn new(clients: u32, ops: u32, seed: u64) -> Self {
        TimedConfig {
            clients,
            ops,
            values: 100,
            cas_percent: 0,
            info_percent: 0,
            seed,
        }
    }

    /// Jepsen's etcd register workload: a third each of reads, writes and cas over values 0–4,
    /// with `info_percent` of the writes and cas timed out.
    pub fn etcd(clients: u32, ops: u32, info_percent: u32, seed: u64) -> Self {
        TimedConfig {
            values: 5,
            cas_percent: 33,
            info_percent,
            ..TimedConfig::new(clients, ops, seed)
        }
    }
}

/// Mean pause between a client's operations, and mean time from call to effect and from effect
/// to completion (arbitrary units; only the ratios matter).
const PAUSE_MEAN: f64 = 0.2;
const LATENCY_MEAN: f64 = 1.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write(i64),
    Cas(i64, i64),
}

struct Op {
    process: u64,
    kind: Kind,
    read: Option<Value>,
    call: f64,
    effect: Option<f64>,
    done: f64,
    timed_out: bool,
    /// A cas whose expected value did not match when it took effect: it completes `fail`.
    failed: bool,
}

/// Generates the history `config` describes (JSON Lines events, real-time order).
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
        let value = |draws: &mut ChaCha8Rng| i64::from(draws.random_range(0..config.values.max(1)));
        // No draw for the cas share when there is none: older configs keep their histories.
        let kind = if config.cas_percent > 0 && draws.random_range(0..100) < config.cas_percent {
            Kind::Cas(value(&mut draws), value(&mut draws))
        } else if draws.random_bool(0.5) {
            Kind::Write(value(&mut draws))
        } else {
            Kind::Read
        };
        let timed_out = kind != Kind::Read && draws.random_range(0..100) < config.info_percent;
        let applies = !timed_out || draws.random_bool(0.5);
        ops.push(Op {
            process: process_of[client],
            kind,
            read: None,
            call,
            effect: applies.then_some(effect),
            done,
            timed_out,
            failed: false,
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
        match ops[i].kind {
            Kind::Write(v) => value = json!(v),
            Kind::Read => ops[i].read = Some(value.clone()),
            Kind::Cas(expected, new) if value == json!(expected) => value = json!(new),
            Kind::Cas(..) => ops[i].failed = true,
        }
    }
    let mut events: Vec<(f64, bool, HistoryEvent)> = Vec::with_capacity(2 * ops.len());
    for op in &ops {
        let (f, input) = match op.kind {
            Kind::Read => ("read", None),
            Kind::Write(v) => ("write", Some(json!(v))),
            Kind::Cas(expected, new) => ("cas", Some(json!([expected, new]))),
        };
        let event = |kind, value| HistoryEvent {
            process: Process::Int(op.process),
            kind,
            f: f.to_string(),
            key: None,
            value,
            time: None,
        };
        events.push((op.call, false, event(OpType::Invoke, input.clone())));
        let completion = match op.kind {
            _ if op.timed_out => event(OpType::Info, None),
            _ if op.failed => event(OpType::Fail, input),
            Kind::Read => event(OpType::Ok, op.read.clone()),
            Kind::Write(_) | Kind::Cas(..) => event(OpType::Ok, input),
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

    #[test]
    fn the_etcd_workload_has_cas_that_succeed_and_fail() {
        let history = timed_register_history(&TimedConfig::etcd(5, 600, 5, 7));
        let count = |f: &str, kind| {
            history
                .events
                .iter()
                .filter(|e| e.f == f && e.kind == kind)
                .count()
        };
        assert!(count("cas", OpType::Ok) > 0, "some cas swap");
        assert!(
            count("cas", OpType::Fail) > 0,
            "some cas find another value"
        );
        assert!(count("cas", OpType::Info) + count("write", OpType::Info) > 0);
        assert_eq!(
            count("read", OpType::Info),
            0,
            "only writes and cas time out"
        );
    }
}
