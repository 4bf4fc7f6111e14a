//! A deterministic in-memory cluster of Raft cores for tests: a seeded lossy network, per-node
//! clock rates, crashes that lose what was not synced, and the safety properties checked after
//! every step. The host loop here follows the `Ready` contract to the letter.

use super::super::store::{self, Store};
use super::super::*;
use crate::disk::SimDisk;
use crate::ids::NodeId;
use crate::rng::{DetRng, Fnv64, component_rng};
use crate::time::LocalInstant;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Commands are unique numbers, so "same command" is "same number".
pub type Cmd = u64;

/// How the network misbehaves (all zero: a perfect network with 1 ms latency).
#[derive(Debug, Clone, Copy, Default)]
pub struct NetFaults {
    pub drop_ppm: u32,
    pub dup_ppm: u32,
    /// Extra delay drawn uniformly from `0..delay_ms_max` (reorders messages).
    pub delay_ms_max: u64,
}

/// The application: a running digest of applied commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct App {
    pub applied_index: u64,
    pub digest: u64,
}

pub struct Node {
    pub core: Option<RaftCore<Cmd>>,
    pub disk: SimDisk,
    store: Store,
    rng: DetRng,
    /// Local clock nanoseconds per million true nanoseconds.
    pub rate_ppm: u64,
    pub app: App,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    members: Vec<NodeId>,
    pub cfg: RaftConfig,
    pub bugs: RaftBugs,
    /// The host bug "ack before fsync": messages leave at once and the sync completes only
    /// when the node next handles an input, so a crash in between loses what was acked.
    pub host_acks_before_sync: bool,
    /// True time, ns.
    pub now_ns: u64,
    pub net: NetFaults,
    /// Links that drop everything: (from, to).
    pub cut: BTreeSet<(u32, u32)>,
    queue: BTreeMap<(u64, u64), (NodeId, NodeId, RaftMsg<Cmd>)>,
    seq: u64,
    rng: DetRng,
    next_cmd: Cmd,
    // Observations for the properties.
    leaders: BTreeMap<u64, NodeId>,
    /// (index, term) -> (payload, term of the previous entry): log matching, inductively.
    entries_seen: BTreeMap<(u64, u64), (Payload<Cmd>, Option<u64>)>,
    /// index -> (entry term, lowest term of a node seen holding it committed).
    pub committed: BTreeMap<u64, (u64, u64)>,
    /// index -> (term, payload) first applied anywhere.
    applied: BTreeMap<u64, (u64, Payload<Cmd>)>,
    last_commit: Vec<u64>,
    /// Reads in flight: (node, ctx) -> highest committed index when registered.
    reads: BTreeMap<(u32, u64), u64>,
    pub reads_served: u64,
    /// Reads served on the lease, without a round trip.
    pub reads_by_lease: u64,
    /// Snapshots installed from a leader (coverage: the catch-up path ran).
    pub snapshots_installed: u64,
    /// Leaderships observed (coverage: elections happened under faults).
    pub leaderships: u64,
    pub violations: Vec<String>,
}

impl Cluster {
    pub fn new(n: u32, cfg: RaftConfig, bugs: RaftBugs, seed: u64) -> Self {
        let members: Vec<NodeId> = (0..n).map(NodeId).collect();
        let mut c = Cluster {
            nodes: Vec::new(),
            members: members.clone(),
            cfg,
            bugs,
            host_acks_before_sync: false,
            now_ns: 0,
            net: NetFaults::default(),
            cut: BTreeSet::new(),
            queue: BTreeMap::new(),
            seq: 0,
            rng: component_rng(seed, "raft-test-net", 0),
            next_cmd: 1,
            leaders: BTreeMap::new(),
            entries_seen: BTreeMap::new(),
            committed: BTreeMap::new(),
            applied: BTreeMap::new(),
            last_commit: vec![0; n as usize],
            reads: BTreeMap::new(),
            reads_served: 0,
            reads_by_lease: 0,
            snapshots_installed: 0,
            leaderships: 0,
            violations: Vec::new(),
        };
        for id in 0..n {
            c.nodes.push(Node {
                core: None,
                disk: SimDisk::new(),
                store: Store::empty(),
                rng: component_rng(seed, "raft-test-node", u64::from(id)),
                rate_ppm: 1_000_000,
                app: App::default(),
            });
            c.restart(id);
        }
        c
    }

    pub fn local_now(&self, id: u32) -> LocalInstant {
        let rate = u128::from(self.nodes[id as usize].rate_ppm);
        LocalInstant {
            ns: u64::try_from(u128::from(self.now_ns) * rate / 1_000_000).unwrap_or(u64::MAX),
        }
    }

    fn true_time_of(&self, id: u32, local: LocalInstant) -> u64 {
        let rate = u128::from(self.nodes[id as usize].rate_ppm);
        let t = (u128::from(local.ns) * 1_000_000).div_ceil(rate);
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    pub fn core(&self, id: u32) -> Option<&RaftCore<Cmd>> {
        self.nodes[id as usize].core.as_ref()
    }

    pub fn leader(&self) -> Option<u32> {
        let mut best: Option<(u64, u32)> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(c) = n.core.as_ref().filter(|c| c.role() == Role::Leader)
                && best.is_none_or(|(t, _)| c.term() > t)
            {
                best = Some((c.term(), i as u32));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Power loss: unsynced writes are gone, in-flight messages to it are dropped on arrival.
    pub fn crash(&mut self, id: u32) {
        let node = &mut self.nodes[id as usize];
        node.core = None;
        node.disk.crash();
    }

    pub fn restart(&mut self, id: u32) {
        let now = self.local_now(id);
        let members = self.members.clone();
        let (cfg, bugs) = (self.cfg.clone(), self.bugs);
        let node = &mut self.nodes[id as usize];
        let loaded = match store::load::<Cmd>(&mut node.disk) {
            Ok(l) => l,
            Err(e) => {
                self.violations.push(format!("n{id} cannot recover: {e}"));
                return;
            }
        };
        node.disk.sync_all();
        node.store = loaded.store;
        node.app = if loaded.recovered.snapshot.data.is_empty() {
            App::default()
        } else {
            serde_json::from_slice(&loaded.recovered.snapshot.data).unwrap_or_default()
        };
        let core = RaftCore::new(
            NodeId(id),
            &members,
            cfg,
            bugs,
            loaded.recovered,
            now,
            &mut node.rng,
        );
        node.core = Some(core);
        self.last_commit[id as usize] = 0;
        self.drain(id);
    }

    /// Runs `f` on a live node's core, then handles its `Ready`.
    pub fn with_core<R>(
        &mut self,
        id: u32,
        f: impl FnOnce(&mut RaftCore<Cmd>, LocalInstant, &mut DetRng) -> R,
    ) -> Option<R> {
        let now = self.local_now(id);
        let node = &mut self.nodes[id as usize];
        let core = node.core.as_mut()?;
        let r = f(core, now, &mut node.rng);
        self.drain(id);
        Some(r)
    }

    pub fn campaign(&mut self, id: u32) {
        self.with_core(id, |c, now, rng| c.campaign(now, rng));
    }

    /// Campaigns at `id` (again after each `retry_ms` of true time) until it leads; `false`
    /// after `tries`.
    pub fn elect(&mut self, id: u32, tries: u32, retry_ms: u64) -> bool {
        for _ in 0..tries {
            self.campaign(id);
            let until = self.now_ns + retry_ms * 1_000_000;
            while self.step(until) {
                if self.is_leader(id) {
                    return true;
                }
            }
            self.now_ns = self.now_ns.max(until);
        }
        self.is_leader(id)
    }

    pub fn is_leader(&self, id: u32) -> bool {
        self.core(id).is_some_and(|c| c.role() == Role::Leader)
    }

    /// Runs events one at a time until `pred` holds (`true`) or `ms` of true time pass.
    pub fn step_until(&mut self, ms: u64, mut pred: impl FnMut(&Cluster) -> bool) -> bool {
        let until = self.now_ns + ms * 1_000_000;
        while self.step(until) {
            if pred(self) {
                return true;
            }
        }
        self.now_ns = self.now_ns.max(until);
        pred(self)
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut_pair(&mut self, a: u32, b: u32) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Proposes a fresh command at `id`; returns it when accepted.
    pub fn propose(&mut self, id: u32) -> Option<Cmd> {
        let cmd = self.next_cmd;
        let ok = self.with_core(id, |c, now, _| c.propose(cmd, now).is_ok())?;
        ok.then(|| {
            self.next_cmd += 1;
            cmd
        })
    }

    pub fn read(&mut self, id: u32, ctx: u64) -> bool {
        let floor = self.committed.keys().next_back().copied().unwrap_or(0);
        // Registered first: a lease read is served within this very call.
        self.reads.insert((id, ctx), floor);
        let ok = self.with_core(id, |c, now, _| c.read_index(ctx, now).is_ok()) == Some(true);
        if !ok {
            self.reads.remove(&(id, ctx));
        }
        ok
    }

    /// The host loop for one `Ready`: persist, sync, send, restore, apply, serve, compact.
    fn drain(&mut self, id: u32) {
        let node = &mut self.nodes[id as usize];
        let Some(core) = node.core.as_mut() else {
            return;
        };
        if self.host_acks_before_sync {
            node.disk.sync_all(); // the previous input's sync completes only now
        }
        let ready = core.ready();
        if let Err(e) = node.store.persist(&mut node.disk, &ready) {
            self.violations.push(format!("n{id} persist failed: {e}"));
        }
        if !self.host_acks_before_sync {
            node.disk.sync_all();
        }
        if let Some(s) = ready.snapshot.as_ref().filter(|s| s.restore) {
            node.app = serde_json::from_slice(&s.snapshot.data).unwrap_or_default();
            self.snapshots_installed += 1;
        }
        let mut applied_now = Vec::new();
        for e in &ready.committed {
            if e.index <= node.app.applied_index {
                continue;
            }
            node.app.applied_index = e.index;
            let mut h = Fnv64::new();
            h.write(&node.app.digest.to_le_bytes());
            h.write(&serde_json::to_vec(&e.payload).unwrap_or_default());
            node.app.digest = h.finish();
            applied_now.push(e.clone());
        }
        if ready.snapshot_wanted {
            let bytes = serde_json::to_vec(&node.app).unwrap_or_default();
            let upto = node.app.applied_index;
            if let Err(e) = core.compact(upto, bytes) {
                self.violations.push(format!("n{id} compact failed: {e}"));
            }
        }
        let followup = ready.snapshot_wanted;
        for (to, msg) in ready.messages {
            self.send(NodeId(id), to, msg);
        }
        self.observe_entries(id, &ready.entries);
        for e in applied_now {
            self.observe_applied(id, &e);
        }
        for r in ready.reads {
            self.reads_served += 1;
            self.reads_by_lease += u64::from(r.via == ReadVia::Lease);
            if let Some(floor) = self.reads.remove(&(id, r.request_ctx))
                && r.index < floor
            {
                self.violations.push(format!(
                    "stale read at n{id}: index {} < {floor} committed before it began ({:?})",
                    r.index, r.via
                ));
            }
        }
        if followup {
            self.drain(id);
        }
        self.check(id);
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: RaftMsg<Cmd>) {
        let bytes = serde_json::to_vec(&msg).map_or(usize::MAX, |v| v.len());
        if bytes > MESSAGE_BYTES_MAX {
            self.violations.push(format!(
                "{} of {bytes} bytes exceeds the datagram bound",
                msg.label()
            ));
        }
        let copies = if self.rng.random_range(0..1_000_000) < self.net.dup_ppm {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if self.rng.random_range(0..1_000_000) < self.net.drop_ppm {
                continue;
            }
            let delay_ms = 1 + self.rng.random_range(0..=self.net.delay_ms_max);
            self.seq += 1;
            let at = self.now_ns + delay_ms * 1_000_000;
            self.queue.insert((at, self.seq), (from, to, msg.clone()));
        }
    }

    /// Advances to the next event (a delivery or a node's deadline), if any is before
    /// `limit_ns`; returns whether one happened.
    pub fn step(&mut self, limit_ns: u64) -> bool {
        let msg_at = self.queue.keys().next().map(|&(t, _)| t);
        let mut timer: Option<(u64, u32)> = None;
        for id in 0..self.nodes.len() as u32 {
            if let Some(c) = self.core(id) {
                let t = self.true_time_of(id, c.next_deadline()).max(self.now_ns);
                if timer.is_none_or(|(best, _)| t < best) {
                    timer = Some((t, id));
                }
            }
        }
        let deliver = match (msg_at, timer) {
            (Some(m), Some((t, _))) => m <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if deliver {
            let Some(((at, _), (from, to, msg))) = self.queue.pop_first() else {
                return false;
            };
            if at > limit_ns {
                self.queue.insert((at, 0), (from, to, msg));
                return false;
            }
            self.now_ns = self.now_ns.max(at);
            if self.cut.contains(&(from.0, to.0)) {
                return true;
            }
            self.with_core(to.0, |c, now, rng| c.step(from, msg, now, rng));
        } else if let Some((at, id)) = timer {
            if at > limit_ns {
                return false;
            }
            self.now_ns = self.now_ns.max(at);
            self.with_core(id, |c, now, rng| c.on_time(now, rng));
        }
        true
    }

    /// Runs events until true time `until_ns`.
    pub fn run_until(&mut self, until_ns: u64) {
        while self.step(until_ns) {}
        self.now_ns = self.now_ns.max(until_ns);
    }

    pub fn run_ms(&mut self, ms: u64) {
        self.run_until(self.now_ns + ms * 1_000_000);
    }

    pub fn isolate(&mut self, id: u32) {
        for other in 0..self.nodes.len() as u32 {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    fn observe_entries(&mut self, id: u32, entries: &[Entry<Cmd>]) {
        let Some(core) = self.nodes[id as usize].core.as_ref() else {
            return;
        };
        let mut found = Vec::new();
        for e in entries {
            let prev = core.term_at(e.index - 1);
            let seen = (e.payload.clone(), prev);
            match self.entries_seen.get(&(e.index, e.term)) {
                None => {
                    self.entries_seen.insert((e.index, e.term), seen);
                }
                Some(s)
                    if s.0 != seen.0 || (s.1.is_some() && seen.1.is_some() && s.1 != seen.1) =>
                {
                    found.push(format!(
                        "log matching: n{id} has a different entry at {}/{}",
                        e.index, e.term
                    ));
                }
                Some(_) => {}
            }
        }
        self.violations.extend(found);
    }

    fn observe_applied(&mut self, id: u32, e: &Entry<Cmd>) {
        match self.applied.get(&e.index) {
            None => {
                self.applied.insert(e.index, (e.term, e.payload.clone()));
            }
            Some((t, p)) if *t != e.term || *p != e.payload => self.violations.push(format!(
                "state machine safety: n{id} applied {}/{} but {}/{t} was applied elsewhere",
                e.index, e.term, e.index
            )),
            Some(_) => {}
        }
    }

    /// Election safety, leader completeness, commit monotonicity.
    fn check(&mut self, id: u32) {
        let Some(core) = self.nodes[id as usize].core.as_ref() else {
            return;
        };
        let mut found = Vec::new();
        let commit = core.commit_index();
        if commit < self.last_commit[id as usize] {
            found.push(format!("n{id} commit index went back to {commit}"));
        }
        let from = (core.snapshot_meta().index + 1).max(self.last_commit[id as usize] + 1);
        self.last_commit[id as usize] = commit;
        for i in from..=commit {
            let Some(t) = core.term_at(i) else { break };
            match self.committed.get_mut(&i) {
                Some((et, _)) if *et != t => {
                    found.push(format!("n{id} commits {i}/{t}, but {i}/{et} was committed"));
                }
                Some((_, ct)) => *ct = (*ct).min(core.term()),
                None => {
                    self.committed.insert(i, (t, core.term()));
                }
            }
        }
        if core.role() == Role::Leader {
            let term = core.term();
            match self.leaders.get(&term) {
                Some(&l) if l != NodeId(id) => {
                    found.push(format!(
                        "election safety: n{id} and {l} both lead term {term}"
                    ));
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(term, NodeId(id));
                    self.leaderships += 1;
                    let snap = core.snapshot_meta().index;
                    for (&i, &(t, ct)) in self.committed.range(snap + 1..) {
                        if ct < term && core.term_at(i) != Some(t) {
                            found.push(format!(
                                "leader completeness: n{id} leads term {term} without committed {i}/{t}"
                            ));
                            break;
                        }
                    }
                }
            }
        }
        self.violations.extend(found);
    }

    /// Whether every live node applied the same prefix and agrees on the digest.
    pub fn converged(&self) -> bool {
        let apps: Vec<&App> = self
            .nodes
            .iter()
            .filter(|n| n.core.is_some())
            .map(|n| &n.app)
            .collect();
        apps.windows(2).all(|w| w[0] == w[1])
    }
}
