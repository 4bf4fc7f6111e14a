//! The datagram wire of the madsim backend: each bound address has an inbox ordered by arrival
//! time; a send draws the one-way latency and queues the bytes; a receive sleeps (on madsim's
//! timers) until the earliest arrival. Nothing else — partitions, loss, duplication, delay and
//! down nodes are the shared fault layer's business (`net::layer`), before and after the wire.
//!
//! Why not madsim's own UDP endpoint: its send is `async` (our transport's send is not) and it
//! sleeps a random 0–5 µs on every send and every receive, which madsim's 1 ms sleep floor turns
//! into 2 ms of extra latency and two extra timers per message.

use super::runtime::{SimSleep, now_ns};
use crate::backend::sim::SimSocket;
use crate::ids::Addr;
use crate::rng::DetRng;
use rand::Rng;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// The rate of the exponential latency multiplier (turmoil's default curve).
const LATENCY_EXP_RATE: f64 = 5.0;

/// A datagram on its way.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    /// True time it arrives.
    at_ns: u64,
    /// Send order: breaks ties between equal arrival times.
    seq: u64,
    bytes: Vec<u8>,
}

/// The datagrams in flight to one bound address, earliest first.
#[derive(Debug, Default)]
pub struct Inbox {
    queue: RefCell<BinaryHeap<Reverse<InFlight>>>,
    /// The receiver waiting for the earliest arrival, woken when an earlier one is queued.
    waker: RefCell<Option<Waker>>,
}

/// Every bound address of a run and the latency draws.
#[derive(Debug)]
pub struct Wire {
    nodes: u32,
    /// Indexed by [`Wire::slot`]: nodes first, then clients.
    inboxes: Vec<Option<Rc<Inbox>>>,
    rng: DetRng,
    latency_ns_min: u64,
    latency_ns_max: u64,
    seq: u64,
}

impl Wire {
    /// A wire for `nodes` nodes and `clients` clients whose latencies are drawn uniformly from
    /// `latency` by `rng`.
    pub fn new(nodes: u32, clients: u32, latency: (Duration, Duration), rng: DetRng) -> Self {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let (lo, hi) = (ns(latency.0), ns(latency.1));
        Wire {
            nodes,
            inboxes: vec![None; (nodes + clients) as usize],
            rng,
            latency_ns_min: lo.min(hi),
            latency_ns_max: lo.max(hi),
            seq: 0,
        }
    }

    fn slot(&self, a: Addr) -> Option<usize> {
        let i = match a {
            Addr::Node(n) => n.0 as usize,
            Addr::Client(c) => self.nodes as usize + c.0 as usize,
        };
        (i < self.inboxes.len()).then_some(i)
    }

    /// Binds `me`: a fresh inbox (a restarted node does not hear what was sent to its old
    /// socket).
    pub fn bind(&mut self, me: Addr) -> io::Result<Rc<Inbox>> {
        let slot = self.slot(me).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {me}"))
        })?;
        let inbox = Rc::new(Inbox::default());
        self.inboxes[slot] = Some(inbox.clone());
        Ok(inbox)
    }

    /// Unbinds `me` if `inbox` is still its socket (a restarted node may have bound anew).
    fn unbind(&mut self, me: Addr, inbox: &Rc<Inbox>) {
        let Some(slot) = self.slot(me) else { return };
        if self.inboxes[slot]
            .as_ref()
            .is_some_and(|i| Rc::ptr_eq(i, inbox))
        {
            self.inboxes[slot] = None;
        }
    }

    /// One one-way latency, distributed like turmoil's (so a scenario loads both backends
    /// alike): the minimum plus the range times an Exp(5) draw (mean a fifth of the range),
    /// capped at the maximum. In ns, not whole ms: there is no tick to round to.
    fn latency_ns(&mut self) -> u64 {
        let range = self.latency_ns_max - self.latency_ns_min;
        // 1 - u is in (0, 1]: its logarithm is finite.
        let u: f64 = self.rng.random();
        let mult = -(1.0 - u).ln() / LATENCY_EXP_RATE;
        let extra = (range as f64 * mult).min(range as f64);
        // In [0, range] by the min above, so the cast cannot truncate.
        self.latency_ns_min + extra as u64
    }

    /// Queues `bytes` for `to`, arriving after a drawn latency. Sent to an address nobody has
    /// bound (a crashed node), the datagram is lost, as UDP's would be.
    pub fn send(&mut self, now_ns: u64, to: Addr, bytes: &[u8]) -> io::Result<()> {
        let slot = self.slot(to).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no address for {to}"))
        })?;
        let latency = self.latency_ns();
        self.seq += 1;
        let Some(inbox) = &self.inboxes[slot] else {
            return Ok(());
        };
        let msg = InFlight {
            at_ns: now_ns.saturating_add(latency),
            seq: self.seq,
            bytes: bytes.to_vec(),
        };
        let mut queue = inbox.queue.borrow_mut();
        let earliest = queue.peek().is_none_or(|Reverse(top)| msg < *top);
        queue.push(Reverse(msg));
        if earliest {
            // The receiver sleeps until a later arrival: let it sleep until this one instead.
            if let Some(w) = inbox.waker.borrow_mut().take() {
                w.wake();
            }
        }
        Ok(())
    }
}

/// A bound address's end of the wire.
pub struct WireSocket {
    me: Addr,
    inbox: Rc<Inbox>,
}

impl WireSocket {
    /// Binds `me` on this thread's run.
    pub fn bind(me: Addr) -> io::Result<Self> {
        let inbox = super::run_ctx::with(|ctx| ctx.wire.borrow_mut().bind(me))?;
        Ok(WireSocket { me, inbox })
    }
}

impl Drop for WireSocket {
    fn drop(&mut self) {
        // A killed node's tasks are dropped after its run may have ended; `try` then.
        let (me, inbox) = (self.me, &self.inbox);
        super::run_ctx::try_with(|ctx| ctx.wire.borrow_mut().unbind(me, inbox));
    }
}

impl SimSocket for WireSocket {
    fn send_to(&self, bytes: &[u8], to: Addr) -> io::Result<()> {
        let now = now_ns();
        super::run_ctx::with(|ctx| ctx.wire.borrow_mut().send(now, to, bytes))
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // The sleep towards the earliest arrival, kept across polls so madsim registers one
        // timer per arrival time rather than one per poll.
        let mut sleep: Option<(u64, SimSleep)> = None;
        poll_fn(|cx| {
            let now = now_ns();
            let mut queue = self.inbox.queue.borrow_mut();
            let Some(Reverse(top)) = queue.peek() else {
                *self.inbox.waker.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            };
            if top.at_ns <= now {
                let Some(Reverse(msg)) = queue.pop() else {
                    unreachable!("peeked")
                };
                let len = msg.bytes.len().min(buf.len());
                buf[..len].copy_from_slice(&msg.bytes[..len]);
                return Poll::Ready(Ok(len));
            }
            let at = top.at_ns;
            if sleep.as_ref().is_none_or(|(t, _)| *t != at) {
                sleep = Some((at, SimSleep::new(Duration::from_nanos(at - now))));
            }
            *self.inbox.waker.borrow_mut() = Some(cx.waker().clone());
            let due = sleep
                .as_mut()
                .is_some_and(|(_, s)| Pin::new(s).poll(cx).is_ready());
            if due {
                // Due by now (madsim fires timers a few ns late): look again at once.
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }
}
