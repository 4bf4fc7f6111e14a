//! The node environment on turmoil: skewed clocks from the world, the simulated disk, the
//! fault-injecting transport, and pause/resume.

use super::transport::{Transport, sim_now};
use crate::event::Event;
use crate::ids::{Addr, NodeId};
use crate::node::env::{Inbound, NodeEnv};
use crate::node::storage::{Storage, StorageError};
use crate::time::{LocalInstant, LocalNow};
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

/// Long sleeps are cut into pieces this long, so a timer follows drift changes made while it
/// waits (the host loop re-checks the local clock after every wake-up).
const CLOCK_RECHECK: Duration = Duration::from_millis(50);

pub struct TurmoilNodeEnv {
    pub(crate) transport: Transport,
    pub(crate) node: NodeId,
    pub(crate) fsync: Duration,
}

impl NodeEnv for TurmoilNodeEnv {
    fn me(&self) -> Addr {
        Addr::Node(self.node)
    }

    fn now(&self) -> LocalNow {
        self.transport
            .world()
            .borrow()
            .node(self.node)
            .clock
            .read(sim_now())
    }

    fn sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        let wait = self
            .transport
            .world()
            .borrow()
            .node(self.node)
            .clock
            .true_until(sim_now(), deadline);
        tokio::time::sleep(wait.min(CLOCK_RECHECK))
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue) {
        self.transport.send(to, label, body);
    }

    fn with_storage<R>(&mut self, f: impl FnOnce(&mut dyn Storage) -> R) -> R {
        let mut w = self.transport.world().borrow_mut();
        f(&mut w.node_mut(self.node).disk)
    }

    async fn sync(&mut self) -> Result<(), StorageError> {
        // A crash during this sleep drops this task: the writes stay unsynced and are lost.
        tokio::time::sleep(self.fsync).await;
        self.transport
            .world()
            .borrow_mut()
            .node_mut(self.node)
            .disk
            .sync_all();
        Ok(())
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
        self.transport.world().borrow_mut().log(sim_now(), event);
    }
}
