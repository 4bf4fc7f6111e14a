//! The event log: every send, delivery, drop, timer, fault, crash, restart and client operation
//! of a run, stamped with true simulated time. Events are typed; text logs are rendered from
//! them, never the other way round. The log's digest (FNV-1a over the canonical JSON Lines
//! encoding) is the run's fingerprint: same scenario + seed ⇒ same digest, in any process.

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    Send {
        from: Addr,
        /// The sending node's incarnation (absent for clients).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incarnation: Option<Incarnation>,
        to: Addr,
        msg_id: u64,
        label: String,
        bytes: u32,
        payload_fnv: u64,
    },
    Deliver {
        from: Addr,
        to: Addr,
        /// The receiving node's incarnation (absent for clients).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incarnation: Option<Incarnation>,
        msg_id: u64,
    },
    Drop {
        from: Addr,
        to: Addr,
        msg_id: u64,
        cause: DropCause,
    },
    Duplicate {
        from: Addr,
        to: Addr,
        msg_id: u64,
    },
    Delay {
        from: Addr,
        to: Addr,
        msg_id: u64,
        extra_ns: u64,
    },
    /// Bytes that did not decode as a message; dropped, never a panic.
    Garbage {
        to: Addr,
        bytes: u32,
        error: String,
    },
    Fault {
        action: Fault,
    },
    /// A scheduled fault that could not apply (e.g. restart of a node that is up).
    FaultSkipped {
        fault: String,
        reason: String,
    },
    /// A node's wall clock stepped (a jump, or an offset change), by `delta_ns`.
    ClockStep {
        node: NodeId,
        delta_ns: i64,
    },
    Start {
        node: NodeId,
        incarnation: Incarnation,
    },
    Crash {
        node: NodeId,
        incarnation: Incarnation,
        unsynced_bytes_lost: u64,
    },
    Timer {
        node: NodeId,
        incarnation: Incarnation,
        timer: u64,
    },
    Sync {
        node: NodeId,
        incarnation: Incarnation,
    },
    /// A node's answer to a client request, as it left the node.
    Reply {
        node: NodeId,
        incarnation: Incarnation,
        to: Addr,
        req_id: u64,
        body: Value,
    },
    /// Something a service reports about itself (coverage of rare paths).
    Note {
        node: NodeId,
        incarnation: Incarnation,
        label: String,
        value: Value,
    },
    ClientOp {
        client: ClientId,
        process: u64,
        #[serde(rename = "type")]
        op_type: OpType,
        f: String,
        /// The key the operation is on, for services that have keys.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
    },
    /// The nemesis stopped injecting faults and healed everything (the liveness phase begins).
    HealAll,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub time_ns: SimTime,
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
    pub fn new(records_max: usize) -> Self {
        EventLog {
            records: Vec::new(),
            records_max,
            overflowed: false,
        }
    }

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

    pub fn records(&self) -> &[EventRecord] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// True when events were discarded because the log hit `records_max`.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// FNV-1a over the JSON Lines encoding: the same bytes `write_jsonl` produces.
    pub fn digest(&self) -> Digest {
        let mut hasher = FnvWriter(Fnv64::new());
        // Writing into a hasher cannot fail.
        let _ = self.write_jsonl(&mut hasher);
        Digest(hasher.0.finish())
    }

    pub fn write_jsonl<W: Write>(&self, mut out: W) -> io::Result<()> {
        for record in &self.records {
            serde_json::to_writer(&mut out, record)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

struct FnvWriter(Fnv64);

impl Write for FnvWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
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
    fn digest_is_over_the_jsonl_bytes() {
        let log = log_with(3);
        let mut bytes = Vec::new();
        assert!(log.write_jsonl(&mut bytes).is_ok());
        let mut h = Fnv64::new();
        h.write(&bytes);
        assert_eq!(log.digest(), Digest(h.finish()));
        assert_ne!(log.digest(), log_with(2).digest());
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
