//! The little a simulated backend must provide: true time, sleeping, local tasks and datagram
//! sockets addressed by [`Addr`].

use crate::ids::Addr;
use crate::time::SimTime;
use std::future::Future;
use std::io;
use std::time::Duration;

/// A simulator's runtime, as seen from inside a simulated host.
pub trait SimRuntime: 'static {
    /// A datagram socket of this simulator.
    type Socket: SimSocket;
    /// True simulated time.
    fn now() -> SimTime;
    /// Sleeps for `d` of true time.
    fn sleep(d: Duration) -> impl Future<Output = ()> + 'static;
    /// Spawns a task on the current host; the returned future completes when it has.
    fn spawn<F>(f: F) -> impl Future<Output = ()> + 'static
    where
        F: Future<Output = ()> + 'static;
    /// Binds `me`'s socket in a run of `nodes` nodes and `clients` clients.
    fn bind(me: Addr, nodes: u32, clients: u32) -> impl Future<Output = io::Result<Self::Socket>>;
}

/// A datagram socket that addresses peers by [`Addr`].
#[allow(async_fn_in_trait)] // single-threaded runtimes: the futures need not be Send
pub trait SimSocket: 'static {
    /// Puts one datagram on the wire (a full buffer loses it, as a network could).
    fn send_to(&self, bytes: &[u8], to: Addr) -> io::Result<()>;
    /// Receives one datagram into `buf`; returns its length.
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
}
