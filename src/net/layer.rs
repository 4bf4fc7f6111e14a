//! The message fault layer, the same for every simulated backend: every send is logged and
//! judged (partition, loss, duplication, delay, destination down) before it reaches the
//! simulator's wire, and every arrival is judged again (a link cut while the message was in
//! flight drops it; a delayed message waits). A backend only moves bytes.

use crate::event::{DropCause, Event, EventLog};
use crate::ids::{Addr, Incarnation};
use crate::net::faults::NetFaults;
use crate::rng::{DetRng, Fnv64};
use crate::time::{SimTime, duration_ns};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// Bound on messages held back by delay rules at once; beyond it a delay is not applied (the
/// message travels at normal latency), so a runaway rule cannot grow memory without bound.
pub const DELAYED_MAX: usize = 65_536;

/// One message leaving a node or client.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    /// The sender.
    pub from: Addr,
    /// The sending node's incarnation (`None` for clients).
    pub incarnation: Option<Incarnation>,
    /// The receiver.
    pub to: Addr,
    /// The event-log label of the message type.
    pub label: &'static str,
    /// The encoded body (hashed into the event log, never stored).
    pub body: &'a RawValue,
    /// Size of the envelope (header and body; the frame's 4-byte checksum, like UDP's own, is
    /// not counted).
    pub bytes: u32,
    /// Whether the destination was up when the message was sent.
    pub destination_up: bool,
}

/// What the wire carries of one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    /// Copies to put on the wire (0: dropped).
    pub copies: u8,
    /// Flip this bit (modulo the datagram's bits) in every copy: corrupted in flight.
    pub corrupt: Option<u64>,
}

/// The network's state in a run: fault rules, the draws that apply them, message ids and the
/// delays decided at send time and applied on arrival.
#[derive(Debug)]
pub struct NetState {
    /// The fault rules in force.
    pub faults: NetFaults,
    /// Draws for loss, duplication and delay, in send order.
    rng: DetRng,
    next_msg_id: u64,
    /// `(destination, msg_id) → extra delay`, removed when the message (or its first copy)
    /// arrives or is dropped in flight, and for a node when it crashes (its in-flight messages
    /// die with its socket).
    delays: BTreeMap<(Addr, u64), Duration>,
}

impl NetState {
    /// A calm network whose random draws come from `rng`.
    pub fn new(faults: NetFaults, rng: DetRng) -> Self {
        NetState {
            faults,
            rng,
            next_msg_id: 0,
            delays: BTreeMap::new(),
        }
    }

    /// A fresh message id (ids start at 1 and are unique within a run).
    pub fn next_msg_id(&mut self) -> u64 {
        self.next_msg_id += 1;
        self.next_msg_id
    }

    /// Messages currently held back by delay rules.
    pub fn delayed_count(&self) -> usize {
        self.delays.len()
    }

    /// Logs and judges one send: how many copies to put on the wire (0: dropped), and which
    /// bit to flip in them, if the message is corrupted in flight.
    pub fn on_send(
        &mut self,
        log: &mut EventLog,
        now: SimTime,
        msg_id: u64,
        m: &Outbound<'_>,
    ) -> Sent {
        let mut fnv = Fnv64::new();
        fnv.write(m.body.get().as_bytes());
        let (from, to) = (m.from, m.to);
        log.push(
            now,
            Event::Send {
                from,
                incarnation: m.incarnation,
                to,
                msg_id,
                label: m.label.to_string(),
                bytes: m.bytes,
                payload_fnv: fnv.finish(),
            },
        );
        let decision = self.faults.decide(from, to, &mut self.rng);
        let dropped = decision
            .drop
            .or_else(|| (!m.destination_up).then_some(DropCause::NodeDown));
        if let Some(cause) = dropped {
            log.push(
                now,
                Event::Drop {
                    from,
                    to,
                    msg_id,
                    cause,
                },
            );
            return Sent::default();
        }
        let room = self.delays.len() < DELAYED_MAX;
        if let (Some(extra), true) = (decision.extra_delay, room) {
            log.push(
                now,
                Event::Delay {
                    from,
                    to,
                    msg_id,
                    extra_ns: duration_ns(extra),
                },
            );
            self.delays.insert((to, msg_id), extra);
        }
        if decision.corrupt.is_some() {
            log.push(now, Event::Corrupt { from, to, msg_id });
        }
        let copies = if decision.duplicate {
            log.push(now, Event::Duplicate { from, to, msg_id });
            2
        } else {
            1
        };
        Sent {
            copies,
            corrupt: decision.corrupt,
        }
    }

    /// Judges a message arriving at `me`: `None` if a partition cut its link while it was in
    /// flight (logged), else the extra delay decided at send time, if any. A duplicate's second
    /// copy finds the delay already taken and arrives at normal latency, so the two copies are
    /// apart in time.
    pub fn on_arrival(
        &mut self,
        log: &mut EventLog,
        now: SimTime,
        from: Addr,
        me: Addr,
        msg_id: u64,
    ) -> Option<Option<Duration>> {
        let delay = self.delays.remove(&(me, msg_id));
        if self.faults.is_cut(from, me) {
            log.push(
                now,
                Event::Drop {
                    from,
                    to: me,
                    msg_id,
                    cause: DropCause::PartitionInFlight,
                },
            );
            return None;
        }
        Some(delay)
    }

    /// Forgets the delays of messages in flight to `addr` (its socket died with it).
    pub fn forget_in_flight_to(&mut self, addr: Addr) {
        self.delays.retain(|(to, _), _| *to != addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::LinkSelector;
    use crate::ids::NodeId;
    use crate::rng::{Probability, component_rng};

    fn body() -> Box<RawValue> {
        serde_json::value::to_raw_value(&1).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn delays_are_forgotten_when_dropped_in_flight_or_the_node_crashes() {
        let mut faults = NetFaults::new(vec![]);
        faults.add_delay(LinkSelector::default(), Probability::ALWAYS, 5);
        let mut net = NetState::new(faults, component_rng(1, "net", 0));
        let mut log = EventLog::new(100);
        let b = body();
        let (a, n1) = (Addr::Node(NodeId(0)), Addr::Node(NodeId(1)));
        let m = Outbound {
            from: a,
            incarnation: None,
            to: n1,
            label: "x",
            body: &b,
            bytes: 1,
            destination_up: true,
        };
        for _ in 0..3 {
            let id = net.next_msg_id();
            assert_eq!(net.on_send(&mut log, SimTime::ZERO, id, &m).copies, 1);
        }
        assert_eq!(net.delayed_count(), 3);
        net.faults.cut_links(&[(NodeId(0), NodeId(1))]);
        assert_eq!(net.on_arrival(&mut log, SimTime::ZERO, a, n1, 1), None);
        assert_eq!(
            net.delayed_count(),
            2,
            "a message dropped in flight leaves no delay"
        );
        net.forget_in_flight_to(n1);
        assert_eq!(net.delayed_count(), 0);
    }
}
