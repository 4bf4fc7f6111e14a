//! The node environment under simulation: skewed clocks from the world, the simulated disk
//! with its fsync time, the fault-injecting transport, and pause/resume — the same for every
//! simulated backend.

use super::runtime::SimRuntime;
use super::transport::Transport;
use crate::disk::{Storage, StorageError};
use crate::event::Event;
use crate::ids::{Addr, Incarnation, NodeId};
use crate::node::env::{Inbound, NodeEnv};
use crate::node::sketch::Sketch;
use crate::time::{LocalInstant, LocalNow};
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

/// Long sleeps are cut into pieces this long, so a timer follows drift changes made while it
/// waits (the host loop re-checks the local clock after every wake-up).
const CLOCK_RECHECK: Duration = Duration::from_millis(50);

/// One simulated node's view of its machine.
pub struct SimNodeEnv<R: SimRuntime> {
    pub(super) transport: Transport<R>,
    pub(super) node: NodeId,
    pub(super) fsync: Duration,
}

impl<R: SimRuntime> NodeEnv for SimNodeEnv<R> {
    fn me(&self) -> Addr {
        Addr::Node(self.node)
    }

    fn now(&self) -> LocalNow {
        self.transport
            .world()
            .borrow()
            .node(self.node)
            .clock
            .read(R::now())
    }

    fn sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        let wait = self
            .transport
            .world()
            .borrow()
            .node(self.node)
            .clock
            .true_until(R::now(), deadline);
        R::sleep(wait.min(CLOCK_RECHECK))
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn sketches_wanted(&self) -> bool {
        self.transport.world().borrow().sketches.is_some()
    }

    fn record_sketch(&mut self, sketch: Sketch) {
        self.transport.world().borrow_mut().record_sketch(sketch);
    }

    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue) {
        self.transport.send(to, label, body);
    }

    fn with_storage<T>(&mut self, f: impl FnOnce(&mut dyn Storage) -> T) -> T {
        let mut w = self.transport.world().borrow_mut();
        let result = f(&mut w.node_mut(self.node).disk);
        w.log_disk_effects(R::now(), self.node);
        result
    }

    async fn sync(&mut self) -> Result<(), StorageError> {
        let extra_ms = {
            let mut w = self.transport.world().borrow_mut();
            let extra_ms = w.node_mut(self.node).disk.sync_extra_ms();
            w.log_disk_effects(R::now(), self.node);
            extra_ms
        };
        // A crash during this sleep drops this task: the writes stay unsynced and are lost.
        R::sleep(self.fsync + Duration::from_millis(extra_ms)).await;
        // The disk's rules when the sync completes decide what it did.
        let mut w = self.transport.world().borrow_mut();
        let result = w.node_mut(self.node).disk.complete_sync();
        w.log_disk_effects(R::now(), self.node);
        result
    }

    fn restarted(&mut self) -> Incarnation {
        let incarnation = self
            .transport
            .world()
            .borrow_mut()
            .node_started(R::now(), self.node);
        self.transport.set_incarnation(incarnation);
        incarnation
    }

    async fn wait_while_paused(&mut self) {
        loop {
            let resume = {
                let w = self.transport.world().borrow();
                let slot = w.node(self.node);
                if !slot.paused {
                    return;
                }
                slot.resume.clone()
            };
            resume.notified().await;
        }
    }

    fn record(&mut self, event: Event) {
        self.transport.world().borrow_mut().log(R::now(), event);
    }
}
