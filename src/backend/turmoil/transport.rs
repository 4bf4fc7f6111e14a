//! Message transport over turmoil UDP, with our fault layer in front: every send is logged and
//! judged (partition, loss, duplication, delay) before it reaches the simulated wire, and every
//! arrival is checked again (a link cut while the message was in flight drops it).

use crate::event::{DropCause, Event};
use crate::ids::{Addr, ClientId, Incarnation, NodeId};
use crate::net::envelope::{decode_envelope, encode_envelope};
use crate::node::env::Inbound;
use crate::rng::Fnv64;
use crate::time::SimTime;
use crate::world::WorldState;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::sync::mpsc;
use turmoil::net::UdpSocket;

pub const NODE_PORT: u16 = 7000;
pub const CLIENT_PORT_BASE: u16 = 10_000;
pub const CLIENTS_HOST: &str = "clients";

pub fn node_host(n: NodeId) -> String {
    format!("n{}", n.0)
}

/// True simulated time, read inside a host.
pub fn sim_now() -> SimTime {
    SimTime::from_duration(turmoil::sim_elapsed().unwrap_or_default())
}

/// Socket addresses of everything in the run, resolved through turmoil's DNS.
#[derive(Debug, Clone, Default)]
pub struct AddrBook {
    addrs: BTreeMap<Addr, SocketAddr>,
}

impl AddrBook {
    /// Must run inside the simulation (it uses turmoil's name lookup).
    pub fn resolve(nodes: u32, clients: u32) -> Self {
        let mut addrs = BTreeMap::new();
        for n in 0..nodes {
            let ip = turmoil::lookup(node_host(NodeId(n)));
            addrs.insert(Addr::Node(NodeId(n)), SocketAddr::new(ip, NODE_PORT));
        }
        let clients_ip = turmoil::lookup(CLIENTS_HOST);
        for c in 0..clients {
            let port = CLIENT_PORT_BASE + c as u16;
            addrs.insert(Addr::Client(ClientId(c)), SocketAddr::new(clients_ip, port));
        }
        AddrBook { addrs }
    }

    pub fn get(&self, a: Addr) -> Option<SocketAddr> {
        self.addrs.get(&a).copied()
    }
}

pub struct Transport {
    world: Rc<RefCell<WorldState>>,
    me: Addr,
    sock: Rc<UdpSocket>,
    book: Rc<AddrBook>,
    inbox: mpsc::Receiver<Inbound>,
    /// This node's incarnation, stamped on its sends and deliveries; `None` for clients.
    incarnation: Option<Incarnation>,
}

impl Transport {
    /// Binds `me`'s socket and starts its receive pump on the current host.
    pub async fn bind(
        world: Rc<RefCell<WorldState>>,
        me: Addr,
        incarnation: Option<Incarnation>,
        book: Rc<AddrBook>,
        inbox_capacity: usize,
    ) -> io::Result<Self> {
        let local = book.get(me).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {me}"))
        })?;
        let sock =
            Rc::new(UdpSocket::bind(SocketAddr::new([0, 0, 0, 0].into(), local.port())).await?);
        let (tx, inbox) = mpsc::channel(inbox_capacity);
        tokio::task::spawn_local(pump(world.clone(), sock.clone(), me, tx));
        Ok(Transport {
            world,
            me,
            sock,
            book,
            inbox,
            incarnation,
        })
    }

    pub fn world(&self) -> &Rc<RefCell<WorldState>> {
        &self.world
    }

    pub fn send(&self, to: Addr, label: &'static str, body: &RawValue) {
        let now = sim_now();
        let from = self.me;
        let mut w = self.world.borrow_mut();
        let msg_id = w.next_msg_id();
        let bytes = encode_envelope(msg_id, from, to, body);
        let mut fnv = Fnv64::new();
        fnv.write(body.get().as_bytes());
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        w.log(
            now,
            Event::Send {
                from,
                incarnation: self.incarnation,
                to,
                msg_id,
                label: label.to_string(),
                bytes: len,
                payload_fnv: fnv.finish(),
            },
        );
        let WorldState { net, net_rng, .. } = &mut *w;
        let decision = net.decide(from, to, net_rng);
        let dropped = decision
            .drop
            .or_else(|| (!w.is_up(to)).then_some(DropCause::NodeDown));
        if let Some(cause) = dropped {
            w.log(
                now,
                Event::Drop {
                    from,
                    to,
                    msg_id,
                    cause,
                },
            );
            return;
        }
        if let Some(extra) = decision.extra_delay {
            let extra_ns = crate::time::duration_ns(extra);
            w.log(
                now,
                Event::Delay {
                    from,
                    to,
                    msg_id,
                    extra_ns,
                },
            );
            w.delays.insert(msg_id, extra);
        }
        if decision.duplicate {
            w.log(now, Event::Duplicate { from, to, msg_id });
        }
        drop(w);
        let Some(dst) = self.book.get(to) else {
            tracing::warn!(%to, "no address; message dropped");
            return;
        };
        let copies = if decision.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            if let Err(e) = self.sock.try_send_to(&bytes, dst) {
                tracing::warn!(%to, error = %e, "send failed");
            }
        }
    }

    /// The next message for this address; logs its delivery.
    pub async fn recv(&mut self) -> Inbound {
        let Some(inbound) = self.inbox.recv().await else {
            // The pump only stops when its socket fails; a node without a socket hears nothing.
            return std::future::pending().await;
        };
        let ev = Event::Deliver {
            from: inbound.from,
            to: self.me,
            incarnation: self.incarnation,
            msg_id: inbound.msg_id,
        };
        self.world.borrow_mut().log(sim_now(), ev);
        inbound
    }
}

/// Reads the socket continuously (also while the node is paused, as a kernel would) and feeds
/// the bounded inbox.
async fn pump(
    world: Rc<RefCell<WorldState>>,
    sock: Rc<UdpSocket>,
    me: Addr,
    tx: mpsc::Sender<Inbound>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let len = match sock.recv_from(&mut buf).await {
            Ok((len, _src)) => len,
            Err(e) => {
                tracing::error!(%me, error = %e, "socket receive failed; pump stops");
                return;
            }
        };
        let now = sim_now();
        let env = match decode_envelope(&buf[..len]) {
            Ok(env) if env.to == me => env,
            Ok(env) => {
                let error = format!("addressed to {}, not {me}", env.to);
                world.borrow_mut().log(
                    now,
                    Event::Garbage {
                        to: me,
                        bytes: len as u32,
                        error,
                    },
                );
                continue;
            }
            Err(e) => {
                world.borrow_mut().log(
                    now,
                    Event::Garbage {
                        to: me,
                        bytes: len as u32,
                        error: e.to_string(),
                    },
                );
                continue;
            }
        };
        let delay = {
            let mut w = world.borrow_mut();
            if w.net.is_cut(env.from, me) {
                w.log(
                    now,
                    Event::Drop {
                        from: env.from,
                        to: me,
                        msg_id: env.msg_id,
                        cause: DropCause::PartitionInFlight,
                    },
                );
                continue;
            }
            w.delays.remove(&env.msg_id)
        };
        let inbound = Inbound {
            from: env.from,
            msg_id: env.msg_id,
            body: env.body,
        };
        match delay {
            None => push(&world, &tx, me, inbound),
            Some(d) => {
                let (world, tx) = (world.clone(), tx.clone());
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(d).await;
                    push(&world, &tx, me, inbound);
                });
            }
        }
    }
}

fn push(world: &RefCell<WorldState>, tx: &mpsc::Sender<Inbound>, me: Addr, inbound: Inbound) {
    let (from, msg_id) = (inbound.from, inbound.msg_id);
    if tx.try_send(inbound).is_err() {
        world.borrow_mut().log(
            sim_now(),
            Event::Drop {
                from,
                to: me,
                msg_id,
                cause: DropCause::InboxFull,
            },
        );
    }
}
