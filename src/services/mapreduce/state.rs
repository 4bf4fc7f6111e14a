//! The coordinator's durable state: the jobs, which maps are done and where their output lives,
//! which reduce attempt each partition was granted to and whether its rename is done, and the
//! epoch that keeps attempt ids unique across restarts. Written whole (an atomic replace) and
//! synced before anything that depends on it is said.
//!
//! The file is `magic "MRC1" | crc32 of the payload: u32 LE | JSON payload`. A file that does
//! not check out stops the coordinator (it alerts and serves nothing) rather than start over
//! and commit partitions a second time.
//!
//! Planted bug `mr-coordinator-state-in-memory`: only the jobs and the epoch reach the disk;
//! progress (maps done, grants, commits) lives in memory.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file.
pub const FILE: &str = "coordinator";
const MAGIC: &[u8; 4] = b"MRC1";
const HEADER_BYTES: usize = 8;

/// Where a finished map's output lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapDone {
    /// The attempt that wrote it.
    pub attempt: u64,
    /// The worker holding it.
    pub worker: u32,
    /// The worker's incarnation then (a later one has lost it).
    pub incarnation: u32,
}

/// The attempt a partition's commit was granted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The attempt.
    pub attempt: u64,
    /// Records its temp file holds.
    pub records: u32,
    /// The map outputs it reduced.
    pub inputs: Vec<(u32, u64)>,
    /// The store confirmed the rename.
    pub committed: bool,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// Submission order.
    pub order: u64,
    /// Per split: done, and where.
    pub maps: Vec<Option<MapDone>>,
    /// Per partition: the granted attempt.
    pub reduces: Vec<Option<Grant>>,
}

impl JobState {
    /// A job nothing has run for.
    pub fn new(order: u64, maps: u32, reduces: u32) -> Self {
        JobState {
            order,
            maps: vec![None; maps as usize],
            reduces: vec![None; reduces as usize],
        }
    }

    /// Every partition committed.
    pub fn done(&self) -> bool {
        self.reduces
            .iter()
            .all(|r| r.as_ref().is_some_and(|g| g.committed))
    }

    /// Every map done.
    pub fn maps_done(&self) -> bool {
        self.maps.iter().all(Option::is_some)
    }
}

/// What the coordinator keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordState {
    /// Incremented (and synced) at every start: the high half of attempt ids.
    pub epoch: u64,
    /// Jobs accepted so far.
    pub submitted: u64,
    /// Job name → state.
    pub jobs: BTreeMap<String, JobState>,
}

impl CoordState {
    /// What reaches the disk: everything, or (`in_memory`, the planted bug) only the jobs.
    pub fn durable(&self, in_memory: bool) -> CoordState {
        if !in_memory {
            return self.clone();
        }
        let jobs = self
            .jobs
            .iter()
            .map(|(name, j)| {
                let blank = JobState::new(j.order, j.maps.len() as u32, j.reduces.len() as u32);
                (name.clone(), blank)
            })
            .collect();
        CoordState {
            epoch: self.epoch,
            submitted: self.submitted,
            jobs,
        }
    }
}

/// The file's bytes for `state`.
pub fn encode(state: &CoordState) -> Vec<u8> {
    // Plain data with string keys: encoding cannot fail.
    let payload = serde_json::to_vec(state).unwrap_or_default();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The state in a file, or why it cannot be trusted.
pub fn decode(bytes: &[u8]) -> Result<CoordState, String> {
    let (header, payload) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or_else(|| format!("{} bytes, shorter than its header", bytes.len()))?;
    if &header[..4] != MAGIC {
        return Err("bad magic (not a coordinator file, or corrupt)".to_string());
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

    #[test]
    fn the_state_round_trips_and_any_flipped_bit_is_refused() {
        let mut s = CoordState {
            epoch: 3,
            submitted: 1,
            ..CoordState::default()
        };
        let mut j = JobState::new(0, 2, 1);
        j.maps[0] = Some(MapDone {
            attempt: 9,
            worker: 1,
            incarnation: 1,
        });
        s.jobs.insert("c0-1".into(), j);
        let bytes = encode(&s);
        assert_eq!(decode(&bytes), Ok(s.clone()));
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        // The planted bug keeps the job, not its progress.
        let kept = s.durable(true);
        assert_eq!(kept.jobs["c0-1"].maps, vec![None, None]);
        assert_eq!(s.durable(false), s);
    }
}
