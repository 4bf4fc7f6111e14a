//! madsim as a [`SimRuntime`]: its clock, its timers and its tasks, and the run's wire for
//! datagrams. Called only from tasks running inside the madsim runtime.

use super::wire::WireSocket;
use crate::backend::sim::SimRuntime;
use crate::ids::Addr;
use crate::time::SimTime;
use madsim::time::{Sleep, TimeHandle};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// True simulated time in ns since the run began.
pub fn now_ns() -> u64 {
    u64::try_from(TimeHandle::current().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// madsim, seen from inside a host.
pub struct MadsimRuntime;

impl SimRuntime for MadsimRuntime {
    type Socket = WireSocket;

    fn now() -> SimTime {
        SimTime { ns: now_ns() }
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + 'static {
        SimSleep::new(d)
    }

    fn spawn<F>(f: F) -> impl Future<Output = ()> + 'static
    where
        F: Future<Output = ()> + 'static,
    {
        let task = madsim::task::spawn_local(f);
        async move {
            // Cancelled means its node was killed: nothing to report.
            let _ = task.await;
        }
    }

    async fn bind(me: Addr, _nodes: u32, _clients: u32) -> io::Result<WireSocket> {
        WireSocket::bind(me)
    }
}

/// A sleep that registers one madsim timer however often it is polled.
///
/// madsim's own `Sleep` adds a timer on every poll that finds it pending, and a sleep raced in
/// a `select!` against a busy socket is polled once per message: each stale timer later wakes
/// its task for nothing. A zero-length sleep is ready at once (madsim's would take its 1 ms
/// floor); shorter positive ones take that floor.
pub struct SimSleep {
    inner: Option<Sleep>,
    registered: bool,
}

impl SimSleep {
    /// Sleeps `d` of true time (at least 1 ms, madsim's timer floor, unless `d` is zero).
    pub fn new(d: Duration) -> Self {
        SimSleep {
            inner: (!d.is_zero()).then(|| TimeHandle::current().sleep(d)),
            registered: false,
        }
    }
}

impl Future for SimSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(());
        };
        if inner.is_elapsed() {
            return Poll::Ready(());
        }
        if this.registered {
            // The timer registered on the first poll will wake this task (the same task: our
            // sleeps never move between tasks).
            return Poll::Pending;
        }
        this.registered = true;
        Pin::new(inner).poll(cx)
    }
}
