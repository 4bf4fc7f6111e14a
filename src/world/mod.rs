//! The world: everything about a simulated run that outlives any one node's process — clocks,
//! disks, the network's state, which nodes are up or paused, and the records (event log,
//! history). Backends read and write it; the nemesis changes it; services never see it.
//!
//! The world also owns what a crash, a pause and a restart *mean* (the page cache is lost, the
//! process stops taking input, the incarnation advances), so every backend gets the same
//! semantics and only has to stop and start the node's software.
//!
//! Methods take `now` explicitly so the world does not depend on any one simulator's clock. The
//! world imports neither the node layer nor the clients: it holds data, not behaviour.

use crate::clock::NodeClock;
use crate::disk::{CrashLoss, SimDisk};
use crate::event::{Event, EventLog};
use crate::history::{History, HistoryEvent, OpRecord, Process};
use crate::ids::{Addr, Incarnation, NodeId};
use crate::net::faults::NetFaults;
use crate::net::layer::{NetState, Outbound, Sent};
use crate::node::sketch::Sketch;
use crate::rng::DetRng;
use crate::time::{LocalInstant, SimTime};
use std::collections::BTreeMap;
use std::rc::Rc;
use tokio::sync::Notify;

/// One node's slot in the world.
#[derive(Debug)]
pub struct NodeSlot {
    /// The node's skewed clocks.
    pub clock: NodeClock,
    /// The node's disk (outlives crashes; loses its page cache in one).
    pub disk: SimDisk,
    /// False while crashed.
    pub up: bool,
    /// True while paused (the process takes no input and produces no output).
    pub paused: bool,
    /// How many times the node's software has started.
    pub incarnation: Incarnation,
    /// Woken on resume (and on crash, so nothing waits on a dead pause).
    pub resume: Rc<Notify>,
}

/// Options the world needs from the scenario.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Cluster size.
    pub nodes: u32,
    /// Concurrent clients.
    pub clients: u32,
    /// What an unskewed wall clock reads at true time zero.
    pub epoch_unix_ns: i64,
    /// Bound on the event log.
    pub events_max: usize,
}

/// The state of one simulated run.
#[derive(Debug)]
pub struct WorldState {
    /// One slot per node, indexed by node id.
    pub nodes: Vec<NodeSlot>,
    /// The network: fault rules, draws, message ids, delays in flight.
    pub net: NetState,
    /// Every event of the run.
    pub log: EventLog,
    /// Every client operation of the run.
    pub history: History,
    /// Set when clients should stop issuing operations.
    pub clients_stop: bool,
    /// The first panic of a node's or client's software (`who: message`): the run stops there.
    pub panic: Option<String>,
    /// Abstract states the nodes reported ([`Sketch::key`] → the state and how often), in
    /// runs that collect coverage; `None` otherwise (nodes are not asked).
    pub sketches: Option<AbstractStates>,
}

/// Abstract states reached in a run, by [`Sketch::key`]: the state and how many handlers
/// ended in it.
pub type AbstractStates = BTreeMap<u64, (Sketch, u64)>;

impl WorldState {
    /// A world whose nodes boot with monotonic clocks at `mono_starts` and whose network draws
    /// come from `net_rng`.
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
            net: NetState::new(NetFaults::new(homes), net_rng),
            log: EventLog::new(cfg.events_max),
            history: History::default(),
            clients_stop: false,
            panic: None,
            sketches: None,
        }
    }

    /// Counts a node's abstract state (only when the run collects them).
    pub fn record_sketch(&mut self, sketch: Sketch) {
        if let Some(states) = &mut self.sketches {
            states.entry(sketch.key()).or_insert((sketch, 0)).1 += 1;
        }
    }

    /// Records a panic of some software (the first one is kept).
    pub fn record_panic(&mut self, message: String) {
        self.panic.get_or_insert(message);
    }

    /// A node's slot.
    pub fn node(&self, n: NodeId) -> &NodeSlot {
        &self.nodes[n.0 as usize]
    }

    /// A node's slot, to change it.
    pub fn node_mut(&mut self, n: NodeId) -> &mut NodeSlot {
        &mut self.nodes[n.0 as usize]
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The node client `c` sits next to: it shares that node's network position and clocks.
    pub fn client_home(&self, c: crate::ids::ClientId) -> NodeId {
        self.net
            .faults
            .position(Addr::Client(c))
            .unwrap_or(NodeId(0))
    }

    /// True unless `addr` is a crashed node (clients never crash).
    pub fn is_up(&self, addr: Addr) -> bool {
        match addr {
            Addr::Node(n) => self.nodes.get(n.0 as usize).is_some_and(|s| s.up),
            Addr::Client(_) => true,
        }
    }

    /// Appends to the event log.
    pub fn log(&mut self, now: SimTime, event: Event) {
        self.log.push(now, event);
    }

    /// Logs and judges one message through the network's fault layer; returns how many copies
    /// the backend puts on its wire (0 = dropped).
    pub fn send(&mut self, now: SimTime, msg_id: u64, mut m: Outbound<'_>) -> Sent {
        m.destination_up = self.is_up(m.to);
        self.net.on_send(&mut self.log, now, msg_id, &m)
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

    /// Power loss on `n`: the process is gone (the backend drops its tasks), its page cache is
    /// lost, messages in flight to it die with its socket. Logged.
    pub fn crash(&mut self, now: SimTime, n: NodeId) -> CrashLoss {
        let slot = self.node_mut(n);
        assert!(slot.up, "{n} crashed while down");
        slot.up = false;
        slot.paused = false;
        slot.resume.notify_waiters();
        let loss = slot.disk.crash();
        let incarnation = slot.incarnation;
        self.net.forget_in_flight_to(Addr::Node(n));
        self.log(
            now,
            Event::Crash {
                node: n,
                incarnation,
                unsynced_bytes_lost: loss.bytes_lost,
            },
        );
        self.log_disk_effects(now, n);
        loss
    }

    /// Logs what disk faults did to `n`'s disk since the last call.
    pub fn log_disk_effects(&mut self, now: SimTime, n: NodeId) {
        for effect in self.node_mut(n).disk.take_effects() {
            self.log(now, Event::Disk { node: n, effect });
        }
    }

    /// SIGSTOP: the process takes no input and produces no output until resumed.
    pub fn pause(&mut self, n: NodeId) {
        let slot = self.node_mut(n);
        assert!(slot.up && !slot.paused, "{n} paused while down or paused");
        slot.paused = true;
    }

    /// SIGCONT.
    pub fn resume(&mut self, n: NodeId) {
        let slot = self.node_mut(n);
        slot.paused = false;
        slot.resume.notify_waiters();
    }

    /// Records one history line (and mirrors it into the event log). Once the event log is
    /// full the history stops too (a prefix of a history is still a history, and the run is
    /// `unknown` by then anyway), so a bounded log bounds the run's memory.
    pub fn record_op(&mut self, now: SimTime, op: OpRecord) {
        if self.log.overflowed() {
            return;
        }
        self.log(
            now,
            Event::ClientOp {
                client: op.client,
                process: op.process,
                op_type: op.op_type,
                f: op.f.to_string(),
                key: op.key.clone(),
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
