//! Chrome / Perfetto trace-event JSON (the `traceEvents` format; open it at ui.perfetto.dev or
//! chrome://tracing): process 1 holds one thread per node, process 2 one per client, named by
//! metadata events. Spans are complete events (`ph: X`), faults and drops instant events
//! (`ph: i`), messages flow events (`ph: s` at the send, `ph: f` with `bp: e` at the delivery),
//! one id per delivery.
//!
//! Times are true simulated time in microseconds (fractions keep nanoseconds). A track's spans
//! must not overlap in this format, and a flow binds to the span enclosing it, so spans that
//! begin at the same simulated instant on one track are laid end to end, 1 ns apart each, in
//! execution order, and every span lasts at least 1 ns; the arguments keep the true times.

use super::{Span, SpanKind, Traced, derive};
use crate::event::EventRecord;
use crate::ids::Addr;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Process id of the node tracks.
pub const PID_NODES: u64 = 1;
/// Process id of the client tracks.
pub const PID_CLIENTS: u64 = 2;

/// The trace of a run: `nodes` and `clients` name every track, even an idle one.
pub fn chrome_json(events: &[EventRecord], nodes: u32, clients: u32) -> String {
    let traced = derive(events, nodes);
    let laid = lay_out(&traced.spans);
    let mut out: Vec<Value> = Vec::with_capacity(traced.spans.len() + 2 * traced.flows.len());
    out.push(meta("process_name", PID_NODES, None, json!({"name": "nodes"})));
    out.push(meta("process_name", PID_CLIENTS, None, json!({"name": "clients"})));
    for n in 0..nodes {
        let tid = u64::from(n) + 1;
        out.push(meta("thread_name", PID_NODES, Some(tid), json!({"name": format!("n{n}")})));
        out.push(meta("thread_sort_index", PID_NODES, Some(tid), json!({"sort_index": tid})));
    }
    for c in 0..clients {
        let tid = u64::from(c) + 1;
        out.push(meta("thread_name", PID_CLIENTS, Some(tid), json!({"name": format!("c{c}")})));
        out.push(meta("thread_sort_index", PID_CLIENTS, Some(tid), json!({"sort_index": tid})));
    }
    for (span, &(start, end)) in traced.spans.iter().zip(&laid) {
        out.push(span_event(span, start, end));
    }
    flows(&traced, &laid, &mut out);
    for i in &traced.instants {
        let mut ev = json!({
            "name": i.name, "cat": i.category, "ph": "i", "ts": us(i.at_ns),
        });
        match i.track {
            Some(track) => {
                let (pid, tid) = ids(track);
                ev["pid"] = json!(pid);
                ev["tid"] = json!(tid);
                ev["s"] = json!("t");
            }
            None => {
                ev["pid"] = json!(PID_NODES);
                ev["tid"] = json!(0);
                ev["s"] = json!("g");
            }
        }
        out.push(ev);
    }
    let doc = json!({
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": {
            "generator": "faultlab replay --trace-json",
            "time": "true simulated time; same-instant spans of a track laid 1 ns apart",
        },
    });
    doc.to_string()
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

fn flows(traced: &Traced, laid: &[(u64, u64)], out: &mut Vec<Value>) {
    for (n, flow) in traced.flows.iter().enumerate() {
        let sender = (flow.context.span_id - 1) as usize;
        let receiver = (flow.receiver - 1) as usize;
        let (s0, s1) = laid[sender];
        let (r0, r1) = laid[receiver];
        let send_ts = flow.send_ns.clamp(s0, s1 - 1);
        let recv_ts = flow.deliver_ns.clamp(r0, r1 - 1);
        let id = n as u64 + 1;
        let args = json!({
            "msg_id": flow.msg_id,
            "trace_id": hex(flow.context.trace_id),
            "parent_span_id": hex(flow.context.span_id),
            "sent_ns": flow.send_ns,
            "delivered_ns": flow.deliver_ns,
        });
        let (pid, tid) = ids(flow.from);
        out.push(json!({
            "name": flow.label, "cat": "msg", "ph": "s", "id": id,
            "pid": pid, "tid": tid, "ts": us(send_ts), "args": args,
        }));
        let (pid, tid) = ids(flow.to);
        out.push(json!({
            "name": flow.label, "cat": "msg", "ph": "f", "bp": "e", "id": id,
            "pid": pid, "tid": tid, "ts": us(recv_ts),
        }));
    }
}

fn span_event(span: &Span, start: u64, end: u64) -> Value {
    let (pid, tid) = ids(span.track);
    let mut args = json!({
        "trace_id": hex(span.context.trace_id),
        "span_id": hex(span.context.span_id),
        "from_ns": span.from_ns,
        "to_ns": span.to_ns,
    });
    if let Some(parent) = span.parent {
        args["parent_span_id"] = json!(hex(parent));
    }
    let (name, cat) = match &span.kind {
        SpanKind::Request {
            f,
            process,
            outcome,
        } => {
            args["process"] = json!(process);
            args["outcome"] = json!(outcome);
            (format!("{f} ({outcome})"), "request")
        }
        SpanKind::Handler { input, incarnation } => {
            args["incarnation"] = json!(incarnation);
            (input.clone(), "handler")
        }
    };
    json!({
        "name": name, "cat": cat, "ph": "X", "pid": pid, "tid": tid,
        "ts": us(start), "dur": us(end - start), "args": args,
    })
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
    format!("{id:016x}")
}
