//! The client environment under simulation: true time, the transport, and the shared history.

use super::runtime::SimRuntime;
use super::transport::Transport;
use crate::client::ClientEnv;
use crate::history::OpRecord;
use crate::ids::{Addr, ClientId};
use crate::node::env::Inbound;
use crate::time::{LocalInstant, LocalNow, SimTime};
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

    fn local_now(&self) -> LocalNow {
        let w = self.transport.world().borrow();
        w.node(w.client_home(self.me)).clock.read(R::now())
    }

    fn local_sleep_until(&self, deadline: LocalInstant) -> impl Future<Output = ()> + 'static {
        let wait = {
            let w = self.transport.world().borrow();
            w.node(w.client_home(self.me))
                .clock
                .true_until(R::now(), deadline)
        };
        // In pieces, so a drift change while waiting is followed (the caller re-checks).
        R::sleep(wait.min(Duration::from_millis(50)))
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
