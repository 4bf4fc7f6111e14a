//! The protected resource: a small storage service on its own node that keeps data per lock
//! and accepts a write only with a fencing token at least the highest it has seen for that lock
//! (kept durable: a resource that forgot it after a restart would take a stale holder's write).
//! Every write it sees is recorded as a `lock/write` observation for the invariants.
//!
//! The fence file is `magic "FNC1" | crc32 of the payload: u32 LE | JSON payload`: a flipped
//! digit in plain JSON would read back as a lower token and let a stale holder write, so a
//! file whose checksum does not match is corruption, and the resource refuses from then on.

use super::wire::{WriteReq, WriteResp};
use crate::disk::Storage;
use serde_json::json;
use std::collections::BTreeMap;

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
