//! What the nodes of a MapReduce cluster and its clients say to one another.

use super::corpus::Counts;
use crate::node::service::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One map output a reduce reads: the map, the attempt that wrote it, and the worker holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The map task (split).
    pub map: u32,
    /// The attempt whose output it is.
    pub map_attempt: u64,
    /// The worker whose disk holds it.
    pub worker: u32,
}

/// A task attempt the coordinator hands a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Map split `map` of `job`.
    Map {
        /// The job.
        job: String,
        /// The split.
        map: u32,
        /// This attempt's id (unique across the coordinator's restarts).
        attempt: u64,
    },
    /// Reduce partition `part` of `job` from these map outputs.
    Reduce {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// This attempt's id.
        attempt: u64,
        /// Where each map output is.
        inputs: Vec<Input>,
    },
}

impl Task {
    /// The attempt id.
    pub fn attempt(&self) -> u64 {
        match self {
            Task::Map { attempt, .. } | Task::Reduce { attempt, .. } => *attempt,
        }
    }

    /// The job.
    pub fn job(&self) -> &str {
        match self {
            Task::Map { job, .. } | Task::Reduce { job, .. } => job,
        }
    }
}

/// A worker's report of a finished (or failed) attempt, sent with every heartbeat until the
/// coordinator acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Report {
    /// A map attempt wrote its partitioned output to the worker's disk.
    MapDone {
        /// The job.
        job: String,
        /// The split.
        map: u32,
        /// The attempt.
        attempt: u64,
    },
    /// A reduce attempt wrote its whole output to a temp file at the store.
    ReduceDone {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The attempt.
        attempt: u64,
        /// Output records written.
        records: u32,
        /// The map outputs it reduced: (map, map attempt).
        inputs: Vec<(u32, u64)>,
    },
    /// A reduce attempt could not fetch these map outputs: (map, map attempt).
    ReduceFailed {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The attempt.
        attempt: u64,
        /// The map outputs that were missing or unreachable.
        lost: Vec<(u32, u64)>,
    },
}

impl Report {
    /// The attempt it reports.
    pub fn attempt(&self) -> u64 {
        match self {
            Report::MapDone { attempt, .. }
            | Report::ReduceDone { attempt, .. }
            | Report::ReduceFailed { attempt, .. } => *attempt,
        }
    }
}

/// Between the nodes of a MapReduce cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MrMsg {
    /// Worker → coordinator, every `heartbeat_ms` and when a task ends.
    Heartbeat {
        /// The worker's incarnation (a new one has lost its disk's map outputs).
        incarnation: u32,
        /// The attempt it is running.
        running: Option<Task>,
        /// A finished attempt not yet acknowledged.
        report: Option<Report>,
    },
    /// Coordinator → worker: run this.
    Assign(Task),
    /// Coordinator → worker: the report of this attempt is taken.
    ReportAck {
        /// The attempt.
        attempt: u64,
    },
    /// Reduce worker → map worker: partition `part` of this map output, please.
    Fetch {
        /// The job.
        job: String,
        /// The split.
        map: u32,
        /// The map attempt.
        map_attempt: u64,
        /// The partition.
        part: u32,
    },
    /// Map worker → reduce worker: the records, or `None` when the output is not on its disk.
    FetchReply {
        /// The job.
        job: String,
        /// The split.
        map: u32,
        /// The map attempt.
        map_attempt: u64,
        /// The partition.
        part: u32,
        /// The counts, or `None`: missing.
        counts: Option<Counts>,
    },
    /// Reduce worker → store: chunk `index` of an attempt's output.
    Chunk {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The reduce attempt.
        attempt: u64,
        /// The chunk's position, from 0.
        index: u32,
        /// The records (word, count).
        records: Vec<(String, u64)>,
    },
    /// Store → reduce worker: the chunk is durable in the attempt's temp file.
    ChunkAck {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The reduce attempt.
        attempt: u64,
        /// The chunk.
        index: u32,
    },
    /// Coordinator → store: make this attempt's temp file the partition's output (rename).
    Rename {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The granted attempt.
        attempt: u64,
        /// Records the temp file must hold.
        records: u32,
        /// The map outputs it reduced, for the record.
        inputs: Vec<(u32, u64)>,
    },
    /// Store → coordinator: the rename is done (or refused: the temp file is short).
    RenameReply {
        /// The job.
        job: String,
        /// The partition.
        part: u32,
        /// The attempt.
        attempt: u64,
        /// Done (or done before).
        ok: bool,
    },
}

impl Message for MrMsg {
    fn label(&self) -> &'static str {
        match self {
            MrMsg::Heartbeat { .. } => "mr/heartbeat",
            MrMsg::Assign(_) => "mr/assign",
            MrMsg::ReportAck { .. } => "mr/report-ack",
            MrMsg::Fetch { .. } => "mr/fetch",
            MrMsg::FetchReply { .. } => "mr/fetch-reply",
            MrMsg::Chunk { .. } => "mr/chunk",
            MrMsg::ChunkAck { .. } => "mr/chunk-ack",
            MrMsg::Rename { .. } => "mr/rename",
            MrMsg::RenameReply { .. } => "mr/rename-reply",
        }
    }
}

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MrRequest {
    /// To the coordinator: run job `job` (its corpus is derived from the name).
    Submit {
        /// The job's name.
        job: String,
    },
    /// To the store: the committed partitions of `job`.
    Read {
        /// The job's name.
        job: String,
    },
}

/// The answer to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MrResponse {
    /// The job is durably accepted (or was before).
    Accepted,
    /// The coordinator keeps `jobs_max` jobs already: not accepted.
    Busy,
    /// The committed partitions, each's output.
    Output {
        /// Partition → counts.
        parts: BTreeMap<u32, Counts>,
    },
    /// This node takes no such request (or cannot serve: its state is untrusted).
    WrongNode,
}

impl Message for MrRequest {
    fn label(&self) -> &'static str {
        match self {
            MrRequest::Submit { .. } => "mr/submit",
            MrRequest::Read { .. } => "mr/read",
        }
    }
}

impl Message for MrResponse {
    fn label(&self) -> &'static str {
        match self {
            MrResponse::Accepted => "mr/accepted",
            MrResponse::Busy => "mr/busy",
            MrResponse::Output { .. } => "mr/output",
            MrResponse::WrongNode => "mr/wrong-node",
        }
    }
}

/// True for a job name a node takes: short, and plain (it becomes part of file names).
pub fn job_ok(job: &str, bytes_max: usize) -> bool {
    !job.is_empty()
        && job.len() <= bytes_max
        && job.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}
