//! The world: everything about a simulated run that outlives any one node's process — clocks,
//! disks, the network's fault state, which nodes are up or paused, and the records (event log,
//! history). Backends read and write it; the nemesis changes it; services never see it.
//!
//! Methods take `now` explicitly so the world does not depend on any one simulator's clock.

use crate::clock::NodeClock;
use crate::event::{Event, EventLog};
use crate::history::{History, HistoryEvent, Process};
use crate::ids::{Addr, Incarnation, NodeId};
use crate::net::faults::NetFaults;
use crate::node::storage::SimDisk;
use crate::rng::DetRng;
use crate::time::{LocalInstant, SimTime};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Notify;

/// One node's slot in the world.
#[derive(Debug)]
pub struct NodeSlot {
    pub clock: NodeClock,
    pub disk: SimDisk,
    pub up: bool,
    pub paused: bool,
    pub incarnation: Incarnation,
    /// Woken on resume (and on crash, so nothing waits on a dead pause).
    pub resume: Rc<Notify>,
}

/// Options the world needs from the scenario.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub nodes: u32,
    pub clients: u32,
    pub epoch_unix_ns: i64,
    pub events_max: usize,
}

#[derive(Debug)]
pub struct WorldState {
    pub nodes: Vec<NodeSlot>,
    pub net: NetFaults,
    /// Draws for loss, duplication and delay, in send order.
    pub net_rng: DetRng,
    pub log: EventLog,
    pub history: History,
    /// Extra delay decided at send time, applied by the receiver: `msg_id → delay`.
    pub delays: BTreeMap<u64, Duration>,
    /// Set when clients should stop issuing operations.
    pub clients_stop: bool,
    next_msg_id: u64,
}

impl WorldState {
    pub fn new(cfg: &WorldConfig, net_rng: DetRng, mono_starts: &[LocalInstant]) -> Self {
        assert_eq!(
            mono_starts.len(),
            cfg.nodes as usize,
            "one clock start per node"
        );
        let nodes = mono_starts
            .iter()
            .map(|&start| NodeSlot {
                clock: NodeClock::new(cfg.epoch_unix_ns, start),
                disk: SimDisk::new(),
                up: true,
                paused: false,
                incarnation: Incarnation(0),
                resume: Rc::new(Notify::new()),
            })
            .collect();
        // Client c sits next to node c mod n.
        let homes = (0..cfg.clients).map(|c| NodeId(c % cfg.nodes)).collect();
        WorldState {
            nodes,
            net: NetFaults::new(homes),
            net_rng,
            log: EventLog::new(cfg.events_max),
            history: History::default(),
            delays: BTreeMap::new(),
            clients_stop: false,
            next_msg_id: 0,
        }
    }

    pub fn node(&self, n: NodeId) -> &NodeSlot {
        &self.nodes[n.0 as usize]
    }

    pub fn node_mut(&mut self, n: NodeId) -> &mut NodeSlot {
        &mut self.nodes[n.0 as usize]
    }

    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    pub fn is_up(&self, addr: Addr) -> bool {
        match addr {
            Addr::Node(n) => self.nodes.get(n.0 as usize).is_some_and(|s| s.up),
            Addr::Client(_) => true,
        }
    }

    pub fn next_msg_id(&mut self) -> u64 {
        self.next_msg_id += 1;
        self.next_msg_id
    }

    pub fn log(&mut self, now: SimTime, event: Event) {
        self.log.push(now, event);
    }

    /// A node's software is starting: bump its incarnation and log it.
    pub fn node_started(&mut self, now: SimTime, n: NodeId) -> Incarnation {
        let slot = self.node_mut(n);
        slot.incarnation = Incarnation(slot.incarnation.0 + 1);
        slot.up = true;
        slot.paused = false;
        let incarnation = slot.incarnation;
        self.log(
            now,
            Event::Start {
                node: n,
                incarnation,
            },
        );
        incarnation
    }

    /// Records one history line (and mirrors it into the event log).
    pub fn record_op(&mut self, now: SimTime, op: crate::client::OpRecord) {
        self.log(
            now,
            Event::ClientOp {
                client: op.client,
                process: op.process,
                op_type: op.op_type,
                f: op.f.to_string(),
                value: op.value.clone(),
            },
        );
        self.history.push(HistoryEvent {
            process: Process::Int(op.process),
            kind: op.op_type,
            f: op.f.to_string(),
            key: op.key,
            value: op.value,
            time: Some(now.ns),
        });
    }
}
