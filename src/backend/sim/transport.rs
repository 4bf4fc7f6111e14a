//! The simulated transport: every send goes through the network fault layer before it reaches
//! the simulator's wire, every arrival is judged again (in-flight partitions, delays), and a
//! bounded inbox buffers what a busy or paused node has not taken yet.

use super::runtime::{SimRuntime, SimSocket};
use crate::event::{DropCause, Event};
use crate::ids::{Addr, Incarnation};
use crate::net::envelope::{decode_envelope, encode_envelope, open_frame, seal_frame};
use crate::net::layer::Outbound;
use crate::node::env::Inbound;
use crate::world::WorldState;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use tokio::sync::mpsc;

/// One address's end of the simulated network.
pub struct Transport<R: SimRuntime> {
    world: Rc<RefCell<WorldState>>,
    me: Addr,
    socket: Rc<R::Socket>,
    inbox: mpsc::Receiver<Inbound>,
    /// This node's incarnation, stamped on its sends and deliveries; `None` for clients.
    incarnation: Option<Incarnation>,
    _runtime: PhantomData<R>,
}

impl<R: SimRuntime> Transport<R> {
    /// Starts `me`'s receive pump on the current host.
    pub fn start(
        world: Rc<RefCell<WorldState>>,
        me: Addr,
        incarnation: Option<Incarnation>,
        socket: R::Socket,
        inbox_capacity: usize,
    ) -> Self {
        let socket = Rc::new(socket);
        let (tx, inbox) = mpsc::channel(inbox_capacity);
        let pump = pump::<R>(world.clone(), socket.clone(), me, tx);
        // The pump lives as long as the host; nobody waits for it.
        drop(R::spawn(pump));
        Transport {
            world,
            me,
            socket,
            inbox,
            incarnation,
            _runtime: PhantomData,
        }
    }

    /// The node's software started again (same socket): stamp the new incarnation.
    pub fn set_incarnation(&mut self, incarnation: Incarnation) {
        debug_assert!(self.incarnation.is_some(), "clients do not restart");
        self.incarnation = Some(incarnation);
    }

    /// The world this transport belongs to.
    pub fn world(&self) -> &Rc<RefCell<WorldState>> {
        &self.world
    }

    /// Sends one message through the fault layer.
    pub fn send(&self, to: Addr, label: &'static str, body: &RawValue) {
        let now = R::now();
        let (frame, sent) = {
            let mut w = self.world.borrow_mut();
            let msg_id = w.net.next_msg_id();
            let envelope = encode_envelope(msg_id, self.me, to, body);
            let m = Outbound {
                from: self.me,
                incarnation: self.incarnation,
                to,
                label,
                body,
                bytes: u32::try_from(envelope.len()).unwrap_or(u32::MAX),
                destination_up: true,
            };
            let sent = w.send(now, msg_id, m);
            (seal_frame(envelope), sent)
        };
        let mut frame = frame;
        if let Some(bit) = sent.corrupt {
            let bits = frame.len() as u64 * 8;
            let at = usize::try_from(bit % bits).unwrap_or(0);
            frame[at / 8] ^= 1 << (at % 8);
        }
        for _ in 0..sent.copies {
            if let Err(e) = self.socket.send_to(&frame, to) {
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
        self.world.borrow_mut().log(R::now(), ev);
        inbound
    }
}

/// Reads the socket continuously (also while the node is paused, as a kernel would) and feeds
/// the bounded inbox.
async fn pump<R: SimRuntime>(
    world: Rc<RefCell<WorldState>>,
    socket: Rc<R::Socket>,
    me: Addr,
    tx: mpsc::Sender<Inbound>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let len = match socket.recv(&mut buf).await {
            Ok(len) => len,
            Err(e) => {
                tracing::error!(%me, error = %e, "socket receive failed; pump stops");
                return;
            }
        };
        let now = R::now();
        let garbage = |error: String| Event::Garbage {
            to: me,
            bytes: u32::try_from(len).unwrap_or(u32::MAX),
            error,
        };
        let env = match open_frame(&buf[..len]).and_then(decode_envelope) {
            Ok(env) if env.to == me => env,
            Ok(env) => {
                let error = format!("addressed to {}, not {me}", env.to);
                world.borrow_mut().log(now, garbage(error));
                continue;
            }
            Err(e) => {
                world.borrow_mut().log(now, garbage(e.to_string()));
                continue;
            }
        };
        let judged = {
            let w = &mut *world.borrow_mut();
            w.net.on_arrival(&mut w.log, now, env.from, me, env.msg_id)
        };
        let Some(delay) = judged else { continue };
        let inbound = Inbound {
            from: env.from,
            msg_id: env.msg_id,
            body: env.body,
        };
        match delay {
            None => push::<R>(&world, &tx, me, inbound),
            Some(d) => {
                let (world, tx) = (world.clone(), tx.clone());
                drop(R::spawn(async move {
                    R::sleep(d).await;
                    push::<R>(&world, &tx, me, inbound);
                }));
            }
        }
    }
}

fn push<R: SimRuntime>(
    world: &RefCell<WorldState>,
    tx: &mpsc::Sender<Inbound>,
    me: Addr,
    inbound: Inbound,
) {
    let (from, msg_id) = (inbound.from, inbound.msg_id);
    if tx.try_send(inbound).is_err() {
        world.borrow_mut().log(
            R::now(),
            Event::Drop {
                from,
                to: me,
                msg_id,
                cause: DropCause::InboxFull,
            },
        );
    }
}
