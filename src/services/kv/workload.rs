//! What KV clients do: get / put / cas / append / delete on a few keys, so they contend. Values
//! are unique per write (`c3-17`) and appended tokens are unique (`c3.17;`), so a read shows
//! which writes it saw; a cas expects the value this client last saw for the key, so it
//! swaps often enough to matter.
//!
//! History (the checker's `kv` model): `read` (ok value = the value read, `null` if absent),
//! `write` (value), `cas` (value `[expected, new]`; `fail` when it did not swap), `append`
//! (value = the suffix), `delete`; every line carries the key.

use super::{KvMachine, KvOp, KvOptions, KvResult};
use crate::client::{ClientCtx, Completion, OpDescription};
use crate::history::OpType;
use crate::ids::ClientId;
use crate::services::replicated::{ClientOp, Workload};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One KV client's workload.
#[derive(Debug, Clone)]
pub struct KvWorkload {
    client: ClientId,
    keys: u32,
    /// The run's first client id: 0 under simulation; on real sockets a random number that
    /// names the run and its keys (`k3@<run>`), so a second `load` on a cluster that holds the
    /// first one's data starts from keys nobody has written.
    run: u32,
    /// Cumulative weights of get, put, cas, append, delete.
    cumulative: [u32; 5],
    /// This client only reads.
    read_only: bool,
    /// Writes drawn so far (makes values unique).
    writes: u64,
    /// The value this client last saw for each key.
    seen: BTreeMap<String, Option<String>>,
}

impl KvWorkload {
    /// The workload of client `client`, the `index`-th of its run (0-based).
    pub fn new(opts: &KvOptions, client: ClientId, index: u32) -> Self {
        let run = client.0.saturating_sub(index);
        let w = [
            opts.get_weight,
            opts.put_weight,
            opts.cas_weight,
            opts.append_weight,
            opts.delete_weight,
        ];
        let mut cumulative = [0; 5];
        let mut sum = 0;
        for (c, weight) in cumulative.iter_mut().zip(w) {
            sum += weight;
            *c = sum;
        }
        KvWorkload {
            client,
            keys: opts.keys,
            run,
            cumulative,
            read_only: index < opts.read_only_clients,
            writes: 0,
            seen: BTreeMap::new(),
        }
    }

    fn unique(&mut self, sep: &str) -> String {
        self.writes += 1;
        format!("c{}{sep}{}", self.client.0, self.writes)
    }
}

fn describe(f: &'static str, key: &str, value: Option<Value>) -> OpDescription {
    OpDescription {
        f,
        key: Some(json!(key)),
        value,
    }
}

impl Workload for KvWorkload {
    type Machine = KvMachine;

    fn next(&mut self, cx: &mut ClientCtx<'_>) -> ClientOp<KvOp> {
        let i = cx.rng.random_range(0..self.keys);
        let key = match self.run {
            0 => format!("k{i}"),
            run => format!("k{i}@{run}"),
        };
        let total = self.cumulative[4];
        let pick = cx.rng.random_range(0..total);
        let kind = if self.read_only {
            0
        } else {
            self.cumulative.iter().position(|&c| pick < c).unwrap_or(0)
        };
        let (op, describe) = match kind {
            0 => (KvOp::Get { key: key.clone() }, describe("read", &key, None)),
            1 => {
                let value = self.unique("-");
                let d = describe("write", &key, Some(json!(value)));
                (KvOp::Put { key, value }, d)
            }
            2 => {
                let expected = self.seen.get(&key).cloned().flatten();
                let new = self.unique("-");
                let d = describe("cas", &key, Some(json!([expected, new])));
                (KvOp::Cas { key, expected, new }, d)
            }
            3 => {
                let suffix = format!("{};", self.unique("."));
                let d = describe("append", &key, Some(json!(suffix)));
                (KvOp::Append { key, suffix }, d)
            }
            _ => (
                KvOp::Delete { key: key.clone() },
                describe("delete", &key, None),
            ),
        };
        ClientOp { op, describe }
    }

    fn complete(&mut self, op: &KvOp, output: &KvResult) -> Completion {
        let ok = |value| Completion {
            op_type: OpType::Ok,
            value,
        };
        match (op, output) {
            (KvOp::Get { key }, KvResult::Value { value }) => {
                self.seen.insert(key.clone(), value.clone());
                ok(Some(json!(value)))
            }
            (KvOp::Put { key, value }, KvResult::Done) => {
                self.seen.insert(key.clone(), Some(value.clone()));
                ok(None)
            }
            (KvOp::Cas { key, new, .. }, KvResult::Cas { swapped: true }) => {
                self.seen.insert(key.clone(), Some(new.clone()));
                ok(None)
            }
            // Did not swap: it took no effect. What the key holds is unknown now.
            (KvOp::Cas { key, .. }, KvResult::Cas { swapped: false }) => {
                self.seen.remove(key);
                Completion {
                    op_type: OpType::Fail,
                    value: None,
                }
            }
            (KvOp::Append { key, .. }, KvResult::Appended { .. }) => {
                self.seen.remove(key);
                ok(None)
            }
            (KvOp::Delete { key }, KvResult::Done) => {
                self.seen.insert(key.clone(), None);
                ok(None)
            }
            // An output of another operation's kind is a bug in the server: record it so the
            // checker sees something impossible, not a silent pass.
            (_, other) => ok(Some(json!({"unexpected": format!("{other:?}")}))),
        }
    }
}
