//! The effect sink: the protected resource the jobs act on (it sends the welcome email, say).
//! It applies each idempotency key's effect once — a redelivered job's second effect finds its
//! key done (exactly-once *effect* on top of at-least-once *delivery*) — and fences each job by
//! lease token: once a later lease of a job has reached it, an earlier lease's effect is
//! refused. Both are kept durable and synced before the answer (a sink that forgot them after a
//! restart would apply a redelivered job again). Every effect it is sent is recorded as a
//! `jobs/effect` observation for the invariants.
//!
//! The file is `magic "JSK1" | crc32 of the payload: u32 LE | JSON payload`; a file that does
//! not check out makes the sink refuse every effect rather than forget what it applied.

use super::msg::{Effect, EffectOutcome};
use crate::disk::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const FILE: &str = "sink";
const MAGIC: &[u8; 4] = b"JSK1";
const HEADER_BYTES: usize = 8;

/// What the sink keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkState {
    /// Idempotency keys applied, with the job that applied each.
    pub applied: BTreeMap<String, u64>,
    /// The highest lease token seen per job.
    pub fences: BTreeMap<u64, u64>,
}

/// The sink.
#[derive(Debug)]
pub struct Sink {
    /// `None` when the durable copy cannot be trusted.
    state: Option<SinkState>,
    /// Deduplicate by idempotency key (off: the planted bug `jobs-no-idempotency-key`).
    dedup: bool,
    key_bytes_max: usize,
}

/// What the sink does with one effect.
#[derive(Debug)]
pub struct Outcome {
    /// The answer.
    pub outcome: EffectOutcome,
    /// The state changed and must be synced before the answer.
    pub sync: bool,
    /// The observation for the invariants.
    pub observed: Value,
}

impl Sink {
    /// Recovers from disk; a file that does not decode is reported, never read as empty.
    pub fn start(
        storage: &mut dyn Storage,
        dedup: bool,
        key_bytes_max: usize,
    ) -> (Sink, Option<String>) {
        let (state, problem) = match storage.read(FILE) {
            Ok(None) => (Some(SinkState::default()), None),
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(format!("{FILE}: {e}"))),
            },
            Err(e) => (None, Some(format!("{FILE}: {e}"))),
        };
        (
            Sink {
                state,
                dedup,
                key_bytes_max,
            },
            problem,
        )
    }

    /// The state, when it can be trusted.
    pub fn state(&self) -> Option<&SinkState> {
        self.state.as_ref()
    }

    /// Handles one effect from worker `worker`.
    pub fn effect(&mut self, storage: &mut dyn Storage, worker: u32, e: &Effect) -> Outcome {
        let observe = |outcome: EffectOutcome| {
            json!({
                "job": e.job,
                "name": e.name,
                "key": e.key,
                "slot": e.slot,
                "token": e.token,
                "worker": worker,
                "outcome": outcome,
            })
        };
        let refused = |why: &str| Outcome {
            outcome: EffectOutcome::Refused,
            sync: false,
            observed: json!({"refused": why, "job": e.job, "worker": worker}),
        };
        if e.key.len() > self.key_bytes_max || e.name.len() > self.key_bytes_max || e.token == 0 {
            return refused("malformed");
        }
        let Some(state) = &mut self.state else {
            return refused("state-untrusted");
        };
        let fence = state.fences.get(&e.job).copied().unwrap_or(0);
        let outcome = if self.dedup && state.applied.contains_key(&e.key) {
            EffectOutcome::Duplicate
        } else if e.token < fence {
            EffectOutcome::Fenced
        } else {
            EffectOutcome::Applied
        };
        let mut sync = false;
        if outcome != EffectOutcome::Fenced && e.token > fence {
            state.fences.insert(e.job, e.token);
            sync = true;
        }
        if outcome == EffectOutcome::Applied {
            state.applied.insert(e.key.clone(), e.job);
            sync = true;
        }
        if sync && let Err(err) = storage.write(FILE, &encode(state)) {
            // Cannot remember what it applied: refuse from now on.
            self.state = None;
            return refused(&err.to_string());
        }
        Outcome {
            outcome,
            sync,
            observed: observe(outcome),
        }
    }
}

/// The file's bytes for `state`.
fn encode(state: &SinkState) -> Vec<u8> {
    // Plain data with string keys: encoding cannot fail.
    let payload = serde_json::to_vec(state).unwrap_or_default();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The state in a file, or why it cannot be trusted.
fn decode(bytes: &[u8]) -> Result<SinkState, String> {
    let (header, payload) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or_else(|| format!("{} bytes, shorter than its header", bytes.len()))?;
    if &header[..4] != MAGIC {
        return Err("bad magic (not a sink file, or corrupt)".to_string());
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&header[4..]);
    if u32::from_le_bytes(crc) != crc32fast::hash(payload) {
        return Err("checksum mismatch (corrupt)".to_string());
    }
    serde_json::from_slice(payload).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::SimDisk;

    fn effect(job: u64, key: &str, token: u64) -> Effect {
        Effect {
            job,
            name: key.to_string(),
            key: key.to_string(),
            slot: None,
            token,
        }
    }

    #[test]
    fn a_key_is_applied_once_and_survives_a_restart() {
        let mut disk = SimDisk::new();
        let (mut s, problem) = Sink::start(&mut disk, true, 128);
        assert_eq!(problem, None);
        let first = s.effect(&mut disk, 3, &effect(1, "c0-1", 1));
        assert_eq!(first.outcome, EffectOutcome::Applied);
        assert!(first.sync);
        let (mut s, _) = Sink::start(&mut disk, true, 128);
        let again = s.effect(&mut disk, 4, &effect(1, "c0-1", 2));
        assert_eq!(again.outcome, EffectOutcome::Duplicate);
        // The planted bug applies it again.
        let (mut open, _) = Sink::start(&mut disk, false, 128);
        assert_eq!(
            open.effect(&mut disk, 4, &effect(1, "c0-1", 2)).outcome,
            EffectOutcome::Applied
        );
    }

    #[test]
    fn an_earlier_lease_is_fenced_once_a_later_one_reached_the_sink() {
        let mut disk = SimDisk::new();
        let (mut s, _) = Sink::start(&mut disk, false, 128);
        assert_eq!(
            s.effect(&mut disk, 3, &effect(1, "a", 5)).outcome,
            EffectOutcome::Applied
        );
        assert_eq!(
            s.effect(&mut disk, 4, &effect(1, "a", 4)).outcome,
            EffectOutcome::Fenced
        );
        assert_eq!(
            s.effect(&mut disk, 4, &effect(2, "b", 4)).outcome,
            EffectOutcome::Applied
        );
    }

    #[test]
    fn malformed_effects_and_flipped_bits_are_refused() {
        let mut disk = SimDisk::new();
        let (mut s, _) = Sink::start(&mut disk, true, 16);
        let long = "x".repeat(17);
        assert_eq!(
            s.effect(&mut disk, 3, &effect(1, &long, 1)).outcome,
            EffectOutcome::Refused
        );
        assert_eq!(
            s.effect(&mut disk, 3, &effect(1, "a", 0)).outcome,
            EffectOutcome::Refused
        );
        let good = encode(&SinkState {
            applied: BTreeMap::from([("a".to_string(), 1)]),
            fences: BTreeMap::from([(1, 7)]),
        });
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        assert!(decode(&good[..5]).is_err());
        assert!(disk.write(FILE, &good[..good.len() - 1]).is_ok());
        let (mut s, problem) = Sink::start(&mut disk, true, 128);
        assert!(problem.is_some());
        assert_eq!(
            s.effect(&mut disk, 3, &effect(2, "b", 1)).outcome,
            EffectOutcome::Refused
        );
    }
}
