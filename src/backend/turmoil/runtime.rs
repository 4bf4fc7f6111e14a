//! turmoil as a [`SimRuntime`]: its clock, tokio's sleep and local tasks inside a host, and
//! its UDP sockets with addresses resolved through its DNS.

use crate::backend::sim::{SimRuntime, SimSocket};
use crate::ids::{Addr, ClientId, NodeId};
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use turmoil::net::UdpSocket;

/// Every node listens on this port of its own host.
pub const NODE_PORT: u16 = 7000;
/// Client `c` listens on this plus `c` on the clients' host.
pub const CLIENT_PORT_BASE: u16 = 10_000;
/// The host all clients share.
pub const CLIENTS_HOST: &str = "clients";

/// The turmoil host name of a node.
pub fn node_host(n: NodeId) -> String {
    format!("n{}", n.0)
}

/// turmoil, seen from inside a host.
pub struct TurmoilRuntime;

impl SimRuntime for TurmoilRuntime {
    type Socket = TurmoilSocket;

    fn now() -> SimTime {
        SimTime::from_duration(turmoil::sim_elapsed().unwrap_or_default())
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }

    fn spawn<F>(f: F) -> impl Future<Output = ()> + 'static
    where
        F: Future<Output = ()> + 'static,
    {
        let task = tokio::task::spawn_local(f);
        async move {
            // A task that panicked has already been reported by the runtime.
            let _ = task.await;
        }
    }

    async fn bind(me: Addr, nodes: u32, clients: u32) -> io::Result<TurmoilSocket> {
        let book = AddrBook::resolve(nodes, clients);
        let local = book.get(me).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {me}"))
        })?;
        let sock = UdpSocket::bind(SocketAddr::new([0, 0, 0, 0].into(), local.port())).await?;
        Ok(TurmoilSocket { sock, book })
    }
}

/// Socket addresses of everything in the run, resolved through turmoil's DNS.
#[derive(Debug, Clone, Default)]
struct AddrBook {
    addrs: BTreeMap<Addr, SocketAddr>,
}

impl AddrBook {
    /// Must run inside the simulation (it uses turmoil's name lookup).
    fn resolve(nodes: u32, clients: u32) -> Self {
        let mut addrs = BTreeMap::new();
        for n in 0..nodes {
            let ip = turmoil::lookup(node_host(NodeId(n)));
            addrs.insert(Addr::Node(NodeId(n)), SocketAddr::new(ip, NODE_PORT));
        }
        if clients > 0 {
            let clients_ip = turmoil::lookup(CLIENTS_HOST);
            for c in 0..clients {
                let port = CLIENT_PORT_BASE.saturating_add(u16::try_from(c).unwrap_or(u16::MAX));
                addrs.insert(Addr::Client(ClientId(c)), SocketAddr::new(clients_ip, port));
            }
        }
        AddrBook { addrs }
    }

    fn get(&self, a: Addr) -> Option<SocketAddr> {
        self.addrs.get(&a).copied()
    }
}

/// A turmoil UDP socket addressed by [`Addr`].
pub struct TurmoilSocket {
    sock: UdpSocket,
    book: AddrBook,
}

impl SimSocket for TurmoilSocket {
    fn send_to(&self, bytes: &[u8], to: Addr) -> io::Result<()> {
        let dst = self.book.get(to).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {to}"))
        })?;
        self.sock.try_send_to(bytes, dst).map(|_| ())
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.recv_from(buf).await.map(|(len, _)| len)
    }
}
