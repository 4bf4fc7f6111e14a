//! Cross-node traces: a trace context (trace id, span id) for every simulated message, so one
//! client request can be followed across nodes, and its rendering as Chrome / Perfetto
//! trace-event JSON ([`chrome_json`]).
//!
//! The context is *derived from the event log*, not carried in the messages' bytes: the log
//! already records everything causality needs — which message a node took (`deliver`, with the
//! message id), what it sent until its next input (`send`), which operation a client was running
//! when it sent (`client-op`). A node handles one input at a time and the log keeps each node's
//! execution order among equal times, so "every send of a node belongs to its latest input" is
//! exact. Putting the context on the wire would change every message's bytes and so every
//! pinned digest; deriving it changes nothing, and works as well from a replayed run as from an
//! `events.jsonl`. Ids are numbered in log order, so they are as deterministic as the log.
//!
//! Spans: a client operation (invoke → completion) is the root of a trace; a node's handler of
//! a delivered message is a child of the span that sent it; a handler of a timer or of the
//! node's start begins a trace of its own. This module reads records only.

mod chrome;

pub use chrome::{TraceFilter, chrome_json, chrome_json_filtered};

use crate::event::{Event, EventRecord};
use crate::history::OpType;
use crate::ids::Addr;
use std::collections::BTreeMap;

/// A trace context: the trace a message or span belongs to, and the span itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceContext {
    /// The trace: the id of its root span.
    pub trace_id: u64,
    /// The span (for a message: the span that sent it).
    pub span_id: u64,
}

/// What a span stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum SpanKind {
    /// A client operation, from invocation to completion (`outcome` `pending` when it never
    /// completed).
    Request {
        /// The operation's name.
        f: String,
        /// The Jepsen process.
        process: u64,
        /// `ok`, `fail`, `info` or `pending`.
        outcome: &'static str,
    },
    /// A node handling one input: a message (by label), a timer, or its start.
    Handler {
        /// `on <label>`, `timer <id>` or `start`.
        input: String,
        /// The node's incarnation.
        incarnation: u32,
    },
}

/// A span on one track, in true simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Its context (its own id and its trace).
    pub context: TraceContext,
    /// The span that caused it (the sender of the message it handles).
    pub parent: Option<u64>,
    /// The node or client whose track it is on.
    pub track: Addr,
    /// What it is.
    pub kind: SpanKind,
    /// When it began.
    pub from_ns: u64,
    /// When its last effect happened.
    pub to_ns: u64,
}

/// One message from send to delivery (a duplicated message is delivered, and drawn, twice).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The message id.
    pub msg_id: u64,
    /// The message's label.
    pub label: String,
    /// The context it carried: its trace and the span that sent it.
    pub context: TraceContext,
    /// The sender.
    pub from: Addr,
    /// When it was sent.
    pub send_ns: u64,
    /// The receiver.
    pub to: Addr,
    /// When it was taken from the inbox.
    pub deliver_ns: u64,
    /// The receiving span (a node's handler, or the client's operation).
    pub receiver: u64,
}

/// A fault, a drop or the final heal, on one track (`None`: the whole cluster).
#[derive(Debug, Clone, PartialEq)]
pub struct Instant {
    /// When.
    pub at_ns: u64,
    /// Where (`None` = every track).
    pub track: Option<Addr>,
    /// What, as the summary prints it.
    pub name: String,
    /// The category: `fault`, `drop`, `heal`.
    pub category: &'static str,
}

/// Everything a trace shows, derived from an event log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traced {
    /// Spans, by id − 1.
    pub spans: Vec<Span>,
    /// Messages delivered.
    pub flows: Vec<Flow>,
    /// Faults, drops, heals.
    pub instants: Vec<Instant>,
    /// The context each sent message carried, by message id.
    pub contexts: BTreeMap<u64, TraceContext>,
}

struct Sent {
    label: String,
    context: TraceContext,
    from: Addr,
    at_ns: u64,
}

/// Derives spans, flows and contexts from a log sorted by true time.
pub fn derive(events: &[EventRecord], nodes: u32) -> Traced {
    let mut t = Traced::default();
    let mut open: BTreeMap<Addr, usize> = BTreeMap::new();
    let mut sent: BTreeMap<u64, Sent> = BTreeMap::new();
    for r in events {
        let at = r.time_ns.ns;
        match &r.event {
            Event::Start { node, incarnation } => {
                let kind = SpanKind::Handler {
                    input: "start".into(),
                    incarnation: incarnation.0,
                };
                t.open_span(&mut open, Addr::Node(*node), kind, None, at);
            }
            Event::Timer {
                node,
                incarnation,
                timer,
            } => {
                let kind = SpanKind::Handler {
                    input: format!("timer {timer}"),
                    incarnation: incarnation.0,
                };
                t.open_span(&mut open, Addr::Node(*node), kind, None, at);
            }
            Event::Deliver {
                to,
                msg_id,
                incarnation,
                ..
            } => {
                let Some(s) = sent.get(msg_id) else { continue };
                let receiver = match to {
                    Addr::Node(_) => {
                        let kind = SpanKind::Handler {
                            input: format!("on {}", s.label),
                            incarnation: incarnation.map_or(0, |i| i.0),
                        };
                        Some(t.open_span(&mut open, *to, kind, Some(s.context), at))
                    }
                    Addr::Client(_) => open.get(to).copied(),
                };
                if let Some(receiver) = receiver {
                    t.flows.push(Flow {
                        msg_id: *msg_id,
                        label: s.label.clone(),
                        context: s.context,
                        from: s.from,
                        send_ns: s.at_ns,
                        to: *to,
                        deliver_ns: at,
                        receiver: receiver as u64 + 1,
                    });
                }
            }
            Event::Send {
                from,
                msg_id,
                label,
                ..
            } => {
                let Some(&i) = open.get(from) else { continue };
                t.extend(i, at);
                let context = t.spans[i].context;
                t.contexts.insert(*msg_id, context);
                let s = Sent {
                    label: label.clone(),
                    context,
                    from: *from,
                    at_ns: at,
                };
                sent.insert(*msg_id, s);
            }
            Event::Crash { node, .. } => {
                if let Some(i) = open.remove(&Addr::Node(*node)) {
                    t.extend(i, at);
                }
                t.instant(
                    at,
                    Some(Addr::Node(*node)),
                    "crash (power lost)".into(),
                    "fault",
                );
            }
            Event::Halt { node, reason, .. } => {
                if let Some(i) = open.remove(&Addr::Node(*node)) {
                    t.extend(i, at);
                }
                t.instant(
                    at,
                    Some(Addr::Node(*node)),
                    format!("halt: {reason}"),
                    "fault",
                );
            }
            Event::Sync { node, .. }
            | Event::Reply { node, .. }
            | Event::Observe { node, .. }
            | Event::Note { node, .. } => {
                if let Some(&i) = open.get(&Addr::Node(*node)) {
                    t.extend(i, at);
                }
            }
            Event::ClientOp {
                client,
                process,
                op_type,
                f,
                ..
            } => t.client_op(&mut open, Addr::Client(*client), *process, *op_type, f, at),
            Event::Fault { action } => {
                let name = action.to_string();
                for node in crate::report::timeline::nodes_of(action, nodes) {
                    t.instant(at, Some(Addr::Node(node)), name.clone(), "fault");
                }
            }
            Event::Drop {
                from,
                msg_id,
                cause,
                ..
            } => {
                let cause = serde_json::to_value(cause)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let name = format!("drop msg {msg_id} ({cause})");
                t.instant(at, Some(*from), name, "drop");
            }
            Event::HealAll => t.instant(at, None, "heal everything".into(), "heal"),
            _ => {}
        }
    }
    t
}

impl Traced {
    /// Opens a span on `track` (closing the track's previous one); its index.
    fn open_span(
        &mut self,
        open: &mut BTreeMap<Addr, usize>,
        track: Addr,
        kind: SpanKind,
        cause: Option<TraceContext>,
        at: u64,
    ) -> usize {
        let id = self.spans.len() as u64 + 1;
        let context = TraceContext {
            trace_id: cause.map_or(id, |c| c.trace_id),
            span_id: id,
        };
        self.spans.push(Span {
            context,
            parent: cause.map(|c| c.span_id),
            track,
            kind,
            from_ns: at,
            to_ns: at,
        });
        let i = self.spans.len() - 1;
        open.insert(track, i);
        i
    }

    fn extend(&mut self, i: usize, at: u64) {
        let span = &mut self.spans[i];
        span.to_ns = span.to_ns.max(at);
    }

    fn client_op(
        &mut self,
        open: &mut BTreeMap<Addr, usize>,
        track: Addr,
        process: u64,
        op_type: OpType,
        f: &str,
        at: u64,
    ) {
        if op_type == OpType::Invoke {
            let kind = SpanKind::Request {
                f: f.to_string(),
                process,
                outcome: "pending",
            };
            self.open_span(open, track, kind, None, at);
            return;
        }
        let Some(i) = open.remove(&track) else { return };
        self.extend(i, at);
        if let SpanKind::Request { outcome, .. } = &mut self.spans[i].kind {
            *outcome = match op_type {
                OpType::Ok => "ok",
                OpType::Fail => "fail",
                _ => "info",
            };
        }
    }

    fn instant(&mut self, at_ns: u64, track: Option<Addr>, name: String, category: &'static str) {
        self.instants.push(Instant {
            at_ns,
            track,
            name,
            category,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, Incarnation, NodeId};
    use crate::time::SimTime;

    fn at(ms: u64, event: Event) -> EventRecord {
        EventRecord {
            time_ns: SimTime::from_ms(ms),
            event,
        }
    }

    fn send(from: Addr, to: Addr, msg_id: u64) -> Event {
        Event::Send {
            from,
            incarnation: None,
            to,
            msg_id,
            label: format!("m{msg_id}"),
            bytes: 1,
            payload_fnv: 0,
        }
    }

    fn deliver(from: Addr, to: Addr, msg_id: u64) -> Event {
        Event::Deliver {
            from,
            to,
            incarnation: Some(Incarnation(1)),
            msg_id,
        }
    }

    fn op(op_type: OpType) -> Event {
        Event::ClientOp {
            client: ClientId(0),
            process: 0,
            op_type,
            f: "put".into(),
            key: None,
            value: None,
        }
    }

    #[test]
    fn a_request_is_followed_across_nodes_and_back() {
        let (c, n0, n1) = (
            Addr::Client(ClientId(0)),
            Addr::Node(NodeId(0)),
            Addr::Node(NodeId(1)),
        );
        let timer = Event::Timer {
            node: NodeId(1),
            incarnation: Incarnation(1),
            timer: 7,
        };
        let log = vec![
            at(1, op(OpType::Invoke)),
            at(1, send(c, n0, 1)),
            at(2, deliver(c, n0, 1)),
            at(2, send(n0, n1, 2)),
            at(3, timer),
            at(3, send(n1, n0, 9)),
            at(4, deliver(n0, n1, 2)),
            at(4, send(n1, n0, 3)),
            at(5, deliver(n1, n0, 3)),
            at(5, send(n0, c, 4)),
            at(6, deliver(n0, c, 4)),
            at(6, op(OpType::Ok)),
        ];
        let t = derive(&log, 2);
        let request = t.contexts[&1];
        // Messages 1–4 all belong to the client's request; the timer's message does not.
        for msg in [1, 2, 3, 4] {
            assert_eq!(t.contexts[&msg].trace_id, request.trace_id, "message {msg}");
        }
        assert_ne!(t.contexts[&9].trace_id, request.trace_id);
        // Each message was sent by a different span, each span the child of the previous one.
        let senders: Vec<u64> = [1, 2, 3, 4].iter().map(|m| t.contexts[m].span_id).collect();
        for w in senders.windows(2) {
            assert_eq!(t.spans[(w[1] - 1) as usize].parent, Some(w[0]));
        }
        // The reply ends on the client's request span, which completed ok.
        let reply = t
            .flows
            .iter()
            .find(|f| f.msg_id == 4)
            .expect("reply delivered");
        assert_eq!(reply.receiver, request.span_id);
        assert!(matches!(
            t.spans[(request.span_id - 1) as usize].kind,
            SpanKind::Request { outcome: "ok", .. }
        ));
        assert_eq!(t.flows.len(), 4, "message 9 was never delivered");
    }
}
