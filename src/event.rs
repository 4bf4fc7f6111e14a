//! The event log: every send, delivery, drop, timer, fault, crash, restart and client operation
//! of a run, stamped with true simulated time. Events are typed; text logs are rendered from
//! them, never the other way round. The log's digest (FNV-1a over the canonical binary encoding
//! of `crate::canon`, not over the JSON people read) is the run's fingerprint: same scenario +
//! seed ⇒ same digest, in any process.

use crate::disk::DiskEffect;
use crate::fault::Fault;
use crate::history::OpType;
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::rng::Fnv64;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, Write};

/// Why a message did not reach its destination's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropCause {
    /// The link was cut when the message was sent.
    Partition,
    /// The link was cut while the message was in flight.
    PartitionInFlight,
    /// A loss rule fired.
    Loss,
    /// The destination was down when the message was sent.
    NodeDown,
    /// The destination's inbox was full (it was paused or overloaded).
    InboxFull,
}

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    /// A node or client handed a message to the network.
    Send {
        /// The sender.
        from: Addr,
        /// The sending node's incarnation (absent for clients).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incarnation: Option<Incarnation>,
        /// The receiver.
        to: Addr,
        /// The message id (unique within a run).
        msg_id: u64,
        /// A short static name for the message or note.
        label: String,
        /// Size in bytes.
        bytes: u32,
        /// FNV-1a of the encoded body (the payload's fingerprint).
        payload_fnv: u64,
    },
    /// A node or client took a message from its inbox.
    Deliver {
        /// The sender.
        from: Addr,
        /// The receiver.
        to: Addr,
        /// The receiving node's incarnation (absent for clients).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incarnation: Option<Incarnation>,
        /// The message id (unique within a run).
        msg_id: u64,
    },
    /// A message did not arrive.
    Drop {
        /// The sender.
        from: Addr,
        /// The receiver.
        to: Addr,
        /// The message id (unique within a run).
        msg_id: u64,
        /// Why it was dropped.
        cause: DropCause,
    },
    /// A message will arrive twice.
    Duplicate {
        /// The sender.
        from: Addr,
        /// The receiver.
        to: Addr,
        /// The message id (unique within a run).
        msg_id: u64,
    },
    /// A message will arrive late.
    Delay {
        /// The sender.
        from: Addr,
        /// The receiver.
        to: Addr,
        /// The message id (unique within a run).
        msg_id: u64,
        /// The extra delay.
        extra_ns: u64,
    },
    /// Bytes that did not decode as a message; dropped, never a panic.
    Garbage {
        /// The receiver.
        to: Addr,
        /// Size in bytes.
        bytes: u32,
        /// What was wrong with it.
        error: String,
    },
    /// The nemesis applied a fault.
    Fault {
        /// The fault, resolved.
        action: Fault,
    },
    /// A scheduled fault that could not apply (e.g. restart of a node that is up).
    FaultSkipped {
        /// The fault.
        fault: String,
        /// Why.
        reason: String,
    },
    /// A node's wall clock stepped (a jump, or an offset change), by `delta_ns`.
    ClockStep {
        /// The node.
        node: NodeId,
        /// The step (negative = backwards).
        delta_ns: i64,
    },
    /// A node's software started (boot or restart).
    Start {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
    },
    /// A node lost power.
    Crash {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
        /// Bytes written but not synced, lost with the page cache.
        unsynced_bytes_lost: u64,
    },
    /// A service timer fired.
    Timer {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
        /// The service's timer id.
        timer: u64,
    },
    /// A sync completed: what was written is durable.
    Sync {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
    },
    /// A node's answer to a client request, as it left the node.
    Reply {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
        /// The receiver.
        to: Addr,
        /// The request id the reply answers.
        req_id: u64,
        /// The body.
        body: Value,
    },
    /// A fact a service records about its internal state, for invariants.
    Observe {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
        /// What kind of fact.
        label: String,
        /// The fact.
        value: Value,
    },
    /// Something a service reports about itself (coverage of rare paths).
    Note {
        /// The node.
        node: NodeId,
        /// The node's incarnation.
        incarnation: Incarnation,
        /// A short static name for the message or note.
        label: String,
        /// The value.
        value: Value,
    },
    /// A client invoked or completed an operation (mirrors the history).
    ClientOp {
        /// The client.
        client: ClientId,
        /// The Jepsen process.
        process: u64,
        /// invoke, ok, fail or info.
        #[serde(rename = "type")]
        op_type: OpType,
        /// The operation's name.
        f: String,
        /// The key the operation is on, for services that have keys.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Value>,
        /// Input on invoke, output on ok.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
    /// The nemesis stopped injecting faults and healed everything (the liveness phase begins).
    HealAll,
    /// A disk fault acted on a node's disk (a torn write at a crash, a failed or lying sync, a
    /// write refused for space, a slow sync).
    Disk {
        /// The node.
        node: NodeId,
        /// What happened.
        #[serde(flatten)]
        effect: DiskEffect,
    },
    /// A node's software stopped itself and restarts from its durable state: after a failed
    /// sync (PostgreSQL's answer to a failed fsync), or because the service asked to (a write
    /// failed half-way). The outputs queued after that point were dropped.
    Halt {
        /// The node.
        node: NodeId,
        /// The incarnation that stopped.
        incarnation: Incarnation,
        /// Outputs (messages, replies) dropped because they depended on what failed.
        outputs_dropped: u32,
        /// Why.
        reason: String,
    },
    /// A message's bits were flipped in flight (net-corrupt); its receiver's frame check
    /// drops it (a `Garbage` event there). Declared last: the canonical encoding numbers
    /// variants, so appending keeps every other event's bytes.
    Corrupt {
        /// The sender.
        from: Addr,
        /// The receiver.
        to: Addr,
        /// The message id.
        msg_id: u64,
    },
}

/// An event with its true time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// True simulated time.
    pub time_ns: SimTime,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// Append-only, bounded: a runaway run fails loudly instead of eating the machine.
#[derive(Debug, Clone)]
pub struct EventLog {
    records: Vec<EventRecord>,
    records_max: usize,
    overflowed: bool,
}

/// A 64-bit fingerprint of a run, printed as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub u64);

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl EventLog {
    /// An empty log holding at most `records_max` records.
    pub fn new(records_max: usize) -> Self {
        EventLog {
            records: Vec::new(),
            records_max,
            overflowed: false,
        }
    }

    /// Appends, or marks the log overflowed when it is full.
    pub fn push(&mut self, time_ns: SimTime, event: Event) {
        if self.records.len() >= self.records_max {
            self.overflowed = true;
            return;
        }
        self.records.push(EventRecord { time_ns, event });
    }

    /// Orders records by true time, keeping execution order among equal times. Hosts run one
    /// after another within a simulator step, so raw order is not time order; causality is
    /// kept because messages cross hosts only on step boundaries.
    pub fn sort_by_time(&mut self) {
        self.records.sort_by_key(|r| r.time_ns);
    }

    /// Every record.
    pub fn records(&self) -> &[EventRecord] {
        &self.records
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// True when events were discarded because the log hit `records_max`.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// FNV-1a over every record's canonical binary encoding (`crate::canon`): time, then the
    /// event. Streaming straight into the hasher, it costs a fraction of rendering JSON.
    pub fn digest(&self) -> Digest {
        let mut hasher = Fnv64::new();
        for record in &self.records {
            hasher.write(&record.time_ns.ns.to_le_bytes());
            crate::canon::hash_into(&mut hasher, &record.event);
        }
        Digest(hasher.finish())
    }

    /// Writes one JSON object per line (the canonical encoding).
    pub fn write_jsonl<W: Write>(&self, mut out: W) -> io::Result<()> {
        for record in &self.records {
            serde_json::to_writer(&mut out, record)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: u32) -> EventLog {
        let mut log = EventLog::new(100);
        for i in 0..n {
            log.push(
                SimTime::from_ms(u64::from(i)),
                Event::Start {
                    node: NodeId(i),
                    incarnation: Incarnation(1),
                },
            );
        }
        log
    }

    #[test]
    fn digest_covers_every_record_time_and_field() {
        let log = log_with(3);
        assert_eq!(log.digest(), log_with(3).digest());
        assert_ne!(log.digest(), log_with(2).digest());
        let mut later = log.clone();
        later.records[2].time_ns = SimTime::from_ms(9);
        assert_ne!(log.digest(), later.digest(), "time is hashed");
        let mut other = log.clone();
        other.records[2].event = Event::Start {
            node: NodeId(2),
            incarnation: Incarnation(2),
        };
        assert_ne!(log.digest(), other.digest(), "fields are hashed");
    }

    #[test]
    fn canonical_encoding_is_stable() {
        let mut log = EventLog::new(10);
        log.push(
            SimTime::from_ms(1),
            Event::Drop {
                from: Addr::Node(NodeId(0)),
                to: Addr::Client(ClientId(2)),
                msg_id: 9,
                cause: DropCause::PartitionInFlight,
            },
        );
        let mut bytes = Vec::new();
        assert!(log.write_jsonl(&mut bytes).is_ok());
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "{\"time_ns\":1000000,\"kind\":\"drop\",\"from\":{\"node\":0},\"to\":{\"client\":2},\"msg_id\":9,\"cause\":\"partition-in-flight\"}\n"
        );
    }

    #[test]
    fn log_is_bounded() {
        let mut log = EventLog::new(2);
        for i in 0..5 {
            log.push(SimTime::from_ms(i), Event::HealAll);
        }
        assert_eq!(log.len(), 2);
        assert!(log.overflowed());
    }
}
