//! Real UDP: the same envelope as under simulation, behind the real network's front door.
//!
//! Node addresses are configured; a client's address is bound by its first datagram and never
//! re-bound while it stays in the bounded table ([`CLIENTS_MAX`], least recently heard
//! forgotten first). A datagram whose claimed sender does not match where it came from is
//! dropped; with a cluster key, so is one without a valid MAC or replayed (see [`super::auth`]).
//! Every drop is counted, and the counts are reported at `warn` at most once per
//! [`WARN_EVERY`] — a flood of garbage costs a few lines of log, not one per datagram.

use super::auth::{AuthError, ClusterKey, ReplayGuard};
use crate::ids::Addr;
use crate::net::envelope::{decode_envelope, encode_envelope, open_frame, seal_frame};
use crate::node::env::Inbound;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Datagrams a node's inbox holds; beyond it they are dropped (and counted).
pub const INBOX_CAPACITY: usize = 4096;
/// Clients whose reply address a node remembers at once.
pub const CLIENTS_MAX: usize = 4096;
/// At most one warning line about dropped datagrams per this long.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// How a transport authenticates.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// The cluster key, when the cluster has one.
    pub key: Option<ClusterKey>,
    /// This sender's epoch: it must grow across the sender's restarts (a node's incarnation,
    /// a load run's start time).
    pub epoch: u64,
}

/// Why datagrams were dropped, counted since the transport started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Not an envelope (or, with a key, not sealed).
    pub garbage: u64,
    /// Sealed with another key, or changed in flight.
    pub bad_mac: u64,
    /// A replayed datagram, or one from a sender's earlier epoch.
    pub replayed: u64,
    /// For someone else.
    pub misaddressed: u64,
    /// The claimed sender is elsewhere: a node's configured address, or a client's bound one.
    pub wrong_source: u64,
    /// The inbox was full.
    pub inbox_full: u64,
}

impl Drops {
    fn total(&self) -> u64 {
        self.garbage
            + self.bad_mac
            + self.replayed
            + self.misaddressed
            + self.wrong_source
            + self.inbox_full
    }
}

/// Who is where: configured nodes, bound clients.
#[derive(Debug)]
struct Peers {
    nodes: BTreeMap<Addr, SocketAddr>,
    /// Client → (its address, when last heard).
    clients: BTreeMap<Addr, (SocketAddr, u64)>,
    clock: u64,
}

impl Peers {
    fn address_of(&self, to: Addr) -> Option<SocketAddr> {
        match to {
            Addr::Node(_) => self.nodes.get(&to).copied(),
            Addr::Client(_) => self.clients.get(&to).map(|(a, _)| *a),
        }
    }

    /// True when `src` may speak for `from` (binding an unknown client to it).
    fn admit(&mut self, from: Addr, src: SocketAddr) -> bool {
        self.clock += 1;
        match from {
            Addr::Node(_) => self.nodes.get(&from) == Some(&src),
            Addr::Client(_) => {
                if let Some((bound, last)) = self.clients.get_mut(&from) {
                    *last = self.clock;
                    return *bound == src;
                }
                if self.clients.len() >= CLIENTS_MAX {
                    let oldest = self.clients.iter().min_by_key(|(_, (_, t))| *t);
                    if let Some(a) = oldest.map(|(a, _)| *a) {
                        self.clients.remove(&a);
                    }
                }
                self.clients.insert(from, (src, self.clock));
                true
            }
        }
    }
}

/// A node's or a client's socket.
pub struct RealTransport {
    me: Addr,
    sock: Rc<UdpSocket>,
    peers: Rc<RefCell<Peers>>,
    security: Security,
    inbox: mpsc::Receiver<Inbound>,
    next_msg_id: u64,
}

impl RealTransport {
    /// Starts the receive pump on the current `LocalSet`. `nodes` is every node's configured
    /// address.
    pub fn start(
        me: Addr,
        sock: UdpSocket,
        nodes: BTreeMap<Addr, SocketAddr>,
        security: Security,
    ) -> Self {
        let sock = Rc::new(sock);
        let peers = Rc::new(RefCell::new(Peers {
            nodes,
            clients: BTreeMap::new(),
            clock: 0,
        }));
        let (tx, inbox) = mpsc::channel(INBOX_CAPACITY);
        let pump = Pump {
            me,
            sock: sock.clone(),
            peers: peers.clone(),
            key: security.key.clone(),
            replays: ReplayGuard::new(CLIENTS_MAX + peers.borrow().nodes.len()),
            drops: Drops::default(),
            tx,
        };
        tokio::task::spawn_local(pump.run());
        RealTransport {
            me,
            sock,
            peers,
            security,
            inbox,
            next_msg_id: 0,
        }
    }

    /// Sends `body` to `to` (dropped, as UDP may, when `to`'s address is unknown or the socket
    /// buffer is full).
    pub fn send(&mut self, to: Addr, body: &RawValue) {
        self.next_msg_id += 1;
        let Some(dst) = self.peers.borrow().address_of(to) else {
            tracing::debug!(%to, "no address known; message dropped");
            return;
        };
        let envelope = encode_envelope(self.next_msg_id, self.me, to, body);
        // With a key, the MAC also catches what a checksum would.
        let bytes = match &self.security.key {
            Some(key) => key.seal(self.security.epoch, &envelope),
            None => seal_frame(envelope),
        };
        if let Err(e) = self.sock.try_send_to(&bytes, dst) {
            tracing::debug!(%to, error = %e, "send failed");
        }
    }

    /// The next datagram that passed the front door.
    pub async fn recv(&mut self) -> Inbound {
        match self.inbox.recv().await {
            Some(m) => m,
            None => std::future::pending().await,
        }
    }
}

struct Pump {
    me: Addr,
    sock: Rc<UdpSocket>,
    peers: Rc<RefCell<Peers>>,
    key: Option<ClusterKey>,
    replays: ReplayGuard,
    drops: Drops,
    tx: mpsc::Sender<Inbound>,
}

impl Pump {
    // Real mode: the rate limit of a log line runs on the machine's clock.
    #[allow(clippy::disallowed_methods)]
    async fn run(mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut reported = Drops::default();
        let mut next_warning = tokio::time::Instant::now();
        loop {
            let (len, src) = match self.sock.recv_from(&mut buf).await {
                Ok(r) => r,
                Err(e) => {
                    // e.g. ICMP port unreachable reported on the socket; keep listening.
                    tracing::debug!(me = %self.me, error = %e, "receive error");
                    continue;
                }
            };
            if let Some(inbound) = self.admit(&buf[..len], src)
                && self.tx.try_send(inbound).is_err()
            {
                self.drops.inbox_full += 1;
            }
            let drops = self.drops;
            if drops.total() > reported.total() && tokio::time::Instant::now() >= next_warning {
                tracing::warn!(
                    me = %self.me,
                    garbage = drops.garbage - reported.garbage,
                    bad_mac = drops.bad_mac - reported.bad_mac,
                    replayed = drops.replayed - reported.replayed,
                    misaddressed = drops.misaddressed - reported.misaddressed,
                    wrong_source = drops.wrong_source - reported.wrong_source,
                    inbox_full = drops.inbox_full - reported.inbox_full,
                    last_from = %src,
                    "datagrams dropped since the last report"
                );
                reported = drops;
                next_warning = tokio::time::Instant::now() + WARN_EVERY;
            }
        }
    }

    /// The datagram, if it passes: sealed with the key (if any), addressed to us, from where
    /// its sender is, and not a replay.
    fn admit(&mut self, datagram: &[u8], src: SocketAddr) -> Option<Inbound> {
        let drops = &mut self.drops;
        let (epoch, envelope) = match &self.key {
            Some(key) => match key.open(datagram) {
                Ok(opened) => opened,
                Err(AuthError::Unsealed) => {
                    drops.garbage += 1;
                    return None;
                }
                Err(AuthError::BadMac) => {
                    drops.bad_mac += 1;
                    return None;
                }
            },
            None => match open_frame(datagram) {
                Ok(envelope) => (0, envelope),
                Err(_) => {
                    drops.garbage += 1;
                    return None;
                }
            },
        };
        let env = match decode_envelope(envelope) {
            Ok(env) => env,
            Err(e) => {
                drops.garbage += 1;
                tracing::debug!(me = %self.me, %src, error = %e, "garbage datagram dropped");
                return None;
            }
        };
        if env.to != self.me {
            drops.misaddressed += 1;
            return None;
        }
        if !self.peers.borrow_mut().admit(env.from, src) {
            drops.wrong_source += 1;
            return None;
        }
        if self.key.is_some()
            && let Err(r) = self.replays.accept(env.from, epoch, env.msg_id)
        {
            drops.replayed += 1;
            tracing::debug!(me = %self.me, from = %env.from, ?r, "replayed datagram dropped");
            return None;
        }
        Some(Inbound {
            from: env.from,
            msg_id: env.msg_id,
            body: env.body,
        })
    }
}
