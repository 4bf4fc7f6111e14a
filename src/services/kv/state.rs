//! The KV store's application state: string keys and values. Sessions, snapshots and the
//! applied index are the replicated layer's (`replicated::Replicated<KvMachine>`).

use super::command::{KvOp, KvResult};
use crate::services::replicated::{DutyPlan, StateMachine};
use crate::time::LocalNow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The keys and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvMachine {
    data: BTreeMap<String, String>,
}

impl KvMachine {
    /// A key's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// Keys stored.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl StateMachine for KvMachine {
    type Op = KvOp;
    type Output = KvResult;
    const LABEL: &'static str = "kv";
    type Duties = ();
    type DutyConfig = ();

    fn duties(_cfg: &()) {}

    fn leader_duties(&self, _duties: &mut (), _now: LocalNow) -> DutyPlan<KvOp> {
        DutyPlan::default()
    }

    fn empty() -> Self {
        KvMachine::default()
    }

    fn is_read(op: &KvOp) -> bool {
        !op.is_write()
    }

    fn read(&self, op: &KvOp) -> KvResult {
        KvResult::Value {
            value: self.data.get(op.key()).cloned(),
        }
    }

    fn route_key(op: &KvOp) -> Option<&str> {
        Some(op.key())
    }

    fn apply(&mut self, _index: u64, op: &KvOp) -> KvResult {
        let data = &mut self.data;
        match op {
            KvOp::Get { key } => KvResult::Value {
                value: data.get(key).cloned(),
            },
            KvOp::Put { key, value } => {
                data.insert(key.clone(), value.clone());
                KvResult::Done
            }
            KvOp::Delete { key } => {
                data.remove(key);
                KvResult::Done
            }
            KvOp::Cas { key, expected, new } => {
                let swapped = data.get(key) == expected.as_ref();
                if swapped {
                    data.insert(key.clone(), new.clone());
                }
                KvResult::Cas { swapped }
            }
            KvOp::Append { key, suffix } => {
                let v = data.entry(key.clone()).or_default();
                v.push_str(suffix);
                KvResult::Appended {
                    len_bytes: v.len() as u64,
                }
            }
        }
    }
}
