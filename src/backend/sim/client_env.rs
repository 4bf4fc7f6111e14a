//! The client environment under simulation: true time, the transport, and the shared history.

use super::runtime::SimRuntime;
use super::transport::Transport;
use crate::client::ClientEnv;
use crate::history::OpRecord;
use crate::ids::{Addr, ClientId};
use crate::node::env::Inbound;
use crate::time::SimTime;
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

/// One simulated client's view of its machine.
pub struct SimClientEnv<R: SimRuntime> {
    pub(super) transport: Transport<R>,
    pub(super) me: ClientId,
}

impl<R: SimRuntime> ClientEnv for SimClientEnv<R> {
    fn me(&self) -> ClientId {
        self.me
    }

    fn now(&self) -> SimTime {
        R::now()
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        R::sleep(d)
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue) {
        self.transport.send(to, label, body);
    }

    fn record(&mut self, op: OpRecord) {
        self.transport.world().borrow_mut().record_op(R::now(), op);
    }

    fn should_stop(&self) -> bool {
        self.transport.world().borrow().clients_stop
    }
}
