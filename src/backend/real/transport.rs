//! Real UDP: the same envelope as under simulation. Node addresses are configured; client
//! addresses are learned from the requests they send.

use crate::ids::Addr;
use crate::net::envelope::{decode_envelope, encode_envelope};
use crate::node::env::Inbound;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub const INBOX_CAPACITY: usize = 4096;

pub struct RealTransport {
    me: Addr,
    sock: Rc<UdpSocket>,
    book: Rc<RefCell<BTreeMap<Addr, SocketAddr>>>,
    inbox: mpsc::Receiver<Inbound>,
    next_msg_id: u64,
}

impl RealTransport {
    /// Starts the receive pump on the current `LocalSet`.
    pub fn start(me: Addr, sock: UdpSocket, book: BTreeMap<Addr, SocketAddr>) -> Self {
        let sock = Rc::new(sock);
        let book = Rc::new(RefCell::new(book));
        let (tx, inbox) = mpsc::channel(INBOX_CAPACITY);
        tokio::task::spawn_local(pump(me, sock.clone(), book.clone(), tx));
        RealTransport {
            me,
            sock,
            book,
            inbox,
            next_msg_id: 0,
        }
    }

    pub fn send(&mut self, to: Addr, body: &RawValue) {
        self.next_msg_id += 1;
        let Some(dst) = self.book.borrow().get(&to).copied() else {
            tracing::warn!(%to, "no address known; message dropped");
            return;
        };
        let bytes = encode_envelope(self.next_msg_id, self.me, to, body);
        if let Err(e) = self.sock.try_send_to(&bytes, dst) {
            // UDP: a full socket buffer loses the datagram, as the network could.
            tracing::debug!(%to, error = %e, "send failed");
        }
    }

    pub async fn recv(&mut self) -> Inbound {
        match self.inbox.recv().await {
            Some(m) => m,
            None => std::future::pending().await,
        }
    }
}

async fn pump(
    me: Addr,
    sock: Rc<UdpSocket>,
    book: Rc<RefCell<BTreeMap<Addr, SocketAddr>>>,
    tx: mpsc::Sender<Inbound>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (len, src) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // e.g. ICMP port unreachable reported on the socket; keep listening.
                tracing::debug!(%me, error = %e, "receive error");
                continue;
            }
        };
        let env = match decode_envelope(&buf[..len]) {
            Ok(env) if env.to == me => env,
            Ok(env) => {
                tracing::warn!(%me, %src, to = %env.to, "misaddressed datagram dropped");
                continue;
            }
            Err(e) => {
                tracing::warn!(%me, %src, error = %e, "garbage datagram dropped");
                continue;
            }
        };
        if let Addr::Client(_) = env.from {
            book.borrow_mut().insert(env.from, src);
        }
        if tx
            .try_send(Inbound {
                from: env.from,
                msg_id: env.msg_id,
                body: env.body,
            })
            .is_err()
        {
            tracing::debug!(%me, "inbox full; datagram dropped");
        }
    }
}
