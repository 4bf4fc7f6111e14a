//! Chrome / Perfetto trace-event JSON (the `traceEvents` format; open it at ui.perfetto.dev or
//! chrome://tracing): process 1 holds one thread per node, process 2 one per client, named by
//! metadata events. Spans are complete events (`ph: X`), faults and drops instant events
//! (`ph: i`), messages flow events (`ph: s` at the send, `ph: f` with `bp: e` at the delivery),
//! one id per delivery.
//!
//! Times are true simulated time in microseconds (fractions keep nanoseconds). A track's spans
//! must not overlap in this format, and a flow binds to the span enclosing it, so spans that
//! begin at the same simulated instant on one track are laid end to end, 1 ns apart each, in
//! execution order, and every span lasts at least 1 ns; such a span's `true_ns` argument keeps
//! its true times.

use super::{Span, SpanKind, Traced, derive};
use crate::event::EventRecord;
use crate::ids::{Addr, NodeId};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Process id of the node tracks.
pub const PID_NODES: u64 = 1;
/// Process id of the client tracks.
pub const PID_CLIENTS: u64 = 2;

/// One trace event; absent fields are left out.
#[derive(Serialize)]
struct Ev<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'a str,
    ph: &'static str,
    pid: u64,
    tid: u64,
    ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    #[serde(skip_serializing_if = "Args::is_empty")]
    args: Args,
}

/// An event's arguments (what Perfetto shows when it is selected).
#[derive(Serialize, Default)]
struct Args {
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incarnation: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    true_ns: Option<[u64; 2]>,
}

impl Args {
    fn is_empty(&self) -> bool {
        self.trace_id.is_none() && self.msg_id.is_none()
    }
}

/// Appends events to the `traceEvents` array being written.
struct Out(Vec<u8>);

impl Out {
    fn push<T: Serialize>(&mut self, ev: &T) {
        if self.0.last() != Some(&b'[') {
            self.0.push(b',');
        }
        // Plain structs of strings and numbers: serializing them cannot fail.
        let _ = serde_json::to_writer(&mut self.0, ev);
        self.0.push(b'\n');
    }
}

/// What part of a run a trace keeps: a time window and a set of nodes. Client tracks are
/// always kept; a message arrow is kept when both its ends are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Keep what ends at or after this (ns of true time).
    pub from_ns: Option<u64>,
    /// Keep what starts at or before this (ns of true time).
    pub to_ns: Option<u64>,
    /// Keep only these nodes' tracks (`None`: every node).
    pub nodes: Option<std::collections::BTreeSet<NodeId>>,
}

impl TraceFilter {
    fn keeps_track(&self, track: Addr) -> bool {
        match (track, &self.nodes) {
            (Addr::Node(n), Some(nodes)) => nodes.contains(&n),
            _ => true,
        }
    }

    fn keeps_time(&self, from_ns: u64, to_ns: u64) -> bool {
        self.from_ns.is_none_or(|f| to_ns >= f) && self.to_ns.is_none_or(|t| from_ns <= t)
    }

    fn keeps_node(&self, n: u32) -> bool {
        self.keeps_track(Addr::Node(NodeId(n)))
    }
}

/// The trace of a run: `nodes` and `clients` name every track, even an idle one.
pub fn chrome_json(events: &[EventRecord], nodes: u32, clients: u32) -> String {
    chrome_json_filtered(events, nodes, clients, &TraceFilter::default())
}

/// The part of the trace of a run that `filter` keeps (laid out as in the whole trace, so a
/// span keeps its place).
pub fn chrome_json_filtered(
    events: &[EventRecord],
    nodes: u32,
    clients: u32,
    filter: &TraceFilter,
) -> String {
    let traced = derive(events, nodes);
    let laid = lay_out(&traced.spans);
    let kept: Vec<bool> = traced
        .spans
        .iter()
        .zip(&laid)
        .map(|(s, &(a, b))| filter.keeps_track(s.track) && filter.keeps_time(a, b))
        .collect();
    let mut out = Out(Vec::with_capacity(64 * 1024 * 1024));
    out.0
        .extend_from_slice(b"{\"displayTimeUnit\":\"ms\",\"otherData\":");
    let other = json!({
        "generator": "faultlab replay --trace-json",
        "time": "true simulated time; same-instant spans of a track laid 1 ns apart (args.true_ns)",
    });
    let _ = serde_json::to_writer(&mut out.0, &other);
    out.0.extend_from_slice(b",\"traceEvents\":[");
    out.push(&meta(
        "process_name",
        PID_NODES,
        None,
        json!({"name": "nodes"}),
    ));
    out.push(&meta(
        "process_name",
        PID_CLIENTS,
        None,
        json!({"name": "clients"}),
    ));
    for n in (0..nodes).filter(|&n| filter.keeps_node(n)) {
        let tid = u64::from(n) + 1;
        out.push(&meta(
            "thread_name",
            PID_NODES,
            Some(tid),
            json!({"name": format!("n{n}")}),
        ));
        out.push(&meta(
            "thread_sort_index",
            PID_NODES,
            Some(tid),
            json!({"sort_index": tid}),
        ));
    }
    for c in 0..clients {
        let tid = u64::from(c) + 1;
        out.push(&meta(
            "thread_name",
            PID_CLIENTS,
            Some(tid),
            json!({"name": format!("c{c}")}),
        ));
        out.push(&meta(
            "thread_sort_index",
            PID_CLIENTS,
            Some(tid),
            json!({"sort_index": tid}),
        ));
    }
    for ((span, &(start, end)), _) in traced
        .spans
        .iter()
        .zip(&laid)
        .zip(&kept)
        .filter(|(_, k)| **k)
    {
        span_event(&mut out, span, start, end);
    }
    flows(&traced, &laid, &kept, &mut out);
    let instants = traced.instants.iter().filter(|i| {
        filter.keeps_time(i.at_ns, i.at_ns) && i.track.is_none_or(|t| filter.keeps_track(t))
    });
    for i in instants {
        let ((pid, tid), scope) = match i.track {
            Some(track) => (ids(track), "t"),
            None => ((PID_NODES, 0), "g"),
        };
        out.push(&Ev {
            name: &i.name,
            cat: i.category,
            ph: "i",
            pid,
            tid,
            ts: us(i.at_ns),
            dur: None,
            id: None,
            bp: None,
            s: Some(scope),
            args: Args::default(),
        });
    }
    out.0.extend_from_slice(b"]}\n");
    String::from_utf8(out.0).unwrap_or_default()
}

/// Each span's drawn (start, end) in ns: never before the previous span of its track ended,
/// and at least 1 ns long.
fn lay_out(spans: &[Span]) -> Vec<(u64, u64)> {
    let mut track_end: BTreeMap<Addr, u64> = BTreeMap::new();
    spans
        .iter()
        .map(|s| {
            let prev = track_end.get(&s.track).copied().unwrap_or(0);
            let start = s.from_ns.max(prev);
            let end = s.to_ns.max(start + 1);
            track_end.insert(s.track, end);
            (start, end)
        })
        .collect()
}

fn flows(traced: &Traced, laid: &[(u64, u64)], kept: &[bool], out: &mut Out) {
    for (n, flow) in traced.flows.iter().enumerate() {
        let sender = (flow.context.span_id - 1) as usize;
        let receiver = (flow.receiver - 1) as usize;
        if !(kept[sender] && kept[receiver]) {
            continue;
        }
        let (s0, s1) = laid[sender];
        let (r0, r1) = laid[receiver];
        let send_ts = flow.send_ns.clamp(s0, s1 - 1);
        let recv_ts = flow.deliver_ns.clamp(r0, r1 - 1);
        let id = Some(n as u64 + 1);
        let (pid, tid) = ids(flow.from);
        let args = Args {
            msg_id: Some(flow.msg_id),
            trace_id: Some(hex(flow.context.trace_id)),
            parent_span_id: Some(hex(flow.context.span_id)),
            ..Args::default()
        };
        let (name, cat) = (flow.label.as_str(), "msg");
        let (dur, bp, s) = (None, None, None);
        let ts = us(send_ts);
        out.push(&Ev {
            name,
            cat,
            ph: "s",
            pid,
            tid,
            ts,
            dur,
            id,
            bp,
            s,
            args,
        });
        let (pid, tid) = ids(flow.to);
        let (ts, bp, args) = (us(recv_ts), Some("e"), Args::default());
        out.push(&Ev {
            name,
            cat,
            ph: "f",
            pid,
            tid,
            ts,
            dur,
            id,
            bp,
            s,
            args,
        });
    }
}

fn span_event(out: &mut Out, span: &Span, start: u64, end: u64) {
    let (pid, tid) = ids(span.track);
    let mut args = Args {
        trace_id: Some(hex(span.context.trace_id)),
        span_id: Some(hex(span.context.span_id)),
        parent_span_id: span.parent.map(hex),
        ..Args::default()
    };
    // Laid later or longer than it was (see the module comment): the true times.
    if (start, end) != (span.from_ns, span.to_ns) {
        args.true_ns = Some([span.from_ns, span.to_ns]);
    }
    let (name, cat) = match &span.kind {
        SpanKind::Request {
            f,
            process,
            outcome,
        } => {
            args.process = Some(*process);
            args.outcome = Some(outcome);
            (format!("{f} ({outcome})"), "request")
        }
        SpanKind::Handler { input, incarnation } => {
            args.incarnation = Some(*incarnation);
            (input.clone(), "handler")
        }
    };
    out.push(&Ev {
        name: &name,
        cat,
        ph: "X",
        pid,
        tid,
        ts: us(start),
        dur: Some(us(end - start)),
        id: None,
        bp: None,
        s: None,
        args,
    });
}

fn meta(name: &str, pid: u64, tid: Option<u64>, args: Value) -> Value {
    let mut ev = json!({"name": name, "ph": "M", "pid": pid, "args": args});
    if let Some(tid) = tid {
        ev["tid"] = json!(tid);
    }
    ev
}

/// (pid, tid) of a track.
fn ids(track: Addr) -> (u64, u64) {
    match track {
        Addr::Node(n) => (PID_NODES, u64::from(n.0) + 1),
        Addr::Client(c) => (PID_CLIENTS, u64::from(c.0) + 1),
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn hex(id: u64) -> String {
    format!("{id:x}")
}
