//! Options of MapReduce (`[mapreduce]` in a scenario file); every default is stated here.
//!
//! Node layout: node `n0` is the coordinator, nodes `n1 ..= n(workers)` are workers, and the
//! last node is the output store.

use crate::ids::NodeId;
use crate::plugin::{OptionError, Shape};
use serde::Deserialize;

/// The `[mapreduce]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MrOptions {
    /// Worker nodes (after the coordinator; the last node is the output store). Default 3.
    pub workers: u32,
    /// Input splits (map tasks) per job. Default 4.
    pub maps: u32,
    /// Output partitions (reduce tasks) per job. Default 2.
    pub reduces: u32,
    /// Words in one input split. Default 60.
    pub words_per_split: u32,
    /// Distinct words the corpus draws from (at most 32). Default 16.
    pub vocabulary: u32,
    /// How long a map's work takes on a worker. Default 40.
    pub map_ms: u64,
    /// How long a reduce's work takes after its inputs are fetched. Default 40.
    pub reduce_ms: u64,
    /// Output records a reduce sends to the store per chunk. Default 3.
    pub chunk_records: u32,
    /// A worker reports to the coordinator this often. Default 50.
    pub heartbeat_ms: u64,
    /// The coordinator declares a worker dead after this long without a heartbeat, by its
    /// monotonic clock, and re-runs its tasks. Default 400.
    pub worker_timeout_ms: u64,
    /// A task attempt running this long is given a backup attempt on another idle worker
    /// (stragglers). Default 300.
    pub backup_after_ms: u64,
    /// A fetch or a chunk unanswered this long is sent again. Default 100.
    pub attempt_timeout_ms: u64,
    /// Fetches of one map output that time out before the reduce gives up and reports it
    /// lost. Default 3.
    pub fetch_tries_max: u32,
    /// The coordinator's tick: dead workers, backups, commit retries. Default 50.
    pub tick_ms: u64,
    /// Jobs the coordinator keeps; a submit beyond is refused (`busy`). Default 64.
    pub jobs_max: u32,
    /// Longest job name a node takes, in bytes. Default 64.
    pub job_bytes_max: usize,
}

impl Default for MrOptions {
    fn default() -> Self {
        MrOptions {
            workers: 3,
            maps: 4,
            reduces: 2,
            words_per_split: 60,
            vocabulary: 16,
            map_ms: 40,
            reduce_ms: 40,
            chunk_records: 3,
            heartbeat_ms: 50,
            worker_timeout_ms: 400,
            backup_after_ms: 300,
            attempt_timeout_ms: 100,
            fetch_tries_max: 3,
            tick_ms: 50,
            jobs_max: 64,
            job_bytes_max: 64,
        }
    }
}

/// What a node of a MapReduce cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The coordinator.
    Coordinator,
    /// A worker.
    Worker,
    /// The output store.
    Store,
}

/// The coordinator's node.
pub const COORDINATOR: NodeId = NodeId(0);

impl MrOptions {
    /// What node `n` is.
    pub fn role(&self, n: NodeId) -> Role {
        if n == COORDINATOR {
            Role::Coordinator
        } else if n.0 <= self.workers {
            Role::Worker
        } else {
            Role::Store
        }
    }

    /// The output store.
    pub fn store(&self) -> NodeId {
        NodeId(self.workers + 1)
    }

    /// Checks the options for a cluster of this shape.
    pub fn validate(&self, shape: &Shape) -> Result<(), OptionError> {
        let positive = [
            ("workers", u64::from(self.workers)),
            ("maps", u64::from(self.maps)),
            ("reduces", u64::from(self.reduces)),
            ("words_per_split", u64::from(self.words_per_split)),
            ("vocabulary", u64::from(self.vocabulary)),
            ("chunk_records", u64::from(self.chunk_records)),
            ("heartbeat_ms", self.heartbeat_ms),
            ("attempt_timeout_ms", self.attempt_timeout_ms),
            ("fetch_tries_max", u64::from(self.fetch_tries_max)),
            ("tick_ms", self.tick_ms),
            ("jobs_max", u64::from(self.jobs_max)),
        ];
        for (field, v) in positive {
            if v == 0 {
                return Err(OptionError::new(field, "must be at least 1"));
            }
        }
        if shape.nodes != self.workers + 2 {
            return Err(OptionError::new(
                "workers",
                format!(
                    "the coordinator + {} workers + the output store make {} nodes, the scenario has {}",
                    self.workers,
                    self.workers + 2,
                    shape.nodes
                ),
            ));
        }
        let bounds = [
            ("maps", self.maps, 64),
            ("reduces", self.reduces, 16),
            ("vocabulary", self.vocabulary, 32),
            ("words_per_split", self.words_per_split, 10_000),
            ("jobs_max", self.jobs_max, 1024),
        ];
        for (field, v, max) in bounds {
            if v > max {
                return Err(OptionError::new(field, format!("must be at most {max}")));
            }
        }
        if self.worker_timeout_ms <= 2 * self.heartbeat_ms {
            return Err(OptionError::new(
                "worker_timeout_ms",
                format!(
                    "must exceed two heartbeats ({} ms), or live workers are declared dead",
                    2 * self.heartbeat_ms
                ),
            ));
        }
        if self.job_bytes_max < 8 {
            return Err(OptionError::new("job_bytes_max", "must be at least 8"));
        }
        Ok(())
    }
}
