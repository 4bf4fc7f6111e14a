//! The protected resource: a small storage service on its own node that keeps data per lock
//! and accepts a write only with a fencing token at least the highest it has seen for that lock
//! (kept durable: a resource that forgot it after a restart would take a stale holder's write).
//! Every write it sees is recorded as a `lock/write` observation for the invariants.
//!
//! The fence file is `magic "FNC1" | crc32 of the payload: u32 LE | JSON payload`: a flipped
//! digit in plain JSON would read back as a lower token and let a stale holder write, so a
//! file whose checksum does not match is corruption, and the resource refuses from then on.
//!
//! A token above any it has accepted is taken only once a lock server confirms it was granted
//! ([`Resource::needs_confirmation`]): the write waits (bounded) while the resource asks every
//! server for the highest token it granted. Without that, one write with a made-up huge token
//! would raise the fence above every real grant and lock every honest holder out for good.

use super::wire::{WriteReq, WriteResp};
use crate::disk::Storage;
use crate::node::service::ReplyTo;
use serde_json::json;
use std::collections::BTreeMap;

/// Writes waiting for their token to be confirmed, at most.
pub const PENDING_MAX: usize = 256;
/// Asks (one per [`ASK_EVERY_MS`]) before a token no server confirms is refused.
pub const ASKS_MAX: u32 = 10;
/// How often the servers are asked again about pending tokens.
pub const ASK_EVERY_MS: u64 = 50;

/// A write waiting for its token to be confirmed.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Who to answer.
    pub from: ReplyTo,
    /// The write.
    pub req: WriteReq,
    /// Times the servers were asked.
    pub asks: u32,
}

const FENCE_FILE: &str = "fence";
const FENCE_MAGIC: &[u8; 4] = b"FNC1";
const FENCE_HEADER_BYTES: usize = 8;

/// The resource's state.
#[derive(Debug)]
pub struct Resource {
    /// The highest token accepted per lock; `None` when the durable copy cannot be trusted (the
    /// resource then refuses every write rather than forget it).
    max_tokens: Option<BTreeMap<String, u64>>,
    fencing: bool,
    /// The highest token a server has confirmed granted, per lock (relearned after a restart).
    confirmed: BTreeMap<String, u64>,
    /// Writes whose token waits for a confirmation, in arrival order.
    pending: Vec<Pending>,
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
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(format!("{FENCE_FILE}: {e}"))),
            },
            Err(e) => (None, Some(format!("{FENCE_FILE}: {e}"))),
        };
        (
            Resource {
                max_tokens,
                fencing,
                confirmed: BTreeMap::new(),
                pending: Vec::new(),
            },
            problem,
        )
    }

    /// True when `req` must wait for a server to confirm its token: fencing is on, the token is
    /// above every token accepted for its lock and above every one confirmed.
    pub fn needs_confirmation(&self, req: &WriteReq) -> bool {
        let (Some(t), Some(max_tokens)) = (req.token, &self.max_tokens) else {
            return false;
        };
        let accepted = max_tokens.get(&req.lock).copied().unwrap_or(0);
        let confirmed = self.confirmed.get(&req.lock).copied().unwrap_or(0);
        self.fencing && t > accepted && t > confirmed
    }

    /// Holds `req` until its token is confirmed; `false` when too many wait already.
    pub fn hold(&mut self, from: ReplyTo, req: WriteReq) -> bool {
        if self.pending.len() >= PENDING_MAX {
            return false;
        }
        self.pending.push(Pending { from, req, asks: 0 });
        true
    }

    /// A server says it granted up to `granted_max` for `lock`: the writes that were waiting
    /// for a token at or below it, in arrival order.
    pub fn confirm(&mut self, lock: &str, granted_max: u64) -> Vec<Pending> {
        let c = self.confirmed.entry(lock.to_string()).or_insert(0);
        *c = (*c).max(granted_max);
        let c = *c;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.req.lock == lock && p.req.token.is_some_and(|t| t <= c));
        self.pending = waiting;
        ready
    }

    /// One more round of asking: the writes asked about [`ASKS_MAX`] times without a
    /// confirmation (to refuse), and the `(lock, token)` pairs to ask about again.
    pub fn tick(&mut self) -> (Vec<Pending>, Vec<(String, u64)>) {
        for p in &mut self.pending {
            p.asks += 1;
        }
        let (given_up, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.asks > ASKS_MAX);
        self.pending = waiting;
        let mut ask: BTreeMap<String, u64> = BTreeMap::new();
        for p in &self.pending {
            let t = p.req.token.unwrap_or(0);
            let e = ask.entry(p.req.lock.clone()).or_insert(t);
            *e = (*e).min(t);
        }
        (given_up, ask.into_iter().collect())
    }

    /// True while writes wait.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The answer to a write whose token no server confirmed: refused like a stale one.
    pub fn refuse_unconfirmed(&self, req: &WriteReq) -> WriteOutcome {
        let max = self
            .max_tokens
            .as_ref()
            .and_then(|m| m.get(&req.lock).copied())
            .unwrap_or(0);
        WriteOutcome {
            resp: WriteResp::Rejected {
                step: req.step,
                max_token: max,
            },
            sync: false,
            observed: Some(json!({
                "lock": req.lock,
                "holder": req.holder,
                "token": req.token,
                "accepted": false,
                "unconfirmed": true,
            })),
        }
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
            if let Err(e) = storage.write(FENCE_FILE, &encode(max_tokens)) {
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

/// The fence file's bytes for `max_tokens`.
fn encode(max_tokens: &BTreeMap<String, u64>) -> Vec<u8> {
    // Plain data with string keys: encoding cannot fail.
    let payload = serde_json::to_vec(max_tokens).unwrap_or_default();
    let mut bytes = Vec::with_capacity(FENCE_HEADER_BYTES + payload.len());
    bytes.extend_from_slice(FENCE_MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The highest tokens in a fence file, or why it cannot be trusted.
fn decode(bytes: &[u8]) -> Result<BTreeMap<String, u64>, String> {
    let (header, payload) = bytes
        .split_at_checked(FENCE_HEADER_BYTES)
        .ok_or_else(|| format!("{} bytes, shorter than its header", bytes.len()))?;
    if &header[..4] != FENCE_MAGIC {
        return Err("bad magic (not a fence file, or corrupt)".to_string());
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

    fn req(token: u64) -> WriteReq {
        WriteReq {
            step: 1,
            lock: "a".to_string(),
            holder: "c0".to_string(),
            token: Some(token),
        }
    }

    #[test]
    fn a_token_above_every_known_one_waits_for_a_server_to_confirm_it() {
        use crate::ids::{Addr, ClientId};
        let mut disk = SimDisk::new();
        let (mut r, _) = Resource::start(&mut disk, true);
        let from = ReplyTo {
            to: Addr::Client(ClientId(0)),
            req_id: 1,
        };
        let poison = req(u64::MAX);
        assert!(r.needs_confirmation(&poison));
        assert!(r.hold(from, poison.clone()));
        let honest = req(3);
        assert!(r.hold(from, honest.clone()));
        // A server has granted up to 3: the honest write goes on, the poisoned one waits.
        let ready = r.confirm("a", 3);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].req, honest);
        assert!(
            !r.needs_confirmation(&req(2)),
            "at or below a confirmed token"
        );
        // Nobody ever confirms u64::MAX: refused after ASKS_MAX rounds, never accepted.
        let mut refused = Vec::new();
        for _ in 0..=ASKS_MAX {
            let (given_up, ask) = r.tick();
            refused.extend(given_up);
            if !refused.is_empty() {
                break;
            }
            assert_eq!(ask, vec![("a".to_string(), u64::MAX)]);
        }
        assert_eq!(refused.len(), 1);
        let out = r.refuse_unconfirmed(&refused[0].req);
        assert!(matches!(out.resp, WriteResp::Rejected { .. }), "{out:?}");
        assert!(!r.has_pending());
        // The fence did not move: an honest token 4 (once confirmed) is still taken.
        r.confirm("a", 4);
        assert!(matches!(
            r.write(&mut disk, &req(4)).resp,
            WriteResp::Accepted { .. }
        ));
        // Without fencing (the planted bug), nothing waits.
        let (open, _) = Resource::start(&mut SimDisk::new(), false);
        assert!(!open.needs_confirmation(&req(u64::MAX)));
    }

    #[test]
    fn the_highest_token_survives_a_restart() {
        let mut disk = SimDisk::new();
        let (mut r, problem) = Resource::start(&mut disk, true);
        assert_eq!(problem, None);
        assert!(r.write(&mut disk, &req(7)).sync);
        let (mut r, problem) = Resource::start(&mut disk, true);
        assert_eq!(problem, None);
        let out = r.write(&mut disk, &req(6));
        assert!(
            matches!(out.resp, WriteResp::Rejected { max_token: 7, .. }),
            "{out:?}"
        );
    }

    #[test]
    fn every_flipped_bit_is_refused_never_read_as_a_lower_token() {
        let good = encode(&BTreeMap::from([("a".to_string(), 7)]));
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        assert_eq!(decode(&good), Ok(BTreeMap::from([("a".to_string(), 7)])));
        assert!(decode(&good[..5]).is_err());
    }

    #[test]
    fn a_corrupt_fence_file_makes_the_resource_refuse() {
        let mut disk = SimDisk::new();
        let mut bytes = encode(&BTreeMap::from([("a".to_string(), 7)]));
        let last = bytes.len() - 2;
        bytes[last] ^= 0b100; // '7' -> '3'
        assert!(disk.write(FENCE_FILE, &bytes).is_ok());
        let (mut r, problem) = Resource::start(&mut disk, true);
        assert!(problem.is_some_and(|p| p.contains("checksum")));
        let out = r.write(&mut disk, &req(5));
        assert!(matches!(out.resp, WriteResp::Unavailable { .. }), "{out:?}");
    }
}
