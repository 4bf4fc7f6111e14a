//! The client environment on turmoil: true time, the transport, and the shared history.

use super::transport::{Transport, sim_now};
use crate::client::{ClientEnv, OpRecord};
use crate::ids::{Addr, ClientId};
use crate::node::env::Inbound;
use crate::time::SimTime;
use serde_json::value::RawValue;
use std::future::Future;
use std::time::Duration;

pub struct TurmoilClientEnv {
    pub(crate) transport: Transport,
    pub(crate) me: ClientId,
}

impl ClientEnv for TurmoilClientEnv {
    fn me(&self) -> ClientId {
        self.me
    }

    fn now(&self) -> SimTime {
        sim_now()
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }

    async fn recv(&mut self) -> Inbound {
        self.transport.recv().await
    }

    fn send(&mut self, to: Addr, label: &'static str, body: &RawValue) {
        self.transport.send(to, label, body);
    }

    fn record(&mut self, op: OpRecord) {
        self.transport.world().borrow_mut().record_op(sim_now(), op);
    }

    fn should_stop(&self) -> bool {
        self.transport.world().borrow().clients_stop
    }
}
