//! The protected resource: a small storage service on its own node that keeps data per lock
//! and accepts a write only with a fencing token at least the highest it has seen for that lock
//! (kept durable: a resource that forgot it after a restart would take a stale holder's write).
//! Every write it sees is recorded as a `lock/write` observation for the invariants.

use super::wire::{WriteReq, WriteResp};
use crate::disk::Storage;
use serde_json::json;
use std::collections::BTreeMap;

const FENCE_FILE: &str = "fence";

/// The resource's state.
#[derive(Debug)]
pub struct Resource {
    /// The highest token accepted per lock; `None` when the durable copy cannot be trusted (the
    /// resource then refuses every write rather than forget it).
    max_tokens: Option<BTreeMap<String, u64>>,
    fencing: bool,
}

/// What the resource does with one write.
#[derive(Debug)]
pub struct WriteOutcome {
    /// The answer.
    pub resp: WriteResp,
    /// The new highest token must be synced before the answer.
    pub sync: bool,
    /// The observation for the invariants.
    pub observed: Option<serde_json::Value>,
}

impl Resource {
    /// Recovers the highest tokens from disk (`fencing = false`: the planted bug
    /// `lock-no-fencing`). A file that does not decode is reported, never read as empty.
    pub fn start(storage: &mut dyn Storage, fencing: bool) -> (Resource, Option<String>) {
        let (max_tokens, problem) = match storage.read(FENCE_FILE) {
            Ok(None) => (Some(BTreeMap::new()), None),
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(format!("{FENCE_FILE}: {e}"))),
            },
            Err(e) => (None, Some(format!("{FENCE_FILE}: {e}"))),
        };
        (
            Resource {
                max_tokens,
                fencing,
            },
            problem,
        )
    }

    /// Handles one write.
    pub fn write(&mut self, storage: &mut dyn Storage, req: &WriteReq) -> WriteOutcome {
        let step = req.step;
        let Some(max_tokens) = &mut self.max_tokens else {
            return WriteOutcome {
                resp: WriteResp::Unavailable { step },
                sync: false,
                observed: None,
            };
        };
        let max = max_tokens.get(&req.lock).copied().unwrap_or(0);
        let accepted = !self.fencing || req.token.is_none_or(|t| t >= max);
        let observed = Some(json!({
            "lock": req.lock,
            "holder": req.holder,
            "token": req.token,
            "accepted": accepted,
        }));
        let mut sync = false;
        if let Some(t) = req.token.filter(|&t| accepted && t > max) {
            max_tokens.insert(req.lock.clone(), t);
            // Plain data with string keys: encoding cannot fail.
            let bytes = serde_json::to_vec(&*max_tokens).unwrap_or_default();
            if let Err(e) = storage.write(FENCE_FILE, &bytes) {
                // Cannot remember the new highest token: refuse from now on.
                self.max_tokens = None;
                return WriteOutcome {
                    resp: WriteResp::Unavailable { step },
                    sync: false,
                    observed: Some(json!({"error": e.to_string()})),
                };
            }
            sync = true;
        }
        let resp = if accepted {
            WriteResp::Accepted { step }
        } else {
            WriteResp::Rejected {
                step,
                max_token: max,
            }
        };
        WriteOutcome {
            resp,
            sync,
            observed,
        }
    }
}
